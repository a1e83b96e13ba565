use super::*;
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::json;

fn q(text: &str) -> Expr {
    parse(text).unwrap_or_else(|e| panic!("{e} in {text}"))
}

#[test]
fn field_values_lists_and_case() {
    let e = q(
        r#"event.category:process and process.name:(cmd.exe or "powershell.exe") and not user.name:SYSTEM"#,
    );
    let ev = json!({"event": {"category": ["process"]}, "process": {"name": "cmd.exe"}, "user": {"name": "bob"}});
    assert_eq!(eval(&e, &ev), Verdict::Match);
    // Keyword fields are case-sensitive.
    let ev = json!({"event": {"category": ["process"]}, "process": {"name": "CMD.EXE"}, "user": {"name": "bob"}});
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
    // `f:(a or b)` is one predicate with two values.
    let preds = e.predicates();
    assert_eq!(preds[1].0.values.len(), 2);
    assert!(preds[2].1, "user.name is negated");
}

#[test]
fn wildcards_escapes_and_exists() {
    let e = q(r"process.executable:C\:\\Windows\\*.exe");
    let ev = json!({"process": {"executable": r"C:\Windows\x.exe"}});
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let e = q(r#"process.name:"*.exe""#);
    assert_eq!(
        eval(&e, &json!({"process": {"name": "a.exe"}})),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&e, &json!({"process": {"name": "*.exe"}})),
        Verdict::Match
    );
    let e = q(r"process.name:\*x");
    assert_eq!(
        eval(&e, &json!({"process": {"name": "*x"}})),
        Verdict::Match
    );
    let e = q("process.parent.name:*");
    assert!(matches!(&e, Expr::Pred(p) if p.op == Op::Exists));
    // A `?` is no wildcard in KQL.
    let e = q("file.name:a?c*");
    assert_eq!(
        eval(&e, &json!({"file": {"name": "abcd"}})),
        Verdict::NoMatch
    );
    assert_eq!(eval(&e, &json!({"file": {"name": "a?cd"}})), Verdict::Match);
}

#[test]
fn ranges_nested_cidr_and_free_text() {
    let e = q("destination.port >= 1024 and source.ip:10.0.0.0/8");
    assert_eq!(
        eval(
            &e,
            &json!({"destination": {"port": 4444}, "source": {"ip": "10.2.3.4"}})
        ),
        Verdict::Match
    );
    assert_eq!(
        eval(
            &e,
            &json!({"destination": {"port": 80}, "source": {"ip": "10.2.3.4"}})
        ),
        Verdict::NoMatch
    );
    let e = q(r#"azure.auditlogs.properties:{ target_resources:{ type:"User" } }"#);
    assert_eq!(
        e.predicates()[0].0.field.as_deref(),
        Some("azure.auditlogs.properties.target_resources.type")
    );
    let e = q(r#""mimikatz""#);
    assert!(matches!(&e, Expr::Pred(p) if p.field.is_none()));
    assert_eq!(
        eval(&e, &json!({"a": {"b": "run Mimikatz now"}})),
        Verdict::Match
    );
}

#[test]
fn text_fields_match_words_ignoring_case() {
    let e = q(r#"powershell.file.script_block_text:("MiniDumpWriteDump" or "Get-Keystrokes")"#);
    let ev = json!({"powershell": {"file": {"script_block_text": "x = minidumpwritedump(y)"}}});
    assert_eq!(eval(&e, &ev), Verdict::Match);
}

#[test]
fn unquoted_words_join_into_one_value() {
    let e = q("user_agent.original:S3 Browser* and event.outcome:success");
    let preds = e.predicates();
    assert_eq!(preds[0].0.values, vec![Value::str("S3 Browser*")]);
    assert_eq!(preds.len(), 2);
}

#[test]
fn keywords_ignore_case_and_errors_have_positions() {
    let e = q("a:1 AND NOT b:2 Or c:3");
    assert!(matches!(e, Expr::Any { .. }));
    let err = parse("a:1 and\n (b:2").unwrap_err();
    assert_eq!(err.line, 2);
    let err = parse("a:(1 or").unwrap_err();
    assert!(err.message.contains("expected a value"), "{err}");
    assert!(parse(r#"a:"open"#).is_err());
    assert!(matches!(q("  "), Expr::Const { value: true }));
    assert!(!q("host.*:x").fully_parsed());
}
