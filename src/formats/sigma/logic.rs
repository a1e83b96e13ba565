//! The logic of a Sigma document: a detection, a meta-filter's selection and condition,
//! or a correlation block (resolved against its rules later, in `links.rs`).

use super::rule::{Correlation, Ctx, Kind};
use crate::diag::Diagnostic;
use crate::formats::{scalar, str_list};
use crate::model::{Detection, Expr, Language, OutputField, Query, Rule};
use crate::query::sigma as q;
use crate::verify::checks::Check;
use serde_json::{Map, Value as J};

/// Compiles the logic of one document into `rule` and returns its kind with the rules it
/// names (filters, correlations).
pub fn build(
    ctx: &Ctx,
    v: &Map<String, J>,
    kind: Kind,
    output_fields: Vec<OutputField>,
    rule: &mut Rule,
    diags: &mut Vec<Diagnostic>,
) -> Kind {
    let doc = ctx.doc;
    let get = |k: &str| v.get(k);
    let with_lines = |block: &str, refs: Vec<String>| -> Vec<(String, usize)> {
        let from = doc
            .child(block, "rules")
            .unwrap_or_else(|| doc.line_of(block));
        refs.into_iter()
            .map(|r| {
                let line = doc.find_in_block(block, from + 1, &r).unwrap_or(from);
                (r, line)
            })
            .collect()
    };
    match kind {
        Kind::Detection => {
            match get("detection") {
                Some(det) => {
                    let c = q::compile(det);
                    report(ctx, "detection", &c.findings, diags);
                    rule.detection = Some(Detection {
                        expr: c.expr,
                        output_fields,
                    });
                    rule.query = Some(Query {
                        language: Language::SigmaDetection,
                        text: doc
                            .block_text("detection")
                            .unwrap_or_else(|| det.to_string()),
                    });
                }
                None => ctx.diag(
                    diags,
                    Check::MissingField,
                    doc.start,
                    "the rule has no `detection`",
                ),
            }
            Kind::Detection
        }
        Kind::Filter(_) => {
            let f = get("filter").cloned().unwrap_or(J::Null);
            let refs = with_lines("filter", str_list(f.get("rules")));
            let c = q::compile(&f);
            report(ctx, "filter", &c.findings, diags);
            rule.detection = Some(Detection {
                expr: c.expr,
                output_fields,
            });
            rule.query = Some(Query {
                language: Language::SigmaDetection,
                text: doc.block_text("filter").unwrap_or_default(),
            });
            rule.metadata
                .push(("Sigma rule type".into(), "filter".into()));
            Kind::Filter(refs)
        }
        Kind::Correlation(_) => {
            let c = get("correlation").cloned().unwrap_or(J::Null);
            let corr_line = doc.line_of("correlation");
            let kind = scalar(c.get("type")).unwrap_or_default();
            const TYPES: [&str; 8] = [
                "event_count",
                "value_count",
                "temporal",
                "temporal_ordered",
                "value_sum",
                "value_avg",
                "value_percentile",
                "value_median",
            ];
            if kind.is_empty() {
                ctx.diag(
                    diags,
                    Check::MissingField,
                    corr_line,
                    "the correlation has no `type`",
                );
            } else if !TYPES.contains(&kind.as_str()) {
                ctx.diag(
                    diags,
                    Check::InvalidValue,
                    doc.child("correlation", "type").unwrap_or(corr_line),
                    format!(
                        "correlation type `{kind}` is not one of {}",
                        TYPES.join(", ")
                    ),
                );
            }
            let refs = str_list(c.get("rules"));
            if refs.is_empty() {
                ctx.diag(
                    diags,
                    Check::MissingField,
                    corr_line,
                    "the correlation names no `rules`",
                );
            }
            let (condition, field) = match c.get("condition") {
                Some(J::Object(m)) => {
                    let field = scalar(m.get("field"));
                    let parts: Vec<String> = m
                        .iter()
                        .filter(|(k, _)| k.as_str() != "field")
                        .map(|(k, v)| {
                            format!("{k} {}", scalar(Some(v)).unwrap_or_else(|| v.to_string()))
                        })
                        .collect();
                    (Some(parts.join(" and ")).filter(|s| !s.is_empty()), field)
                }
                Some(other) => (scalar(Some(other)), None),
                None => (None, None),
            };
            if condition.is_none() && !kind.starts_with("temporal") {
                ctx.diag(
                    diags,
                    Check::MissingField,
                    corr_line,
                    "the correlation has no `condition`",
                );
            }
            if let Some(a) = c.get("aliases").filter(|a| !a.is_null()) {
                rule.metadata.push(("Aliases".into(), a.to_string()));
            }
            if let Some(g) = c.get("generate") {
                rule.metadata.push(("Generate".into(), g.to_string()));
            }
            rule.metadata
                .push(("Sigma rule type".into(), format!("correlation ({kind})")));
            let refs = with_lines("correlation", refs);
            rule.detection = Some(Detection {
                expr: Expr::opaque(
                    refs.iter()
                        .map(|(r, _)| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    "correlation not resolved against its rules yet",
                ),
                output_fields,
            });
            rule.query = Some(Query {
                language: Language::SigmaDetection,
                text: doc.block_text("correlation").unwrap_or_default(),
            });
            Kind::Correlation(Correlation {
                kind,
                rules: refs,
                group_by: str_list(c.get("group-by")),
                timespan: scalar(c.get("timespan")),
                condition,
                field,
            })
        }
    }
}

/// The compiler's findings as diagnostics at their file line (and column).
fn report(ctx: &Ctx, block: &str, findings: &[q::Finding], diags: &mut Vec<Diagnostic>) {
    for f in findings {
        let (line, col) = ctx.anchor_line(block, &f.anchor);
        let mut d = Diagnostic::new(
            f.check,
            ctx.root.display(&ctx.file.rel),
            line,
            f.message.clone(),
        );
        if let Some(col) = col {
            d = d.at_column(col);
        }
        diags.push(d);
    }
}
