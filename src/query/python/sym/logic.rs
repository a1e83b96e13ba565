//! Boolean IR with constant folding: `and`, `or`, `not`, `if-then-else`.

use super::*;

pub fn t(b: bool) -> Expr {
    Expr::Const { value: b }
}

pub fn const_of(e: &Expr) -> Option<bool> {
    match e {
        Expr::Const { value } => Some(*value),
        _ => None,
    }
}

/// Structural equality of conditions.
pub fn same_expr(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::All { items: x }, Expr::All { items: y })
        | (Expr::Any { items: x }, Expr::Any { items: y }) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_expr(p, q))
        }
        (Expr::Not { item: x }, Expr::Not { item: y }) => same_expr(x, y),
        (Expr::Pred(x), Expr::Pred(y)) => x == y,
        (Expr::Const { value: x }, Expr::Const { value: y }) => x == y,
        (Expr::Named { name: n1, item: x }, Expr::Named { name: n2, item: y }) => {
            n1 == n2 && same_expr(x, y)
        }
        (
            Expr::Opaque {
                text: t1,
                reason: r1,
            },
            Expr::Opaque {
                text: t2,
                reason: r2,
            },
        ) => t1 == t2 && r1 == r2,
        (Expr::AnyElement { field: f1, item: x }, Expr::AnyElement { field: f2, item: y }) => {
            f1 == f2 && same_expr(x, y)
        }
        (
            Expr::Aggregate {
                description: d1,
                item: x,
            },
            Expr::Aggregate {
                description: d2,
                item: y,
            },
        ) => d1 == d2 && same_expr(x, y),
        (
            Expr::Sequence {
                ordered: o1,
                by: b1,
                window: w1,
                steps: s1,
            },
            Expr::Sequence {
                ordered: o2,
                by: b2,
                window: w2,
                steps: s2,
            },
        ) => {
            o1 == o2
                && b1 == b2
                && w1 == w2
                && s1.len() == s2.len()
                && s1.iter().zip(s2).all(|(p, q)| same_expr(p, q))
        }
        _ => false,
    }
}

/// Above this many items, conditions are joined without looking for repeats (the look is
/// quadratic; rules that big are machine-made).
pub(super) const DEDUP_LIMIT: usize = 256;

pub(super) fn push_unique(out: &mut Vec<Expr>, x: Expr) {
    if out.len() > DEDUP_LIMIT || !out.iter().any(|o| same_expr(o, &x)) {
        out.push(x);
    }
}

pub fn and(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for i in items {
        match i {
            Expr::Const { value: true } => {}
            Expr::Const { value: false } => return t(false),
            // A nested conjunction was built by `and` already: its items are not repeated.
            Expr::All { items } => out.extend(items),
            other => push_unique(&mut out, other),
        }
    }
    match out.len() {
        0 => t(true),
        _ => Expr::all(out),
    }
}

pub fn or(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for i in items {
        match i {
            Expr::Const { value: false } => {}
            Expr::Const { value: true } => return t(true),
            Expr::Any { items } => out.extend(items),
            other => push_unique(&mut out, other),
        }
    }
    match out.len() {
        0 => t(false),
        _ => Expr::any(out),
    }
}

pub fn not(e: Expr) -> Expr {
    match e {
        Expr::Const { value } => t(!value),
        other => Expr::not(other),
    }
}

/// `if c then a else b` as a boolean.
pub fn ite(c: Expr, a: Expr, b: Expr) -> Expr {
    match (const_of(&c), const_of(&a), const_of(&b)) {
        (Some(true), _, _) => a,
        (Some(false), _, _) => b,
        (_, Some(true), Some(false)) => c,
        (_, Some(false), Some(true)) => not(c),
        _ if same_expr(&a, &b) => a,
        (_, Some(false), _) => and(vec![not(c), b]),
        (_, Some(true), _) => or(vec![c, b]),
        (_, _, Some(false)) => and(vec![c, a]),
        (_, _, Some(true)) => or(vec![not(c), a]),
        _ => or(vec![and(vec![c.clone(), a]), and(vec![not(c), b])]),
    }
}

/// A symbolic `if c then a else b`.
pub fn cond(c: Expr, a: Sym, b: Sym) -> Sym {
    let raises = |s: &Sym| matches!(s, Sym::Opaque { text, .. } if text == RAISES);
    match const_of(&c) {
        Some(true) => a,
        Some(false) => b,
        None if raises(&a) => b,
        None if raises(&b) => a,
        None if same(&a, &b) => a,
        None => {
            // Values that differ per path nest one condition per branch; code that keeps
            // re-branching on such values doubles them (a loop over a `try:` in a
            // helper), so past a size the value is opaque rather than exponential.
            let mut budget = MAX_COND_NODES;
            weigh_expr(&c, &mut budget);
            weigh(&a, &mut budget);
            weigh(&b, &mut budget);
            if budget < 0 {
                return Sym::Opaque {
                    text: "a value that differs on too many paths".to_string(),
                    reason: TOO_MANY_PATHS.to_string(),
                };
            }
            Sym::Cond(Box::new(c), Box::new(a), Box::new(b))
        }
    }
}

/// Why `cond` gives an opaque value: the value grew too large.
pub const TOO_MANY_PATHS: &str = "the value differs on too many paths through the code";

/// Largest conditional value (in IR nodes) `cond` builds.
const MAX_COND_NODES: isize = 20_000;

/// Subtracts the nodes of `s` from `budget`, stopping once it is spent.
fn weigh(s: &Sym, budget: &mut isize) {
    if *budget < 0 {
        return;
    }
    match s {
        Sym::Cond(c, a, b) => {
            weigh_expr(c, budget);
            weigh(a, budget);
            weigh(b, budget);
        }
        Sym::Bool(e) | Sym::Match(e) => weigh_expr(e, budget),
        Sym::Seq(items) => items.iter().for_each(|i| weigh(i, budget)),
        Sym::Dict(items) => items.iter().for_each(|(_, v)| weigh(v, budget)),
        Sym::Guarded(items) => items.iter().for_each(|(e, v)| {
            weigh_expr(e, budget);
            weigh(v, budget);
        }),
        _ => *budget -= 1,
    }
}

fn weigh_expr(e: &Expr, budget: &mut isize) {
    if *budget < 0 {
        return;
    }
    e.walk(&mut |_| *budget -= 1);
}

pub(super) fn opaque_expr(text: &str, reason: &str) -> Expr {
    Expr::opaque(text, reason)
}
