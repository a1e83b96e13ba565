//! One Sentinel rule YAML file → one `Rule`.

use super::meta::{clean_table, solution_folder, RootInfo};
use super::{apply_kql, mock};
use crate::attack::{parse_refs, tactic_id_by_name, AttackRef};
use crate::diag::{find_line, Diagnostic};
use crate::discover::{Root, SourceFile};
use crate::formats::{parse_yaml, scalar, sidecar_tests, str_list, Loaded};
use crate::model::{FacetKind, OutputField, Rule, Section, Severity, SourceLocation, Vendor};
use crate::verify::checks::Check;
use serde_json::Value as J;

/// `kind` spellings → the rule type shown.
const KINDS: &[(&str, &str)] = &[
    ("scheduled", "Scheduled"),
    ("nrt", "NRT"),
    ("fusion", "Fusion"),
    ("mlbehavioranalytics", "ML Behavior Analytics"),
    ("microsoftsecurityincidentcreation", "Microsoft Security"),
    ("threatintelligence", "Threat Intelligence"),
    ("anomaly", "Anomaly"),
];

pub const HUNTING: &str = "Hunting query";

/// Tactic values Sentinel accepts that are not ATT&CK Enterprise tactics.
const OTHER_TACTICS: &[&str] = &[
    "PreAttack",
    "ImpairProcessControl",
    "InhibitResponseFunction",
];

pub(super) fn load(root: &Root, file: &SourceFile, info: &RootInfo, vendor: Vendor) -> Loaded {
    let mut out = Loaded::default();
    let disp = root.display(&file.rel);
    let doc = match parse_yaml(&file.text) {
        Ok(d) => d,
        Err((line, msg)) => {
            out.diagnostics
                .push(Diagnostic::new(Check::ParseError, disp, line, msg));
            return out;
        }
    };
    if !doc.is_object() {
        out.diagnostics.push(Diagnostic::new(
            Check::ParseError,
            disp,
            1,
            "a Sentinel rule is a YAML mapping",
        ));
        return out;
    }
    let text = &file.text;
    let line_of = |key: &str| {
        find_line(text, &format!("\n{key}:"))
            .map(|l| l + 1)
            .or_else(|| text.starts_with(&format!("{key}:")).then_some(1))
    };
    let get = |k: &str| doc.get(k);
    let mut diags = Vec::new();
    let missing = |diags: &mut Vec<Diagnostic>, key: &str, level_error: bool| {
        let check = if level_error {
            Check::MissingField
        } else {
            Check::InvalidValue
        };
        diags.push(Diagnostic::new(
            check,
            disp.clone(),
            1,
            format!("the rule has no `{key}`"),
        ));
    };

    let stem = file
        .file_name()
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(file.file_name())
        .to_string();
    let id = match scalar(get("id")).filter(|s| !s.trim().is_empty()) {
        Some(id) => id.trim().to_string(),
        None => {
            missing(&mut diags, "id", true);
            file.rel.clone()
        }
    };
    let mut rule = Rule::new(
        vendor,
        id.clone(),
        SourceLocation {
            root: root.index,
            path: file.rel.clone(),
            line: 1,
        },
    );
    let diag = |check, line: Option<usize>, msg: String| {
        Diagnostic::new(check, disp.clone(), line.unwrap_or(1), msg).for_rule(id.clone())
    };
    rule.title = match scalar(get("name")).filter(|s| !s.trim().is_empty()) {
        Some(n) => n.trim().to_string(),
        None => {
            missing(&mut diags, "name", true);
            stem.clone()
        }
    };
    match scalar(get("description")) {
        Some(d) if !d.trim().is_empty() => rule.description = unquote(&d),
        _ => missing(&mut diags, "description", false),
    }
    if let Some(d) = scalar(get("description-detailed")).filter(|d| !d.trim().is_empty()) {
        rule.sections.push(Section {
            title: "Details".into(),
            markdown: unquote(&d),
        });
    }
    rule.references = urls(&rule.description);
    if let Some(s) = scalar(get("severity")) {
        match Severity::parse(&s) {
            Some(sev) => rule.severity = Some(sev),
            None => diags.push(diag(
                Check::InvalidValue,
                line_of("severity"),
                format!("severity `{s}` is not Informational, Low, Medium or High"),
            )),
        }
    }
    rule.status = scalar(get("status")).filter(|s| !s.trim().is_empty());

    // Kind.
    let in_hunting = file
        .rel
        .split('/')
        .any(|p| p.eq_ignore_ascii_case("hunting queries"));
    let kind = match scalar(get("kind")) {
        Some(k) => match KINDS
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k.trim()))
        {
            Some((_, shown)) => shown.to_string(),
            None => {
                diags.push(diag(
                    Check::InvalidValue,
                    line_of("kind"),
                    format!("kind `{k}` is not a Sentinel rule kind (Scheduled, NRT...)"),
                ));
                k.trim().to_string()
            }
        },
        None if in_hunting || get("queryFrequency").is_none() => HUNTING.to_string(),
        None => "Scheduled".to_string(),
    };
    rule.facet(FacetKind::RuleType, kind.clone());
    rule.metadata.push(("Kind".into(), kind));
    if let Some(v) = scalar(get("version")) {
        rule.metadata.push(("Version".into(), v));
    }

    // ATT&CK.
    for t in str_list(get("tactics")) {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        match tactic_id_by_name(t) {
            Some(id) => {
                if !rule.tactics.iter().any(|x| x == id) {
                    rule.tactics.push(id.to_string());
                }
            }
            None if OTHER_TACTICS.iter().any(|o| o.eq_ignore_ascii_case(t)) => {
                rule.metadata.push(("Other tactic".into(), t.to_string()));
            }
            None => diags.push(diag(
                Check::InvalidValue,
                line_of("tactics"),
                format!("tactic `{t}` is not an ATT&CK tactic name"),
            )),
        }
    }
    for t in str_list(get("relevantTechniques")) {
        let refs: Vec<String> = parse_refs(&t)
            .into_iter()
            .filter_map(|r| match r {
                AttackRef::Technique(id) => Some(id),
                AttackRef::Tactic(_) => None,
            })
            .collect();
        if refs.is_empty() {
            diags.push(diag(
                Check::InvalidValue,
                line_of("relevantTechniques"),
                format!(
                    "relevantTechniques holds `{}`, not an ATT&CK technique id",
                    t.trim()
                ),
            ));
        }
        for r in refs {
            if !rule.techniques.contains(&r) {
                rule.techniques.push(r);
            }
        }
    }

    // Schedule and alert settings.
    let push = |rule: &mut Rule, k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            rule.metadata.push((k.to_string(), v));
        }
    };
    push(&mut rule, "Query frequency", scalar(get("queryFrequency")));
    push(&mut rule, "Query period", scalar(get("queryPeriod")));
    if let (Some(op), Some(th)) = (
        scalar(get("triggerOperator")),
        scalar(get("triggerThreshold")),
    ) {
        let op_text = match op.to_ascii_lowercase().as_str() {
            "gt" | "greaterthan" => ">",
            "lt" | "lessthan" => "<",
            "eq" | "equal" => "=",
            "ne" | "notequal" => "≠",
            _ => op.as_str(),
        };
        rule.metadata.push((
            "Trigger".into(),
            format!("number of results {op_text} {th}"),
        ));
    }
    if scalar(get("suppressionEnabled")).as_deref() == Some("true") {
        push(&mut rule, "Suppression", scalar(get("suppressionDuration")));
    }
    if let Some(g) = get("eventGroupingSettings") {
        push(
            &mut rule,
            "Event grouping",
            scalar(g.get("aggregationKind")),
        );
    }
    if let Some(o) = get("alertDetailsOverride") {
        push(
            &mut rule,
            "Alert name format",
            scalar(o.get("alertDisplayNameFormat")),
        );
        push(
            &mut rule,
            "Alert description format",
            scalar(o.get("alertDescriptionFormat")),
        );
        push(
            &mut rule,
            "Alert severity column",
            scalar(o.get("alertSeverityColumnName")),
        );
        push(
            &mut rule,
            "Alert tactics column",
            scalar(o.get("alertTacticsColumnName")),
        );
        for p in o
            .get("alertDynamicProperties")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(k), Some(v)) = (scalar(p.get("alertProperty")), scalar(p.get("value"))) {
                rule.metadata.push((format!("Alert property {k}"), v));
            }
        }
    }
    if let Some(ic) = get("incidentConfiguration") {
        push(
            &mut rule,
            "Create incident",
            scalar(ic.get("createIncident")),
        );
        if let Some(g) = ic.get("groupingConfiguration") {
            if scalar(g.get("enabled")).as_deref() == Some("true") {
                let mut parts = Vec::new();
                if let Some(m) = scalar(g.get("matchingMethod")) {
                    parts.push(format!("matching {m}"));
                }
                if let Some(l) = scalar(g.get("lookbackDuration")) {
                    parts.push(format!("within {l}"));
                }
                let by = str_list(g.get("groupByEntities"));
                if !by.is_empty() {
                    parts.push(format!("by {}", by.join(", ")));
                }
                rule.metadata
                    .push(("Incident grouping".into(), parts.join(", ")));
            }
        }
    }

    // Tags and the rule's own metadata block.
    for t in get("tags").and_then(J::as_array).into_iter().flatten() {
        match t {
            J::Object(m) => {
                for k in ["name", "Name", "Id", "id"] {
                    if let Some(v) = scalar(m.get(k)) {
                        rule.facet(FacetKind::Tag, v);
                        break;
                    }
                }
            }
            other => {
                if let Some(v) = scalar(Some(other)) {
                    rule.facet(FacetKind::Tag, v);
                }
            }
        }
    }
    if let Some(m) = get("metadata") {
        if let Some(a) = m.get("author").and_then(|a| scalar(a.get("name"))) {
            rule.facet(FacetKind::Author, a);
        }
        push(
            &mut rule,
            "Support tier",
            m.get("support").and_then(|s| scalar(s.get("tier"))),
        );
        push(
            &mut rule,
            "Source",
            m.get("source").and_then(|s| scalar(s.get("kind"))),
        );
        let cats = m
            .get("categories")
            .map(|c| str_list(c.get("domains")))
            .unwrap_or_default();
        if !cats.is_empty() {
            rule.metadata.push(("Categories".into(), cats.join(", ")));
        }
    }

    // Solution.
    if let Some(folder) = solution_folder(&file.rel) {
        rule.facet(FacetKind::Solution, folder.clone());
        match info.solutions.get(&folder) {
            Some(s) => {
                rule.metadata.push(("Solution".into(), s.name.clone()));
                push(&mut rule, "Solution publisher", s.author.clone());
                push(&mut rule, "Solution version", s.version.clone());
                push(
                    &mut rule,
                    "Solution description",
                    Some(s.description.clone()),
                );
            }
            None => rule.metadata.push(("Solution".into(), folder)),
        }
    }

    // Connectors.
    let mut declared_tables = Vec::new();
    for c in get("requiredDataConnectors")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let id = scalar(c.get("connectorId")).unwrap_or_default();
        let types: Vec<String> = str_list(c.get("dataTypes"))
            .iter()
            .filter_map(|t| clean_table(t, None))
            .collect();
        declared_tables.extend(types.iter().cloned());
        if id.trim().is_empty() {
            continue;
        }
        rule.facet(FacetKind::Connector, id.trim());
        let mut label = info.connector_label(id.trim());
        if !types.is_empty() {
            label.push_str(&format!(" — data types: {}", types.join(", ")));
        }
        rule.metadata.push(("Data connector".into(), label));
    }

    // The query.
    match scalar(get("query")).filter(|q| !q.trim().is_empty()) {
        Some(q) => {
            let key_line = line_of("query").unwrap_or(1);
            let block = text
                .lines()
                .nth(key_line - 1)
                .map(|l| {
                    let v = l.trim_start_matches("query:").trim();
                    v.starts_with('|') || v.starts_with('>')
                })
                .unwrap_or(false);
            let first = if block { key_line + 1 } else { key_line };
            let a = apply_kql(&mut rule, &q, info, root, &file.rel, first, &mut diags);
            if a.tables.is_empty() && !declared_tables.is_empty() {
                declared_tables.sort();
                declared_tables.dedup();
                for t in &declared_tables {
                    rule.facet(FacetKind::Table, t.clone());
                }
                rule.metadata.push((
                    "Tables".into(),
                    format!(
                        "{} (from requiredDataConnectors: the query's own sources are not tables this root defines)",
                        declared_tables.join(", ")
                    ),
                ));
            }
            let tables: Vec<String> = rule
                .facet_values(FacetKind::Table)
                .map(str::to_string)
                .collect();
            annotate_outputs(&mut rule, &doc);
            let (tests, d) = mock::tests(root, &file.rel, &tables);
            for t in &tests {
                if let Some(loc) = &t.location {
                    rule.dependencies.push(loc.path.clone());
                }
            }
            rule.tests.extend(tests);
            diags.extend(d);
        }
        None => diags.push(diag(
            Check::MissingField,
            Some(1),
            "the rule has no `query`".into(),
        )),
    }

    let (tests, d) = sidecar_tests(root, &file.rel);
    rule.tests.extend(tests);
    diags.extend(d);
    rule.raw = file.text.clone();
    rule.raw_format = "yaml".into();
    for d in &mut diags {
        if d.rule.is_none() {
            d.rule = Some(id.clone());
        }
    }
    out.rules.push(rule);
    out.diagnostics = diags;
    out
}

/// Entity mappings and custom details mark the output columns they use.
fn annotate_outputs(rule: &mut Rule, doc: &J) {
    let Some(det) = rule.detection.as_mut() else {
        return;
    };
    let mut mark = |column: &str, note: String| {
        let column = column.trim();
        if column.is_empty() {
            return;
        }
        match det.output_fields.iter_mut().find(|f| f.name == column) {
            Some(f) => {
                f.note = Some(match f.note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note,
                })
            }
            None => det.output_fields.push(OutputField {
                name: column.to_string(),
                source: None,
                note: Some(note),
            }),
        }
    };
    for e in doc
        .get("entityMappings")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let kind = scalar(e.get("entityType")).unwrap_or_default();
        for m in e
            .get("fieldMappings")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            let ident = scalar(m.get("identifier")).unwrap_or_default();
            if let Some(col) = scalar(m.get("columnName")) {
                mark(&col, format!("entity {kind}.{ident}"));
            }
        }
    }
    if let Some(J::Object(cd)) = doc.get("customDetails") {
        for (k, v) in cd {
            if let Some(col) = scalar(Some(v)) {
                mark(&col, format!("custom detail {k}"));
            }
        }
    }
}

/// Sentinel descriptions are often wrapped in literal quotes: `'text'`.
pub(crate) fn unquote(s: &str) -> String {
    let t = s.trim();
    for q in ['\'', '"'] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].trim().to_string();
        }
    }
    t.to_string()
}

/// URLs in a text, in order, without repeats.
pub(crate) fn urls(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in text.match_indices("http") {
        let rest = &text[i..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, ')' | '\'' | '"' | ']' | '>' | '<' | '`')
            })
            .unwrap_or(rest.len());
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':']);
        if url.len() > 10 && !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
    }
    out
}
