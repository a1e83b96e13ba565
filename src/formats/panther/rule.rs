//! One Panther YAML file (rule, scheduled rule, correlation rule or policy) as a `Rule`.

use super::cases::{align_keys, decode_json_keys, tests};
use super::correlation::{correlation, is_correlation};
use super::support::{beside, Support};
use crate::attack::{parse_refs, AttackRef};
use crate::diag::{find_line, Diagnostic};
use crate::discover::{Root, SourceFile};
use crate::formats::{parse_yaml, scalar, sidecar_tests, str_list, Loaded};
use crate::model::{
    Detection, Expr, FacetKind, Language, OutputField, Query, Rule, Section, Severity,
    SourceLocation, Vendor,
};
use crate::query::{panther_detection, python};
use crate::verify::checks::Check;
use serde_json::Value as J;

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
                let ctx = python::Context {
                    helpers: &sup.helpers,
                    data_models: &sup.data_models,
                    log_types: &log_types,
                    kind: kind_py,
                };
                match python::read_text(module, &py.text, &ctx) {
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
                    Ok(r) => {
                        let entry = if kind_py == python::EventKind::Policy {
                            "policy"
                        } else {
                            "rule"
                        };
                        rule.query = Some(Query {
                            language: Language::Python,
                            text: r.entry_text.clone().unwrap_or_else(|| py.text.clone()),
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
