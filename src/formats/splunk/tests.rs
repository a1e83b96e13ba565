use super::*;
use crate::diag::Diagnostic;
use crate::discover::{read_root, RootSpec};
use crate::model::{FacetKind, Rule, Severity};
use crate::verify::checks::Check;
use crate::verify::{matcher, Outcome};
use std::path::Path;

fn load_dir(rel: &str) -> (Root, Loaded) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let (root, diags) = read_root(0, RootSpec::new(path)).expect("fixture root");
    assert!(diags.is_empty(), "{diags:?}");
    let files: Vec<&SourceFile> = root
        .files
        .iter()
        .filter(|f| Splunk.is_rule_file(f))
        .collect();
    let loaded = Splunk.load(&root, &files);
    (root, loaded)
}

fn rule<'a>(l: &'a Loaded, title: &str) -> &'a Rule {
    l.rules
        .iter()
        .find(|r| r.title == title)
        .unwrap_or_else(|| panic!("no rule {title}"))
}

fn meta<'a>(r: &'a Rule, key: &str) -> Option<&'a str> {
    r.metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn diags_of<'a>(l: &'a Loaded, file: &str) -> Vec<&'a Diagnostic> {
    l.diagnostics
        .iter()
        .filter(|d| d.file.ends_with(file))
        .collect()
}

fn facets(r: &Rule, kind: FacetKind) -> Vec<&str> {
    r.facet_values(kind).collect()
}

#[test]
fn sample_repository_loads_cleanly_and_its_tests_pass() {
    let (_, l) = load_dir("rules/splunk");
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(l.rules.len(), 7);
    for r in &l.rules {
        let det = r.detection.as_ref().expect("every sample has logic");
        assert!(det.expr.fully_parsed(), "{}: {:?}", r.title, det.expr);
        let results = matcher::run_tests(r);
        let sidecar = results.iter().filter(|t| t.name != "True Positive Test");
        let mut positive = 0;
        let mut negative = 0;
        for (t, spec) in sidecar.zip(r.tests.iter().filter(|t| t.unsupported.is_none())) {
            match spec.expect {
                crate::model::Expect::Match => positive += 1,
                _ => negative += 1,
            }
            // The brute force rule counts failures: its positive test is stateful.
            if t.outcome == Outcome::Unsupported {
                assert!(
                    t.detail.starts_with("stateful aggregation"),
                    "{}: {t:?}",
                    r.title
                );
                continue;
            }
            assert_eq!(t.outcome, Outcome::Pass, "{}: {t:?}", r.title);
        }
        assert!(
            positive > 0 && negative > 0,
            "{} needs both kinds of test",
            r.title
        );
    }
}

#[test]
fn detections_carry_the_repository_context() {
    let (_, l) = load_dir("rules/splunk");
    let okta = rule(&l, "Okta New API Token Created");
    assert_eq!(okta.id, "4f1c8b2e-93d7-4a60-b5e2-7d0a1c6e9f38");
    assert_eq!(okta.severity, Some(Severity::High)); // risk score 64
    assert_eq!(okta.techniques, vec!["T1098", "T1528"]);
    // Tactics come from ATT&CK, as contentctl derives them: T1098 persistence and
    // privilege escalation, T1528 credential access.
    assert_eq!(okta.tactics, vec!["TA0003", "TA0004", "TA0006"]);
    assert_eq!(facets(okta, FacetKind::DataModel), vec!["Change"]);
    assert_eq!(facets(okta, FacetKind::DataSource), vec!["Okta"]);
    assert_eq!(
        facets(okta, FacetKind::Story),
        vec!["Okta Administration Abuse"]
    );
    assert_eq!(facets(okta, FacetKind::RuleType), vec!["TTP"]);
    assert_eq!(
        meta(okta, "Data source: Okta"),
        Some(
            "source `Okta`, sourcetype `OktaIM2:log`, add-on Splunk Add-on for Okta Identity \
             Cloud 2.25.19 (https://splunkbase.splunk.com/app/6553)"
        )
    );
    assert_eq!(
        meta(okta, "Lookup: okta_privileged_roles"),
        Some("Okta administrator roles and how much power each one grants.")
    );
    assert_eq!(meta(okta, "Risk objects"), Some("user (user, score 64)"));
    assert_eq!(meta(okta, "Threat objects"), Some("src (ip_address)"));
    let story = okta
        .sections
        .iter()
        .find(|s| s.title == "Analytic story: Okta Administration Abuse")
        .expect("story section");
    assert!(story
        .markdown
        .starts_with("Administrative actions in an Okta tenant"));
    assert!(story.markdown.ends_with('…'), "long narratives are cut");
    let titles: Vec<&str> = okta.sections.iter().map(|s| s.title.as_str()).collect();
    for t in [
        "How to implement",
        "Known false positives",
        "Search with macros expanded",
        "Drilldown searches",
        "Test data",
    ] {
        assert!(titles.contains(&t), "{t} missing from {titles:?}");
    }
    let companions: Vec<&str> = okta.companions.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        companions,
        vec![
            "macros/security_content_ctime.yml",
            "macros/security_content_summariesonly.yml"
        ]
    );
    assert_eq!(
        meta(okta, "Macros"),
        Some(
            "drop_dm_object_name(1), okta_new_api_token_created_filter, \
             security_content_ctime(1), security_content_summariesonly"
        )
    );
    let outs: Vec<&str> = okta
        .detection
        .as_ref()
        .unwrap()
        .output_fields
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        outs,
        vec!["user", "src", "object", "count", "lastTime", "result_id"]
    );
    // ESCU tests need remote attack data: reported, never passed.
    let remote = &okta.tests[0];
    assert_eq!(
        remote.unsupported.as_deref(),
        Some("remote data: https://example.com/attack_data/T1528/okta_api_token/okta_system_log.json")
    );
    assert!(remote.location.as_ref().is_some_and(|l| l.line > 1));
}

#[test]
fn old_schema_and_deprecated_folder() {
    let (_, l) = load_dir("rules/splunk");
    let ps = rule(&l, "Encoded PowerShell Command Line");
    assert_eq!(ps.severity, Some(Severity::Medium)); // risk_score 42
    assert_eq!(meta(ps, "Risk score"), Some("42"));
    assert_eq!(meta(ps, "Confidence"), Some("70"));
    assert_eq!(
        meta(ps, "Observables"),
        Some("dest (Hostname; Victim); user (User; Victim)")
    );
    assert_eq!(ps.modified.as_deref(), Some("2024-11-18"));
    let old = rule(&l, "Okta MFA Factors Reset");
    assert_eq!(old.status.as_deref(), Some("deprecated"));
    assert_eq!(old.severity, Some(Severity::Informational));
    // `name(n)` macro names, `$arg$` substitution.
    let run = rule(&l, "Script Host Writes Run Key");
    let preds: Vec<String> = run
        .detection
        .as_ref()
        .unwrap()
        .expr
        .predicates()
        .iter()
        .filter_map(|(p, _)| p.field.clone())
        .collect();
    assert!(
        preds.contains(&"Registry.process_name".to_string()),
        "{preds:?}"
    );
    assert!(preds.contains(&"Registry.registry_value_data".to_string()));
}

#[test]
fn newer_schema_fixture() {
    let (_, l) = load_dir("tests/fixtures/splunk/escu_v5");
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let r = rule(&l, "Windows Service Created From Temp Path");
    assert_eq!(r.severity, Some(Severity::High)); // max of 72 and 36
    assert_eq!(
        meta(r, "Risk objects"),
        Some("dest (system, score 72); user (user, score 36)")
    );
    assert_eq!(
        meta(r, "Risk message"),
        Some("A service $ServiceName$ was created from $ImagePath$ on $dest$")
    );
    assert_eq!(
        facets(r, FacetKind::Author),
        vec!["Example Author", "Example Org"]
    );
    let drill = r
        .sections
        .iter()
        .find(|s| s.title == "Drilldown searches")
        .unwrap();
    assert_eq!(drill.markdown.matches("```spl").count(), 2);
    let remote: Vec<&str> = r
        .tests
        .iter()
        .filter_map(|t| t.unsupported.as_deref())
        .collect();
    assert_eq!(remote.len(), 2);
    assert!(remote
        .iter()
        .all(|u| u.starts_with("remote data: https://example.com/")));
    for t in matcher::run_tests(r) {
        assert_eq!(t.outcome, Outcome::Unsupported);
    }
    let det = r.detection.as_ref().unwrap();
    assert!(det.expr.fully_parsed());
    let names: Vec<(&str, Option<&str>)> = det
        .output_fields
        .iter()
        .map(|o| (o.name.as_str(), o.source.as_deref()))
        .collect();
    assert_eq!(names[0], ("dest", Some("Computer")));
    assert_eq!(names[6], ("user", Some("UserID")));
}

#[test]
fn hostile_files_get_diagnostics_not_panics() {
    let (root, l) = load_dir("tests/fixtures/splunk/hostile");
    assert!(!l
        .diagnostics
        .iter()
        .any(|d| d.message.starts_with("internal error")));
    // Every claimed detection yields a rule or a diagnostic.
    for f in root.files.iter().filter(|f| Splunk.is_rule_file(f)) {
        let has_rule = l.rules.iter().any(|r| r.source.path == f.rel);
        assert!(has_rule || !diags_of(&l, &f.rel).is_empty(), "{}", f.rel);
    }
    let codes = |file: &str| -> Vec<(Check, usize)> {
        let mut v: Vec<(Check, usize)> = diags_of(&l, file)
            .iter()
            .map(|d| (d.code, d.line))
            .collect();
        v.sort();
        v
    };
    assert_eq!(codes("broken_yaml.yml")[0].0, Check::ParseError);
    assert_eq!(codes("not_a_mapping.yml"), vec![(Check::ParseError, 1)]);
    assert_eq!(codes("empty.yml"), vec![(Check::ParseError, 1)]);
    assert_eq!(codes("missing_search.yml"), vec![(Check::MissingField, 1)]);
    assert!(rule(&l, "Missing Search").detection.is_none());

    let bad = diags_of(&l, "bad_references.yml");
    let msgs: Vec<String> = bad
        .iter()
        .map(|d| format!("{} {}", d.code.id(), d.message))
        .collect();
    for want in [
        "invalid_value status `retired`",
        "invalid_value type `Alert`",
        "unknown_attack_id `TXXXX` is not an ATT&CK technique id",
        "broken_reference data source `Ghost Source` is not defined",
        "broken_reference analytic story `Ghost Story` is not defined",
        "broken_reference macro `nope` (nope): not defined",
        "broken_reference macro `arity_macro(1)` (arity_macro(1)): defined with 2 argument(s), called with 1",
        "broken_reference lookup `ghost_lookup` is not defined",
    ] {
        assert!(msgs.iter().any(|m| m.starts_with(want)), "{want}\n{msgs:#?}");
    }
    // The real data source and the lookup referenced by file name resolve.
    assert!(!msgs
        .iter()
        .any(|m| m.contains("Real Source") || m.contains("real_lookup")));
    let nope = bad.iter().find(|d| d.message.contains("`nope`")).unwrap();
    assert_eq!((nope.line, nope.column), (11, Some(10)));
    assert_eq!(
        nope.rule.as_deref(),
        Some("11111111-0000-0000-0000-000000000003")
    );
    let r = rule(&l, "Bad References");
    assert_eq!(r.severity, Some(Severity::Critical));
    assert_eq!(r.techniques, vec!["T1059"]);
    assert!(!r.detection.as_ref().unwrap().expr.fully_parsed());

    let spl = diags_of(&l, "bad_spl.yml");
    assert_eq!(spl.len(), 2, "{spl:#?}");
    assert!(spl.iter().all(|d| d.code == Check::UnsupportedSyntax));
    let frob = spl
        .iter()
        .find(|d| d.message.contains("frobnicate"))
        .unwrap();
    assert_eq!((frob.line, frob.column), (9, Some(5)));

    let side = diags_of(&l, "sidecar_without_event.tests.yml");
    assert_eq!(side[0].code, Check::MissingField);

    let macros: Vec<(Check, String)> = l
        .diagnostics
        .iter()
        .filter(|d| d.file.contains("/macros/"))
        .map(|d| (d.code, d.file.rsplit('/').next().unwrap_or("").to_string()))
        .collect();
    assert_eq!(
        macros,
        vec![
            (Check::InvalidValue, "arity_macro.yml".to_string()),
            (Check::ParseError, "broken.yml".to_string()),
            (Check::DuplicateId, "dup_b.yml".to_string()),
            (Check::MissingField, "no_definition.yml".to_string()),
        ]
    );
}

#[test]
fn claims_only_detection_yaml() {
    let file = |rel: &str, text: &str| SourceFile {
        rel: rel.to_string(),
        abs: rel.into(),
        text: text.to_string(),
        decoded_cp1252: false,
    };
    let escu = "name: x\nsearch: a=1\n";
    assert!(Splunk.is_rule_file(&file("detections/endpoint/a.yml", escu)));
    assert!(Splunk.is_rule_file(&file("security_content/detections/a.yaml", escu)));
    assert!(!Splunk.is_rule_file(&file("detections/endpoint/a.tests.yml", escu)));
    assert!(!Splunk.is_rule_file(&file("macros/a.yml", escu)));
    assert!(!Splunk.is_rule_file(&file("detections/a.toml", escu)));
    assert!(!Splunk.is_rule_file(&file("Detections/a.yaml", escu)));
    let sigma = "title: x\nlogsource:\n  product: windows\ndetection:\n  sel: {a: 1}\n";
    assert!(!Splunk.is_rule_file(&file("detections/sigma.yml", sigma)));
    assert_eq!(repo::repo_base("a/b/detections/c/d.yml"), Some("a/b/"));
    assert_eq!(repo::repo_base("detections/d.yml"), Some(""));
    assert_eq!(repo::repo_base("rules/d.yml"), None);
}

#[test]
fn risk_scores_map_to_severities() {
    assert_eq!(severity_of_score(0.0), Severity::Informational);
    assert_eq!(severity_of_score(20.0), Severity::Informational);
    assert_eq!(severity_of_score(21.0), Severity::Low);
    assert_eq!(severity_of_score(60.0), Severity::Medium);
    assert_eq!(severity_of_score(61.0), Severity::High);
    assert_eq!(severity_of_score(81.0), Severity::Critical);
}

#[test]
fn facet_values_have_descriptions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/splunk");
    let (root, _) = read_root(0, RootSpec::new(path)).unwrap();
    let d = facet_descriptions(&root);
    let keys: Vec<(FacetKind, &str)> = d.iter().map(|(k, v, _)| (*k, v.as_str())).collect();
    assert!(keys.contains(&(FacetKind::Story, "Password Guessing")));
    assert!(keys.contains(&(FacetKind::DataSource, "Sysmon EventID 1")));
    let okta = d.iter().find(|(_, v, _)| v == "Okta").unwrap();
    assert!(okta.2.contains("| Sourcetype | OktaIM2:log |"));
    assert!(okta.2.contains("`eventType`"));
}
