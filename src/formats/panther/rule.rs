//! One Panther YAML file (rule, scheduled rule, correlation rule or policy) as a `Rule`.

use super::support::{beside, Support};
use crate::attack::{parse_refs, AttackRef};
use crate::diag::{find_line, Diagnostic};
use crate::discover::{Root, SourceFile};
use crate::formats::{parse_yaml, scalar, sidecar_tests, str_list, Loaded};
use crate::model::{
    Detection, Expect, Expr, FacetKind, Language, OutputField, Query, RelatedRule, Rule, RuleTest,
    Section, Severity, SourceLocation, Vendor,
};
use crate::query::python::JSON_SUFFIX;
use crate::query::{panther_detection, python};
use crate::verify::checks::Check;
use serde_json::Value as J;
use std::collections::{BTreeSet, HashMap};

fn rule_type_label(kind: &str) -> &'static str {
    match kind {
        "scheduled_rule" => "Scheduled rule",
        "correlation_rule" => "Correlation rule",
        "policy" => "Policy",
        _ => "Rule",
    }
}

pub fn load(root: &Root, file: &SourceFile, sup: &Support) -> Loaded {
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
            "a Panther analysis file must be a YAML mapping",
        ));
        return out;
    }
    let kind = scalar(doc.get("AnalysisType")).unwrap_or_default();
    let id_key = if kind == "policy" {
        "PolicyID"
    } else {
        "RuleID"
    };
    let line_of = |key: &str| find_line(&file.text, &format!("{key}:")).unwrap_or(1);
    let id = match scalar(doc.get(id_key)).filter(|s| !s.trim().is_empty()) {
        Some(id) => id.trim().to_string(),
        None => {
            out.diagnostics.push(Diagnostic::new(
                Check::MissingField,
                disp.clone(),
                1,
                format!("`{id_key}` is missing"),
            ));
            file.rel.clone()
        }
    };
    let mut rule = Rule::new(
        Vendor::Panther,
        id.clone(),
        SourceLocation {
            root: root.index,
            path: file.rel.clone(),
            line: 1,
        },
    );
    rule.raw = file.text.clone();
    rule.raw_format = "yaml".into();
    rule.title = scalar(doc.get("DisplayName"))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| id.clone());
    rule.description = scalar(doc.get("Description")).unwrap_or_default();
    if let Some(sev) = scalar(doc.get("Severity")) {
        match Severity::parse(&sev) {
            Some(s) => rule.severity = Some(s),
            None => out.diagnostics.push(
                Diagnostic::new(
                    Check::InvalidValue,
                    disp.clone(),
                    line_of("Severity"),
                    format!("unknown severity `{sev}` (Info, Low, Medium, High, Critical)"),
                )
                .for_rule(&id),
            ),
        }
    }
    let enabled = doc.get("Enabled").and_then(J::as_bool);
    rule.status = enabled.map(|e| if e { "enabled" } else { "disabled" }.to_string());
    rule.facet(FacetKind::RuleType, rule_type_label(&kind));
    let log_types = str_list(doc.get("LogTypes"));
    for lt in &log_types {
        rule.facet(FacetKind::LogType, lt);
    }
    for rt in str_list(doc.get("ResourceTypes")) {
        rule.facet(FacetKind::ResourceType, rt);
    }
    for tag in str_list(doc.get("Tags")) {
        rule.facet(FacetKind::Tag, tag);
    }
    reports(&doc, &mut rule);
    for r in str_list(doc.get("Reference")) {
        for part in r.split_whitespace() {
            if part.starts_with("http") && !rule.references.iter().any(|x| x == part) {
                rule.references.push(part.to_string());
            }
        }
    }
    if let Some(rb) = scalar(doc.get("Runbook")).filter(|s| !s.trim().is_empty()) {
        rule.sections.push(Section {
            title: "Runbook".into(),
            markdown: rb,
        });
    }
    for (key, label) in [
        ("DedupPeriodMinutes", "Dedup period (minutes)"),
        ("Threshold", "Threshold"),
        ("CreateAlert", "Creates alerts"),
    ] {
        if let Some(v) = scalar(doc.get(key)) {
            rule.metadata.push((label.into(), v));
        }
    }
    if let Some(J::Array(ds)) = doc.get("DynamicSeverities") {
        rule.metadata
            .push(("Dynamic severities".into(), ds.len().to_string()));
    }
    scheduled_queries(&doc, &mut rule, sup);

    // The logic.
    let kind_py = match kind.as_str() {
        "policy" => python::EventKind::Policy,
        "scheduled_rule" => python::EventKind::Scheduled,
        _ => python::EventKind::Rule,
    };
    let mut reading: Option<python::Reading> = None;
    let mut outputs: Vec<OutputField> = Vec::new();
    if let Some(det) = doc.get("Detection") {
        let expr = if is_correlation(det) {
            correlation(det, &mut rule)
        } else {
            panther_detection::parse(det)
        };
        rule.query = Some(Query {
            language: Language::PantherDetection,
            text: serde_yaml::to_string(det).unwrap_or_default(),
        });
        rule.detection = Some(Detection {
            expr,
            output_fields: Vec::new(),
        });
        outputs.extend(yaml_outputs(&doc));
    } else if let Some(name) = scalar(doc.get("Filename")) {
        let rel = beside(&file.rel, &name);
        rule.metadata.push(("Python file".into(), rel.clone()));
        match root.get(&rel) {
            None => {
                rule.metadata.push((
                    "Python logic".into(),
                    format!("`{name}` is not in this copy of the repository: the rule's logic is not shown"),
                ));
                out.diagnostics.push(
                    Diagnostic::new(
                        Check::PantherPythonMissing,
                        disp.clone(),
                        line_of("Filename"),
                        format!("`Filename: {name}` does not exist beside the YAML file"),
                    )
                    .for_rule(&id),
                );
            }
            Some(py) => {
                rule.companions
                    .push((rel.clone(), py.text.clone(), "python".into()));
                let module = rel.rsplit('/').next().unwrap_or(&rel);
                let module = module.strip_suffix(".py").unwrap_or(module);
                match python::Source::parse(module, &py.text) {
                    Err(e) => {
                        out.diagnostics.push(
                            Diagnostic::new(
                                Check::ParseError,
                                root.display(&rel),
                                e.line,
                                format!("Python syntax error: {}", e.message),
                            )
                            .at_column(e.column)
                            .for_rule(&id),
                        );
                        rule.detection = Some(Detection {
                            expr: Expr::opaque(py.text.clone(), "the Python file does not parse"),
                            output_fields: Vec::new(),
                        });
                    }
                    Ok(src) => {
                        let ctx = python::Context {
                            helpers: &sup.helpers,
                            data_models: &sup.data_models,
                            log_types: &log_types,
                            kind: kind_py,
                        };
                        let r = python::read(&src, &ctx);
                        let entry = if kind_py == python::EventKind::Policy {
                            "policy"
                        } else {
                            "rule"
                        };
                        rule.query = Some(Query {
                            language: Language::Python,
                            text: src
                                .function_text(entry)
                                .map(str::to_string)
                                .unwrap_or_else(|| py.text.clone()),
                        });
                        match &r.expr {
                            Some(e) => {
                                rule.detection = Some(Detection {
                                    expr: e.clone(),
                                    output_fields: Vec::new(),
                                })
                            }
                            None => out.diagnostics.push(
                                Diagnostic::new(
                                    Check::MissingField,
                                    root.display(&rel),
                                    1,
                                    format!("the Python file defines no `{entry}()` function"),
                                )
                                .for_rule(&id),
                            ),
                        }
                        let funcs: Vec<String> = r
                            .functions
                            .iter()
                            .filter(|f| {
                                matches!(
                                    f.as_str(),
                                    "title"
                                        | "dedup"
                                        | "alert_context"
                                        | "severity"
                                        | "description"
                                        | "reference"
                                        | "runbook"
                                        | "destinations"
                                        | "unique"
                                )
                            })
                            .map(|f| format!("{f}()"))
                            .collect();
                        if !funcs.is_empty() {
                            rule.metadata
                                .push(("Python functions".into(), funcs.join(", ")));
                        }
                        outputs.extend(r.output_fields.iter().cloned());
                        reading = Some(r);
                    }
                }
            }
        }
    } else if kind != "correlation_rule" {
        out.diagnostics.push(
            Diagnostic::new(
                Check::MissingField,
                disp.clone(),
                1,
                "neither `Filename` nor `Detection` is given: the rule has no logic",
            )
            .for_rule(&id),
        );
    }
    // Inline filters run before the logic.
    if let Some(J::Array(filters)) = doc.get("InlineFilters") {
        let f = panther_detection::parse_filters(&J::Array(filters.clone()));
        let trivial = matches!(&f, Expr::All { items } if items.iter().all(|i| matches!(i, Expr::All { items } if items.is_empty())));
        if !filters.is_empty() && !trivial {
            if let Some(det) = &mut rule.detection {
                let logic = std::mem::take(&mut det.expr);
                det.expr = Expr::all(vec![Expr::named("InlineFilters", f), logic]);
            }
        }
    }
    for s in str_list(doc.get("SummaryAttributes")) {
        outputs.push(OutputField {
            name: s,
            source: None,
            note: Some("summary attribute".into()),
        });
    }
    if let Some(det) = &mut rule.detection {
        det.output_fields = outputs;
    }
    tests(
        root,
        file,
        &doc,
        &mut rule,
        reading.as_ref(),
        &mut out.diagnostics,
    );
    if kind != "policy" {
        align_keys(&mut rule);
    }
    decode_json_keys(&mut rule);
    let (side, side_diags) = sidecar_tests(root, &file.rel);
    rule.tests.extend(side);
    out.diagnostics.extend(side_diags);
    out.rules.push(rule);
    out
}

/// `Reports: {MITRE ATT&CK: [TA0006:T1528]}` and the other frameworks.
fn reports(doc: &J, rule: &mut Rule) {
    let Some(J::Object(reports)) = doc.get("Reports") else {
        return;
    };
    for (framework, v) in reports {
        let items = str_list(Some(v));
        if framework.to_ascii_uppercase().starts_with("MITRE") {
            for item in &items {
                for r in parse_refs(item) {
                    match r {
                        AttackRef::Technique(t) if !rule.techniques.contains(&t) => {
                            rule.techniques.push(t)
                        }
                        AttackRef::Tactic(t) if !rule.tactics.contains(&t) => rule.tactics.push(t),
                        _ => {}
                    }
                }
            }
        } else if !items.is_empty() {
            rule.metadata
                .push((format!("Reports: {framework}"), items.join(", ")));
        }
    }
}

/// Scheduled rules name the queries whose results they read.
fn scheduled_queries(doc: &J, rule: &mut Rule, sup: &Support) {
    for name in str_list(doc.get("ScheduledQueries")) {
        match sup.queries.get(&name) {
            Some(q) => {
                rule.metadata
                    .push(("Scheduled query".into(), format!("{name} ({})", q.rel)));
                let mut md = String::new();
                if let Some(d) = &q.description {
                    md.push_str(d.trim());
                    md.push_str("\n\n");
                }
                if let Some(s) = &q.schedule {
                    md.push_str(&format!("Runs {s}.\n\n"));
                }
                md.push_str(&format!("```{}\n{}\n```\n", q.language, q.text.trim_end()));
                rule.sections.push(Section {
                    title: format!("Query: {name}"),
                    markdown: md,
                });
            }
            None => rule.metadata.push((
                "Scheduled query".into(),
                format!("{name} (not in this repository)"),
            )),
        }
    }
}

fn is_correlation(det: &J) -> bool {
    det.as_array().is_some_and(|items| {
        items
            .iter()
            .any(|i| i.get("Sequence").is_some() || i.get("Group").is_some())
    })
}

/// A correlation detection: a sequence or group of other rules' alerts.
fn correlation(det: &J, rule: &mut Rule) -> Expr {
    let mut parts = Vec::new();
    for item in det.as_array().into_iter().flatten() {
        let (ordered, steps) = match (item.get("Sequence"), item.get("Group")) {
            (Some(s), _) => (true, s),
            (None, Some(g)) => (false, g),
            _ => {
                parts.push(panther_detection::parse(item));
                continue;
            }
        };
        let mut step_exprs = Vec::new();
        for s in steps.as_array().into_iter().flatten() {
            let step_id = scalar(s.get("ID")).unwrap_or_default();
            let Some(rule_id) = scalar(s.get("RuleID")) else {
                step_exprs.push(Expr::opaque(
                    serde_yaml::to_string(s).unwrap_or_default(),
                    "a correlation step without `RuleID`",
                ));
                continue;
            };
            if !rule.related.iter().any(|r| r.id == rule_id) {
                rule.related.push(RelatedRule {
                    id: rule_id.clone(),
                    relation: "correlates".into(),
                });
            }
            let mut name = if step_id.is_empty() {
                rule_id.clone()
            } else {
                format!("{step_id}: {rule_id}")
            };
            if let Some(n) = scalar(s.get("MinMatchCount")) {
                name.push_str(&format!(" (at least {n} alerts)"));
            }
            if s.get("Absence").and_then(J::as_bool) == Some(true) {
                name.push_str(" (absent)");
            }
            step_exprs.push(Expr::named(
                name,
                Expr::opaque(format!("rule {rule_id}"), STEP_REASON),
            ));
        }
        let by: Vec<String> = match item.get("MatchCriteria") {
            Some(J::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let window = scalar(item.get("LookbackWindowMinutes")).map(|m| format!("{m} minutes"));
        parts.push(Expr::Sequence {
            ordered,
            by,
            window,
            steps: step_exprs,
        });
    }
    Expr::all(parts)
}

const STEP_REASON: &str = "an alert of another rule";

/// Replaces each correlation step that names a loaded rule with that rule's condition.
pub fn fill_steps(e: &mut Expr, by_id: &HashMap<String, Expr>) {
    match e {
        Expr::Sequence { steps, .. } => {
            for s in steps {
                if let Expr::Named { item, .. } = s {
                    if let Expr::Opaque { text, reason } = &**item {
                        if reason == STEP_REASON {
                            let id = text.trim_start_matches("rule ");
                            if let Some(target) = by_id.get(id) {
                                if !matches!(target, Expr::Sequence { .. }) {
                                    **item = target.clone();
                                }
                            }
                        }
                    }
                }
            }
        }
        Expr::All { items } | Expr::Any { items } => {
            items.iter_mut().for_each(|i| fill_steps(i, by_id))
        }
        _ => {}
    }
}

/// `AlertTitle` fields and `AlertContext` keys of a YAML detection.
fn yaml_outputs(doc: &J) -> Vec<OutputField> {
    let mut out = Vec::new();
    for item in doc
        .get("AlertContext")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = scalar(item.get("KeyName")) else {
            continue;
        };
        let kv = item.get("KeyValue");
        let source = kv.and_then(|k| {
            scalar(k.get("Key"))
                .or_else(|| scalar(k.get("KeyPath")))
                .or_else(|| k.get("DeepKey").map(|d| str_list(Some(d)).join(".")))
        });
        out.push(OutputField {
            name,
            source,
            note: Some("alert_context".into()),
        });
    }
    if let Some(title) = scalar(doc.get("AlertTitle")) {
        let mut rest = title.as_str();
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = rest[start + 1..start + end].trim();
            if !name.is_empty() && !out.iter().any(|o: &OutputField| o.name == name) {
                out.push(OutputField {
                    name: name.to_string(),
                    source: None,
                    note: Some("title".into()),
                });
            }
            rest = &rest[start + end + 1..];
        }
    }
    out
}

/// `Tests:`: each with `Log` (or `Resource`) and `ExpectedResult`.
fn tests(
    root: &Root,
    file: &SourceFile,
    doc: &J,
    rule: &mut Rule,
    reading: Option<&python::Reading>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(items) = doc.get("Tests") else {
        return;
    };
    let disp = root.display(&file.rel);
    let Some(items) = items.as_array() else {
        diags.push(
            Diagnostic::new(
                Check::ParseError,
                disp,
                find_line(&file.text, "Tests:").unwrap_or(1),
                "`Tests` must be a list",
            )
            .for_rule(&rule.id),
        );
        return;
    };
    let empty = BTreeSet::new();
    let reads = reading.map(|r| &r.reads_globals).unwrap_or(&empty);
    let mut seen_names: Vec<String> = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let name = scalar(t.get("Name")).unwrap_or_else(|| format!("test {}", i + 1));
        // The test's line: its `Name:` (the n-th occurrence for repeated names).
        let nth = seen_names.iter().filter(|n| **n == name).count();
        seen_names.push(name.clone());
        let line = file
            .text
            .match_indices(&name)
            .nth(nth)
            .map(|(p, _)| crate::diag::line_of(&file.text, p))
            .unwrap_or(1);
        let expect = match t.get("ExpectedResult") {
            Some(J::Bool(true)) => Expect::Match,
            Some(J::Bool(false)) => Expect::NoMatch,
            Some(other) => {
                diags.push(
                    Diagnostic::new(
                        Check::InvalidValue,
                        disp.clone(),
                        line,
                        format!(
                            "test `{name}`: `ExpectedResult` must be true or false, not {other}"
                        ),
                    )
                    .for_rule(&rule.id),
                );
                continue;
            }
            None => {
                diags.push(
                    Diagnostic::new(
                        Check::MissingField,
                        disp.clone(),
                        line,
                        format!("test `{name}` has no `ExpectedResult`"),
                    )
                    .for_rule(&rule.id),
                );
                continue;
            }
        };
        let mut unsupported = None;
        let event = match (t.get("Log"), t.get("Resource")) {
            (_, Some(r)) => Some(r.clone()),
            (Some(J::String(s)), None) => serde_json::from_str::<J>(s).ok(),
            (Some(l), None) => Some(l.clone()),
            (None, None) => None,
        };
        if t.get("RuleOutputs").is_some() {
            unsupported = Some(
                "a correlation test on other rules' alerts (`RuleOutputs`), run by Panther's backend"
                    .to_string(),
            );
        }
        let event = match event {
            Some(e) => e,
            None if unsupported.is_some() => J::Object(Default::default()),
            None => {
                diags.push(
                    Diagnostic::new(
                        Check::MissingField,
                        disp.clone(),
                        line,
                        format!("test `{name}` has no `Log` (or `Resource`)"),
                    )
                    .for_rule(&rule.id),
                );
                continue;
            }
        };
        if unsupported.is_none() {
            let mocked: Vec<String> = t
                .get("Mocks")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| scalar(m.get("objectName")))
                .filter(|n| reads.contains(n))
                .collect();
            if !mocked.is_empty() {
                unsupported = Some(format!(
                    "mocks {}, which the rule's condition reads",
                    mocked
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        rule.tests.push(RuleTest {
            name,
            events: vec![event],
            expect,
            unsupported,
            location: Some(SourceLocation {
                root: root.index,
                path: file.rel.clone(),
                line,
            }),
        });
    }
}

/// Panther hands rules a `PantherEvent`, whose keys are read case-insensitively (the exact
/// key first): test events get the rule's spelling of the keys its condition reads, so the
/// matcher's exact lookup finds what Panther finds.
fn align_keys(rule: &mut Rule) {
    let Some(det) = &rule.detection else {
        return;
    };
    let mut paths: BTreeSet<String> = BTreeSet::new();
    det.expr.walk(&mut |e| {
        if let Expr::Pred(p) = e {
            if let Some(f) = &p.field {
                paths.insert(f.clone());
            }
            if p.field_ref {
                paths.extend(p.values.iter().map(|v| v.to_string()));
            }
        }
    });
    for t in &mut rule.tests {
        for ev in &mut t.events {
            for p in &paths {
                let parts: Vec<&str> = p.split('.').collect();
                align(ev, &parts);
            }
        }
    }
}

fn align(v: &mut J, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if first.ends_with(JSON_SUFFIX) {
        // Decoded JSON is a plain dict: its keys are exact.
        return;
    }
    match v {
        J::Array(items) => items.iter_mut().for_each(|x| align(x, path)),
        J::Object(m) => {
            if !m.contains_key(*first) {
                let lower = first.to_lowercase();
                let found = m.keys().find(|k| k.to_lowercase() == lower).cloned();
                if let Some(k) = found {
                    if let Some(val) = m.remove(&k) {
                        m.insert(first.to_string(), val);
                    }
                }
            }
            if let Some(child) = m.get_mut(*first) {
                align(child, rest);
            }
        }
        _ => {}
    }
}

/// The rule decodes JSON held in string keys (`json.loads(event.get("k"))`), which the IR
/// reads through the pseudo-key `k@json`: test events get that key beside `k`, holding the
/// decoded value (none when the text is not JSON, as `json.loads` would raise).
fn decode_json_keys(rule: &mut Rule) {
    let Some(det) = &rule.detection else {
        return;
    };
    let mut paths: BTreeSet<Vec<String>> = BTreeSet::new();
    det.expr.walk(&mut |e| {
        let mut add = |f: &str| {
            let segs: Vec<&str> = f.split('.').collect();
            for (i, s) in segs.iter().enumerate() {
                if s.ends_with(JSON_SUFFIX) {
                    paths.insert(segs[..=i].iter().map(|x| x.to_string()).collect());
                }
            }
        };
        match e {
            Expr::Pred(p) => {
                if let Some(f) = &p.field {
                    add(f);
                }
                if p.field_ref {
                    p.values.iter().for_each(|v| add(&v.to_string()));
                }
            }
            Expr::AnyElement { field, .. } => add(field),
            _ => {}
        }
    });
    if paths.is_empty() {
        return;
    }
    for t in &mut rule.tests {
        for ev in &mut t.events {
            for p in &paths {
                let parts: Vec<&str> = p.iter().map(String::as_str).collect();
                decode_at(ev, &parts);
            }
        }
    }
}

fn decode_at(v: &mut J, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match v {
        J::Array(items) => items.iter_mut().for_each(|x| decode_at(x, path)),
        J::Object(m) => {
            if rest.is_empty() {
                let Some(key) = first.strip_suffix(JSON_SUFFIX) else {
                    return;
                };
                if m.contains_key(*first) {
                    return;
                }
                if let Some(J::String(text)) = m.get(key) {
                    if let Ok(decoded) = serde_json::from_str::<J>(text) {
                        m.insert(first.to_string(), decoded);
                    }
                }
            } else if let Some(child) = m.get_mut(*first) {
                decode_at(child, rest);
            }
        }
        _ => {}
    }
}
