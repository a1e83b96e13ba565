use super::*;
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::json;

fn q(text: &str) -> Expr {
    parse(text, "event.category")
        .unwrap_or_else(|e| panic!("{e} in {text}"))
        .expr
}

#[test]
fn category_where_adds_a_category_predicate() {
    let e = q(r#"process where process.name == "cmd.exe""#);
    let preds = e.predicates();
    assert_eq!(preds.len(), 2);
    assert_eq!(preds[0].0.field.as_deref(), Some("event.category"));
    let ev = json!({"event": {"category": ["process"]}, "process": {"name": "cmd.exe"}});
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let ev = json!({"event": {"category": ["file"]}, "process": {"name": "cmd.exe"}});
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
    // `any where` tests no category; an override changes the field.
    assert_eq!(q("any where true").predicates().len(), 0);
    let e = parse("info where a == 1", "event.type").unwrap().expr;
    assert_eq!(e.predicates()[0].0.field.as_deref(), Some("event.type"));
}

#[test]
fn case_rules() {
    let ev = json!({"event": {"category": "process"}, "process": {"name": "CMD.EXE", "args": ["/C", "Whoami"]}});
    assert_eq!(
        eval(&q(r#"process where process.name == "cmd.exe""#), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&q(r#"process where process.name : "cmd.exe""#), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.name : "c?d.*""#), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.name like "c*""#), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&q(r#"process where process.name like~ "c*""#), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.name in ("cmd.exe", "x")"#), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(
            &q(r#"process where process.name in~ ("cmd.exe", "x")"#),
            &ev
        ),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.args : "whoami""#), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.name != "CMD.EXE""#), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&q(r#"process where process.name not in ("a", "b")"#), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.name regex~ "c.d\\.exe""#), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&q(r#"process where process.name regex "c.d\\.exe""#), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&q(r#"process where process.name regex~ "md\\.exe""#), &ev),
        Verdict::NoMatch
    );
}

#[test]
fn backslashes_are_plain_in_wildcards() {
    let ev = json!({"event": {"category": "process"}, "process": {"executable": r"C:\Windows\Temp\x.exe"}});
    let e = q(r#"process where process.executable : "C:\\Windows\\Temp\\*""#);
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let e = q(r#"process where process.executable : """C:\Windows\*\x.exe""""#);
    assert_eq!(eval(&e, &ev), Verdict::Match);
}

#[test]
fn functions_map_or_stay_opaque() {
    let ev = json!({"event": {"category": "network"}, "destination": {"ip": "10.1.2.3"}, "process": {"name": "Rundll32.exe"}});
    let e = q(r#"network where not cidrMatch(destination.ip, "10.0.0.0/8", "192.168.0.0/16")"#);
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
    let e = q(r#"network where startsWith~(process.name, "rundll")"#);
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let e = q(r#"network where startsWith(process.name, "rundll")"#);
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
    let e = q(r#"network where endswith~(process.name, ".EXE") == false"#);
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
    let e = q(r#"network where length(process.name) > 5"#);
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let e = q(r#"network where substring(process.name, 0, 3) == "Run""#);
    assert!(!e.fully_parsed());
    assert!(matches!(eval(&e, &ev), Verdict::Unknown(_)));
    let e = q("network where process.name == process.parent.name");
    assert!(e.fully_parsed());
    assert!(e.predicates()[1].0.field_ref);
}

#[test]
fn sequences_keep_their_steps() {
    let text = r#"
sequence by host.id with maxspan=1m
  [process where event.type == "start" and process.name : "cmd.exe"] by process.entity_id
  [network where destination.port == 445] by process.entity_id with runs=2
until [process where event.type == "end"]
"#;
    let e = q(text);
    let Expr::Sequence {
        ordered,
        by,
        window,
        steps,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(*ordered);
    assert_eq!(by, &["host.id".to_string()]);
    assert_eq!(window.as_deref(), Some("1m"));
    assert_eq!(steps.len(), 3);
    assert!(
        matches!(&steps[0], Expr::Named { name, .. } if name == "process by process.entity_id")
    );
    assert!(matches!(&steps[1], Expr::Named { name, .. } if name.ends_with("with runs=2")));
    assert!(matches!(&steps[2], Expr::Named { name, .. } if name == "until"));
    let e = q("sample by host.id [process where true] [file where true]");
    assert!(matches!(e, Expr::Sequence { ordered: false, .. }));
}

#[test]
fn pipes_and_errors() {
    let e = q(r#"process where a == 1 | head 5"#);
    assert!(matches!(e, Expr::All { .. }));
    let e = q(r#"process where a == 1 | unique b"#);
    assert!(matches!(e, Expr::Aggregate { .. }));
    let err = parse("process where a ==\n  and b", "event.category").unwrap_err();
    assert_eq!((err.line, err.column), (2, 3));
    assert!(parse("process a == 1", "event.category").is_err());
    assert!(parse("sequence [process where true] x", "event.category").is_err());
}

#[test]
fn corpus_shapes_calls_with_spaces_missing_steps_and_field_args() {
    let e = q(r#"info where stringContains (user.id, ":i-")"#);
    assert!(e.fully_parsed());
    let e = q(r#"iam where startswith~(process.Ext.effective_parent.name, process.parent.name)"#);
    assert!(e.fully_parsed());
    assert!(e.predicates()[1].0.field_ref);
    let ev = json!({"event": {"category": "iam"}, "process": {"Ext": {"effective_parent": {"name": "Explorer.exe"}}, "parent": {"name": "explorer"}}});
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let e = q(r#"sequence by host.id with maxspan=5m
 [any where data_stream.dataset == "endpoint.alerts"]
 ![any where event.category in ("process", "file")]"#);
    let Expr::Sequence { steps, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(
        matches!(&steps[1], Expr::Named { name, item } if name == "missing" && matches!(**item, Expr::Not { .. }))
    );
    let e = q(
        r#"any where azure.auditlogs.properties.target_resources.`0`.display_name like "DESKTOP-*""#,
    );
    assert_eq!(
        e.predicates()[0].0.field.as_deref(),
        Some("azure.auditlogs.properties.target_resources.0.display_name")
    );
}
