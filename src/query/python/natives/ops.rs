//! Operators: arithmetic on constants, set intersections, lengths in comparisons.

use super::*;

pub fn binop(ip: &Interp, l: &Sym, op: ast::Operator, r: &Sym, text: &str) -> Sym {
    use ast::Operator as O;
    // CONSTANTS & set(list): the elements of the event's list that are constants.
    if op == O::BitAnd {
        if let (Sym::Const(c), Sym::Field(f)) | (Sym::Field(f), Sym::Const(c)) = (l, r) {
            if let Some(s) = intersect(ip, c, f) {
                return s;
            }
        }
    }
    if let (Sym::Const(a), Sym::Const(b)) = (l, r) {
        let v = match (op, a, b) {
            (O::Add, Py::Int(x), Py::Int(y)) => x.checked_add(*y).map(Py::Int),
            (O::Sub, Py::Int(x), Py::Int(y)) => x.checked_sub(*y).map(Py::Int),
            (O::Mult, Py::Int(x), Py::Int(y)) => x.checked_mul(*y).map(Py::Int),
            (O::BitOr, Py::Int(x), Py::Int(y)) => Some(Py::Int(x | y)),
            (O::BitAnd, Py::Int(x), Py::Int(y)) => Some(Py::Int(x & y)),
            (O::Mod, Py::Int(x), Py::Int(y)) if *y != 0 => Some(Py::Int(x.rem_euclid(*y))),
            (O::FloorDiv, Py::Int(x), Py::Int(y)) if *y != 0 => Some(Py::Int(x.div_euclid(*y))),
            (O::Add, Py::Str(x), Py::Str(y)) => Some(Py::Str(format!("{x}{y}"))),
            (O::Add, Py::List(x), Py::List(y)) => Some(Py::List([x.clone(), y.clone()].concat())),
            (O::Add, Py::Tuple(x), Py::Tuple(y)) => {
                Some(Py::Tuple([x.clone(), y.clone()].concat()))
            }
            (O::BitOr, Py::Set(x), Py::Set(y)) => Some(Py::set([x.clone(), y.clone()].concat())),
            (O::BitAnd, Py::Set(x), Py::Set(y)) => Some(Py::set(
                x.iter()
                    .filter(|i| y.iter().any(|j| j.py_eq(i)))
                    .cloned()
                    .collect(),
            )),
            (O::Sub, Py::Set(x), Py::Set(y)) => Some(Py::set(
                x.iter()
                    .filter(|i| !y.iter().any(|j| j.py_eq(i)))
                    .cloned()
                    .collect(),
            )),
            (O::BitOr, Py::Dict(x), Py::Dict(y)) => {
                let mut out = x.clone();
                for (k, v) in y {
                    out.retain(|(a, _)| !a.py_eq(k));
                    out.push((k.clone(), v.clone()));
                }
                Some(Py::Dict(out))
            }
            (_, Py::Float(_) | Py::Int(_), Py::Float(_) | Py::Int(_)) => {
                let (x, y) = (num(a), num(b));
                match op {
                    O::Add => Some(Py::Float(x + y)),
                    O::Sub => Some(Py::Float(x - y)),
                    O::Mult => Some(Py::Float(x * y)),
                    O::Div if y != 0.0 => Some(Py::Float(x / y)),
                    _ => None,
                }
            }
            _ => None,
        };
        return match v {
            Some(v) => Sym::Const(v),
            None => opaque(text, "arithmetic the reader does not model"),
        };
    }
    match (op, l, r) {
        (O::Add, Sym::Seq(a), Sym::Seq(b)) => Sym::Seq([a.clone(), b.clone()].concat()),
        (O::Add, Sym::Seq(a), Sym::Const(Py::List(b))) => {
            Sym::Seq([a.clone(), b.iter().cloned().map(Sym::Const).collect()].concat())
        }
        (O::Add, Sym::Const(Py::List(a)), Sym::Seq(b)) => {
            Sym::Seq([a.iter().cloned().map(Sym::Const).collect(), b.clone()].concat())
        }
        _ => propagate(text, &[l.clone(), r.clone()])
            .unwrap_or_else(|| opaque(text, "arithmetic on the event's data")),
    }
}

pub(super) fn num(p: &Py) -> f64 {
    match p {
        Py::Int(i) => *i as f64,
        Py::Float(f) => *f,
        _ => 0.0,
    }
}

/// `len(field) <op> n`: a list has at least k elements when position k-1 exists; a string
/// is compared by its length; the length of an object is not modelled.
pub(super) fn length_compare(f: &Field, cmp: Cmp, n: i64, text: &str) -> Sym {
    let name = f.name();
    let pred = |field: String, op: Op, values: Vec<Value>| {
        Expr::Pred(Predicate::field(field, op, values).cased(true))
    };
    let at_least = |k: i64| -> Expr {
        if k <= 0 {
            return sym::t(true);
        }
        sym::or(vec![
            sym::and(vec![
                pred(name.clone(), Op::IsType, vec![Value::str("array")]),
                pred(format!("{name}.{}", k - 1), Op::Exists, vec![]),
            ]),
            sym::and(vec![
                pred(name.clone(), Op::IsType, vec![Value::str("string")]),
                Expr::Pred(Predicate {
                    transform: Some(Transform::Length),
                    ..Predicate::field(name.clone(), Op::Gte, vec![Value::Num(k as f64)])
                        .cased(true)
                }),
            ]),
            sym::and(vec![
                pred(name.clone(), Op::IsType, vec![Value::str("object")]),
                Expr::opaque(text, "the number of keys of an object"),
            ]),
        ])
    };
    let present = match cmp {
        Cmp::Ge => at_least(n),
        Cmp::Gt => at_least(n + 1),
        Cmp::Lt => sym::not(at_least(n)),
        Cmp::Le => sym::not(at_least(n + 1)),
        Cmp::Eq => sym::and(vec![at_least(n), sym::not(at_least(n + 1))]),
        Cmp::Ne => sym::not(sym::and(vec![at_least(n), sym::not(at_least(n + 1))])),
        _ => return opaque(text, "the length of the event's data"),
    };
    let chk = |d: &Py| {
        let len = match d {
            Py::Str(s) => s.chars().count() as i64,
            other => other.iter_items()?.len() as i64,
        };
        Some(match cmp {
            Cmp::Ge => len >= n,
            Cmp::Gt => len > n,
            Cmp::Lt => len < n,
            Cmp::Le => len <= n,
            Cmp::Eq => len == n,
            _ => len != n,
        })
    };
    bool_sym(sym::with_fallbacks(f, present, &chk))
}

/// Comparisons with a special meaning: `len(field) > 0` and friends.
pub fn compare_special(left: &Sym, cmp: Cmp, right: &Sym, text: &str) -> Option<Sym> {
    if let Sym::Cond(c, a, b) = left {
        let l = compare_special(a, cmp, right, text);
        let r = compare_special(b, cmp, right, text);
        if l.is_some() || r.is_some() {
            let l = l.unwrap_or_else(|| sym::compare(a, cmp, right, text));
            let r = r.unwrap_or_else(|| sym::compare(b, cmp, right, text));
            return Some(sym::bool_ite((**c).clone(), l, r));
        }
    }
    let len_of = |s: &Sym| match s {
        Sym::Len(f) => Some(Sym::Field(f.clone())),
        Sym::FilteredLen(f) => Some(Sym::Filtered(f.clone())),
        Sym::Const(Py::Int(_)) => None,
        _ => None,
    };
    let (f, n, flipped) = match (len_of(left), len_of(right), left, right) {
        (Some(f), None, _, Sym::Const(Py::Int(n))) => (f, *n, false),
        (None, Some(f), Sym::Const(Py::Int(n)), _) => (f, *n, true),
        (Some(_), _, _, _) | (_, Some(_), _, _) => {
            return Some(opaque(text, "the length of the event's data"))
        }
        _ => return None,
    };
    let cmp = if flipped {
        match cmp {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            o => o,
        }
    } else {
        cmp
    };
    // "Empty or not": len(x) > 0, >= 1, == 0, != 0, < 1, <= 0.
    let nonempty = match (cmp, n) {
        (Cmp::Gt, 0) | (Cmp::Ge, 1) | (Cmp::Ne, 0) => true,
        (Cmp::Eq, 0) | (Cmp::Lt, 1) | (Cmp::Le, 0) => false,
        _ => {
            if let Sym::Field(field) = &f {
                return Some(length_compare(field, cmp, n, text));
            }
            return Some(opaque(text, "the length of the event's data"));
        }
    };
    // len() of a missing value raises unless a default was given; truthiness of the
    // value is its non-emptiness for strings, lists and dicts.
    let t = truthy(&f);
    Some(bool_sym(if nonempty { t } else { sym::not(t) }))
}
