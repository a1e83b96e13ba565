use super::*;
use crate::discover::{Root, RootSpec, SourceFile};
use crate::model::{Expect, FacetKind};
use crate::verify::checks::Check;
use std::path::PathBuf;

fn root(files: &[(&str, &str)]) -> Root {
    Root::from_files(
        0,
        RootSpec::new("repo"),
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

fn load_all(r: &Root) -> Loaded {
    let claimed: Vec<&SourceFile> = r.files.iter().filter(|f| Panther.is_rule_file(f)).collect();
    Panther.load(r, &claimed)
}

#[test]
fn claims_only_rule_types() {
    let r = root(&[
        ("a.yml", "AnalysisType: rule\nRuleID: A\n"),
        ("b.yml", "AnalysisType: \"policy\"  # quoted\nPolicyID: B\n"),
        ("c.yml", "AnalysisType: datamodel\n"),
        ("d.yml", "AnalysisType: global\n"),
        ("e.yml", "title: a sigma rule\n"),
        ("f.py", "AnalysisType: rule\n"),
    ]);
    let claimed: Vec<&str> = r
        .files
        .iter()
        .filter(|f| Panther.is_rule_file(f))
        .map(|f| f.rel.as_str())
        .collect();
    assert_eq!(claimed, ["a.yml", "b.yml"]);
}

#[test]
fn yaml_fields_and_tests() {
    let r = root(&[(
        "rules/x.yml",
        r#"AnalysisType: rule
RuleID: X.One
DisplayName: One
Severity: Critical
Enabled: false
LogTypes: [Okta.SystemLog]
Tags: [Okta]
Reports:
  MITRE ATT&CK:
    - TA0006:T1110.003
Detection:
  - Key: eventType
    Condition: Equals
    Value: user.session.start
InlineFilters:
  - Key: outcome
    Condition: Exists
Tests:
  - Name: json text log
    ExpectedResult: true
    Log: '{"eventType": "user.session.start", "outcome": 1}'
  - Name: filtered out
    ExpectedResult: false
    Log:
      eventType: user.session.start
"#,
    )]);
    let loaded = load_all(&r);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let rule = &loaded.rules[0];
    assert_eq!(rule.title, "One");
    assert_eq!(rule.status.as_deref(), Some("disabled"));
    assert_eq!(rule.techniques, ["T1110.003"]);
    assert_eq!(rule.tactics, ["TA0006"]);
    assert!(rule.facets.contains(&(FacetKind::Tag, "Okta".into())));
    assert_eq!(rule.tests.len(), 2);
    assert_eq!(rule.tests[0].expect, Expect::Match);
    let results = crate::verify::matcher::run_tests(rule);
    assert!(
        results
            .iter()
            .all(|t| t.outcome == crate::verify::Outcome::Pass),
        "{results:?}"
    );
}

#[test]
fn broken_files_give_diagnostics() {
    let r = root(&[
        ("rules/bad.yml", "AnalysisType: rule\nRuleID: [unclosed\n"),
        (
            "rules/noid.yml",
            "AnalysisType: rule\nSeverity: Extreme\nFilename: gone.py\n",
        ),
    ]);
    let loaded = load_all(&r);
    assert_eq!(loaded.rules.len(), 1);
    let codes: Vec<Check> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&Check::ParseError));
    assert!(codes.contains(&Check::MissingField));
    assert!(codes.contains(&Check::InvalidValue));
    assert!(codes.contains(&Check::PantherPythonMissing));
    let bad = loaded
        .diagnostics
        .iter()
        .find(|d| d.code == Check::ParseError)
        .unwrap();
    assert_eq!(bad.file, "repo/rules/bad.yml");
    assert!(bad.line >= 2);
}

#[test]
fn keys_are_spelled_like_the_rule_and_json_is_decoded() {
    let r = root(&[
        (
            "rules/j.yml",
            r#"AnalysisType: rule
RuleID: J
Filename: j.py
Tests:
  - Name: t
    ExpectedResult: true
    Log:
      EventName: Put
      detail: '{"acl": "public"}'
"#,
        ),
        (
            "rules/j.py",
            r#"import json

def rule(event):
    d = json.loads(event.get("detail", "{}"))
    return event.get("eventName") == "Put" and d.get("acl") == "public"
"#,
        ),
    ]);
    let loaded = load_all(&r);
    let rule = &loaded.rules[0];
    let ev = &rule.tests[0].events[0];
    assert_eq!(ev["eventName"], "Put");
    assert_eq!(ev["detail@json"]["acl"], "public");
    let results = crate::verify::matcher::run_tests(rule);
    assert_eq!(
        results[0].outcome,
        crate::verify::Outcome::Pass,
        "{results:?}"
    );
}
