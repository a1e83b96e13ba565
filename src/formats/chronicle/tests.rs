//! Tests of the Chronicle format on in-memory roots.

use super::Chronicle;
use crate::discover::{Root, RootSpec, SourceFile};
use crate::formats::{Format, Loaded};
use crate::model::{Expr, FacetKind, Rule, Severity};
use crate::verify::checks::Check;
use crate::verify::matcher::run_tests;
use crate::verify::Outcome;
use std::path::PathBuf;

fn root(files: &[(&str, &str)]) -> Root {
    let files = files
        .iter()
        .map(|(rel, text)| SourceFile {
            rel: rel.to_string(),
            abs: PathBuf::from(rel),
            text: text.to_string(),
            decoded_cp1252: false,
        })
        .collect();
    Root::from_files(0, RootSpec::new("corpus"), files)
}

fn load(root: &Root) -> Loaded {
    let files: Vec<&SourceFile> = root
        .files
        .iter()
        .filter(|f| Chronicle.is_rule_file(f))
        .collect();
    Chronicle.load(root, &files)
}

fn facets(r: &Rule, kind: FacetKind) -> Vec<&str> {
    r.facet_values(kind).collect()
}

const RULE: &str = r#"/* licence header */
rule entra_login_from_unapproved_app {
  meta:
    author = "Detection Team, Jane Doe"
    description = "A sign-in to an application that is not on the approved list."
    rule_id = "mr_0001"
    rule_name = "Entra Sign-in to Unapproved App"
    mitre_attack_tactic = "Initial Access, Persistence"
    mitre_attack_technique = "Valid Accounts: Cloud Accounts"
    mitre_attack_url = "https://attack.mitre.org/techniques/T1078/004/"
    reference = "https://learn.microsoft.com/entra"
    data_source = "Entra ID"
    platform = "Azure"
    tags = "identity, sign-in"
    type = "alert"
    severity = "Medium"
    priority = "High"
    false_positives = "New applications before they are added to the list."
    created = "2024/02/01"

  events:
    $login.metadata.event_type = "USER_LOGIN"
    $login.metadata.product_name = "Azure AD"
    not $login.target.resource.attribute.labels["App Id"] in %approved_apps
    $login.target.user.userid = $user

  match:
    $user over 10m

  outcome:
    $risk_score = max(40)
    $apps = array_distinct($login.target.resource.attribute.labels["App Id"])

  condition:
    $login
}
"#;

const TESTS: &str = r#"tests:
  - name: unapproved app (API spelling)
    match: true
    event:
      udm:
        metadata: {eventType: USER_LOGIN, productName: Azure AD}
        target:
          user: {userid: bob}
          resource:
            attribute:
              labels: [{key: App Id, value: 9999}]
  - name: approved app
    match: false
    event:
      metadata: {event_type: USER_LOGIN, product_name: Azure AD}
      target:
        resource:
          attribute:
            labels: [{key: App Id, value: "1111"}]
"#;

const LIST: &str = "// approved applications\n1111 // portal\n2222\n";

#[test]
fn a_rule_with_everything() {
    let r = root(&[
        ("rules/entra/login.yaral", RULE),
        ("rules/entra/login.tests.yml", TESTS),
        ("rules/reference_lists/approved_apps.txt", LIST),
    ]);
    let loaded = load(&r);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let rule = &loaded.rules[0];
    assert_eq!(rule.id, "entra_login_from_unapproved_app");
    assert_eq!(rule.title, "Entra Sign-in to Unapproved App");
    assert_eq!(rule.source.line, 2);
    assert_eq!(rule.severity, Some(Severity::Medium));
    assert_eq!(rule.status, None);
    assert_eq!(rule.techniques, vec!["T1078.004"]);
    assert_eq!(rule.tactics, vec!["TA0001", "TA0003"]);
    assert_eq!(rule.created.as_deref(), Some("2024-02-01"));
    assert_eq!(rule.references, vec!["https://learn.microsoft.com/entra"]);
    assert_eq!(
        facets(rule, FacetKind::Author),
        vec!["Detection Team", "Jane Doe"]
    );
    assert_eq!(facets(rule, FacetKind::EventType), vec!["USER_LOGIN"]);
    assert_eq!(facets(rule, FacetKind::LogType), vec!["Azure AD"]);
    assert_eq!(facets(rule, FacetKind::RuleType), vec!["multi event"]);
    assert_eq!(
        facets(rule, FacetKind::ReferenceList),
        vec!["approved_apps"]
    );
    assert_eq!(facets(rule, FacetKind::DataSource), vec!["Entra ID"]);
    assert_eq!(facets(rule, FacetKind::Product), vec!["Azure"]);
    assert_eq!(facets(rule, FacetKind::Tag), vec!["identity", "sign-in"]);
    let meta: Vec<(&str, &str)> = rule
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for row in [
        ("rule_id", "mr_0001"),
        ("priority", "High"),
        ("type", "alert"),
        ("Risk score", "40"),
        ("ATT&CK technique", "Valid Accounts: Cloud Accounts"),
    ] {
        assert!(meta.contains(&row), "{row:?} in {meta:?}");
    }
    let titles: Vec<&str> = rule.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, vec!["False positives", "Correlation"]);
    let corr = &rule.sections[1].markdown;
    assert!(corr.contains("`$user over 10m`"), "{corr}");
    assert!(corr.contains("2 values from `rules/reference_lists/approved_apps.txt`"));
    let q = rule.query.as_ref().unwrap();
    assert!(q.text.starts_with("rule entra_login_from_unapproved_app {"));
    assert!(q.text.ends_with('}'));
    assert!(rule.raw.starts_with("/* licence header */"));
    assert_eq!(rule.raw_format, "yaral");
    let det = rule.detection.as_ref().unwrap();
    assert!(det.expr.fully_parsed());
    assert_eq!(det.output_fields.len(), 2);
    let outcomes: Vec<Outcome> = run_tests(rule).into_iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::Pass, Outcome::Pass]);
}

#[test]
fn unresolved_lists_stay_opaque() {
    let r = root(&[("login.yaral", RULE)]);
    let rule = &load(&r).rules[0];
    let mut reasons = Vec::new();
    rule.detection.as_ref().unwrap().expr.walk(&mut |e| {
        if let Expr::Opaque { reason, .. } = e {
            reasons.push(reason.clone());
        }
    });
    assert_eq!(
        reasons,
        vec!["reference list `%approved_apps` is not in the rule root"]
    );
    assert!(rule.sections[1].markdown.contains("not in this root"));
}

#[test]
fn deprecated_folder_and_rule_config() {
    let single =
        "rule cfg_rule {\n events:\n  $e.metadata.log_type = \"OKTA\"\n condition:\n  $e\n}\n";
    let config =
        "cfg_rule:\n  enabled: true\n  alerting: false\n  archived: false\n  run_frequency: LIVE\n";
    let r = root(&[
        ("rules/_deprecated/old.yaral", single),
        ("tools/cm/rules/cfg.yaral", single),
        ("tools/cm/rule_config.yaml", config),
    ]);
    let loaded = load(&r);
    let old = loaded
        .rules
        .iter()
        .find(|r| r.source.path.starts_with("rules/"))
        .unwrap();
    assert_eq!(old.status.as_deref(), Some("deprecated"));
    assert!(old.metadata.is_empty(), "the config is not for this folder");
    assert_eq!(facets(old, FacetKind::RuleType), vec!["single event"]);
    assert_eq!(facets(old, FacetKind::LogType), vec!["OKTA"]);
    let managed = loaded
        .rules
        .iter()
        .find(|r| r.source.path.starts_with("tools/"))
        .unwrap();
    assert_eq!(
        managed.metadata,
        vec![
            ("Enabled".to_string(), "yes".to_string()),
            ("Alerting".to_string(), "no".to_string()),
            ("Archived".to_string(), "no".to_string()),
            ("Run frequency".to_string(), "LIVE".to_string()),
        ]
    );
    assert_eq!(managed.status, None);
}

#[test]
fn errors_and_lints_have_positions() {
    let r = root(&[
        ("bad.yaral", "rule bad {\n  events:\n    $e.a = = 1\n  condition:\n    $e\n}\n"),
        (
            "unbound.yaral",
            "rule u {\n  events:\n    $e.a = 1\n  match:\n    $nobody over 1h\n  condition:\n    $e\n}\n",
        ),
        ("bad_config/rule_config.yaml", "a: [\n"),
    ]);
    let loaded = load(&r);
    let got: Vec<(String, usize, Option<usize>, Check)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.file.clone(), d.line, d.column, d.code))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "corpus/bad.yaral".to_string(),
                3,
                Some(12),
                Check::ParseError
            ),
            (
                "corpus/unbound.yaral".to_string(),
                5,
                Some(5),
                Check::YaralUnboundVariable
            ),
            (
                "corpus/bad_config/rule_config.yaml".to_string(),
                2,
                None,
                Check::ParseError
            ),
        ]
    );
    assert_eq!(loaded.diagnostics[1].rule.as_deref(), Some("u"));
    assert_eq!(loaded.rules.len(), 1);
}

#[test]
fn attack_ids_from_deprecated_meta_and_outcome() {
    let text = "rule sigma_style {\n meta:\n  mitre = \"execution, t1059.001\"\n  technique = \"T1105\"\n events:\n  $e.a = 1\n outcome:\n  $mitre_attack_tactic = \"Command and Control\"\n condition:\n  $e\n}\n";
    let rule = &load(&root(&[("x.yaral", text)])).rules[0];
    assert_eq!(rule.techniques, vec!["T1059.001", "T1105"]);
    assert_eq!(rule.tactics, vec!["TA0002", "TA0011"]);
}
