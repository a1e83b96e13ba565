//! Everything of an Elastic rule but its logic: identity, dates, severity, ATT&CK,
//! facets, Markdown sections, metadata rows, and the format's own lints.

use super::doc::{scalar, strings, to_json, Doc};
use super::Findings;
use crate::attack::{parse_refs, AttackRef};
use crate::model::{FacetKind, Rule, Section, Severity};
use crate::verify::checks::Check;
use toml::Value;

pub const RULE_TYPES: &[&str] = &[
    "query",
    "eql",
    "esql",
    "threshold",
    "new_terms",
    "machine_learning",
    "threat_match",
    "saved_query",
];
const MATURITIES: &[&str] = &["production", "development", "deprecated"];
/// Tag families that become `Tag` facets ("Data Source:" also a `DataSource` facet).
const TAG_FAMILIES: &[&str] = &["Domain:", "OS:", "Use Case:", "Data Source:"];

pub fn fill(doc: &Doc, rule: &mut Rule, fx: &mut Findings) {
    required(doc, fx);
    identity(doc, rule, fx);
    dates_and_status(doc, rule, fx);
    threat(doc, rule, fx);
    facets(doc, rule);
    sections(doc, rule);
    metadata_rows(doc, rule);
}

fn required(doc: &Doc, fx: &mut Findings) {
    if doc.rule.is_empty() {
        fx.push(Check::MissingField, 1, "the file has no `[rule]` table");
        return;
    }
    for key in [
        "rule_id",
        "name",
        "description",
        "type",
        "severity",
        "risk_score",
        "author",
    ] {
        let empty = match doc.rule(key) {
            None => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if empty {
            fx.push(
                Check::MissingField,
                doc.rule_key_line(key),
                format!("`rule.{key}` is missing or empty"),
            );
        }
    }
    if doc.metadata.is_empty() {
        fx.push(Check::MissingField, 1, "the file has no `[metadata]` table");
    } else {
        for key in ["creation_date", "updated_date", "maturity"] {
            if doc.meta(key).is_none() {
                fx.push(
                    Check::MissingField,
                    doc.metadata_line,
                    format!("`metadata.{key}` is missing"),
                );
            }
        }
    }
}

fn identity(doc: &Doc, rule: &mut Rule, fx: &mut Findings) {
    rule.title = doc.rule_str("name").unwrap_or("").trim().to_string();
    rule.description = doc.rule_str("description").unwrap_or("").trim().to_string();
    if let Some(id) = doc.rule_str("rule_id") {
        if !is_uuid(id.trim()) {
            fx.push(
                Check::InvalidValue,
                doc.rule_key_line("rule_id"),
                format!("`rule_id` `{id}` is not a UUID"),
            );
        }
    }
    if let Some(v) = doc.rule("severity") {
        let s = scalar(v).unwrap_or_default();
        rule.severity = Severity::parse(&s);
        let allowed = ["low", "medium", "high", "critical"];
        if !allowed.contains(&s.as_str()) {
            fx.push(
                Check::InvalidValue,
                doc.rule_key_line("severity"),
                format!(
                    "`severity` is `{s}`; expected one of {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    if let Some(v) = doc.rule("risk_score") {
        match v.as_integer() {
            Some(n) if (0..=100).contains(&n) => {}
            _ => fx.push(
                Check::InvalidValue,
                doc.rule_key_line("risk_score"),
                format!(
                    "`risk_score` must be a whole number from 0 to 100, found `{}`",
                    scalar(v).unwrap_or_else(|| "a list or table".into())
                ),
            ),
        }
    }
    if let Some(t) = doc.rule_str("type") {
        if !RULE_TYPES.contains(&t) {
            fx.push(
                Check::InvalidValue,
                doc.rule_key_line("type"),
                format!(
                    "unknown rule `type` `{t}`; expected one of {}",
                    RULE_TYPES.join(", ")
                ),
            );
        }
    }
    if let Some(b) = doc.rule_str("building_block_type") {
        if b != "default" {
            fx.push(
                Check::InvalidValue,
                doc.rule_key_line("building_block_type"),
                format!("`building_block_type` is `{b}`; the only value is `default`"),
            );
        }
    }
    for key in ["tags", "author", "references", "index", "false_positives"] {
        if let Some(v) = doc.rule(key) {
            let ok = matches!(v, Value::Array(a) if a.iter().all(Value::is_str));
            if !ok {
                fx.push(
                    Check::InvalidValue,
                    doc.rule_key_line(key),
                    format!("`rule.{key}` must be a list of strings"),
                );
            }
        }
    }
    rule.references = strings(doc.rule("references"));
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `YYYY/MM/DD` as `YYYY-MM-DD`, or `None` when the date is not in that form.
fn iso_date(s: &str) -> Option<String> {
    let p: Vec<&str> = s.trim().split('/').collect();
    let ok = p.len() == 3
        && p[0].len() == 4
        && p[1].len() == 2
        && p[2].len() == 2
        && p.iter().all(|x| x.bytes().all(|b| b.is_ascii_digit()))
        && (1..=12).contains(&p[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&p[2].parse::<u32>().unwrap_or(0));
    ok.then(|| format!("{}-{}-{}", p[0], p[1], p[2]))
}

fn dates_and_status(doc: &Doc, rule: &mut Rule, fx: &mut Findings) {
    for (key, slot) in [
        ("creation_date", &mut rule.created),
        ("updated_date", &mut rule.modified),
    ] {
        let Some(v) = doc.meta(key) else { continue };
        let s = scalar(v).unwrap_or_default();
        match iso_date(&s) {
            Some(d) => *slot = Some(d),
            None => fx.push(
                Check::InvalidValue,
                doc.meta_key_line(key),
                format!("`metadata.{key}` `{s}` is not a date written YYYY/MM/DD"),
            ),
        }
    }
    if let Some(m) = doc.meta_str("maturity") {
        rule.status = Some(m.to_string());
        if !MATURITIES.contains(&m) {
            fx.push(
                Check::InvalidValue,
                doc.meta_key_line("maturity"),
                format!(
                    "`maturity` is `{m}`; expected one of {}",
                    MATURITIES.join(", ")
                ),
            );
        }
        if m == "deprecated" && doc.meta("deprecation_date").is_none() {
            fx.push(
                Check::MissingField,
                doc.meta_key_line("maturity"),
                "a deprecated rule needs `metadata.deprecation_date`",
            );
        }
    }
}

/// `[[rule.threat]]`: tactics, techniques and sub-techniques.
fn threat(doc: &Doc, rule: &mut Rule, fx: &mut Findings) {
    let Some(v) = doc.rule("threat") else { return };
    let line = doc.rule_key_line("threat");
    let Some(entries) = v.as_array() else {
        fx.push(
            Check::InvalidValue,
            line,
            "`rule.threat` must be a list of tables",
        );
        return;
    };
    let text = doc.text;
    let id_line = |id: &str| crate::diag::find_line(text, &format!("\"{id}\"")).unwrap_or(line);
    let mut other = Vec::new();
    for e in entries {
        let framework = e.get("framework").and_then(Value::as_str).unwrap_or("");
        if !framework.contains("ATT&CK") {
            let ids: Vec<String> = e
                .get("technique")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            other.push(format!("{framework} {}", ids.join(", ")).trim().to_string());
            continue;
        }
        if let Some(id) = e
            .get("tactic")
            .and_then(|t| t.get("id"))
            .and_then(Value::as_str)
        {
            match parse_refs(id).as_slice() {
                [AttackRef::Tactic(t)] => push_unique(&mut rule.tactics, t),
                _ => fx.push(
                    Check::InvalidValue,
                    id_line(id),
                    format!("`{id}` is not an ATT&CK tactic id (TA0000)"),
                ),
            }
        } else {
            fx.push(
                Check::MissingField,
                line,
                "a `rule.threat` entry has no `tactic.id`",
            );
        }
        for t in e
            .get("technique")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(id) = t.get("id").and_then(Value::as_str) else {
                fx.push(Check::MissingField, line, "a technique has no `id`");
                continue;
            };
            let Some(base) = technique(id) else {
                fx.push(
                    Check::InvalidValue,
                    id_line(id),
                    format!("`{id}` is not an ATT&CK technique id (T0000)"),
                );
                continue;
            };
            push_unique(&mut rule.techniques, &base);
            for s in t
                .get("subtechnique")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(sid) = s.get("id").and_then(Value::as_str) else {
                    continue;
                };
                match technique(sid) {
                    Some(sub) if sub.starts_with(&format!("{base}.")) => {
                        push_unique(&mut rule.techniques, &sub)
                    }
                    Some(_) => fx.push(
                        Check::InvalidValue,
                        id_line(sid),
                        format!("sub-technique `{sid}` is filed under technique `{id}`"),
                    ),
                    None => fx.push(
                        Check::InvalidValue,
                        id_line(sid),
                        format!("`{sid}` is not an ATT&CK sub-technique id (T0000.000)"),
                    ),
                }
            }
        }
    }
    if !other.is_empty() {
        rule.metadata
            .push(("Other frameworks".into(), other.join("; ")));
    }
}

fn technique(id: &str) -> Option<String> {
    match parse_refs(id).as_slice() {
        [AttackRef::Technique(t)] => Some(t.clone()),
        _ => None,
    }
}

fn push_unique(list: &mut Vec<String>, v: &str) {
    if !list.iter().any(|x| x == v) {
        list.push(v.to_string());
    }
}

fn facets(doc: &Doc, rule: &mut Rule) {
    for i in strings(doc.rule("index")) {
        rule.facet(FacetKind::IndexPattern, i);
    }
    for i in strings(doc.meta("integration")) {
        rule.facet(FacetKind::Integration, i);
    }
    if let Some(Value::Array(list)) = doc.rule("related_integrations") {
        for r in list {
            if let Some(p) = r.get("package").and_then(Value::as_str) {
                rule.facet(FacetKind::Integration, p);
            }
        }
    }
    if let Some(t) = doc.rule_str("type") {
        rule.facet(FacetKind::RuleType, t);
    }
    for j in strings(doc.rule("machine_learning_job_id")) {
        rule.facet(FacetKind::MlJob, j);
    }
    for a in strings(doc.rule("author")) {
        rule.facet(FacetKind::Author, a);
    }
    for tag in strings(doc.rule("tags")) {
        let tag = tag.trim();
        if TAG_FAMILIES.iter().any(|f| tag.starts_with(f)) {
            rule.facet(FacetKind::Tag, tag);
        }
        if let Some(ds) = tag.strip_prefix("Data Source:") {
            rule.facet(FacetKind::DataSource, ds.trim());
        }
    }
}

fn sections(doc: &Doc, rule: &mut Rule) {
    if let Some(n) = doc.rule_str("note").filter(|s| !s.trim().is_empty()) {
        rule.sections.push(Section {
            title: "Investigation guide".into(),
            markdown: n.trim().to_string(),
        });
    }
    if let Some(s) = doc.rule_str("setup").filter(|s| !s.trim().is_empty()) {
        rule.sections.push(Section {
            title: "Setup".into(),
            markdown: s.trim().to_string(),
        });
    }
    let fps = strings(doc.rule("false_positives"));
    if !fps.is_empty() {
        let md = fps
            .iter()
            .map(|f| format!("- {}", f.trim().replace('\n', "\n  ")))
            .collect::<Vec<_>>()
            .join("\n");
        rule.sections.push(Section {
            title: "False positives".into(),
            markdown: md,
        });
    }
    if let Some(md) = doc.transform.as_ref().and_then(transform_markdown) {
        rule.sections.push(Section {
            title: "Investigation queries".into(),
            markdown: md,
        });
    }
}

/// `[transform]` blocks (Osquery and Timeline investigation queries) as Markdown.
fn transform_markdown(t: &Value) -> Option<String> {
    let mut md = String::new();
    for q in t
        .get("osquery")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let label = q.get("label").and_then(Value::as_str).unwrap_or("Osquery");
        let query = q.get("query").and_then(Value::as_str).unwrap_or("").trim();
        md.push_str(&format!("**{label}**\n\n```sql\n{query}\n```\n\n"));
    }
    for q in t
        .get("investigate")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let label = q
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or("Investigate");
        md.push_str(&format!("**{label}**"));
        if let Some(d) = q.get("description").and_then(Value::as_str) {
            md.push_str(&format!(": {d}"));
        }
        md.push_str("\n\n");
        for group in q
            .get("providers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let terms: Vec<String> = group
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let f = p.get("field").and_then(Value::as_str).unwrap_or("?");
                    let v = p.get("value").and_then(scalar).unwrap_or_default();
                    let not = p.get("excluded").and_then(Value::as_bool) == Some(true);
                    format!("{}`{f}` = `{v}`", if not { "not " } else { "" })
                })
                .collect();
            if !terms.is_empty() {
                md.push_str(&format!("- {}\n", terms.join(" and ")));
            }
        }
        md.push('\n');
    }
    let md = md.trim().to_string();
    (!md.is_empty()).then_some(md)
}

fn metadata_rows(doc: &Doc, rule: &mut Rule) {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| {
        if !v.trim().is_empty() {
            rows.push((k.to_string(), v));
        }
    };
    let s = |v: Option<&Value>| v.and_then(scalar).unwrap_or_default();
    row("Rule type", s(doc.rule("type")));
    row("Risk score", s(doc.rule("risk_score")));
    row("Maturity", s(doc.meta("maturity")));
    let from = s(doc.rule("from"));
    let interval = s(doc.rule("interval"));
    if !from.is_empty() || !interval.is_empty() {
        let every = if interval.is_empty() {
            "5m".to_string()
        } else {
            interval
        };
        let back = if from.is_empty() {
            "now-6m".to_string()
        } else {
            from
        };
        row("Schedule", format!("every {every}, looking back to {back}"));
    }
    row("Timestamp override", s(doc.rule("timestamp_override")));
    row(
        "Event category override",
        s(doc.rule("event_category_override")),
    );
    row("Building block", s(doc.rule("building_block_type")));
    row("Max signals", s(doc.rule("max_signals")));
    row("Anomaly threshold", s(doc.rule("anomaly_threshold")));
    row("Rule name override", s(doc.rule("rule_name_override")));
    row("Timeline", s(doc.rule("timeline_title")));
    row("Min stack version", s(doc.meta("min_stack_version")));
    row("Deprecation date", s(doc.meta("deprecation_date")));
    row("Deprecated because", s(doc.meta("deprecated_reason")));
    row("License", s(doc.rule("license")));
    if let Some(a) = doc.rule("alert_suppression") {
        let by = strings(a.get("group_by")).join(", ");
        let mut text = format!("group by {by}");
        if let Some(d) = a.get("duration") {
            text.push_str(&format!(
                " for {}{}",
                d.get("value").and_then(scalar).unwrap_or_default(),
                d.get("unit").and_then(scalar).unwrap_or_default()
            ));
        }
        if let Some(m) = a.get("missing_fields_strategy").and_then(Value::as_str) {
            text.push_str(&format!(" (missing fields: {m})"));
        }
        row("Alert suppression", text);
    }
    for (key, label) in [
        ("severity_mapping", "Severity mapping"),
        ("risk_score_mapping", "Risk score mapping"),
    ] {
        let items: Vec<String> = doc
            .rule(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| {
                let target = m
                    .get("severity")
                    .or_else(|| m.get("risk_score"))
                    .and_then(scalar)
                    .unwrap_or_default();
                format!(
                    "{} {} `{}` → {target}",
                    m.get("field").and_then(scalar).unwrap_or_default(),
                    m.get("operator").and_then(scalar).unwrap_or_default(),
                    m.get("value").and_then(scalar).unwrap_or_default()
                )
            })
            .collect();
        row(label, items.join("; "));
    }
    let exceptions: Vec<String> = doc
        .rule("exceptions_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("list_id").and_then(scalar))
        .collect();
    row("Exception lists", exceptions.join(", "));
    let other_tags: Vec<String> = strings(doc.rule("tags"))
        .into_iter()
        .filter(|t| !TAG_FAMILIES.iter().any(|f| t.starts_with(f)))
        .collect();
    row("Other tags", other_tags.join(", "));
    let inv = doc
        .rule("investigation_fields")
        .map(|v| strings(v.get("field_names")))
        .unwrap_or_default();
    row("Investigation fields", inv.join(", "));
    if let Some(p) = doc.meta("promotion") {
        row("Promotion", to_json(p).to_string());
    }
    rule.metadata.extend(rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_and_dates() {
        assert!(is_uuid("54a81f68-5f2a-421e-8eed-f888278bb712"));
        assert!(!is_uuid("54a81f68-5f2a-421e-8eed"));
        assert_eq!(iso_date("2023/01/11").as_deref(), Some("2023-01-11"));
        assert_eq!(iso_date("2023-01-11"), None);
        assert_eq!(iso_date("2023/13/11"), None);
    }
}
