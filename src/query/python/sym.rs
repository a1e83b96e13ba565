//! Symbolic values: what a Python expression of a rule stands for while the reader walks the
//! code (a known constant, a field read from the event, a boolean condition...), and how
//! comparisons and truthiness of those values become condition IR with Panther semantics.
//!
//! A field read keeps what Python yields when the key is absent (`event.get("k", default)`)
//! or null, so `!=`, defaults and `is None` come out exact: a comparison is the predicate on
//! the present value, or'ed with the absent and null cases where Python would say true.

use super::derived::{DKind, Derived};
use super::value::Py;
use crate::model::{Expr, Op, Predicate, Transform, Value};

mod field;
mod logic;
mod quant;

pub use field::*;
pub use logic::*;
pub use quant::*;

/// Text of the opaque value of an expression or statement that raises an exception.
/// Paths that raise are left out where a condition chooses between them and another path:
/// Panther reports an error and no alert for them, and bundled tests never take them.
pub const RAISES: &str = "<raises>";

/// Marks a path segment standing for "each element of the list before it" (a loop variable).
pub const ELEM: char = '\u{1}';

#[derive(Debug, Clone)]
pub enum Sym {
    Const(Py),
    /// The event (or policy resource) itself.
    Event,
    Field(Field),
    /// `len(field)`: only its emptiness is expressible.
    Len(Field),
    /// `[elem for x in list if cond]` over a list of the event: `cond` and `elem` speak of
    /// each element through paths containing `marker`.
    Filtered(Box<Filtered>),
    /// `len()` of a filtered list: only its emptiness is expressible.
    FilteredLen(Box<Filtered>),
    /// A list of known length whose elements are there only under conditions
    /// (`[x for x in CONSTANTS if cond(x)]`).
    Guarded(Vec<(Expr, Sym)>),
    /// `f"{prefix}{field}{suffix}"`: text around a field of the event.
    Concat {
        prefix: String,
        field: Field,
        suffix: String,
    },
    /// `sep.join(list)` of a list of the event (optionally lower-cased).
    Joined {
        list: Field,
        sep: String,
        fold: bool,
    },
    /// A string (or list) derived from a field by `strip()`, `split()`, indexing.
    Derived(Derived),
    /// `ipaddress.ip_address(field)`.
    Ip(Field),
    /// `ipaddress.ip_network(...)` of known networks (CIDR texts).
    Net(Vec<String>),
    /// A boolean condition on the event.
    Bool(Expr),
    /// A regex match object: truthy (and not `None`) when the condition holds.
    Match(Expr),
    /// `a if cond else b`.
    Cond(Box<Expr>, Box<Sym>, Box<Sym>),
    /// A list, tuple or set literal with some symbolic elements.
    Seq(Vec<Sym>),
    /// A dict with constant keys and some symbolic values (`alert_context` results).
    Dict(Vec<(Py, Sym)>),
    Func(Func),
    Module(String),
    /// A compiled regular expression (`re.compile`).
    Pattern {
        pattern: String,
        ignore_case: bool,
    },
    Opaque {
        text: String,
        reason: String,
    },
}

/// Something callable.
#[derive(Debug, Clone, PartialEq)]
pub enum Func {
    /// A `def` at module level: (module index, function name).
    User(usize, String),
    /// A function the reader implements itself (`deep_get`, `re.search`, `any`...).
    Native(String),
}

#[derive(Debug, Clone)]
pub struct Filtered {
    pub list: Field,
    pub marker: String,
    pub cond: Expr,
    pub elem: Sym,
}

impl Filtered {
    /// Some element passes the filter (the list is not empty).
    pub fn nonempty(&self) -> Expr {
        exists(&self.cond, &self.marker, &self.list.name())
    }
    /// Some element passes the filter and satisfies `p` (of the element's value).
    pub fn some(&self, p: Expr) -> Expr {
        exists(
            &and(vec![self.cond.clone(), p]),
            &self.marker,
            &self.list.name(),
        )
    }
}

/// A value read from the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub path: Vec<String>,
    /// What Python yields when the path is absent (`None` when Python raises).
    pub missing: Option<Py>,
    /// What Python yields when the value is JSON null (`None` when Python raises).
    pub null: Option<Py>,
    /// `.lower()` / `.upper()` applied to the present value.
    pub transform: Option<Transform>,
    /// `str()` / `int()` / `float()` applied to the present value.
    pub conv: Option<Conv>,
    /// The type the rule's author expects, from the default given (`{}`, `[]`, `""`).
    pub hint: Hint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    Str,
    Int,
    Float,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Unknown,
    Str,
    List,
    Dict,
}

impl Hint {
    pub fn of(default: &Py) -> Hint {
        match default {
            Py::Str(_) => Hint::Str,
            Py::List(_) | Py::Tuple(_) | Py::Set(_) => Hint::List,
            Py::Dict(_) => Hint::Dict,
            _ => Hint::Unknown,
        }
    }
}

impl Field {
    pub fn name(&self) -> String {
        self.path.join(".")
    }
    /// A plain read: no transform, no conversion.
    pub fn is_plain(&self) -> bool {
        self.transform.is_none() && self.conv.is_none()
    }
}

/// Structural equality of symbolic values.
pub fn same(a: &Sym, b: &Sym) -> bool {
    match (a, b) {
        (Sym::Const(x), Sym::Const(y)) => x == y,
        (Sym::Event, Sym::Event) => true,
        (Sym::Field(x), Sym::Field(y)) | (Sym::Len(x), Sym::Len(y)) | (Sym::Ip(x), Sym::Ip(y)) => {
            x == y
        }
        (Sym::Derived(x), Sym::Derived(y)) => x == y,
        (Sym::Net(x), Sym::Net(y)) => x == y,
        (Sym::Bool(x), Sym::Bool(y)) | (Sym::Match(x), Sym::Match(y)) => same_expr(x, y),
        (Sym::Cond(c1, a1, b1), Sym::Cond(c2, a2, b2)) => {
            same_expr(c1, c2) && same(a1, a2) && same(b1, b2)
        }
        (Sym::Seq(x), Sym::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Sym::Dict(x), Sym::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
        }
        (Sym::Func(x), Sym::Func(y)) => x == y,
        (Sym::Module(x), Sym::Module(y)) => x == y,
        (
            Sym::Pattern {
                pattern: p1,
                ignore_case: i1,
            },
            Sym::Pattern {
                pattern: p2,
                ignore_case: i2,
            },
        ) => p1 == p2 && i1 == i2,
        (
            Sym::Opaque {
                text: t1,
                reason: r1,
            },
            Sym::Opaque {
                text: t2,
                reason: r2,
            },
        ) => t1 == t2 && r1 == r2,
        _ => false,
    }
}

pub fn opaque(text: &str, reason: impl Into<String>) -> Sym {
    Sym::Opaque {
        text: text.to_string(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Truthiness and comparisons of symbolic values.

pub fn truthy(s: &Sym) -> Expr {
    match s {
        Sym::Const(p) => t(p.truthy()),
        Sym::Bool(e) | Sym::Match(e) => e.clone(),
        Sym::Field(f) | Sym::Len(f) => field_truthy(f),
        Sym::Derived(d) => d.truthy(),
        Sym::Filtered(f) | Sym::FilteredLen(f) => f.nonempty(),
        Sym::Guarded(items) => or(items.iter().map(|(g, _)| g.clone()).collect()),
        Sym::Concat {
            prefix,
            field,
            suffix,
        } => {
            if prefix.is_empty() && suffix.is_empty() {
                // f"{x}" is empty only when x is "".
                with_fallbacks(
                    field,
                    not(field_pred(field.name(), Op::Eq, vec![Value::str("")])),
                    &|d| Some(!d.py_str().is_empty()),
                )
            } else {
                t(true)
            }
        }
        Sym::Joined { list, .. } => {
            // A join is empty when the list is, or holds only empty strings.
            Expr::opaque(
                format!("join of {}", list.name()),
                "whether a joined string is empty",
            )
        }
        Sym::Cond(c, a, b) => ite((**c).clone(), truthy(a), truthy(b)),
        Sym::Seq(items) => t(!items.is_empty()),
        Sym::Dict(items) => t(!items.is_empty()),
        Sym::Func(_) | Sym::Module(_) | Sym::Pattern { .. } | Sym::Ip(_) | Sym::Net(_) => t(true),
        // Panther events always carry fields (`p_log_type` and the other `p_` fields).
        Sym::Event => t(true),
        Sym::Opaque { text, reason } => opaque_expr(text, reason),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

fn order_op(c: Cmp, flipped: bool) -> Op {
    let c = if flipped {
        match c {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            o => o,
        }
    } else {
        c
    };
    match c {
        Cmp::Lt => Op::Lt,
        Cmp::Le => Op::Lte,
        Cmp::Gt => Op::Gt,
        _ => Op::Gte,
    }
}

fn expr_sym(e: Expr) -> Sym {
    match const_of(&e) {
        Some(b) => Sym::Const(Py::Bool(b)),
        None => Sym::Bool(e),
    }
}

fn fail(text: &str, a: &Sym, b: &Sym) -> Sym {
    for s in [a, b] {
        if let Sym::Opaque { reason, .. } = s {
            return opaque(text, reason.clone());
        }
    }
    opaque(text, "comparison the reader does not model")
}

/// `a <cmp> b`, `text` being the Python source of the comparison.
pub fn compare(a: &Sym, cmp: Cmp, b: &Sym, text: &str) -> Sym {
    match cmp {
        Cmp::Ne => return negate(compare(a, Cmp::Eq, b, text)),
        Cmp::NotIn => return negate(compare(a, Cmp::In, b, text)),
        Cmp::IsNot => return negate(compare(a, Cmp::Is, b, text)),
        _ => {}
    }
    // Distribute over conditional values first.
    if let Sym::Cond(c, x, y) = a {
        let l = compare(x, cmp, b, text);
        let r = compare(y, cmp, b, text);
        return bool_ite((**c).clone(), l, r);
    }
    if let Sym::Cond(c, x, y) = b {
        let l = compare(a, cmp, x, text);
        let r = compare(a, cmp, y, text);
        return bool_ite((**c).clone(), l, r);
    }
    let out: Option<Sym> = match cmp {
        Cmp::Eq | Cmp::Is => equal(a, b, cmp == Cmp::Is),
        Cmp::In => member(a, b),
        _ => order(a, cmp, b),
    };
    out.unwrap_or_else(|| fail(text, a, b))
}

/// Boolean negation of a symbolic boolean.
pub fn negate(s: Sym) -> Sym {
    match s {
        Sym::Opaque { .. } => s,
        other => expr_sym(not(truthy(&other))),
    }
}

/// A boolean that depends on `c`; an opaque side stays opaque only where `c` leads to it.
pub fn bool_ite(c: Expr, l: Sym, r: Sym) -> Sym {
    if let (Sym::Opaque { .. }, Sym::Opaque { .. }) = (&l, &r) {
        if const_of(&c).is_none() {
            return l;
        }
    }
    expr_sym(ite(c, truthy(&l), truthy(&r)))
}

fn equal(a: &Sym, b: &Sym, identity: bool) -> Option<Sym> {
    if identity {
        // `is` is only modelled against the singletons.
        let singleton = |s: &Sym| matches!(s, Sym::Const(Py::None | Py::Bool(_)));
        if !singleton(a) && !singleton(b) {
            return None;
        }
    }
    Some(match (a, b) {
        (Sym::Const(x), Sym::Const(y)) => {
            let eq = if identity {
                x.type_name() == y.type_name() && x.py_eq(y)
            } else {
                x.py_eq(y)
            };
            Sym::Const(Py::Bool(eq))
        }
        (Sym::Field(f), Sym::Const(c)) | (Sym::Const(c), Sym::Field(f)) => {
            expr_sym(field_eq(f, std::slice::from_ref(c))?)
        }
        (Sym::Field(f), Sym::Field(g)) if !identity => expr_sym(field_field_eq(f, g)?),
        (
            Sym::Field(x),
            Sym::Concat {
                prefix,
                field,
                suffix,
            },
        )
        | (
            Sym::Concat {
                prefix,
                field,
                suffix,
            },
            Sym::Field(x),
        ) if !identity => expr_sym(field_vs_concat(x, Op::Eq, prefix, field, suffix)?),
        (Sym::Derived(d), Sym::Const(c)) | (Sym::Const(c), Sym::Derived(d)) => {
            if let DKind::Count { .. } = d.kind {
                expr_sym(d.count(Op::Eq, c)?)
            } else if d.is_str() {
                expr_sym(d.test(Op::Eq, std::slice::from_ref(c))?)
            } else {
                return None;
            }
        }
        (Sym::Match(e), Sym::Const(Py::None)) | (Sym::Const(Py::None), Sym::Match(e)) => {
            Sym::Bool(not(e.clone()))
        }
        (Sym::Bool(e), Sym::Const(c)) | (Sym::Const(c), Sym::Bool(e)) => match c {
            Py::Bool(true) => Sym::Bool(e.clone()),
            Py::Int(1) if !identity => Sym::Bool(e.clone()),
            Py::Bool(false) => Sym::Bool(not(e.clone())),
            Py::Int(0) if !identity => Sym::Bool(not(e.clone())),
            _ => Sym::Const(Py::Bool(false)),
        },
        (Sym::Seq(_) | Sym::Dict(_), Sym::Const(Py::None | Py::Bool(_) | Py::Str(_)))
        | (Sym::Const(Py::None | Py::Bool(_) | Py::Str(_)), Sym::Seq(_) | Sym::Dict(_)) => {
            Sym::Const(Py::Bool(false))
        }
        _ => return None,
    })
}

fn member(item: &Sym, container: &Sym) -> Option<Sym> {
    Some(match (item, container) {
        (Sym::Const(x), Sym::Const(c)) => Sym::Const(Py::Bool(c.contains(x)?)),
        (Sym::Field(f), Sym::Const(c)) => match c {
            Py::Str(_) => return None,
            Py::List(v) | Py::Tuple(v) | Py::Set(v) => expr_sym(field_eq(f, v)?),
            Py::Dict(d) => {
                let keys: Vec<Py> = d.iter().map(|(k, _)| k.clone()).collect();
                expr_sym(field_eq(f, &keys)?)
            }
            _ => return None,
        },
        (Sym::Const(x), Sym::Field(f)) => expr_sym(field_contains(f, x)?),
        (
            Sym::Concat {
                prefix,
                field,
                suffix,
            },
            Sym::Field(x),
        ) => expr_sym(field_vs_concat(x, Op::Contains, prefix, field, suffix)?),
        (Sym::Derived(d), Sym::Const(c)) if d.is_str() => match c {
            Py::List(v) | Py::Tuple(v) | Py::Set(v) => expr_sym(d.test(Op::Eq, v)?),
            Py::Dict(items) => {
                let keys: Vec<Py> = items.iter().map(|(k, _)| k.clone()).collect();
                expr_sym(d.test(Op::Eq, &keys)?)
            }
            _ => return None,
        },
        (Sym::Const(x @ Py::Str(_)), Sym::Derived(d)) if d.is_str() => {
            expr_sym(d.test(Op::Contains, std::slice::from_ref(x))?)
        }
        (Sym::Ip(f), Sym::Net(nets)) => expr_sym(field_str_op(
            f,
            Op::Cidr,
            &nets.iter().map(|n| Py::Str(n.clone())).collect::<Vec<_>>(),
            true,
            &|_| false,
        )?),
        (Sym::Const(Py::Str(k)), Sym::Event) => {
            Sym::Bool(field_pred(k.clone(), Op::Exists, vec![]))
        }
        (Sym::Seq(items), Sym::Const(coll)) if !matches!(coll, Py::Str(_)) => {
            // (a, b) in {(x, y), ...}: the tuple equals one of the tuples.
            let mut alts = Vec::new();
            for t in coll.iter_items()? {
                let (Py::Tuple(vals) | Py::List(vals)) = &t else {
                    continue;
                };
                if vals.len() != items.len() {
                    continue;
                }
                let mut parts = Vec::new();
                for (i, v) in items.iter().zip(vals) {
                    match equal(i, &Sym::Const(v.clone()), false)? {
                        Sym::Opaque { .. } => return None,
                        s => parts.push(truthy(&s)),
                    }
                }
                alts.push(and(parts));
            }
            expr_sym(or(alts))
        }
        (x, Sym::Guarded(items)) => {
            let mut parts = Vec::new();
            for (g, e) in items {
                match equal(x, e, false)? {
                    Sym::Opaque { .. } => return None,
                    s => parts.push(and(vec![g.clone(), truthy(&s)])),
                }
            }
            expr_sym(or(parts))
        }
        (x, Sym::Filtered(f)) => {
            let e = equal(&f.elem, x, false)?;
            if let Sym::Opaque { .. } = e {
                return None;
            }
            expr_sym(f.some(truthy(&e)))
        }
        (Sym::Const(Py::Str(v)), Sym::Joined { list, sep, fold }) => {
            // A value without the separator is in the joined string exactly when some
            // element holds it.
            if v.is_empty() {
                Sym::Const(Py::Bool(true))
            } else if v.contains(sep.as_str()) || !list.is_plain() {
                return None;
            } else {
                if *fold && v.to_lowercase() != *v {
                    return Some(Sym::Const(Py::Bool(false)));
                }
                let p = Predicate::field(list.name(), Op::Contains, vec![Value::str(v.clone())])
                    .cased(!fold);
                expr_sym(Expr::Pred(p))
            }
        }
        (x, Sym::Seq(items)) => {
            let mut parts = Vec::new();
            for i in items {
                match equal(x, i, false)? {
                    Sym::Opaque { .. } => return None,
                    s => parts.push(truthy(&s)),
                }
            }
            expr_sym(or(parts))
        }
        (x, Sym::Dict(items)) => {
            let keys: Vec<Py> = items.iter().map(|(k, _)| k.clone()).collect();
            return member(x, &Sym::Const(Py::List(keys)));
        }
        _ => return None,
    })
}

fn order(a: &Sym, cmp: Cmp, b: &Sym) -> Option<Sym> {
    Some(match (a, b) {
        (Sym::Const(x), Sym::Const(y)) => {
            let o = x.py_cmp(y)?;
            let r = match cmp {
                Cmp::Lt => o.is_lt(),
                Cmp::Le => o.is_le(),
                Cmp::Gt => o.is_gt(),
                _ => o.is_ge(),
            };
            Sym::Const(Py::Bool(r))
        }
        (Sym::Field(f), Sym::Const(c)) => expr_sym(field_order(f, order_op(cmp, false), c)?),
        (Sym::Const(c), Sym::Field(f)) => expr_sym(field_order(f, order_op(cmp, true), c)?),
        (Sym::Derived(d), Sym::Const(c)) => expr_sym(d.count(order_op(cmp, false), c)?),
        (Sym::Const(c), Sym::Derived(d)) => expr_sym(d.count(order_op(cmp, true), c)?),
        _ => return None,
    })
}
