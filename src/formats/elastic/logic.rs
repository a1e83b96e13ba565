//! The logic of an Elastic rule: its query in the rule's language, the Kibana `filters`,
//! and what the rule type adds on top (threshold, new terms, indicator match), as IR.

use super::doc::{scalar, strings, to_json, Doc};
use super::filters;
use super::Findings;
use crate::model::{Detection, Expr, FacetKind, Language, OutputField, Query, Rule};
use crate::query::eql::SyntaxError;
use crate::verify::checks::Check;
use toml::Value;

pub fn fill(doc: &Doc, rule: &mut Rule, fx: &mut Findings) {
    let rtype = doc.rule_str("type").unwrap_or("");
    if rtype == "machine_learning" {
        if strings(doc.rule("machine_learning_job_id")).is_empty() {
            fx.push(
                Check::MissingField,
                doc.rule_key_line("machine_learning_job_id"),
                "a machine_learning rule needs `machine_learning_job_id`",
            );
        }
        if doc.rule("anomaly_threshold").is_none() {
            fx.push(
                Check::MissingField,
                doc.rule_line,
                "a machine_learning rule needs `anomaly_threshold`",
            );
        }
        return;
    }
    let Some(text) = doc.rule_str("query") else {
        if doc.rule("query").is_some() {
            fx.push(
                Check::InvalidValue,
                doc.rule_key_line("query"),
                "`rule.query` must be a string",
            );
        } else if !rtype.is_empty() {
            fx.push(
                Check::MissingField,
                doc.rule_key_line("query"),
                format!("a `{rtype}` rule needs a `query`"),
            );
        }
        return;
    };
    let lang_name = doc.rule_str("language").unwrap_or(match rtype {
        "eql" => "eql",
        "esql" => "esql",
        _ => "kuery",
    });
    let language = match lang_name {
        "kuery" => Language::Kuery,
        "lucene" => Language::Lucene,
        "eql" => Language::Eql,
        "esql" => Language::Esql,
        other => {
            fx.push(
                Check::InvalidValue,
                doc.rule_key_line("language"),
                format!("unknown query `language` `{other}`; expected kuery, lucene, eql or esql"),
            );
            rule.query = Some(Query {
                language: Language::Kuery,
                text: text.to_string(),
            });
            rule.detection = Some(Detection {
                expr: Expr::opaque(text, format!("query language `{other}` is not known")),
                output_fields: Vec::new(),
            });
            return;
        }
    };
    let expected = match rtype {
        "eql" => Some(&[Language::Eql][..]),
        "esql" => Some(&[Language::Esql][..]),
        "query" | "threshold" | "new_terms" | "threat_match" | "saved_query" => {
            Some(&[Language::Kuery, Language::Lucene][..])
        }
        _ => None,
    };
    if expected.is_some_and(|ok| !ok.contains(&language)) {
        fx.push(
            Check::InvalidValue,
            doc.rule_key_line("language"),
            format!("a `{rtype}` rule cannot have a `{lang_name}` query"),
        );
    }
    rule.query = Some(Query {
        language,
        text: text.to_string(),
    });

    let mut output_fields = Vec::new();
    let parsed: Result<Expr, SyntaxError> = match language {
        Language::Kuery => crate::query::kuery::parse(text),
        Language::Lucene => crate::query::lucene::parse(text),
        Language::Eql => {
            let cat = doc
                .rule_str("event_category_override")
                .unwrap_or("event.category");
            crate::query::eql::parse(text, cat).map(|d| {
                output_fields = d.output_fields;
                d.expr
            })
        }
        _ => crate::query::esql::parse(text).map(|p| {
            for i in &p.indices {
                rule.facet(FacetKind::IndexPattern, i.clone());
            }
            output_fields = p.detection.output_fields;
            p.detection.expr
        }),
    };
    let mut expr = match parsed {
        Ok(e) => e,
        Err(e) => {
            let (line, col) = query_position(doc, &e);
            fx.push_at(
                Check::ElasticQuerySyntax,
                line,
                col,
                format!("{} query: {}", language.name(), e.message),
            );
            Expr::opaque(
                text,
                format!("syntax error at {}:{}: {}", e.line, e.column, e.message),
            )
        }
    };

    // Kibana filters are extra AND (NOT) conditions.
    if let Some(Value::Array(list)) = doc.rule("filters") {
        let extra: Vec<Expr> = list
            .iter()
            .filter_map(|f| filters::filter(&to_json(f)))
            .collect();
        if !extra.is_empty() {
            let mut items = vec![expr];
            items.extend(extra);
            expr = Expr::all(items);
        }
    }

    if let Some(desc) = stateful(doc, rtype, fx) {
        expr = Expr::Aggregate {
            description: desc,
            item: Box::new(expr),
        };
    }

    if !expr.fully_parsed()
        && !matches!(&expr, Expr::Opaque { reason, .. } if reason.starts_with("syntax error"))
    {
        let mut reasons: Vec<String> = Vec::new();
        expr.walk(&mut |e| {
            if let Expr::Opaque { reason, .. } = e {
                if !reasons.contains(reason) {
                    reasons.push(reason.clone());
                }
            }
        });
        let n = reasons.len();
        reasons.truncate(3);
        fx.push(
            Check::UnsupportedSyntax,
            query_line(doc),
            format!(
                "part of the {} query is kept as opaque text: {}{}",
                language.name(),
                reasons.join("; "),
                if n > 3 { "; ..." } else { "" }
            ),
        );
    }

    if output_fields.is_empty() {
        output_fields = required_fields(doc.rule("required_fields"));
    }
    rule.detection = Some(Detection {
        expr,
        output_fields,
    });
}

/// `required_fields = [{name, type, ecs}]` as output fields.
fn required_fields(v: Option<&Value>) -> Vec<OutputField> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let name = f.get("name").and_then(Value::as_str)?;
            let mut o = OutputField::named(name);
            o.note = f
                .get("type")
                .and_then(Value::as_str)
                .map(|t| format!("required field ({t})"));
            Some(o)
        })
        .collect()
}

/// What a threshold, new-terms or indicator-match rule decides over many events.
fn stateful(doc: &Doc, rtype: &str, fx: &mut Findings) -> Option<String> {
    match rtype {
        "threshold" => {
            let Some(t) = doc.rule("threshold") else {
                fx.push(
                    Check::MissingField,
                    doc.rule_line,
                    "a threshold rule needs `[rule.threshold]`",
                );
                return None;
            };
            let value = t
                .get("value")
                .and_then(scalar)
                .unwrap_or_else(|| "?".into());
            let fields = strings(t.get("field"));
            let mut d = format!("threshold: at least {value} matching events");
            if !fields.is_empty() {
                d.push_str(&format!(" with the same {}", fields.join(", ")));
            }
            for c in t
                .get("cardinality")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                d.push_str(&format!(
                    ", and at least {} distinct values of {}",
                    c.get("value").and_then(scalar).unwrap_or_default(),
                    c.get("field").and_then(scalar).unwrap_or_default()
                ));
            }
            Some(d)
        }
        "new_terms" => {
            let Some(t) = doc.rule("new_terms") else {
                fx.push(
                    Check::MissingField,
                    doc.rule_line,
                    "a new_terms rule needs `[rule.new_terms]`",
                );
                return None;
            };
            let fields = strings(t.get("value"));
            let window = t
                .get("history_window_start")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|w| w.get("value"))
                .and_then(scalar);
            let mut d = format!(
                "new terms: the first time this combination of {} is seen",
                fields.join(", ")
            );
            if let Some(w) = window {
                d.push_str(&format!(" since {w}"));
            }
            Some(d)
        }
        "threat_match" => {
            let index = strings(doc.rule("threat_index")).join(", ");
            let mut pairs = Vec::new();
            for group in doc
                .rule("threat_mapping")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let entries: Vec<String> = group
                    .get("entries")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        format!(
                            "{} = {}",
                            e.get("field").and_then(scalar).unwrap_or_default(),
                            e.get("value").and_then(scalar).unwrap_or_default()
                        )
                    })
                    .collect();
                pairs.push(entries.join(" and "));
            }
            let mut d = format!("indicator match against {index}");
            if !pairs.is_empty() {
                d.push_str(&format!(" where {}", pairs.join(", or ")));
            }
            if let Some(q) = doc.rule_str("threat_query") {
                d.push_str(&format!(" (indicators: {})", q.trim()));
            }
            Some(d)
        }
        _ => None,
    }
}

/// Line of the first line of the query text in the file.
fn query_line(doc: &Doc) -> usize {
    query_start(doc)
        .map(|p| crate::diag::line_of(doc.text, p))
        .unwrap_or_else(|| doc.rule_key_line("query"))
}

/// Byte offset where the query's text starts (after its quotes and a newline that
/// directly follows opening triple quotes).
fn query_start(doc: &Doc) -> Option<usize> {
    let span = doc.rule_span("query")?;
    let raw = doc.text.get(span.clone())?;
    let quote = if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        3
    } else {
        1
    };
    let mut start = span.start + quote;
    let rest = &doc.text[start.min(doc.text.len())..];
    if quote == 3 {
        if rest.starts_with("\r\n") {
            start += 2;
        } else if rest.starts_with('\n') {
            start += 1;
        }
    }
    Some(start)
}

/// (line, column) in the file of a position in the query text.
fn query_position(doc: &Doc, e: &SyntaxError) -> (usize, usize) {
    let Some(start) = query_start(doc) else {
        return (doc.rule_key_line("query"), e.column);
    };
    let (line0, col0) = crate::query::eql::lexer::line_col(doc.text, start);
    if e.line == 1 {
        (line0, col0 + e.column - 1)
    } else {
        (line0 + e.line - 1, e.column)
    }
}
