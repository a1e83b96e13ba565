//! Predicates on fields of the event: the present value, or'ed with what Python yields
//! when the key is absent or null.

use super::*;

pub(super) fn field_pred(name: String, op: Op, values: Vec<Value>) -> Expr {
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
pub(super) fn present_pred(f: &Field, op: Op, values: &[Py]) -> Option<Expr> {
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
pub(super) fn typed_eq(f: &Field, values: &[Py]) -> Option<Expr> {
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
