//! Quantifiers over loop variables: "some element of the list satisfies...".

use super::*;

/// Rewrites `expr`, which speaks of each element of the list at `list` through paths
/// containing `marker`, into "some element satisfies it".
///
/// A predicate (and alternatives of predicates) maps onto the matcher's any-element lookup
/// directly (`items.name eq x`); where one element must satisfy several conditions, or a
/// negation, the condition goes into an `AnyElement` node over the list.
pub fn exists(expr: &Expr, marker: &str, list: &str) -> Expr {
    if !depends(expr, marker) {
        return expr.clone();
    }
    match expr {
        Expr::Pred(p) => {
            // Truthiness and type tests look at a value whole; on the element itself (not a
            // key of it) the lookup would see the list.
            let whole = matches!(p.op, Op::Truthy | Op::IsType)
                && p.field.as_deref().is_some_and(|f| f.ends_with(marker));
            let per_element = !p.field_ref && !whole && !matches!(p.op, Op::IsNull | Op::IsEmpty);
            if per_element {
                strip_expr(expr, marker)
            } else {
                any_element(expr, marker, list)
            }
        }
        Expr::Any { items } => or(items.iter().map(|i| exists(i, marker, list)).collect()),
        Expr::All { items } => {
            let (d, i): (Vec<&Expr>, Vec<&Expr>) = items.iter().partition(|x| depends(x, marker));
            let mut parts: Vec<Expr> = i.into_iter().cloned().collect();
            match d.as_slice() {
                [one] => parts.push(exists(one, marker, list)),
                _ => parts.push(any_element(
                    &Expr::All {
                        items: d.into_iter().cloned().collect(),
                    },
                    marker,
                    list,
                )),
            }
            and(parts)
        }
        Expr::Named { name, item } => Expr::named(name.clone(), exists(item, marker, list)),
        _ => any_element(expr, marker, list),
    }
}

pub(super) fn depends(e: &Expr, marker: &str) -> bool {
    let mut d = false;
    e.walk(&mut |x| match x {
        Expr::Pred(p)
            if p.field.as_deref().is_some_and(|f| f.contains(marker))
                || (p.field_ref && p.values.iter().any(|v| v.to_string().contains(marker))) =>
        {
            d = true;
        }
        Expr::AnyElement { field, .. } if field.contains(marker) => d = true,
        Expr::Opaque { text, .. } if text.contains(marker) => d = true,
        _ => {}
    });
    d
}

pub(super) fn any_element(e: &Expr, marker: &str, list: &str) -> Expr {
    Expr::AnyElement {
        field: strip_marker(list, marker),
        item: Box::new(strip_expr(e, marker)),
    }
}

/// `e` with the element marker taken out of every path.
pub(super) fn strip_expr(e: &Expr, marker: &str) -> Expr {
    match e {
        Expr::Pred(p) => {
            let mut q = p.clone();
            q.field = p.field.as_ref().map(|f| strip_marker(f, marker));
            if p.field_ref {
                q.values = p
                    .values
                    .iter()
                    .map(|v| Value::str(strip_marker(&v.to_string(), marker)))
                    .collect();
            }
            Expr::Pred(q)
        }
        Expr::All { items } => Expr::All {
            items: items.iter().map(|i| strip_expr(i, marker)).collect(),
        },
        Expr::Any { items } => Expr::Any {
            items: items.iter().map(|i| strip_expr(i, marker)).collect(),
        },
        Expr::Not { item } => Expr::Not {
            item: Box::new(strip_expr(item, marker)),
        },
        Expr::Named { name, item } => Expr::named(name.clone(), strip_expr(item, marker)),
        Expr::AnyElement { field, item } => Expr::AnyElement {
            field: strip_marker(field, marker),
            item: Box::new(strip_expr(item, marker)),
        },
        other => other.clone(),
    }
}

pub(super) fn strip_marker(field: &str, marker: &str) -> String {
    field
        .split('.')
        .filter(|s| *s != marker)
        .collect::<Vec<_>>()
        .join(".")
}

/// True when some predicate of `expr` still speaks of the element `marker` names.
pub fn has_this_marker(expr: &Expr, marker: &str) -> bool {
    depends(expr, marker)
}

/// True when some predicate of `expr` still speaks of a loop element.
pub fn has_marker(expr: &Expr) -> bool {
    let mut found = false;
    expr.walk(&mut |x| match x {
        Expr::AnyElement { field, .. } if field.contains(ELEM) => found = true,
        Expr::Pred(p)
            if p.field.as_deref().is_some_and(|f| f.contains(ELEM))
                || p.values.iter().any(|v| v.to_string().contains(ELEM)) =>
        {
            found = true;
        }
        Expr::Opaque { text, .. } if text.contains(ELEM) => found = true,
        _ => {}
    });
    found
}

/// True when the symbolic value speaks of a loop element.
pub fn sym_has_marker(s: &Sym) -> bool {
    match s {
        Sym::Field(f) | Sym::Len(f) => f.path.iter().any(|p| p.contains(ELEM)),
        Sym::Derived(d) => d.base.path.iter().any(|p| p.contains(ELEM)),
        Sym::Ip(f) => f.path.iter().any(|p| p.contains(ELEM)),
        Sym::Bool(e) | Sym::Match(e) => has_marker(e),
        Sym::Cond(c, a, b) => has_marker(c) || sym_has_marker(a) || sym_has_marker(b),
        Sym::Seq(items) => items.iter().any(sym_has_marker),
        Sym::Dict(items) => items.iter().any(|(_, v)| sym_has_marker(v)),
        _ => false,
    }
}
