use super::meta::{clean_table, in_parsers_folder, solution_folder};
use super::mock::with_columns;
use super::rule::{unquote, urls};
use super::*;
use crate::discover::RootSpec;
use crate::model::FacetKind;
use serde_json::json;

fn file(rel: &str, text: &str) -> SourceFile {
    SourceFile {
        rel: rel.to_string(),
        abs: rel.into(),
        text: text.to_string(),
        decoded_cp1252: false,
    }
}

const RULE: &str = "id: 11111111-2222-4333-8444-555555555555
name: Test rule
description: |
  'Quoted description, see https://learn.microsoft.com/x.'
severity: High
requiredDataConnectors:
  - connectorId: Conn
    dataTypes:
      - SecurityEvent
queryFrequency: 5m
queryPeriod: 5m
triggerOperator: gt
triggerThreshold: 2
tactics:
  - Persistence
relevantTechniques:
  - T1098
query: |
  SecurityEvent
  | where EventID == 4720
  | where TargetUserName endswith \"$\"
kind: nrt
";

#[test]
fn sniff_claims_sentinel_yaml_only() {
    assert!(Sentinel.is_rule_file(&file("x/rule.yaml", RULE)));
    assert!(!Sentinel.is_rule_file(&file("defender-xdr/a/rule.yaml", RULE)));
    assert!(!Sentinel.is_rule_file(&file("x/rule.tests.yml", RULE)));
    // Sigma, ESCU and parser YAML are not Sentinel rules.
    let sigma = "title: x\nlogsource:\n  product: windows\ndetection:\n  sel:\n    a: b\n  condition: sel\n";
    assert!(!Sentinel.is_rule_file(&file("x/sigma.yml", sigma)));
    let escu = "name: x\nsearch: '| tstats count'\ntags:\n  mitre_attack_id: [T1003]\n";
    assert!(!Sentinel.is_rule_file(&file("x/escu.yml", escu)));
    let parser = "ParserName: ASimX\nParserQuery: |\n  T\n";
    assert!(!Sentinel.is_rule_file(&file("Parsers/x.yaml", parser)));
}

#[test]
fn loads_fields_kind_and_query_lines() {
    let root = Root::from_files(0, RootSpec::new(""), vec![file("a/rule.yaml", RULE)]);
    let loaded = Sentinel.load(&root, &[&root.files[0]]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let r = &loaded.rules[0];
    assert_eq!(
        r.description,
        "Quoted description, see https://learn.microsoft.com/x."
    );
    assert_eq!(r.references, vec!["https://learn.microsoft.com/x"]);
    assert_eq!(
        r.facet_values(FacetKind::RuleType).collect::<Vec<_>>(),
        vec!["NRT"]
    );
    assert_eq!(
        r.facet_values(FacetKind::Connector).collect::<Vec<_>>(),
        vec!["Conn"]
    );
    assert_eq!(
        r.facet_values(FacetKind::Table).collect::<Vec<_>>(),
        vec!["SecurityEvent"]
    );
    assert!(r
        .metadata
        .contains(&("Trigger".into(), "number of results > 2".into())));
    assert!(r.metadata.contains(&(
        "Data connector".into(),
        "Conn — data types: SecurityEvent".into()
    )));
    assert_eq!(r.detection.as_ref().unwrap().expr.predicates().len(), 2);
    // A KQL error points at its line in the file.
    let broken = RULE.replace("| where EventID == 4720", "| where EventID == ");
    let root = Root::from_files(0, RootSpec::new(""), vec![file("a/rule.yaml", &broken)]);
    let loaded = Sentinel.load(&root, &[&root.files[0]]);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.code, Check::UnsupportedSyntax);
    assert_eq!(d.line, 21);
}

#[test]
fn helpers() {
    assert_eq!(unquote("  'text'\n"), "text");
    assert_eq!(unquote("\"text\""), "text");
    assert_eq!(unquote("it's"), "it's");
    assert_eq!(
        urls("see (https://a.example/x). and https://b.example/y, twice https://a.example/x"),
        vec!["https://a.example/x", "https://b.example/y"]
    );
    assert_eq!(
        clean_table("CommonSecurityLog (Vendor)", None).as_deref(),
        Some("CommonSecurityLog")
    );
    assert_eq!(
        clean_table("Syslog(Cisco ISE)", None).as_deref(),
        Some("Syslog")
    );
    assert_eq!(
        clean_table("{{graphQueriesTableName}}", Some("T_CL")).as_deref(),
        Some("T_CL")
    );
    assert_eq!(
        solution_folder("Solutions/Okta/Analytic Rules/x.yaml").as_deref(),
        Some("Okta")
    );
    assert_eq!(solution_folder("Solutions/x.yaml"), None);
    assert!(in_parsers_folder("Parsers/ASimDns/Parsers/x.yaml"));
    assert!(!in_parsers_folder("Solutions/Parsers.yaml"));
}

#[test]
fn mock_events_gain_table_columns() {
    let ev = json!({"act": "Allowed", "request": "https://x", "client": {"ip": "192.0.2.1", "port": 443, "tls": true}, "tags": ["a"]});
    let cef = with_columns(&ev, true);
    assert_eq!(cef["DeviceAction"], "Allowed");
    assert_eq!(cef["RequestURL"], "https://x");
    assert_eq!(cef["client_ip_s"], "192.0.2.1");
    assert_eq!(cef["client_port_d"], 443);
    assert_eq!(cef["client_tls_b"], true);
    assert_eq!(cef["tags_s"], "[\"a\"]");
    // Original keys are kept; without CEF no CEF columns.
    assert_eq!(cef["act"], "Allowed");
    assert!(with_columns(&ev, false).get("DeviceAction").is_none());
}
