use super::*;
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::json;

fn q(text: &str) -> Expr {
    parse(text).unwrap_or_else(|e| panic!("{e} in {text}"))
}

#[test]
fn boolean_operators_and_groups() {
    let e = q("event.category:process AND event.type:(start OR process_started) AND process.name:chmod AND process.args:(g+s OR /2[0-9]{3}/) AND NOT user.name:root");
    let ev = json!({"event": {"category": "process", "type": ["start"]}, "process": {"name": "chmod", "args": ["chmod", "2755", "f"]}, "user": {"name": "bob"}});
    assert_eq!(eval(&e, &ev), Verdict::Match);
    let ev = json!({"event": {"category": "process", "type": ["start"]}, "process": {"name": "chmod", "args": ["chmod", "g+s", "f"]}, "user": {"name": "root"}});
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
    let ev = json!({"event": {"category": "process", "type": ["start"]}, "process": {"name": "chmod", "args": ["chmod", "755", "f"]}, "user": {"name": "bob"}});
    assert_eq!(eval(&e, &ev), Verdict::NoMatch);
}

#[test]
fn default_or_and_required_clauses() {
    let e = q("a:1 a:2");
    assert_eq!(eval(&e, &json!({"a": "2"})), Verdict::Match);
    let e = q("+a:1 b:2 -c:3");
    assert_eq!(eval(&e, &json!({"a": "1"})), Verdict::Match);
    assert_eq!(eval(&e, &json!({"a": "1", "c": "3"})), Verdict::NoMatch);
    assert_eq!(eval(&e, &json!({"b": "2"})), Verdict::NoMatch);
}

#[test]
fn wildcards_ranges_exists_and_escapes() {
    let e = q(r"process.executable:C\:\\Windows\\*.exe");
    assert_eq!(
        eval(&e, &json!({"process": {"executable": r"C:\Windows\a.exe"}})),
        Verdict::Match
    );
    let e = q("destination.port:[1024 TO *] AND _exists_:source.ip");
    assert_eq!(
        eval(
            &e,
            &json!({"destination": {"port": 4444}, "source": {"ip": "1.2.3.4"}})
        ),
        Verdict::Match
    );
    assert_eq!(
        eval(&e, &json!({"destination": {"port": 4444}})),
        Verdict::NoMatch
    );
    let e = q("bytes:>1000");
    assert_eq!(eval(&e, &json!({"bytes": 5000})), Verdict::Match);
    let e = q("destination.port:{0 TO 1024}");
    assert_eq!(
        eval(&e, &json!({"destination": {"port": 1024}})),
        Verdict::NoMatch
    );
}

#[test]
fn fuzzy_is_opaque_and_errors_have_positions() {
    assert!(!q("user.name:admin~2").fully_parsed());
    assert!(q("user.name:admin^2").fully_parsed());
    let err = parse("a:1 AND\n(b:2").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(parse("a:\"x").is_err());
    assert!(parse("a:[1 2]").is_err());
}
