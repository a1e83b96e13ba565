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
// Boolean IR with constant folding.

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

pub fn and(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for i in items {
        match i {
            Expr::Const { value: true } => {}
            Expr::Const { value: false } => return t(false),
            Expr::All { items } => {
                for x in items {
                    if !out.iter().any(|o| same_expr(o, &x)) {
                        out.push(x);
                    }
                }
            }
            other => {
                if !out.iter().any(|o| same_expr(o, &other)) {
                    out.push(other);
                }
            }
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
            Expr::Any { items } => {
                for x in items {
                    if !out.iter().any(|o| same_expr(o, &x)) {
                        out.push(x);
                    }
                }
            }
            other => {
                if !out.iter().any(|o| same_expr(o, &other)) {
                    out.push(other);
                }
            }
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
        None => Sym::Cond(Box::new(c), Box::new(a), Box::new(b)),
    }
}

fn opaque_expr(text: &str, reason: &str) -> Expr {
    Expr::opaque(text, reason)
}

// ---------------------------------------------------------------------------------------
// Field predicates.

fn field_pred(name: String, op: Op, values: Vec<Value>) -> Expr {
    Expr::Pred(Predicate::field(name, op, values).cased(true))
}

/// The path is absent.
pub fn missing_guard(f: &Field) -> Expr {
    not(field_pred(f.name(), Op::Exists, vec![]))
}

/// The path is present and null.
pub fn null_guard(f: &Field) -> Expr {
    and(vec![
        field_pred(f.name(), Op::Exists, vec![]),
        field_pred(f.name(), Op::IsNull, vec![]),
    ])
}

/// Or's the absent and null cases where `check` (Python on the value yielded) says true.
pub fn with_fallbacks(f: &Field, present: Expr, check: &dyn Fn(&Py) -> Option<bool>) -> Expr {
    let m = f.missing.as_ref().and_then(check) == Some(true);
    let n = f.null.as_ref().and_then(check) == Some(true);
    let extra = match (m, n) {
        (true, true) => field_pred(f.name(), Op::IsNull, vec![]),
        (true, false) => missing_guard(f),
        (false, true) => null_guard(f),
        (false, false) => return present,
    };
    or(vec![present, extra])
}

/// The predicate on a present, non-null value, with conversions and case handled.
/// `None` when the comparison cannot be expressed.
fn present_pred(f: &Field, op: Op, values: &[Py]) -> Option<Expr> {
    let mut vals: Vec<Value> = Vec::new();
    for v in values {
        match (f.conv, v) {
            // A present value is never None.
            (_, Py::None) => {}
            (Some(Conv::Int | Conv::Float), Py::Int(_) | Py::Float(_) | Py::Bool(_)) => {
                vals.push(v.to_value()?)
            }
            // int(x) == "5" is never true; int(x) < "5" raises.
            (Some(Conv::Int | Conv::Float), _) => {}
            (Some(Conv::Str), Py::Str(_)) => vals.push(v.to_value()?),
            (Some(Conv::Str), _) => {}
            (None, Py::List(_) | Py::Tuple(_) | Py::Set(_) | Py::Dict(_)) => return None,
            (None, _) => vals.push(v.to_value()?),
        }
    }
    if vals.is_empty() {
        return Some(t(false));
    }
    let numeric = matches!(f.conv, Some(Conv::Int | Conv::Float));
    if numeric && !matches!(op, Op::Eq | Op::Gt | Op::Gte | Op::Lt | Op::Lte) {
        return Some(t(false));
    }
    let mut p = Predicate::field(f.name(), op, vals).cased(true);
    if let Some(tr) = f.transform {
        let folded = |s: &str| match tr {
            Transform::Lower => s.to_lowercase() == s,
            Transform::Upper => s.to_uppercase() == s,
            _ => false,
        };
        let case_op = matches!(tr, Transform::Lower | Transform::Upper);
        if case_op && matches!(op, Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith) {
            // lower(x) == "Abc" never holds; lower(x) == "abc" is a case-insensitive test.
            p.values.retain(|v| matches!(v, Value::Str(s) if folded(s)));
            if p.values.is_empty() {
                return Some(t(false));
            }
            p.case_sensitive = false;
        } else {
            p.transform = Some(tr);
        }
    }
    Some(Expr::Pred(p))
}

/// `f == v` (`f in [v...]` with several values).
pub fn field_eq(f: &Field, values: &[Py]) -> Option<Expr> {
    if let [c @ (Py::List(items) | Py::Tuple(items))] = values {
        // `x == ["a", "b"]`: a list of the event with exactly these elements.
        if !items.is_empty() && f.is_plain() {
            let mut parts = vec![field_pred(f.name(), Op::IsType, vec![Value::str("array")])];
            for (i, it) in items.iter().enumerate() {
                let v = it.to_value().filter(|v| !matches!(v, Value::Null))?;
                parts.push(field_pred(format!("{}.{i}", f.name()), Op::Eq, vec![v]));
            }
            parts.push(not(field_pred(
                format!("{}.{}", f.name(), items.len()),
                Op::Exists,
                vec![],
            )));
            return Some(with_fallbacks(f, and(parts), &|d| {
                Some(
                    d.py_eq(c)
                        || matches!((d, c), (Py::Tuple(a), Py::List(b)) | (Py::List(a), Py::Tuple(b)) if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))),
                )
            }));
        }
    }
    if let [c @ (Py::List(_) | Py::Tuple(_) | Py::Dict(_))] = values {
        // `x == []`, `x == {}`: an empty list (object) of the event.
        if c.truthy() || !f.is_plain() {
            return None;
        }
        let ty = if matches!(c, Py::Dict(_)) {
            "object"
        } else {
            "array"
        };
        let present = and(vec![
            field_pred(f.name(), Op::IsType, vec![Value::str(ty)]),
            not(field_pred(f.name(), Op::Truthy, vec![])),
        ]);
        return Some(with_fallbacks(f, present, &|d| Some(d.py_eq(c))));
    }
    let present = if f.is_plain() {
        typed_eq(f, values)?
    } else {
        present_pred(f, Op::Eq, values)?
    };
    Some(with_fallbacks(f, present, &|d| {
        Some(values.iter().any(|v| v.py_eq(d)))
    }))
}

/// `x == v` with Python's types: a string never equals a number or a boolean. The matcher
/// compares `"200"` with `200` and `"true"` with `true` alike, so values it could confuse
/// get a type test beside them.
fn typed_eq(f: &Field, values: &[Py]) -> Option<Expr> {
    let ambiguous = |s: &str| {
        s == "true"
            || s == "false"
            || (!s.is_empty() && s.len() < 16 && s.bytes().all(|b| b.is_ascii_digit()))
    };
    let (mut plain, mut amb, mut nums) = (Vec::new(), Vec::new(), Vec::new());
    for v in values {
        match v {
            Py::None => {}
            Py::Str(s) if ambiguous(s) => amb.push(v.clone()),
            Py::Str(_) => plain.push(v.clone()),
            Py::Int(_) | Py::Float(_) | Py::Bool(_) => nums.push(v.clone()),
            _ => return None,
        }
    }
    let mut parts = Vec::new();
    if !plain.is_empty() {
        parts.push(present_pred(f, Op::Eq, &plain)?);
    }
    if !amb.is_empty() {
        parts.push(and(vec![
            field_pred(f.name(), Op::IsType, vec![Value::str("string")]),
            present_pred(f, Op::Eq, &amb)?,
        ]));
    }
    if !nums.is_empty() {
        parts.push(and(vec![
            field_pred(
                f.name(),
                Op::IsType,
                vec![
                    Value::str("integer"),
                    Value::str("float"),
                    Value::str("boolean"),
                ],
            ),
            present_pred(f, Op::Eq, &nums)?,
        ]));
    }
    Some(or(parts))
}

/// `f.startswith(..)`, `f.endswith(..)`, `re.search(.., f)`: `op` on a string value.
pub fn field_str_op(
    f: &Field,
    op: Op,
    values: &[Py],
    cased: bool,
    check: &dyn Fn(&str) -> bool,
) -> Option<Expr> {
    if f.conv.is_some_and(|c| c != Conv::Str) {
        return Some(t(false));
    }
    let mut present = present_pred(f, op, values)?;
    if !cased {
        if let Expr::Pred(p) = &mut present {
            p.case_sensitive = false;
        }
    }
    Some(with_fallbacks(f, present, &|d| d.as_str().map(check)))
}

/// `f < v` and friends.
pub fn field_order(f: &Field, op: Op, v: &Py) -> Option<Expr> {
    if !matches!(v, Py::Int(_) | Py::Float(_) | Py::Str(_)) {
        return None;
    }
    let present = present_pred(f, op, std::slice::from_ref(v))?;
    Some(with_fallbacks(f, present, &|d| {
        d.py_cmp(v).map(|o| match op {
            Op::Gt => o.is_gt(),
            Op::Gte => o.is_ge(),
            Op::Lt => o.is_lt(),
            _ => o.is_le(),
        })
    }))
}

/// `item in f`: substring for strings, membership for lists, key for dicts (by the hint).
pub fn field_contains(f: &Field, item: &Py) -> Option<Expr> {
    let typed = |ty: &str, e: Expr| {
        and(vec![
            field_pred(f.name(), Op::IsType, vec![Value::str(ty)]),
            e,
        ])
    };
    let present = match (item, f.conv, f.transform) {
        // The value's own type decides: substring of a string, element of a list, key of
        // an object.
        (Py::Str(k), None, None) => {
            let mut p = f.path.clone();
            p.push(k.clone());
            or(vec![
                typed(
                    "string",
                    present_pred(f, Op::Contains, std::slice::from_ref(item))?,
                ),
                typed(
                    "array",
                    present_pred(f, Op::Eq, std::slice::from_ref(item))?,
                ),
                typed("object", field_pred(p.join("."), Op::Exists, vec![])),
            ])
        }
        (Py::Str(_), None | Some(Conv::Str), _) => {
            present_pred(f, Op::Contains, std::slice::from_ref(item))?
        }
        (Py::Int(_) | Py::Float(_) | Py::Bool(_), None, None) => typed(
            "array",
            present_pred(f, Op::Eq, std::slice::from_ref(item))?,
        ),
        _ => return None,
    };
    Some(with_fallbacks(f, present, &|d| d.contains(item)))
}

/// Python truthiness of a field.
pub fn field_truthy(f: &Field) -> Expr {
    let name = f.name();
    let present = match f.conv {
        Some(Conv::Int | Conv::Float) => not(field_pred(name, Op::Eq, vec![Value::Num(0.0)])),
        Some(Conv::Str) => and(vec![
            not(field_pred(name.clone(), Op::IsNull, vec![])),
            not(field_pred(name, Op::Eq, vec![Value::str("")])),
        ]),
        None => field_pred(name, Op::Truthy, vec![]),
    };
    with_fallbacks(f, present, &|d| Some(d.truthy()))
}

/// `x <op> f"{prefix}{field}{suffix}"` for `op` in Eq, StartsWith, EndsWith, Contains (of
/// `x` containing the built text). Exact when the text is the field alone; otherwise the
/// part on the field is a condition the real one implies, with an opaque node for the
/// constant text, so the result is false when surely false and unknown otherwise.
pub fn field_vs_concat(x: &Field, op: Op, prefix: &str, f: &Field, suffix: &str) -> Option<Expr> {
    if !x.is_plain() {
        return None;
    }
    let exact = prefix.is_empty() && suffix.is_empty();
    let ref_op = match op {
        Op::EndsWith if suffix.is_empty() => Op::EndsWith,
        Op::StartsWith if prefix.is_empty() => Op::StartsWith,
        Op::Eq if exact => Op::Eq,
        Op::Eq if suffix.is_empty() => Op::EndsWith,
        Op::Eq if prefix.is_empty() => Op::StartsWith,
        _ => Op::Contains,
    };
    let mut p = Predicate::field(x.name(), ref_op, vec![Value::str(f.name())]).cased(true);
    p.field_ref = true;
    let mut present = Expr::Pred(p);
    if !exact {
        present = and(vec![
            present,
            Expr::opaque(
                format!("{prefix}{{{}}}{suffix}", f.name()),
                "a comparison with text built around a field",
            ),
        ]);
    }
    // When the field is absent or null, the text is constant.
    let text_of = |d: &Py| format!("{prefix}{}{suffix}", d.py_str());
    let mut cases = vec![present];
    for (guard, val) in [
        (missing_guard(f), f.missing.clone()),
        (null_guard(f), f.null.clone()),
    ] {
        let Some(val) = val else { continue };
        let s = text_of(&val);
        let e = match op {
            Op::Eq => field_eq(x, &[Py::Str(s.clone())])?,
            Op::Contains => field_contains(x, &Py::Str(s.clone()))?,
            _ => field_str_op(x, op, &[Py::Str(s.clone())], true, &|h| match op {
                Op::StartsWith => h.starts_with(s.as_str()),
                _ => h.ends_with(s.as_str()),
            })?,
        };
        cases.push(and(vec![guard, e]));
    }
    Some(or(cases))
}

/// `a == b` for two fields.
pub fn field_field_eq(a: &Field, b: &Field) -> Option<Expr> {
    if !a.is_plain() || !b.is_plain() {
        return None;
    }
    let mut p = Predicate::field(a.name(), Op::Eq, vec![Value::str(b.name())]).cased(true);
    p.field_ref = true;
    let mut cases = vec![Expr::Pred(p)];
    let alts = |f: &Field| -> Vec<(Expr, Py)> {
        let mut v = Vec::new();
        if let Some(m) = &f.missing {
            v.push((missing_guard(f), m.clone()));
        }
        if let Some(n) = &f.null {
            v.push((null_guard(f), n.clone()));
        }
        v
    };
    for (g, val) in alts(a) {
        cases.push(and(vec![g, field_eq(b, std::slice::from_ref(&val))?]));
    }
    for (g, val) in alts(b) {
        cases.push(and(vec![g, field_eq(a, std::slice::from_ref(&val))?]));
    }
    for (ga, va) in alts(a) {
        for (gb, vb) in alts(b) {
            if va.py_eq(&vb) {
                cases.push(and(vec![ga.clone(), gb]));
            }
        }
    }
    Some(or(cases))
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

// ---------------------------------------------------------------------------------------
// Quantifiers over loop variables.

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

fn depends(e: &Expr, marker: &str) -> bool {
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

fn any_element(e: &Expr, marker: &str, list: &str) -> Expr {
    Expr::AnyElement {
        field: strip_marker(list, marker),
        item: Box::new(strip_expr(e, marker)),
    }
}

/// `e` with the element marker taken out of every path.
fn strip_expr(e: &Expr, marker: &str) -> Expr {
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

fn strip_marker(field: &str, marker: &str) -> String {
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
