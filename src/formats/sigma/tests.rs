use super::*;
use crate::discover::{read_root, RootSpec};
use crate::model::{Expect, Expr, FacetKind, Op, Rule};
use crate::verify::{matcher, Outcome};
use serde_json::json;
use std::path::PathBuf;

fn root_of(files: &[(&str, &str)]) -> Root {
    let files = files
        .iter()
        .map(|(rel, text)| SourceFile {
            rel: rel.to_string(),
            abs: PathBuf::from("/nonexistent/mem").join(rel),
            text: text.to_string(),
            decoded_cp1252: false,
        })
        .collect();
    Root::from_files(0, RootSpec::new("mem"), files)
}

fn load_root(root: &Root) -> Loaded {
    let files: Vec<&SourceFile> = root
        .files
        .iter()
        .filter(|f| Sigma.is_rule_file(f))
        .collect();
    Sigma.load(root, &files)
}

fn load(files: &[(&str, &str)]) -> Loaded {
    load_root(&root_of(files))
}

fn diag(l: &Loaded, check: Check) -> Vec<&Diagnostic> {
    l.diagnostics.iter().filter(|d| d.code == check).collect()
}

fn by_id<'a>(l: &'a Loaded, id: &str) -> &'a Rule {
    l.rules
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no rule {id}"))
}

const FULL: &str = r#"title: Encoded PowerShell Launched by an Office Application
id: 1d3f2c4b-5a6e-4f70-8b91-a2b3c4d5e6f7
name: office_encoded_powershell
related:
    - id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
      type: derived
status: test
description: |
    Detects **PowerShell** started by Word or Excel with an encoded command.
references:
    - https://example.org/office-powershell
author: Jane Doe (Example Corp, Inc.), John Roe & Ann Poe
date: 2024/03/01
modified: 2024-06-02
tags:
    - attack.execution
    - attack.t1059.001
    - attack.defense-evasion
    - attack.t1027
    - detection.threat-hunting
    - car.2014-04-003
logsource:
    category: process_creation
    product: windows
    definition: Sysmon EID 1 or Security 4688 with command lines
detection:
    selection_parent:
        ParentImage|endswith:
            - '\WINWORD.EXE'
            - '\EXCEL.EXE'
    selection_enc:
        CommandLine|contains|windash: ' -enc '
    condition: all of selection_*
fields:
    - CommandLine
    - ParentImage
falsepositives:
    - Macros that admins wrote
    - Unknown
level: high
simulation: atomic T1059.001-17
"#;

#[test]
fn a_full_rule_into_the_model() {
    let l = load(&[("r/office.yml", FULL)]);
    assert_eq!(l.rules.len(), 1);
    let r = &l.rules[0];
    assert_eq!(r.id, "1d3f2c4b-5a6e-4f70-8b91-a2b3c4d5e6f7");
    assert_eq!(
        r.title,
        "Encoded PowerShell Launched by an Office Application"
    );
    assert!(r.description.contains("**PowerShell**"));
    assert_eq!(r.status.as_deref(), Some("test"));
    assert_eq!(r.severity, Some(crate::model::Severity::High));
    assert_eq!(r.techniques, ["T1059.001", "T1027"]);
    assert_eq!(r.tactics, ["TA0002", "TA0005"]);
    assert_eq!(r.created.as_deref(), Some("2024-03-01"));
    assert_eq!(r.modified.as_deref(), Some("2024-06-02"));
    let facets = |k| r.facet_values(k).collect::<Vec<_>>();
    assert_eq!(facets(FacetKind::LogSource), ["windows/process_creation"]);
    assert_eq!(facets(FacetKind::Product), ["windows"]);
    assert_eq!(facets(FacetKind::Category), ["process_creation"]);
    assert_eq!(
        facets(FacetKind::Author),
        ["Jane Doe (Example Corp, Inc.)", "John Roe", "Ann Poe"]
    );
    assert_eq!(facets(FacetKind::Tag).len(), 6);
    assert_eq!(r.related[0].relation, "derived");
    assert_eq!(r.sections[0].title, "False positives");
    assert_eq!(
        r.sections[0].markdown,
        "- Macros that admins wrote\n- Unknown"
    );
    let det = r.detection.as_ref().unwrap();
    let outs: Vec<&str> = det.output_fields.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outs, ["CommandLine", "ParentImage"]);
    assert!(det.expr.fully_parsed());
    let q = r.query.as_ref().unwrap();
    assert!(q.text.starts_with("detection:") && q.text.ends_with("condition: all of selection_*"));
    let meta: Vec<(&str, &str)> = r
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert!(meta.contains(&("Name", "office_encoded_powershell")));
    assert!(meta.contains(&("simulation", "atomic T1059.001-17")));
    assert!(meta.contains(&(
        "Log source definition",
        "Sysmon EID 1 or Security 4688 with command lines"
    )));
    assert_eq!(r.raw, FULL);
    assert_eq!(r.raw_format, "yaml");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let ev = json!({"ParentImage": "C:\\Program Files\\Microsoft Office\\root\\Office16\\winword.exe",
                    "CommandLine": "powershell.exe /enc SQBFAFgA"});
    assert_eq!(matcher::eval(&det.expr, &ev), crate::verify::Verdict::Match);
}

#[test]
fn lints_point_at_their_line_and_column() {
    let text = "title: Bad
id: not-a-uuid
status: beta
level: severe
tags:
    - attack.t1003
    - Attack.Execution
    - mitre.t1003
logsource:
    product: windows
detection:
    selection:
        EventID: 1
    unused:
        EventID: 2
    condition: selection and not filtr
";
    let l = load(&[("bad.yml", text)]);
    assert_eq!(l.rules.len(), 1);
    let at = |c: Check| -> Vec<(usize, Option<usize>)> {
        diag(&l, c).iter().map(|d| (d.line, d.column)).collect()
    };
    assert_eq!(at(Check::SigmaIdFormat), [(2, None)]);
    assert_eq!(at(Check::InvalidValue), [(3, None), (4, None)]);
    assert_eq!(at(Check::SigmaTagNamespace), [(7, None), (8, None)]);
    assert_eq!(at(Check::UnusedSelection), [(14, None)]);
    // `    condition: selection and not filtr`: the condition starts at column 16.
    assert_eq!(at(Check::UnknownSelection), [(16, Some(34))]);
    assert!(l
        .diagnostics
        .iter()
        .all(|d| d.file == "mem/bad.yml" && d.rule.as_deref() == Some("not-a-uuid")));
}

#[test]
fn missing_parts_and_long_titles() {
    let long = "x".repeat(111);
    let text = format!("title: {long}\ndetection:\n    s: {{a: 1}}\n    condition: s\n");
    let l = load(&[("long.yml", &text)]);
    assert_eq!(diag(&l, Check::SigmaTitleLength)[0].line, 1);
    assert_eq!(
        diag(&l, Check::MissingField).len(),
        1,
        "{:?}",
        l.diagnostics
    );
    let l = load(&[(
        "nodet.yml",
        "title: t\nlogsource: {product: x}\nfilter:\n  x: 1\ncorrelation: {}\n",
    )]);
    assert!(!diag(&l, Check::MissingField).is_empty());
    let l = load(&[(
        "notitle.yml",
        "logsource: {product: x}\ndetection:\n  s: {a: 1}\n  condition: s\n",
    )]);
    assert_eq!(l.rules[0].title, "notitle.yml");
    assert_eq!(diag(&l, Check::MissingField)[0].line, 1);
}

#[test]
fn condition_errors_have_line_and_column() {
    let text = "title: t\nlogsource: {product: x}\ndetection:\n    s: {a: 1}\n    condition:\n        - s\n        - 's or (s'\n";
    let l = load(&[("c.yml", text)]);
    let d = &diag(&l, Check::ParseError)[0];
    assert_eq!((d.line, d.column), (7, Some(19)));
    let text = "title: t\nlogsource: {product: x}\ndetection:\n    s: {a: 1}\n    condition: >\n        s and\n        nope\n";
    let l = load(&[("c.yml", text)]);
    assert_eq!(diag(&l, Check::UnknownSelection)[0].line, 6);
}

#[test]
fn yaml_errors_in_a_later_document_keep_the_file_line() {
    let text = "title: a\nlogsource: {product: x}\ndetection:\n  s: {a: 1}\n  condition: s\n---\ntitle: b\ndetection: [unclosed\n";
    let l = load(&[("m.yml", text)]);
    assert_eq!(l.rules.len(), 1);
    let d = &diag(&l, Check::ParseError)[0];
    assert!(d.line >= 8, "line {}", d.line);
    assert_eq!(l.rules[0].source.line, 1);
}

#[test]
fn global_action_collections_merge() {
    let root = fixtures_root();
    let l = load_root(&root);
    let a = by_id(&l, "52d1c5f3-6a7e-4b20-9e1c-3f4a5b6c7d80");
    let b = by_id(&l, "52d1c5f3-6a7e-4b20-9e1c-3f4a5b6c7d81");
    assert_eq!(a.title, "Suspicious service installs");
    assert_eq!(
        a.facet_values(FacetKind::LogSource).collect::<Vec<_>>(),
        ["windows/system"]
    );
    assert_eq!(
        b.facet_values(FacetKind::LogSource).collect::<Vec<_>>(),
        ["windows/security"]
    );
    assert_eq!(a.severity, Some(crate::model::Severity::Medium));
    assert_eq!(a.source.line, 7);
    assert_eq!(b.source.line, 16);
    let file = root.display("multi_doc.yml");
    let mine: Vec<&Diagnostic> = l.diagnostics.iter().filter(|d| d.file == file).collect();
    assert!(mine
        .iter()
        .any(|d| d.code == Check::SigmaObsoleteSyntax && d.line == 1));
    assert!(mine
        .iter()
        .any(|d| d.code == Check::ParseError && d.line >= 26));
    assert!(mine
        .iter()
        .any(|d| d.code == Check::ParseError && d.message.contains("map")));
}

const BASE: &str = "title: Failed logon
id: 11111111-2222-4333-8444-555555555555
name: failed_logon
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
";

#[test]
fn correlations_are_built_over_their_rules() {
    let corr = "title: Many failed logons then a success
id: aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 20
level: high
---
title: Success
id: 99999999-2222-4333-8444-555555555555
name: logon_ok
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4624
    condition: selection
---
title: Failures then success
id: cccccccc-bbbb-4ccc-8ddd-eeeeeeeeeeee
correlation:
    type: temporal_ordered
    rules:
        - aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
        - logon_ok
        - does_not_exist
    group-by: [TargetUserName]
    timespan: 1h
";
    let l = load(&[("base.yml", BASE), ("corr.yml", corr)]);
    let count = by_id(&l, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    let Some(Expr::Aggregate { description, item }) = count.detection.as_ref().map(|d| &d.expr)
    else {
        panic!("event_count is an aggregate: {:?}", count.detection);
    };
    assert_eq!(
        description,
        "event_count by TargetUserName within 10m where gte 20"
    );
    assert!(matches!(&**item, Expr::Named { name, .. } if name == "failed_logon"));
    assert!(count
        .related
        .iter()
        .any(|r| r.id == "11111111-2222-4333-8444-555555555555" && r.relation == "correlates"));
    let base = by_id(&l, "11111111-2222-4333-8444-555555555555");
    assert!(base
        .related
        .iter()
        .any(|r| r.id == count.id && r.relation == "correlated-by"));
    let seq = by_id(&l, "cccccccc-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    let Some(Expr::Sequence {
        ordered,
        by,
        window,
        steps,
    }) = seq.detection.as_ref().map(|d| &d.expr)
    else {
        panic!("temporal_ordered is a sequence");
    };
    assert!(*ordered);
    assert_eq!(by, &["TargetUserName"]);
    assert_eq!(window.as_deref(), Some("1h"));
    assert_eq!(steps.len(), 3);
    // The nested correlation is built before the one that names it.
    assert!(
        matches!(&steps[0], Expr::Named { item, .. } if matches!(**item, Expr::Aggregate { .. }))
    );
    assert!(matches!(&steps[2], Expr::Opaque { .. }));
    let broken = diag(&l, Check::BrokenReference);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].line, 30);
    // Per event: a correlation is never decided by one event, but a non-matching event is a no.
    let e = &count.detection.as_ref().unwrap().expr;
    assert_eq!(
        matcher::eval(e, &json!({"EventID": 1})),
        crate::verify::Verdict::NoMatch
    );
    assert!(matches!(
        matcher::eval(e, &json!({"EventID": 4625})),
        crate::verify::Verdict::Unknown(_)
    ));
}

#[test]
fn filters_link_to_their_rules() {
    let filter = "title: Ignore the service account
description: Local tuning
logsource: {product: windows, service: security}
filter:
    rules:
        - failed_logon
        - 00000000-0000-4000-8000-000000000000
    selection:
        TargetUserName|startswith: 'svc_'
    condition: selection
";
    let l = load(&[("base.yml", BASE), ("filters/svc.yml", filter)]);
    let f = l
        .rules
        .iter()
        .find(|r| r.source.path == "filters/svc.yml")
        .unwrap();
    assert_eq!(f.id, "filters/svc.yml");
    assert!(f
        .related
        .iter()
        .any(|r| r.id == "11111111-2222-4333-8444-555555555555" && r.relation == "filters"));
    let base = by_id(&l, "11111111-2222-4333-8444-555555555555");
    assert!(base
        .related
        .iter()
        .any(|r| r.id == f.id && r.relation == "filtered-by"));
    // A filter's condition says what it suppresses in the rules it names.
    let e = &f.detection.as_ref().unwrap().expr;
    assert_eq!(
        matcher::eval(e, &json!({"TargetUserName": "SVC_backup"})),
        crate::verify::Verdict::Match
    );
    assert_eq!(
        matcher::eval(e, &json!({"TargetUserName": "alice"})),
        crate::verify::Verdict::NoMatch
    );
    assert_eq!(diag(&l, Check::BrokenReference).len(), 1);
    assert_eq!(diag(&l, Check::BrokenReference)[0].line, 7);
}

#[test]
fn windows_events_are_flattened() {
    let ev = json!({"Event": {
        "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}, "EventID": 1,
                   "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "ws1",
                   "Execution": {"#attributes": {"ProcessID": 42}}},
        "EventData": {"Image": "C:\\x.exe", "Threat Name": "EICAR"},
        "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}}});
    let f = prepare_event(ev);
    assert_eq!(f["EventID"], 1);
    assert_eq!(f["Channel"], "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(f["Provider_Name"], "Microsoft-Windows-Sysmon");
    assert_eq!(f["Execution_ProcessID"], 42);
    assert_eq!(f["Image"], "C:\\x.exe");
    assert_eq!(f["ThreatName"], "EICAR");
    assert_eq!(f["Threat Name"], "EICAR");
    assert_eq!(f["SubjectUserName"], "bob");
    assert_eq!(f["Event"]["EventData"]["Image"], "C:\\x.exe");
    let data = json!({"Event": {"System": {"EventID": 4688}, "EventData": {"Data": [
        {"#attributes": {"Name": "NewProcessName"}, "#text": "C:\\a.exe"}]}}});
    assert_eq!(prepare_event(data)["NewProcessName"], "C:\\a.exe");
    assert_eq!(prepare_event(json!({"a": 1})), json!({"a": 1}));
}

#[test]
fn regression_data_becomes_positive_tests() {
    let rule = "title: Whoami
id: 12345678-1234-4234-8234-123456789012
logsource: {product: windows, category: process_creation}
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
regression_tests_path: regression_data/rules/whoami/info.yml
";
    let info = "id: 0c1d2e3f-0000-4000-8000-000000000001
rule_metadata:
    - id: 12345678-1234-4234-8234-123456789012
      title: Whoami
regression_tests_info:
    - name: Positive Detection Test
      type: evtx
      provider: Microsoft-Windows-Sysmon
      path: regression_data/rules/whoami/12345678-1234-4234-8234-123456789012.evtx
    - name: Several events
      type: evtx
      match_count: 2
      path: regression_data/rules/whoami/many.evtx
    - name: Raw
      type: raw
      path: regression_data/rules/whoami/x.raw
";
    let one = r#"{"Event": {"System": {"EventID": 1}, "EventData": {"Image": "C:\\Windows\\System32\\whoami.exe"}}}"#;
    let many =
        format!("{one}\n{{\"Event\": {{\"EventData\": {{\"Image\": \"C:\\\\x.exe\"}}}}}}\n{one}\n");
    let l = load(&[
        ("rules/whoami.yml", rule),
        ("regression_data/rules/whoami/info.yml", info),
        (
            "regression_data/rules/whoami/12345678-1234-4234-8234-123456789012.json",
            one,
        ),
        ("regression_data/rules/whoami/many.json", &many),
    ]);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let r = &l.rules[0];
    assert_eq!(r.tests.len(), 3);
    assert_eq!(r.tests[0].expect, Expect::Match);
    assert_eq!(r.tests[1].expect, Expect::AtLeast(2));
    assert_eq!(r.tests[1].events.len(), 3);
    assert!(r.tests[2].unsupported.is_some());
    let outcomes: Vec<Outcome> = matcher::run_tests(r)
        .into_iter()
        .map(|t| t.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::Pass, Outcome::Pass, Outcome::Unsupported]
    );
    // A missing info.yml is a broken reference on the rule's line.
    let l = load(&[("rules/whoami.yml", rule)]);
    let d = diag(&l, Check::BrokenReference);
    assert_eq!((d.len(), d[0].line), (1, 8));
}

#[test]
fn sidecar_tests_attach_to_the_rule() {
    let side = "tests:\n  - name: hit\n    match: true\n    event: {EventID: 4625}\n  - name: miss\n    match: false\n    event: {EventID: 4624}\n";
    let l = load(&[("base.yml", BASE), ("base.tests.yml", side)]);
    assert_eq!(l.rules.len(), 1);
    let got: Vec<Outcome> = matcher::run_tests(&l.rules[0])
        .into_iter()
        .map(|t| t.outcome)
        .collect();
    assert_eq!(got, [Outcome::Pass, Outcome::Pass]);
}

#[test]
fn claims_only_sigma_files() {
    let f = |rel: &str, text: &str| SourceFile {
        rel: rel.into(),
        abs: PathBuf::from(rel),
        text: text.into(),
        decoded_cp1252: false,
    };
    assert!(Sigma.is_rule_file(&f("a.yml", BASE)));
    assert!(Sigma.is_rule_file(&f("a.yaml", "correlation:\n  type: x\n")));
    assert!(!Sigma.is_rule_file(&f("a.tests.yml", BASE)));
    assert!(!Sigma.is_rule_file(&f("a.toml", BASE)));
    assert!(!Sigma.is_rule_file(&f("p.yml", "AnalysisType: rule\nDetection:\n  - Key: x\n")));
    assert!(!Sigma.is_rule_file(&f("info.yml", "rule_metadata:\n  - id: x\n")));
    assert!(!Sigma.is_rule_file(&f("s.yml", "name: x\nsearch: '| tstats'\n")));
}

fn fixtures_root() -> Root {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigma");
    read_root(0, RootSpec::new(dir))
        .expect("fixtures readable")
        .0
}

#[test]
fn hostile_fixtures_never_panic_and_always_say_where() {
    let root = fixtures_root();
    let claimed: Vec<&SourceFile> = root
        .files
        .iter()
        .filter(|f| Sigma.is_rule_file(f))
        .collect();
    assert!(claimed.len() >= 8, "{}", claimed.len());
    let l = Sigma.load(&root, &claimed);
    assert!(
        l.diagnostics
            .iter()
            .all(|d| !d.message.contains("internal error")),
        "{:?}",
        l.diagnostics
    );
    for f in &claimed {
        let shown = root.display(&f.rel);
        let loaded = l.rules.iter().any(|r| r.source.path == f.rel);
        let located = l.diagnostics.iter().any(|d| d.file == shown && d.line > 0);
        assert!(
            loaded || located,
            "{} neither loads nor has a located diagnostic",
            f.rel
        );
    }
    let on = |rel: &str, c: Check| {
        let shown = root.display(rel);
        l.diagnostics
            .iter()
            .filter(|d| d.file == shown && d.code == c)
            .map(|d| d.line)
            .collect::<Vec<_>>()
    };
    assert_eq!(on("bad_indent.yml", Check::ParseError), [9]);
    assert!(!on("tab_indent.yml", Check::ParseError).is_empty());
    assert!(!on("alias_bomb.yml", Check::ParseError).is_empty());
    assert_eq!(on("bad_condition.yml", Check::ParseError), [12]);
    assert_eq!(on("only_detection_key.yml", Check::MissingField).len(), 2);
    // Odd values: every bad item is opaque and located, the rule still loads.
    let odd = l
        .rules
        .iter()
        .find(|r| r.source.path == "odd_values.yml")
        .unwrap();
    assert!(!odd.detection.as_ref().unwrap().expr.fully_parsed());
    assert_eq!(on("odd_values.yml", Check::UnsupportedSyntax), [9, 12]);
    assert_eq!(on("odd_values.yml", Check::ParseError), [13, 15]);
    // Latin-1 text is decoded, not rejected.
    let latin = l
        .rules
        .iter()
        .find(|r| r.source.path == "latin1.yml")
        .unwrap();
    assert_eq!(latin.title, "Latin-1 été");
}

#[test]
fn the_sample_rules_load_cleanly_and_their_tests_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules/sigma");
    let root = read_root(0, RootSpec::new(dir))
        .expect("rules/sigma readable")
        .0;
    let l = load_root(&root);
    assert!(l.rules.len() >= 10, "{} sample rules", l.rules.len());
    let bad: Vec<&Diagnostic> = l
        .diagnostics
        .iter()
        .filter(|d| d.level != crate::verify::checks::Level::Note)
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    let mut ops = std::collections::BTreeSet::new();
    for r in &l.rules {
        let det = r.detection.as_ref().unwrap();
        // Only an `expand` placeholder (which needs a pipeline) may stay opaque.
        let mut reasons = Vec::new();
        det.expr.walk(&mut |e| {
            if let Expr::Opaque { reason, .. } = e {
                reasons.push(reason.clone());
            }
        });
        assert!(
            reasons.iter().all(|x| x.contains("placeholder")),
            "{}: {reasons:?}",
            r.id
        );
        for (p, _) in det.expr.predicates() {
            ops.insert(p.op);
        }
        if r.metadata.iter().any(|(k, _)| k == "Sigma rule type") {
            continue;
        }
        assert!(
            r.tests.iter().any(|t| t.expect == Expect::Match),
            "{} has no positive test",
            r.id
        );
        assert!(
            r.tests.iter().any(|t| t.expect == Expect::NoMatch),
            "{} has no negative test",
            r.id
        );
        for t in matcher::run_tests(r) {
            assert_eq!(
                t.outcome,
                Outcome::Pass,
                "{} / {}: {}",
                r.source.path,
                t.name,
                t.detail
            );
        }
    }
    for op in [
        Op::Eq,
        Op::Glob,
        Op::Contains,
        Op::StartsWith,
        Op::EndsWith,
        Op::Regex,
        Op::Cidr,
        Op::Exists,
        Op::IsNull,
        Op::Gt,
    ] {
        assert!(ops.contains(&op), "no sample rule uses {op:?}");
    }
}
