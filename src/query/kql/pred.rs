//! KQL `where` expressions as IR predicates, with KQL's string semantics: `==` and `in`
//! compare case-sensitively, `=~`, `in~`, `has`, `contains`, `startswith` and `endswith`
//! do not (their `_cs` forms do), `has` matches whole terms, `matches regex` is
//! case-sensitive. Time-window conditions (`TimeGenerated > ago(1d)`) are dropped: they say
//! when the rule looks, not what it looks for.

use super::ast::*;
use super::lower::{literal, Binding, Computed, Flow, Lowerer, Scalar};
use crate::model::{Expr, Op, Predicate, Transform, Value};

/// A field of the event, or a column the query computed in a way the IR cannot follow.
pub(super) enum FieldRes {
    Field {
        path: String,
        transform: Option<Transform>,
    },
    Computed(String),
}

const TIME_FNS: &[&str] = &[
    "ago",
    "now",
    "datetime",
    "todatetime",
    "startofday",
    "startofweek",
    "startofmonth",
    "startofyear",
    "endofday",
    "endofweek",
    "endofmonth",
    "endofyear",
    "datetime_add",
    "bin",
    "bin_at",
    "floor",
    "ingestion_time",
    "make_datetime",
    "unixtime_seconds_todatetime",
    "unixtime_milliseconds_todatetime",
    "timespan",
    "totimespan",
];

/// The expression is a point or span of time.
pub(super) fn is_time(lw: &Lowerer, ex: &Ex) -> bool {
    match &ex.kind {
        ExKind::Timespan(_) => true,
        ExKind::Call { name, args } => {
            let n = name.to_ascii_lowercase();
            if n == "bin" || n == "floor" || n == "bin_at" {
                return args.iter().any(|a| is_time(lw, a) || is_time_field(a));
            }
            TIME_FNS.contains(&n.as_str())
        }
        ExKind::Ident(n) => matches!(lw.lookup(n), Some(Binding::Scalar(Scalar::Time))),
        ExKind::Binary { op, lhs, rhs } if matches!(op.as_str(), "+" | "-" | "*" | "/") => {
            is_time(lw, lhs) || is_time(lw, rhs)
        }
        ExKind::Unary { expr, .. } => is_time(lw, expr),
        ExKind::Range { lo, hi } => is_time(lw, lo) || is_time(lw, hi),
        _ => false,
    }
}

/// The ingestion / event time columns.
fn is_time_field(ex: &Ex) -> bool {
    match &ex.kind {
        ExKind::Ident(n) => matches!(
            n.as_str(),
            "TimeGenerated" | "Timestamp" | "timestamp" | "TimeCreated" | "EventTime"
        ),
        ExKind::Call { name, args } => {
            name.eq_ignore_ascii_case("ingestion_time")
                || (name.eq_ignore_ascii_case("bin") && args.first().is_some_and(is_time_field))
        }
        _ => false,
    }
}

/// The field an expression reads (`X`, `parse_json(X).a`, `tolower(X)`, a column computed
/// earlier from one of those).
pub(super) fn field_of(lw: &Lowerer, ex: &Ex, flow: &Flow) -> Option<FieldRes> {
    match &ex.kind {
        ExKind::Ident(n) => column(lw, n, flow),
        ExKind::Member { base, name } => {
            if matches!(base.ident(), Some("$left" | "$right")) {
                return column(lw, name, flow);
            }
            match field_of(lw, base, flow)? {
                FieldRes::Field {
                    path,
                    transform: None,
                } => Some(FieldRes::Field {
                    path: format!("{path}.{name}"),
                    transform: None,
                }),
                FieldRes::Field { .. } => None,
                c @ FieldRes::Computed(_) => Some(c),
            }
        }
        ExKind::Index { base, index } => match &index.kind {
            ExKind::Str(k) => match field_of(lw, base, flow)? {
                FieldRes::Field {
                    path,
                    transform: None,
                } => Some(FieldRes::Field {
                    path: format!("{path}.{k}"),
                    transform: None,
                }),
                FieldRes::Field { .. } => None,
                c @ FieldRes::Computed(_) => Some(c),
            },
            // An array element: the matcher tests every element of an array.
            ExKind::Num(_) => field_of(lw, base, flow),
            _ => None,
        },
        ExKind::Call { name, args } => {
            let n = name.to_ascii_lowercase();
            let first = args.first()?;
            match n.as_str() {
                "tostring" | "todynamic" | "parse_json" | "parsejson" | "tolong" | "toint"
                | "toreal" | "todouble" | "tobool" | "toguid" | "todecimal" | "trim_end"
                | "trim_start" => {
                    if args.len() == 1 {
                        field_of(lw, first, flow)
                    } else {
                        None
                    }
                }
                "column_ifexists" | "columnifexists" => match &first.kind {
                    ExKind::Str(c) => column(lw, c, flow),
                    _ => None,
                },
                "tolower" | "toupper" | "strlen" | "string_size" | "hourofday" | "dayofmonth"
                | "getmonth" | "monthofyear" | "getyear" | "week_of_year" => {
                    let t = match n.as_str() {
                        "tolower" => Transform::Lower,
                        "toupper" => Transform::Upper,
                        "hourofday" => Transform::Hour,
                        "dayofmonth" => Transform::Day,
                        "getmonth" | "monthofyear" => Transform::Month,
                        "getyear" => Transform::Year,
                        "week_of_year" => Transform::Week,
                        _ => Transform::Length,
                    };
                    match field_of(lw, first, flow)? {
                        FieldRes::Field {
                            path,
                            transform: None,
                        } => Some(FieldRes::Field {
                            path,
                            transform: Some(t),
                        }),
                        FieldRes::Field { .. } => None,
                        c @ FieldRes::Computed(_) => Some(c),
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn column(lw: &Lowerer, n: &str, flow: &Flow) -> Option<FieldRes> {
    if lw.lookup(n).is_some() || matches!(n, "true" | "false" | "null") {
        return None;
    }
    match flow.computed.get(n) {
        Some(Computed::Alias { field, transform }) => Some(FieldRes::Field {
            path: field.clone(),
            transform: *transform,
        }),
        Some(Computed::Opaque(def)) => Some(FieldRes::Computed(format!("`{n}` = {def}"))),
        None => Some(FieldRes::Field {
            path: n.to_string(),
            transform: None,
        }),
    }
}

/// Literal values of an expression: literals, lists, `dynamic([...])`, `pack_array(...)`,
/// `let` names bound to those.
pub(super) fn values_of(lw: &Lowerer, ex: &Ex) -> Option<Vec<Value>> {
    if let Some(v) = literal(ex) {
        return Some(vec![v]);
    }
    match &ex.kind {
        ExKind::List(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(values_of(lw, i)?);
            }
            Some(out)
        }
        ExKind::Call { name, args } => {
            let n = name.to_ascii_lowercase();
            match n.as_str() {
                "dynamic" => match args.as_slice() {
                    [] => Some(Vec::new()),
                    [a] if matches!(a.kind, ExKind::Null) => Some(Vec::new()),
                    // `dynamic(['x'])` reads like the bracketed name `['x']`.
                    [Ex {
                        kind: ExKind::Ident(n),
                        span,
                    }] if lw.src.get(span.0..span.0 + 1) == Some("[") => {
                        Some(vec![Value::Str(n.clone())])
                    }
                    [a] => values_of(lw, a),
                    _ => None,
                },
                "pack_array" => {
                    let mut out = Vec::new();
                    for a in args {
                        out.extend(values_of(lw, a)?);
                    }
                    Some(out)
                }
                "tolower" | "toupper" | "tostring" | "strcat" => {
                    let mut parts = Vec::new();
                    for a in args {
                        let vs = values_of(lw, a)?;
                        let [v] = vs.as_slice() else { return None };
                        parts.push(v.to_string());
                    }
                    if n != "strcat" && parts.len() != 1 {
                        return None;
                    }
                    let s = parts.concat();
                    Some(vec![Value::Str(match n.as_str() {
                        "tolower" => s.to_lowercase(),
                        "toupper" => s.to_uppercase(),
                        _ => s,
                    })])
                }
                "tolong" | "toint" | "toreal" | "todouble" => {
                    let vs = values_of(lw, args.first()?)?;
                    vs.into_iter()
                        .map(|v| match v {
                            Value::Num(n) => Some(Value::Num(n)),
                            Value::Str(s) => s.trim().parse().ok().map(Value::Num),
                            _ => None,
                        })
                        .collect()
                }
                _ => None,
            }
        }
        ExKind::Ident(n) => match lw.lookup(n)? {
            Binding::Scalar(Scalar::Values(vs)) => Some(vs.clone()),
            Binding::Tabular {
                values: Some(vs), ..
            } => Some(vs.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The right-hand side of a comparison.
enum Rhs {
    Values(Vec<Value>),
    Field(String),
    Opaque(String),
}

fn rhs_of(lw: &Lowerer, ex: &Ex, flow: &Flow) -> Rhs {
    if let Some(vs) = values_of(lw, ex) {
        return Rhs::Values(vs);
    }
    match &ex.kind {
        ExKind::Ident(n) => match lw.lookup(n) {
            Some(Binding::Tabular { .. }) | Some(Binding::Function(_)) => {
                return Rhs::Opaque(format!("membership in the rows of the query `{n}`"))
            }
            Some(Binding::Scalar(_)) => {
                return Rhs::Opaque(format!(
                    "compared with `{n}`, a value computed by the query"
                ))
            }
            None => {}
        },
        ExKind::List(items)
            if items
                .iter()
                .any(|i| matches!(i.kind, ExKind::Pipe { .. } | ExKind::Ident(_))) =>
        {
            if let [one] = items.as_slice() {
                return rhs_of(lw, one, flow);
            }
            return Rhs::Opaque("membership in the rows of a subquery".into());
        }
        ExKind::Pipe { .. } => return Rhs::Opaque("membership in the rows of a subquery".into()),
        _ => {}
    }
    match field_of(lw, ex, flow) {
        Some(FieldRes::Field {
            path,
            transform: None,
        }) if !matches!(ex.kind, ExKind::Call { .. }) || is_conversion(ex) => Rhs::Field(path),
        _ => Rhs::Opaque("compared value not understood".into()),
    }
}

fn is_conversion(ex: &Ex) -> bool {
    matches!(&ex.kind, ExKind::Call { name, .. }
        if matches!(name.to_ascii_lowercase().as_str(), "tostring" | "column_ifexists"))
}

fn opaque(lw: &Lowerer, ex: &Ex, reason: impl Into<String>) -> Expr {
    Expr::opaque(lw.text(ex.span), reason)
}

/// Conjunction that flattens nested `All`s.
fn and(a: Expr, b: Expr) -> Expr {
    let mut items = Vec::new();
    for e in [a, b] {
        match e {
            Expr::All { items: inner } => items.extend(inner),
            other => items.push(other),
        }
    }
    Expr::all(items)
}

fn or(a: Expr, b: Expr) -> Expr {
    let mut items = Vec::new();
    for e in [a, b] {
        match e {
            Expr::Any { items: inner } => items.extend(inner),
            other => items.push(other),
        }
    }
    Expr::any(items)
}

/// A `where` expression as IR; `None` when it does not constrain the event (a time window).
pub(super) fn pred(lw: &mut Lowerer, ex: &Ex, flow: &Flow) -> Option<Expr> {
    match &ex.kind {
        ExKind::Binary { op, lhs, rhs } if op == "and" => {
            match (pred(lw, lhs, flow), pred(lw, rhs, flow)) {
                (None, None) => None,
                (Some(a), None) | (None, Some(a)) => Some(a),
                (Some(a), Some(b)) => Some(and(a, b)),
            }
        }
        ExKind::Binary { op, lhs, rhs } if op == "or" => {
            match (pred(lw, lhs, flow), pred(lw, rhs, flow)) {
                (Some(Expr::Const { value: false }), other)
                | (other, Some(Expr::Const { value: false })) => {
                    other.or(Some(Expr::Const { value: false }))
                }
                (Some(a), Some(b)) => Some(or(a, b)),
                _ => None,
            }
        }
        ExKind::Binary { op, lhs, rhs } => comparison(lw, op, lhs, rhs, ex, flow),
        ExKind::Call { name, args } => call(lw, name, args, ex, flow),
        ExKind::Unary { op: "!", expr } => negate(pred(lw, expr, flow)),
        ExKind::Bool(true) => None,
        ExKind::Bool(false) => Some(Expr::Const { value: false }),
        ExKind::Ident(_) | ExKind::Member { .. } | ExKind::Index { .. } => {
            if let ExKind::Ident(n) = &ex.kind {
                if let Some(Binding::Scalar(Scalar::Values(vs))) = lw.lookup(n) {
                    return match vs.as_slice() {
                        [Value::Bool(true)] => None,
                        [Value::Bool(false)] => Some(Expr::Const { value: false }),
                        _ => Some(opaque(lw, ex, "a value used as a condition")),
                    };
                }
            }
            // A boolean column.
            match field_of(lw, ex, flow) {
                Some(FieldRes::Field { path, transform }) => {
                    let mut p = Predicate::field(path, Op::Eq, vec![Value::Bool(true)]);
                    p.transform = transform;
                    Some(Expr::Pred(p))
                }
                Some(FieldRes::Computed(def)) => Some(opaque(
                    lw,
                    ex,
                    format!("condition on the computed column {def}"),
                )),
                None => Some(opaque(lw, ex, "condition not understood")),
            }
        }
        _ => Some(opaque(lw, ex, "condition not understood")),
    }
}

/// `search "term" and Col:"x"` / `search Col has "x"`.
pub(super) fn search(lw: &mut Lowerer, ex: &Ex, flow: &Flow) -> Option<Expr> {
    match &ex.kind {
        ExKind::Str(s) => {
            let op = if s.contains('*') {
                Op::Glob
            } else {
                Op::HasTerm
            };
            let s = if op == Op::Glob {
                format!("*{}*", s.trim_matches('*'))
            } else {
                s.clone()
            };
            Some(Expr::Pred(Predicate::new(None, op, vec![Value::Str(s)])))
        }
        ExKind::Binary { op, lhs, rhs } if op == "and" || op == "or" => {
            match (search(lw, lhs, flow), search(lw, rhs, flow)) {
                (Some(a), Some(b)) if op == "and" => Some(and(a, b)),
                (Some(a), Some(b)) => Some(or(a, b)),
                (Some(a), None) | (None, Some(a)) if op == "and" => Some(a),
                _ => None,
            }
        }
        ExKind::Call { name, args } if name.eq_ignore_ascii_case("not") && args.len() == 1 => {
            search(lw, &args[0], flow).map(Expr::not)
        }
        _ => pred(lw, ex, flow),
    }
}

const PRIVATE_RANGES: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

fn call(lw: &mut Lowerer, name: &str, args: &[Ex], ex: &Ex, flow: &Flow) -> Option<Expr> {
    let n = name.to_ascii_lowercase();
    for a in args {
        lw.scan_subqueries(a);
    }
    let field = |lw: &Lowerer, a: Option<&Ex>| a.and_then(|a| field_of(lw, a, flow));
    match n.as_str() {
        "not" if args.len() == 1 => negate(pred(lw, &args[0], flow)),
        "isempty" | "isnotempty" | "isnull" | "isnotnull"
            if args.len() == 1 && field_of(lw, &args[0], flow).is_none() =>
        {
            // A `let` value tested for emptiness (an optional query parameter).
            let Some(vs) = values_of(lw, &args[0]) else {
                return Some(opaque(lw, ex, "emptiness test of a computed value"));
            };
            let empty = match vs.as_slice() {
                [] | [Value::Null] => true,
                [Value::Str(s)] => s.is_empty() && n.ends_with("empty"),
                _ => false,
            };
            constant(empty != n.starts_with("isnot"))
        }
        "isempty" | "isnotempty" | "isnull" | "isnotnull" if args.len() == 1 => {
            let op = if n.ends_with("empty") {
                Op::IsEmpty
            } else {
                Op::IsNull
            };
            let e = match field(lw, args.first()) {
                Some(FieldRes::Field {
                    path,
                    transform: None,
                }) => Expr::Pred(Predicate::field(path, op, Vec::new())),
                Some(FieldRes::Computed(def)) => {
                    return Some(opaque(lw, ex, format!("test of the computed column {def}")))
                }
                _ => return Some(opaque(lw, ex, "emptiness test not understood")),
            };
            Some(if n.starts_with("isnot") {
                Expr::not(e)
            } else {
                e
            })
        }
        "ipv4_is_match" | "ipv6_is_match" if args.len() == 2 => {
            // One side a field, the other an address or prefix.
            for (f, v) in [(&args[1], &args[0]), (&args[0], &args[1])] {
                if let (
                    Some(FieldRes::Field {
                        path,
                        transform: None,
                    }),
                    Some(values),
                ) = (field_of(lw, f, flow), values_of(lw, v))
                {
                    return Some(Expr::Pred(Predicate::field(path, Op::Cidr, values)));
                }
            }
            Some(opaque(lw, ex, "address test not understood"))
        }
        "ipv4_is_private" | "ipv4_is_in_range" | "ipv4_is_in_any_range" | "ipv6_is_in_range" => {
            let Some(FieldRes::Field {
                path,
                transform: None,
            }) = field(lw, args.first())
            else {
                return Some(opaque(lw, ex, "address test not understood"));
            };
            let values = if n == "ipv4_is_private" {
                PRIVATE_RANGES.iter().map(|r| Value::str(*r)).collect()
            } else {
                let mut vs = Vec::new();
                for a in &args[1..] {
                    match values_of(lw, a) {
                        Some(v) => vs.extend(v),
                        None => return Some(opaque(lw, ex, "address range not understood")),
                    }
                }
                vs
            };
            Some(Expr::Pred(Predicate::field(path, Op::Cidr, values)))
        }
        _ => Some(opaque(lw, ex, format!("function `{name}` in a condition"))),
    }
}

fn bool_literal(ex: &Ex) -> Option<bool> {
    match &ex.kind {
        ExKind::Bool(b) => Some(*b),
        ExKind::Ident(n) if n.eq_ignore_ascii_case("true") => Some(true),
        ExKind::Ident(n) if n.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `not(c)`: a time window stays unconstrained, a constant flips.
fn negate(e: Option<Expr>) -> Option<Expr> {
    match e {
        None => None,
        Some(Expr::Const { value }) => constant(!value),
        Some(e) => Some(Expr::not(e)),
    }
}

/// A condition known without the event: `None` when true (no constraint).
fn constant(b: bool) -> Option<Expr> {
    (!b).then_some(Expr::Const { value: false })
}

/// A comparison of two values the query fixes (`let` parameters), decided now.
fn fold(op: &str, a: &[Value], b: &[Value]) -> Option<bool> {
    let ([x], [y]) = (a, b) else { return None };
    let eq = |cased: bool| match (x, y) {
        (Value::Str(p), Value::Str(q)) if !cased => p.to_lowercase() == q.to_lowercase(),
        _ => x == y,
    };
    Some(match op {
        "==" => eq(true),
        "!=" | "<>" => !eq(true),
        "=~" => eq(false),
        "!~" => !eq(false),
        _ => return None,
    })
}

/// Operators whose sides can be swapped (`"x" == Col`).
fn symmetric(op: &str) -> bool {
    matches!(op, "==" | "!=" | "=~" | "!~" | "<>")
}

fn comparison(
    lw: &mut Lowerer,
    op: &str,
    lhs: &Ex,
    rhs: &Ex,
    whole: &Ex,
    flow: &Flow,
) -> Option<Expr> {
    lw.scan_subqueries(lhs);
    lw.scan_subqueries(rhs);
    if matches!(op, "+" | "-" | "*" | "/" | "%") {
        return Some(opaque(lw, whole, "arithmetic used as a condition"));
    }
    let relational = matches!(
        op,
        "<" | ">" | "<=" | ">=" | "between" | "!between" | "notbetween"
    );
    if is_time(lw, lhs) || is_time(lw, rhs) || (relational && is_time_field(lhs)) {
        return None;
    }
    // `cond == true`, `f(x) == false`, `cond != false`.
    if let (Some(b), "==" | "!=") = (bool_literal(rhs), op) {
        if !matches!(
            lhs.kind,
            ExKind::Ident(_) | ExKind::Member { .. } | ExKind::Index { .. }
        ) {
            let positive = b == (op == "==");
            return pred(lw, lhs, flow).map(|e| if positive { e } else { Expr::not(e) });
        }
    }
    if matches!(lhs.kind, ExKind::Star) {
        return keyword(lw, op, rhs, whole);
    }
    if field_of(lw, lhs, flow).is_none() && field_of(lw, rhs, flow).is_none() {
        if let (Some(a), Some(b)) = (values_of(lw, lhs), values_of(lw, rhs)) {
            if let Some(v) = fold(op, &a, &b) {
                return constant(v);
            }
        }
    }
    let (field_ex, value_ex) = if field_of(lw, lhs, flow).is_none()
        && symmetric(op)
        && values_of(lw, lhs).is_some()
        && field_of(lw, rhs, flow).is_some()
    {
        (rhs, lhs)
    } else {
        (lhs, rhs)
    };
    let (path, transform) = match field_of(lw, field_ex, flow) {
        Some(FieldRes::Field { path, transform }) => (path, transform),
        Some(FieldRes::Computed(def)) => {
            return Some(opaque(
                lw,
                whole,
                format!("condition on the computed column {def}"),
            ))
        }
        None => return Some(opaque(lw, whole, "compared expression not understood")),
    };
    if op == "between" || op == "!between" || op == "notbetween" {
        let ExKind::Range { lo, hi } = &value_ex.kind else {
            return Some(opaque(lw, whole, "`between` without a range"));
        };
        let (Some(lo), Some(hi)) = (values_of(lw, lo), values_of(lw, hi)) else {
            return Some(opaque(lw, whole, "`between` bounds not understood"));
        };
        let mk = |op, values| {
            let mut p = Predicate::field(path.clone(), op, values);
            p.transform = transform;
            Expr::Pred(p)
        };
        let e = Expr::all(vec![mk(Op::Gte, lo), mk(Op::Lte, hi)]);
        return Some(if op == "between" { e } else { Expr::not(e) });
    }
    let (values, field_ref) = match rhs_of(lw, value_ex, flow) {
        Rhs::Values(v) => (v, false),
        Rhs::Field(f) => (vec![Value::Str(f)], true),
        Rhs::Opaque(reason) => return Some(opaque(lw, whole, reason)),
    };
    build(op, Some(path), transform, values, field_ref)
        .or_else(|| Some(opaque(lw, whole, format!("operator `{op}` not supported"))))
}

fn keyword(lw: &Lowerer, op: &str, rhs: &Ex, whole: &Ex) -> Option<Expr> {
    match values_of(lw, rhs) {
        Some(values) => build(op, None, None, values, false)
            .or_else(|| Some(opaque(lw, whole, format!("operator `{op}` on `*`")))),
        None => Some(opaque(lw, whole, "search value not understood")),
    }
}

/// The IR of `field op values`, or `None` for an operator the IR has no form for.
fn build(
    op: &str,
    field: Option<String>,
    transform: Option<Transform>,
    values: Vec<Value>,
    field_ref: bool,
) -> Option<Expr> {
    // Legacy spellings: `containscs`, `notcontains`, `notbetween`.
    let op = match op {
        "containscs" => "contains_cs",
        "!containscs" | "notcontainscs" => "!contains_cs",
        "notcontains" => "!contains",
        "notin" => "!in",
        "startswithcs" => "startswith_cs",
        "endswithcs" => "endswith_cs",
        "hascs" => "has_cs",
        other => other,
    };
    let negated = op.starts_with('!') || op == "<>";
    let base = op.trim_start_matches('!');
    let (ir_op, cased, all, values) = match base {
        "==" | "=" => (Op::Eq, true, false, values),
        "=~" | "~" => (Op::Eq, false, false, values),
        "<>" => (Op::Eq, true, false, values),
        "<" => (Op::Lt, false, false, values),
        "<=" => (Op::Lte, false, false, values),
        ">" => (Op::Gt, false, false, values),
        ">=" => (Op::Gte, false, false, values),
        "has" => (Op::HasTerm, false, false, values),
        "has_cs" => (Op::HasTerm, true, false, values),
        "has_any" => (Op::HasTerm, false, false, values),
        "has_all" => (Op::HasTerm, false, true, values),
        "contains" => (Op::Contains, false, false, values),
        "contains_cs" => (Op::Contains, true, false, values),
        "startswith" => (Op::StartsWith, false, false, values),
        "startswith_cs" => (Op::StartsWith, true, false, values),
        "endswith" => (Op::EndsWith, false, false, values),
        "endswith_cs" => (Op::EndsWith, true, false, values),
        "in" => (Op::Eq, true, false, values),
        "in~" => (Op::Eq, false, false, values),
        "matches regex" => (Op::Regex, true, false, values),
        ":" => (Op::HasTerm, false, false, values),
        "hasprefix" | "hasprefix_cs" | "hassuffix" | "hassuffix_cs" if !field_ref => {
            let prefix = base.starts_with("hasprefix");
            let vs = values
                .iter()
                .map(|v| {
                    let e = regex::escape(&v.to_string());
                    Value::Str(if prefix {
                        format!(r"(?:^|[^\p{{L}}\p{{N}}]){e}")
                    } else {
                        format!(r"{e}(?:$|[^\p{{L}}\p{{N}}])")
                    })
                })
                .collect();
            (Op::Regex, base.ends_with("_cs"), false, vs)
        }
        _ => return None,
    };
    let p = Predicate {
        field,
        op: ir_op,
        values,
        all,
        case_sensitive: cased,
        field_ref,
        transform,
    };
    let e = Expr::Pred(p);
    Some(if negated { Expr::not(e) } else { e })
}
