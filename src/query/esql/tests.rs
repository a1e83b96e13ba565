use super::*;
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::json;

fn q(text: &str) -> Parsed {
    parse(text).unwrap_or_else(|e| panic!("{e} in {text}"))
}

#[test]
fn where_before_stats_filters_events() {
    let p = q(r#"
FROM logs-aws.cloudtrail-*, logs-gcp.audit-* METADATA _id, _version, _index
// only successful calls
| WHERE event.provider == "iam.amazonaws.com" AND event.action IN ("CreateUser", "CreateAccessKey")
    AND event.outcome == "success"
| STATS Esql.event_count = COUNT(*), Esql.actions = VALUES(event.action) BY user.name, source.ip
| WHERE Esql.event_count >= 5
| KEEP user.name, source.ip, Esql.*
"#);
    assert_eq!(p.indices, vec!["logs-aws.cloudtrail-*", "logs-gcp.audit-*"]);
    let Expr::Aggregate { description, item } = &p.detection.expr else {
        panic!("{:?}", p.detection.expr)
    };
    assert!(description.starts_with("STATS Esql.event_count = COUNT(*)"));
    assert!(description.ends_with("| WHERE Esql.event_count >= 5"));
    assert_eq!(item.predicates().len(), 3);
    let names: Vec<_> = p
        .detection
        .output_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["user.name", "source.ip", "Esql.*"]);
    let ev = json!({"event": {"provider": "iam.amazonaws.com", "action": "CreateUser", "outcome": "success"}});
    assert!(matches!(eval(&p.detection.expr, &ev), Verdict::Unknown(_)));
    let ev = json!({"event": {"provider": "iam.amazonaws.com", "action": "createuser", "outcome": "success"}});
    assert_eq!(eval(&p.detection.expr, &ev), Verdict::NoMatch);
}

#[test]
fn stats_columns_are_output_fields_without_keep() {
    let p = q("from logs-* | where a == 1 | stats c = count(*) by host.id, user.name");
    let names: Vec<_> = p
        .detection
        .output_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["c", "host.id", "user.name"]);
}

#[test]
fn like_rlike_and_null_semantics() {
    let p = q(r#"from logs-endpoint.events.process-*
| where process.executable like "C:\\\\Windows\\\\*" and process.name rlike "[a-z]+\\.exe"
  and not process.parent.name in ("explorer.exe") and user.name != "SYSTEM""#);
    let e = &p.detection.expr;
    let ev = json!({"process": {"executable": r"C:\Windows\x.exe", "name": "cmd.exe", "parent": {"name": "winword.exe"}}, "user": {"name": "bob"}});
    assert_eq!(eval(e, &ev), Verdict::Match);
    // Case-sensitive.
    let ev2 = json!({"process": {"executable": r"C:\WINDOWS\x.exe", "name": "cmd.exe", "parent": {"name": "winword.exe"}}, "user": {"name": "bob"}});
    assert_eq!(eval(e, &ev2), Verdict::NoMatch);
    // A missing field makes `NOT f IN (...)` null, and WHERE drops the row.
    let ev3 = json!({"process": {"executable": r"C:\Windows\x.exe", "name": "cmd.exe"}, "user": {"name": "bob"}});
    assert_eq!(eval(e, &ev3), Verdict::NoMatch);
}

#[test]
fn eval_aliases_and_computed_fields() {
    let p = q(r#"from logs-*
| eval Esql.name_lower = to_lower(process.name), Esql.len = length(process.command_line) * 2
| where Esql.name_lower == "powershell.exe" and Esql.len > 10"#);
    let e = &p.detection.expr;
    let preds = e.predicates();
    assert_eq!(preds[0].0.field.as_deref(), Some("process.name"));
    assert_eq!(preds[0].0.transform, Some(Transform::Lower));
    assert!(!e.fully_parsed(), "Esql.len is computed");
    let ev = json!({"process": {"name": "PowerShell.EXE", "command_line": "x"}});
    assert!(matches!(eval(e, &ev), Verdict::Unknown(_)));
    let ev = json!({"process": {"name": "cmd.exe", "command_line": "x"}});
    assert_eq!(eval(e, &ev), Verdict::NoMatch);
}

#[test]
fn grok_fields_are_computed_and_kql_is_parsed() {
    let p = q(r#"from logs-*
| grok message "%{IP:Esql.ip} %{WORD:Esql.verb}"
| where Esql.verb == "GET" and KQL("""event.dataset:nginx.access""")"#);
    let e = &p.detection.expr;
    assert!(!e.fully_parsed());
    assert!(e
        .predicates()
        .iter()
        .any(|(p, _)| p.field.as_deref() == Some("event.dataset")));
}

#[test]
fn functions_and_errors() {
    let p = q(
        r#"from logs-* | where starts_with(file.name, "~$") and cidr_match(source.ip, "10.0.0.0/8") and mystery(x)"#,
    );
    let e = &p.detection.expr;
    assert_eq!(e.predicates().len(), 2);
    assert!(!e.fully_parsed());
    let err = parse("from logs-*\n| where a ==").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(parse("where a == 1").is_err());
    assert!(parse("from x | | where a == 1").is_err());
    let p = q("from x | completion y = prompt | where y == \"yes\"");
    assert!(!p.detection.expr.fully_parsed());
}

#[test]
fn coalesce_reads_the_first_present_field() {
    let p = q(r#"from logs-*
| eval Esql.type = TO_LOWER(COALESCE(network_traffic.dhcpv4.option.message_type, dhcpv4.option.message_type)),
       Esql.method = COALESCE(JSON_EXTRACT(_source, "sip.method"), null)
| where Esql.type == "discover" and Esql.method != "INVITE""#);
    let e = &p.detection.expr;
    assert!(e.fully_parsed(), "{e:?}");
    let ev =
        json!({"dhcpv4": {"option": {"message_type": "DISCOVER"}}, "sip": {"method": "REGISTER"}});
    assert_eq!(eval(e, &ev), Verdict::Match);
    // The first field wins when present.
    let ev = json!({"network_traffic": {"dhcpv4": {"option": {"message_type": "offer"}}}, "dhcpv4": {"option": {"message_type": "discover"}}, "sip": {"method": "REGISTER"}});
    assert_eq!(eval(e, &ev), Verdict::NoMatch);
    // `!=` on a missing field is null: no match.
    let ev = json!({"dhcpv4": {"option": {"message_type": "discover"}}});
    assert_eq!(eval(e, &ev), Verdict::NoMatch);
}
