//! Panther simple detections: the YAML `Detection:` (and `InlineFilters:`) match
//! expressions as condition IR.
//!
//! A list of match expressions holds when all of them hold. Each expression names an event
//! key (`Key`, `KeyPath` or `DeepKey`), a `Condition` and a value or values; combinators
//! (`All`, `Any`, `OnlyOne`, `None`) nest lists; list comprehensions (`AnyElement`...) test
//! the elements of an array; multi-key expressions compare two keys. Comparisons are exact
//! and case-sensitive except the `I...` conditions; negated conditions (`DoesNotEqual`) hold
//! when the key is absent, like the Python Panther generates for them.

use crate::model::{Expr, Op, Predicate, Value};
use serde_json::Value as J;

/// Reads a list of match expressions (the value of `Detection:` or `InlineFilters:`).
pub fn parse(list: &J) -> Expr {
    match list {
        J::Array(items) => Expr::all(items.iter().map(expr).collect()),
        other => expr(other),
    }
}

/// Reads `InlineFilters:`: like a detection, except that a comparison on a key the event
/// does not have passes (Panther's documented filter semantics); presence conditions
/// (`Exists`, `IsNull`...) keep their meaning.
pub fn parse_filters(list: &J) -> Expr {
    missing_passes(parse(list))
}

fn missing_passes(e: Expr) -> Expr {
    let presence = |p: &Predicate| matches!(p.op, Op::Exists | Op::IsNull | Op::IsEmpty);
    let absent = |p: &Predicate| {
        Expr::not(Expr::Pred(
            Predicate::field(p.field.clone().unwrap_or_default(), Op::Exists, vec![]).cased(true),
        ))
    };
    match e {
        Expr::Pred(p) if !presence(&p) && p.field.is_some() => Expr::Any {
            items: vec![absent(&p), Expr::Pred(p)],
        },
        Expr::Not { item } => match *item {
            Expr::Pred(p) if !presence(&p) && p.field.is_some() => Expr::Any {
                items: vec![absent(&p), Expr::not(Expr::Pred(p))],
            },
            other => Expr::not(missing_passes(other)),
        },
        Expr::All { items } => Expr::All {
            items: items.into_iter().map(missing_passes).collect(),
        },
        Expr::Any { items } => Expr::Any {
            items: items.into_iter().map(missing_passes).collect(),
        },
        other => other,
    }
}

fn text(v: &J) -> String {
    serde_yaml::to_string(v)
        .unwrap_or_else(|_| v.to_string())
        .trim_end()
        .to_string()
}

fn opaque(v: &J, reason: impl Into<String>) -> Expr {
    Expr::opaque(text(v), reason)
}

/// The event path a key specifier names, as a dotted field.
fn key_of(v: &J) -> Option<String> {
    if let Some(k) = v.get("Key").and_then(J::as_str) {
        return Some(k.to_string());
    }
    if let Some(k) = v.get("KeyPath").and_then(J::as_str) {
        // Array indexes and wildcards (`a[0].b`, `a[*].b`) are walked by the matcher's
        // any-element lookup only for `[*]`; a fixed index is not modelled.
        if k.contains('[') && !k.contains("[*]") {
            return None;
        }
        return Some(k.replace("[*]", ""));
    }
    if let Some(parts) = v.get("DeepKey").and_then(J::as_array) {
        let mut out = Vec::new();
        for p in parts {
            match p {
                J::String(s) => out.push(s.clone()),
                // A numeric index into an array.
                _ => return None,
            }
        }
        return (!out.is_empty()).then(|| out.join("."));
    }
    None
}

fn pred(field: &str, op: Op, values: Vec<Value>, cased: bool) -> Expr {
    Expr::Pred(Predicate::field(field, op, values).cased(cased))
}

fn values_of(v: &J) -> Option<Vec<Value>> {
    if let Some(x) = v.get("Value") {
        return scalar(x).map(|s| vec![s]);
    }
    if let Some(J::Array(xs)) = v.get("Values") {
        return xs.iter().map(scalar).collect();
    }
    None
}

fn scalar(x: &J) -> Option<Value> {
    match x {
        J::Array(_) | J::Object(_) => None,
        other => Some(Value::from_json(other)),
    }
}

fn expr(v: &J) -> Expr {
    let J::Object(map) = v else {
        return opaque(v, "a match expression must be a mapping");
    };
    for (comb, kind) in [("All", 0), ("Any", 1), ("OnlyOne", 2), ("None", 3)] {
        if let Some(items) = map.get(comb) {
            let J::Array(items) = items else {
                return opaque(v, format!("`{comb}` must be a list"));
            };
            let parts: Vec<Expr> = items.iter().map(expr).collect();
            return match kind {
                0 => Expr::All { items: parts },
                1 => Expr::Any { items: parts },
                3 => Expr::not(Expr::Any { items: parts }),
                _ => only_one(parts),
            };
        }
    }
    let Some(condition) = map.get("Condition").and_then(J::as_str) else {
        return opaque(v, "a match expression without `Condition`");
    };
    match condition {
        "AlwaysTrue" => return Expr::Const { value: true },
        "AlwaysFalse" => return Expr::Const { value: false },
        _ => {}
    }
    if map.contains_key("Enrichment") {
        return opaque(v, "an enrichment (lookup table) match");
    }
    if let Some(J::Array(keys)) = map.get("Values") {
        if keys.iter().all(J::is_object) && map.get("Key").is_none() {
            return multi_key(v, condition, keys);
        }
    }
    if let Some(list) = map.get("Expressions") {
        return comprehension(v, condition, list);
    }
    let has_key = ["Key", "KeyPath", "DeepKey"]
        .iter()
        .any(|k| map.contains_key(*k));
    if !has_key {
        return opaque(v, "a match expression without a key");
    }
    let Some(field) = key_of(v) else {
        return opaque(v, "a key path with array indexes");
    };
    scalar_condition(v, &field, condition)
}

fn only_one(parts: Vec<Expr>) -> Expr {
    // Exactly one holds: some holds, and no two hold together.
    let mut pairs = Vec::new();
    for i in 0..parts.len() {
        for j in i + 1..parts.len() {
            pairs.push(Expr::All {
                items: vec![parts[i].clone(), parts[j].clone()],
            });
        }
    }
    Expr::All {
        items: vec![
            Expr::Any {
                items: parts.clone(),
            },
            Expr::not(Expr::Any { items: pairs }),
        ],
    }
}

fn scalar_condition(v: &J, field: &str, condition: &str) -> Expr {
    let no_value = |op: Op, negate: bool| {
        let p = pred(field, op, vec![], true);
        if negate {
            Expr::not(p)
        } else {
            p
        }
    };
    match condition {
        "Exists" => return no_value(Op::Exists, false),
        "DoesNotExist" => return no_value(Op::Exists, true),
        "IsNull" => return no_value(Op::IsNull, false),
        "IsNotNull" => return no_value(Op::IsNull, true),
        "IsNullOrEmpty" => return no_value(Op::IsEmpty, false),
        "IsNotNullOrEmpty" => return no_value(Op::IsEmpty, true),
        "IsIPAddressPrivate" | "IsIPAddressPublic" => {
            let p = pred(
                field,
                Op::Cidr,
                super::python::PY_PRIVATE_NETS
                    .iter()
                    .map(|n| Value::str(*n))
                    .collect(),
                true,
            );
            return if condition == "IsIPAddressPrivate" {
                p
            } else {
                // Public: an address that is not private.
                Expr::All {
                    items: vec![
                        pred(
                            field,
                            Op::Cidr,
                            vec![Value::str("0.0.0.0/0"), Value::str("::/0")],
                            true,
                        ),
                        Expr::not(p),
                    ],
                }
            };
        }
        "IsIPAddress" => {
            return pred(
                field,
                Op::Cidr,
                vec![Value::str("0.0.0.0/0"), Value::str("::/0")],
                true,
            )
        }
        "IsIPv4Address" => return pred(field, Op::Cidr, vec![Value::str("0.0.0.0/0")], true),
        "IsIPv6Address" => return pred(field, Op::Cidr, vec![Value::str("::/0")], true),
        _ => {}
    }
    let Some(values) = values_of(v) else {
        return opaque(v, format!("`{condition}` needs `Value` or `Values`"));
    };
    let (op, negate, cased) = match condition {
        "Equals" | "IsIn" | "Has" => (Op::Eq, false, true),
        "DoesNotEqual" | "IsNotIn" | "DoesNotHave" => (Op::Eq, true, true),
        "IEquals" | "IIsIn" => (Op::Eq, false, false),
        "IDoesNotEqual" | "IIsNotIn" => (Op::Eq, true, false),
        "StartsWith" => (Op::StartsWith, false, true),
        "DoesNotStartWith" => (Op::StartsWith, true, true),
        "IStartsWith" => (Op::StartsWith, false, false),
        "IDoesNotStartWith" => (Op::StartsWith, true, false),
        "EndsWith" => (Op::EndsWith, false, true),
        "DoesNotEndWith" => (Op::EndsWith, true, true),
        "IEndsWith" => (Op::EndsWith, false, false),
        "IDoesNotEndWith" => (Op::EndsWith, true, false),
        "Contains" => (Op::Contains, false, true),
        "DoesNotContain" => (Op::Contains, true, true),
        "IContains" => (Op::Contains, false, false),
        "IDoesNotContain" => (Op::Contains, true, false),
        "IsGreaterThan" => (Op::Gt, false, true),
        "IsGreaterThanOrEquals" => (Op::Gte, false, true),
        "IsLessThan" => (Op::Lt, false, true),
        "IsLessThanOrEquals" => (Op::Lte, false, true),
        "IsIPAddressInCIDR" => (Op::Cidr, false, true),
        "IsIPAddressNotInCIDR" => (Op::Cidr, true, true),
        other => return opaque(v, format!("unknown condition `{other}`")),
    };
    let p = pred(field, op, values, cased);
    if negate {
        Expr::not(p)
    } else {
        p
    }
}

/// `{Values: [{Key: a}, {Key: b}], Condition: Equals}`: compares two keys of the event.
fn multi_key(v: &J, condition: &str, keys: &[J]) -> Expr {
    let [a, b] = keys else {
        return opaque(v, "a multi-key match needs exactly two keys");
    };
    let (Some(a), Some(b)) = (key_of(a), key_of(b)) else {
        return opaque(v, "a multi-key match with array indexes");
    };
    let (op, negate) = match condition {
        "Equals" => (Op::Eq, false),
        "DoesNotEqual" => (Op::Eq, true),
        "StartsWith" => (Op::StartsWith, false),
        "EndsWith" => (Op::EndsWith, false),
        "Contains" => (Op::Contains, false),
        "IsGreaterThan" => (Op::Gt, false),
        "IsGreaterThanOrEquals" => (Op::Gte, false),
        "IsLessThan" => (Op::Lt, false),
        "IsLessThanOrEquals" => (Op::Lte, false),
        other => return opaque(v, format!("condition `{other}` on two keys")),
    };
    let mut p = Predicate::field(a, op, vec![Value::str(b)]).cased(true);
    p.field_ref = true;
    if negate {
        Expr::not(Expr::Pred(p))
    } else {
        Expr::Pred(p)
    }
}

/// `{Key: list, Condition: AnyElement, Expressions: [...]}`.
fn comprehension(v: &J, condition: &str, list: &J) -> Expr {
    let Some(base) = key_of(v) else {
        return opaque(v, "a list comprehension without a key");
    };
    let J::Array(inner) = list else {
        return opaque(v, "`Expressions` must be a list");
    };
    // Per element, the expressions must all hold; the matcher's any-element lookup can
    // only carry one element-level predicate (or alternatives of them).
    let parsed: Vec<Expr> = inner.iter().map(expr).collect();
    let element = Expr::all(parsed);
    let Some(some) = prefix(&element, &base) else {
        return opaque(
            v,
            "a list comprehension testing several keys of one element",
        );
    };
    match condition {
        "AnyElement" => some,
        "NoElement" => Expr::not(some),
        other => opaque(v, format!("list comprehension `{other}`")),
    }
}

/// "Some element satisfies `e`", by prefixing its fields with the list path. Only for a
/// predicate or alternatives of predicates (conjunctions would mix elements).
fn prefix(e: &Expr, base: &str) -> Option<Expr> {
    match e {
        Expr::Pred(p) if !p.field_ref && !matches!(p.op, Op::IsNull | Op::IsEmpty) => {
            let mut q = p.clone();
            q.field = Some(match &p.field {
                Some(f) => format!("{base}.{f}"),
                None => base.to_string(),
            });
            Some(Expr::Pred(q))
        }
        Expr::Any { items } => Some(Expr::Any {
            items: items
                .iter()
                .map(|i| prefix(i, base))
                .collect::<Option<Vec<_>>>()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::matcher::eval;
    use crate::verify::Verdict;
    use serde_json::json;

    fn det(yaml: &str) -> Expr {
        let v = crate::formats::parse_yaml(yaml).unwrap();
        parse(&v)
    }

    #[test]
    fn key_value_conditions() {
        let e = det("- Key: action\n  Condition: Equals\n  Value: repo.archived\n");
        assert_eq!(
            eval(&e, &json!({"action": "repo.archived"})),
            Verdict::Match
        );
        assert_eq!(
            eval(&e, &json!({"action": "Repo.Archived"})),
            Verdict::NoMatch
        );
        let e = det("- KeyPath: actor.name\n  Condition: IEquals\n  Value: ALICE\n");
        assert_eq!(
            eval(&e, &json!({"actor": {"name": "alice"}})),
            Verdict::Match
        );
        let e = det("- DeepKey: [a, b]\n  Condition: DoesNotEqual\n  Value: x\n");
        assert_eq!(eval(&e, &json!({})), Verdict::Match);
        assert_eq!(eval(&e, &json!({"a": {"b": "x"}})), Verdict::NoMatch);
    }

    #[test]
    fn lists_combinators_and_comprehensions() {
        let e = det(
            "- Any:\n  - Key: a\n    Condition: IsIn\n    Values: [1, 2]\n  - Key: b\n    Condition: Exists\n",
        );
        assert_eq!(eval(&e, &json!({"a": 2})), Verdict::Match);
        assert_eq!(eval(&e, &json!({"b": null})), Verdict::Match);
        assert_eq!(eval(&e, &json!({"a": 3})), Verdict::NoMatch);
        let e = det(
            "- Key: moons\n  Condition: AnyElement\n  Expressions:\n    - Key: name\n      Condition: StartsWith\n      Value: Cha\n",
        );
        assert_eq!(
            eval(&e, &json!({"moons": [{"name": "Nix"}, {"name": "Charon"}]})),
            Verdict::Match
        );
        let e = det(
            "- OnlyOne:\n  - Key: a\n    Condition: Exists\n  - Key: b\n    Condition: Exists\n",
        );
        assert_eq!(eval(&e, &json!({"a": 1})), Verdict::Match);
        assert_eq!(eval(&e, &json!({"a": 1, "b": 2})), Verdict::NoMatch);
    }

    #[test]
    fn multi_key_and_ip_conditions() {
        let e = det("- Condition: Equals\n  Values:\n    - Key: a\n    - Key: b\n");
        assert_eq!(eval(&e, &json!({"a": "x", "b": "x"})), Verdict::Match);
        assert_eq!(eval(&e, &json!({"a": "x", "b": "y"})), Verdict::NoMatch);
        let e = det("- Key: ip\n  Condition: IsIPAddressPrivate\n");
        assert_eq!(eval(&e, &json!({"ip": "10.1.2.3"})), Verdict::Match);
        assert_eq!(eval(&e, &json!({"ip": "8.8.8.8"})), Verdict::NoMatch);
        let e = det("- Key: ip\n  Condition: IsIPAddressInCIDR\n  Value: 192.168.0.0/16\n");
        assert_eq!(eval(&e, &json!({"ip": "192.168.4.4"})), Verdict::Match);
    }

    #[test]
    fn inline_filters_pass_on_missing_keys() {
        let v = crate::formats::parse_yaml(
            "- Key: region\n  Condition: Equals\n  Value: us-east-1\n- Key: seen\n  Condition: Exists\n",
        )
        .unwrap();
        let e = parse_filters(&v);
        assert_eq!(eval(&e, &json!({"seen": 1})), Verdict::Match);
        assert_eq!(
            eval(&e, &json!({"seen": 1, "region": "eu-west-1"})),
            Verdict::NoMatch
        );
        assert_eq!(eval(&e, &json!({"region": "us-east-1"})), Verdict::NoMatch);
    }

    #[test]
    fn unknown_parts_stay_opaque() {
        let e = det("- Key: a\n  Condition: Frobnicates\n  Value: 1\n");
        assert!(!e.fully_parsed());
        let e = det("- Enrichment: {Table: t, Selector: s, FieldPath: f}\n  Condition: Equals\n  Value: 1\n");
        assert!(!e.fully_parsed());
    }
}
