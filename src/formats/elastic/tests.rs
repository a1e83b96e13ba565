use super::*;
use crate::discover::RootSpec;
use crate::model::{Expr, FacetKind, Language, Severity};
use std::path::PathBuf;

fn root(files: &[(&str, &str)]) -> Root {
    Root::from_files(
        0,
        RootSpec::new("r"),
        files
            .iter()
            .map(|(rel, text)| SourceFile {
                rel: rel.to_string(),
                abs: PathBuf::from(rel),
                text: text.to_string(),
                decoded_cp1252: false,
            })
            .collect(),
    )
}

fn load(text: &str) -> Loaded {
    let r = root(&[("rules/x.toml", text)]);
    let files: Vec<&SourceFile> = r.files.iter().collect();
    Elastic.load(&r, &files)
}

const EQL_RULE: &str = r###"[metadata]
creation_date = "2024/02/01"
integration = ["endpoint"]
maturity = "production"
updated_date = "2024/03/05"

[rule]
author = ["Ruledex"]
description = "Finds a script host started by an office program."
from = "now-9m"
index = ["logs-endpoint.events.process-*"]
language = "eql"
license = "Apache-2.0"
name = "Script Host From Office"
note = """## Triage
Look at the parent."""
risk_score = 47
rule_id = "0b9e1f8a-2f51-4c7e-9d3a-5c1e2a7b8d90"
severity = "medium"
tags = ["Domain: Endpoint", "OS: Windows", "Use Case: Threat Detection", "Tactic: Execution", "Data Source: Elastic Defend"]
type = "eql"
query = '''
process where event.type == "start" and
  process.parent.name : ("winword.exe", "excel.exe") and
  process.name : ("wscript.exe", "cscript.exe")
'''

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
[[rule.threat.technique.subtechnique]]
id = "T1059.005"
name = "Visual Basic"
[rule.threat.tactic]
id = "TA0002"
name = "Execution"

[transform]
[[transform.osquery]]
label = "Osquery - processes"
query = "SELECT * FROM processes"
"###;

#[test]
fn reads_an_eql_rule() {
    let l = load(EQL_RULE);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let r = &l.rules[0];
    assert_eq!(r.id, "0b9e1f8a-2f51-4c7e-9d3a-5c1e2a7b8d90");
    assert_eq!(r.title, "Script Host From Office");
    assert_eq!(r.severity, Some(Severity::Medium));
    assert_eq!(r.status.as_deref(), Some("production"));
    assert_eq!(r.created.as_deref(), Some("2024-02-01"));
    assert_eq!(r.techniques, ["T1059", "T1059.005"]);
    assert_eq!(r.tactics, ["TA0002"]);
    assert_eq!(r.query.as_ref().map(|q| q.language), Some(Language::Eql));
    // The `[transform]` query is not the rule's query.
    assert!(r.query.as_ref().unwrap().text.contains("process where"));
    let facets: Vec<_> = r.facet_values(FacetKind::Tag).collect();
    assert_eq!(
        facets,
        [
            "Domain: Endpoint",
            "OS: Windows",
            "Use Case: Threat Detection",
            "Data Source: Elastic Defend"
        ]
    );
    assert_eq!(
        r.facet_values(FacetKind::DataSource).collect::<Vec<_>>(),
        ["Elastic Defend"]
    );
    assert_eq!(
        r.facet_values(FacetKind::Integration).collect::<Vec<_>>(),
        ["endpoint"]
    );
    assert_eq!(
        r.facet_values(FacetKind::RuleType).collect::<Vec<_>>(),
        ["eql"]
    );
    let titles: Vec<_> = r.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Investigation guide", "Investigation queries"]);
    let det = r.detection.as_ref().unwrap();
    assert!(det.expr.fully_parsed());
    assert_eq!(det.expr.predicates().len(), 4);
}

#[test]
fn machine_learning_rules_have_jobs_and_no_logic() {
    let text = EQL_RULE
        .replace("type = \"eql\"", "type = \"machine_learning\"\nanomaly_threshold = 50\nmachine_learning_job_id = [\"v3_rare_process\", \"v3_odd_parent\"]")
        .replace("language = \"eql\"\n", "");
    let text = text.split("query = '''").next().unwrap().to_string()
        + "\n[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n[rule.threat.tactic]\nid = \"TA0002\"\nname = \"Execution\"\n";
    let l = load(&text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let r = &l.rules[0];
    assert!(r.query.is_none() && r.detection.is_none());
    assert_eq!(r.facet_values(FacetKind::MlJob).count(), 2);
}

#[test]
fn toml_errors_have_lines_and_missing_fields_are_reported() {
    let l = load("[rule]\nname = \"x\"\nseverity = \n");
    assert!(l.rules.is_empty());
    assert_eq!(l.diagnostics[0].code, Check::ParseError);
    assert_eq!(l.diagnostics[0].line, 3);
    let l = load("[rule]\nname = \"x\"\nseverity = \"urgent\"\nrisk_score = 500\ntype = \"query\"\nquery = \"a:1\"\n");
    let codes: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| (d.code.id(), d.line))
        .collect();
    assert!(codes.contains(&("invalid_value", 3)), "{codes:?}");
    assert!(codes.contains(&("invalid_value", 4)), "{codes:?}");
    assert!(codes.contains(&("missing_field", 1)), "{codes:?}");
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.message.contains("rule.rule_id")));
    // The rule still loads, keyed by its path.
    assert_eq!(l.rules[0].id, "rules/x.toml");
}

#[test]
fn query_syntax_errors_point_into_the_file() {
    let text = EQL_RULE.replace(
        "process.name : (\"wscript.exe\", \"cscript.exe\")",
        "process.name : (\"wscript.exe\",",
    );
    let l = load(&text);
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.code == Check::ElasticQuerySyntax)
        .expect("a syntax finding");
    assert_eq!(d.line, 25, "{d:?}");
    let r = &l.rules[0];
    assert!(matches!(
        r.detection.as_ref().unwrap().expr,
        Expr::Opaque { .. }
    ));
}

#[test]
fn threshold_filters_and_new_terms() {
    let text = r#"[metadata]
creation_date = "2024/02/01"
maturity = "production"
updated_date = "2024/02/01"
[rule]
author = ["Ruledex"]
description = "d"
name = "n"
risk_score = 21
rule_id = "0b9e1f8a-2f51-4c7e-9d3a-5c1e2a7b8d91"
severity = "low"
type = "threshold"
language = "kuery"
query = "event.category:authentication and event.outcome:failure"
[rule.threshold]
field = ["user.name", "source.ip"]
value = 25
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."user.name"]
case_insensitive = true
value = "svc_*"
"#;
    let l = load(text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let det = l.rules[0].detection.as_ref().unwrap();
    let Expr::Aggregate { description, item } = &det.expr else {
        panic!("{:?}", det.expr)
    };
    assert_eq!(
        description,
        "threshold: at least 25 matching events with the same user.name, source.ip"
    );
    let preds = item.predicates();
    assert_eq!(preds.len(), 3);
    assert!(preds[2].1, "the filter is negated");
    let nt = text
        .replace("type = \"threshold\"", "type = \"new_terms\"")
        .replace(
            "[rule.threshold]\nfield = [\"user.name\", \"source.ip\"]\nvalue = 25",
            "[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"user.name\"]\n[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-10d\"",
        );
    let l = load(&nt);
    let det = l.rules[0].detection.as_ref().unwrap();
    assert!(
        matches!(&det.expr, Expr::Aggregate { description, .. } if description.ends_with("user.name is seen since now-10d"))
    );
}

#[test]
fn esql_indices_and_sniffing() {
    let text = EQL_RULE
        .replace("type = \"eql\"", "type = \"esql\"")
        .replace("language = \"eql\"", "language = \"esql\"")
        .replace(
            "process where event.type == \"start\" and",
            "from logs-endpoint.events.process-* | where event.type == \"start\" and",
        )
        .replace(
            " : (\"winword.exe\", \"excel.exe\") and",
            " in (\"winword.exe\", \"excel.exe\") and",
        )
        .replace(
            " : (\"wscript.exe\", \"cscript.exe\")",
            " in (\"wscript.exe\", \"cscript.exe\") | keep process.name",
        );
    let l = load(&text);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let r = &l.rules[0];
    assert!(r
        .facet_values(FacetKind::IndexPattern)
        .any(|i| i == "logs-endpoint.events.process-*"));
    assert_eq!(
        r.detection.as_ref().unwrap().output_fields[0].name,
        "process.name"
    );
    let f = |rel: &str, text: &str| SourceFile {
        rel: rel.into(),
        abs: rel.into(),
        text: text.into(),
        decoded_cp1252: false,
    };
    assert!(Elastic.is_rule_file(&f("a.toml", EQL_RULE)));
    assert!(!Elastic.is_rule_file(&f("Cargo.toml", "[package]\nname = \"x\"\n")));
    assert!(!Elastic.is_rule_file(&f("a.yml", EQL_RULE)));
}
