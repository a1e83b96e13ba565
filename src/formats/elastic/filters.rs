//! Kibana filters (`[[rule.filters]]`): Elasticsearch query DSL objects that Kibana adds to
//! the rule's query, each an extra AND condition (`meta.negate` = AND NOT; `meta.disabled`
//! = not applied).

use crate::model::{Expr, Op, Predicate, Value};
use crate::query::kuery::{is_caseless_field, is_text_field};
use serde_json::Value as J;

/// The condition of one filter entry; `None` when the filter is disabled.
pub fn filter(f: &J) -> Option<Expr> {
    let meta = f.get("meta");
    if meta.and_then(|m| m.get("disabled")).and_then(J::as_bool) == Some(true) {
        return None;
    }
    let negate = meta.and_then(|m| m.get("negate")).and_then(J::as_bool) == Some(true);
    // The DSL is under `query`, or (older filters) beside `meta`.
    let body = match f.get("query") {
        Some(q) => q.clone(),
        None => match f {
            J::Object(m) => J::Object(
                m.iter()
                    .filter(|(k, _)| k.as_str() != "meta" && k.as_str() != "$state")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        },
    };
    let e = dsl(&body);
    Some(if negate { Expr::not(e) } else { e })
}

/// One query DSL object.
pub fn dsl(q: &J) -> Expr {
    let J::Object(m) = q else {
        return opaque(q, "a filter that is not an object");
    };
    if m.len() != 1 {
        return opaque(q, "a filter query with several clauses");
    }
    let Some((kind, body)) = m.iter().next() else {
        return opaque(q, "an empty filter query");
    };
    match kind.as_str() {
        "match_all" => Expr::Const { value: true },
        "bool" => bool_query(q, body),
        "exists" => match body.get("field").and_then(J::as_str) {
            Some(f) => Expr::Pred(Predicate::field(f, Op::Exists, vec![])),
            None => opaque(q, "`exists` without a field"),
        },
        "query_string" => match body.get("query").and_then(J::as_str) {
            Some(s) => crate::query::lucene::parse(s)
                .unwrap_or_else(|e| opaque(q, &format!("query_string syntax error {e}"))),
            None => opaque(q, "`query_string` without a query"),
        },
        "term" | "terms" | "match" | "match_phrase" | "wildcard" | "prefix" | "regexp" => {
            field_query(q, kind, body)
        }
        "range" => range(q, body),
        other => opaque(q, &format!("the `{other}` query is not supported")),
    }
}

fn opaque(q: &J, reason: &str) -> Expr {
    Expr::opaque(q.to_string(), reason)
}

fn list(v: Option<&J>) -> Vec<&J> {
    match v {
        Some(J::Array(a)) => a.iter().collect(),
        Some(J::Null) | None => Vec::new(),
        Some(one) => vec![one],
    }
}

fn bool_query(q: &J, body: &J) -> Expr {
    let mut items: Vec<Expr> = list(body.get("must"))
        .into_iter()
        .chain(list(body.get("filter")))
        .map(dsl)
        .collect();
    let should: Vec<Expr> = list(body.get("should")).into_iter().map(dsl).collect();
    let min_should = body.get("minimum_should_match").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    if !should.is_empty() {
        match min_should {
            Some(n) if n > 1 => {
                return opaque(q, "`minimum_should_match` above 1");
            }
            // In filter context, `should` only counts when nothing else is required.
            Some(0) => {}
            None if !items.is_empty() => {}
            _ => items.push(Expr::any(should)),
        }
    }
    for n in list(body.get("must_not")) {
        items.push(Expr::not(dsl(n)));
    }
    Expr::all(items)
}

/// `{"term": {"field": value | {"value": v, "case_insensitive": b}}}` and friends.
fn field_query(q: &J, kind: &str, body: &J) -> Expr {
    let Some((field, spec)) = body.as_object().and_then(|m| m.iter().next()) else {
        return opaque(q, "a field query without a field");
    };
    let (values, insensitive): (Vec<&J>, bool) = match spec {
        J::Object(o) => {
            let v = o
                .get("value")
                .or_else(|| o.get("query"))
                .or_else(|| o.get("values"));
            (
                list(v),
                o.get("case_insensitive").and_then(J::as_bool) == Some(true),
            )
        }
        other => (list(Some(other)), false),
    };
    if values.is_empty() {
        return opaque(q, "a field query without a value");
    }
    let values: Vec<Value> = values.into_iter().map(Value::from_json).collect();
    let text = is_text_field(field);
    let cased = !insensitive && !text && !is_caseless_field(field);
    let op = match kind {
        "match" | "match_phrase" if text => Op::Contains,
        "term" | "terms" | "match" | "match_phrase" => Op::Eq,
        // The DSL's wildcard syntax (`*`, `?`, `\` escapes) is the matcher's glob syntax.
        "wildcard" => Op::Glob,
        "prefix" => Op::StartsWith,
        _ => {
            let mut pats = Vec::new();
            for v in &values {
                match crate::query::lucene::regex::to_rust(&v.to_string()) {
                    Ok(r) => pats.push(Value::Str(r)),
                    Err(e) => return opaque(q, &e),
                }
            }
            return Expr::Pred(Predicate::field(field.clone(), Op::Regex, pats).cased(cased));
        }
    };
    Expr::Pred(Predicate::field(field.clone(), op, values).cased(cased))
}

fn range(q: &J, body: &J) -> Expr {
    let Some((field, spec)) = body.as_object().and_then(|m| m.iter().next()) else {
        return opaque(q, "a range without a field");
    };
    let mut items = Vec::new();
    for (k, op) in [
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
    ] {
        if let Some(v) = spec.get(k) {
            items.push(Expr::Pred(
                Predicate::field(field.clone(), op, vec![Value::from_json(v)]).cased(true),
            ));
        }
    }
    if items.is_empty() {
        return opaque(q, "a range without bounds");
    }
    Expr::all(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::matcher::eval;
    use crate::verify::Verdict;
    use serde_json::json;

    #[test]
    fn wildcard_filters_negate_and_disable() {
        let f = json!({"meta": {"negate": true}, "query": {"wildcard": {"file.path": {"case_insensitive": true, "value": "?:\\\\Windows\\\\Sys?????\\\\*"}}}});
        let e = filter(&f).unwrap();
        assert_eq!(
            eval(
                &e,
                &json!({"file": {"path": "C:\\WINDOWS\\System32\\x.dll"}})
            ),
            Verdict::NoMatch
        );
        assert_eq!(
            eval(&e, &json!({"file": {"path": "D:\\Tools\\x.dll"}})),
            Verdict::Match
        );
        let off = json!({"meta": {"disabled": true}, "query": {"match_all": {}}});
        assert!(filter(&off).is_none());
    }

    #[test]
    fn exists_bool_terms_and_unknown() {
        let f = json!({"meta": {"negate": false}, "query": {"exists": {"field": "rapid7.id"}}});
        assert_eq!(
            eval(&filter(&f).unwrap(), &json!({"rapid7": {"id": 1}})),
            Verdict::Match
        );
        let b = json!({"bool": {"must_not": [{"term": {"user.name": "root"}}], "should": [{"terms": {"host.os.type": ["linux", "macos"]}}]}});
        let e = dsl(&b);
        assert_eq!(
            eval(
                &e,
                &json!({"user": {"name": "bob"}, "host": {"os": {"type": "linux"}}})
            ),
            Verdict::Match
        );
        assert_eq!(
            eval(
                &e,
                &json!({"user": {"name": "root"}, "host": {"os": {"type": "linux"}}})
            ),
            Verdict::NoMatch
        );
        let r = json!({"range": {"destination.port": {"gte": 1024, "lt": 2048}}});
        assert_eq!(
            eval(&dsl(&r), &json!({"destination": {"port": 1500}})),
            Verdict::Match
        );
        assert!(!dsl(&json!({"geo_shape": {}})).fully_parsed());
        // An older filter without `query`.
        let old = json!({"meta": {"negate": true}, "exists": {"field": "a"}});
        assert_eq!(
            eval(&filter(&old).unwrap(), &json!({"b": 1})),
            Verdict::Match
        );
    }
}
