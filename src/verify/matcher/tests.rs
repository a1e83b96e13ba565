use super::*;
use crate::model::{Expr, Op, Predicate, Value};
use serde_json::json;

fn p(field: &str, op: Op, vals: &[&str]) -> Expr {
    Expr::Pred(Predicate::field(
        field,
        op,
        vals.iter().map(|v| Value::str(*v)).collect(),
    ))
}

#[test]
fn nested_and_literal_dotted_keys() {
    let ev = json!({"actor": {"alternateId": "a@b"}, "process.name": "cmd.exe"});
    assert_eq!(
        eval(&p("actor.alternateId", Op::Eq, &["A@B"]), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&p("process.name", Op::Eq, &["cmd.exe"]), &ev),
        Verdict::Match
    );
    assert_eq!(
        eval(&p("actor.missing", Op::Eq, &["x"]), &ev),
        Verdict::NoMatch
    );
}

#[test]
fn case_sensitivity_follows_the_predicate() {
    let ev = json!({"a": "Hello"});
    let mut pr = Predicate::field("a", Op::Eq, vec![Value::str("hello")]);
    assert_eq!(eval(&Expr::Pred(pr.clone()), &ev), Verdict::Match);
    pr.case_sensitive = true;
    assert_eq!(eval(&Expr::Pred(pr), &ev), Verdict::NoMatch);
}

#[test]
fn three_valued_logic() {
    let ev = json!({"a": "x"});
    let op = Expr::opaque("weird()", "unknown function");
    let yes = p("a", Op::Eq, &["x"]);
    let no = p("a", Op::Eq, &["y"]);
    assert_eq!(
        eval(&Expr::all(vec![no.clone(), op.clone()]), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&Expr::any(vec![yes.clone(), op.clone()]), &ev),
        Verdict::Match
    );
    assert!(matches!(
        eval(&Expr::all(vec![yes, op.clone()]), &ev),
        Verdict::Unknown(_)
    ));
    assert!(matches!(eval(&Expr::not(op), &ev), Verdict::Unknown(_)));
}

#[test]
fn globs_and_escapes() {
    assert!(glob_match("*\\cmd.exe", "C:\\Windows\\cmd.exe"));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a?c", "ac"));
    assert!(glob_match("a\\*b", "a*b"));
    assert!(!glob_match("a\\*b", "axb"));
    assert!(glob_match("*", ""));
    assert!(glob_match("*a*b*c*", "xxaxxbxxcxx"));
}

#[test]
fn arrays_match_any_element_and_numbers_compare_numerically() {
    let ev = json!({"ips": ["10.0.0.1", "192.168.1.5"], "EventID": "4688", "n": 7});
    assert_eq!(
        eval(&p("ips", Op::Cidr, &["192.168.0.0/16"]), &ev),
        Verdict::Match
    );
    let id = Expr::Pred(Predicate::field(
        "EventID",
        Op::Eq,
        vec![Value::Num(4688.0)],
    ));
    assert_eq!(eval(&id, &ev), Verdict::Match);
    let gt = Expr::Pred(Predicate::field("n", Op::Gt, vec![Value::Num(5.0)]));
    assert_eq!(eval(&gt, &ev), Verdict::Match);
}

#[test]
fn kql_has_matches_whole_terms() {
    assert!(has_term("run cmd.exe /c", "cmd"));
    assert!(!has_term("runcmd.exe", "cmd"));
    assert!(has_term("a-b", "a-b"));
}

#[test]
fn null_exists_and_keywords() {
    let ev = json!({"a": null, "b": "text with Mimikatz inside"});
    assert_eq!(eval(&p("a", Op::IsNull, &[]), &ev), Verdict::Match);
    assert_eq!(eval(&p("zz", Op::IsNull, &[]), &ev), Verdict::Match);
    assert_eq!(eval(&p("a", Op::Exists, &[]), &ev), Verdict::Match);
    assert_eq!(eval(&p("zz", Op::Exists, &[]), &ev), Verdict::NoMatch);
    let kw = Expr::Pred(Predicate::new(
        None,
        Op::Contains,
        vec![Value::str("mimikatz")],
    ));
    assert_eq!(eval(&kw, &ev), Verdict::Match);
}

#[test]
fn regex_unanchored_and_bad_regex_is_unknown() {
    let ev = json!({"a": "xxabcxx"});
    let mut r = Predicate::field("a", Op::Regex, vec![Value::str("ab+c")]);
    r.case_sensitive = true;
    assert_eq!(eval(&Expr::Pred(r), &ev), Verdict::Match);
    let bad = Predicate::field("a", Op::Regex, vec![Value::str("(?<=a)b")]);
    assert!(matches!(eval(&Expr::Pred(bad), &ev), Verdict::Unknown(_)));
}

#[test]
fn date_parts() {
    assert_eq!(date_part(Transform::Hour, "2024-05-01T13:45:00Z"), Some(13));
    assert_eq!(date_part(Transform::Week, "2024-01-01T00:00:00Z"), Some(1));
    assert_eq!(date_part(Transform::Month, "2024-05-01"), Some(5));
}

#[test]
fn at_least_counts_matching_events() {
    use crate::model::{Detection, Expect, Rule, RuleTest, SourceLocation, Vendor};
    let mut rule = Rule::new(Vendor::Sigma, "r", SourceLocation::default());
    rule.detection = Some(Detection {
        expr: p("a", Op::Eq, &["x"]),
        output_fields: Vec::new(),
    });
    let test = |expect, events: Vec<serde_json::Value>| RuleTest {
        name: "t".into(),
        events,
        expect,
        unsupported: None,
        location: None,
    };
    let evs = vec![json!({"a": "x"}), json!({"a": "y"}), json!({"a": "x"})];
    rule.tests = vec![
        test(Expect::AtLeast(1), evs.clone()),
        test(Expect::AtLeast(2), evs.clone()),
        test(Expect::AtLeast(3), evs.clone()),
        test(Expect::AtLeast(1), vec![json!({"a": "y"})]),
    ];
    let got: Vec<Outcome> = run_tests(&rule).into_iter().map(|r| r.outcome).collect();
    assert_eq!(
        got,
        vec![Outcome::Pass, Outcome::Pass, Outcome::Fail, Outcome::Fail]
    );
}

#[test]
fn truthy_follows_python() {
    let ev = json!({"a": "", "b": "x", "c": [], "d": [""], "e": {}, "f": 0, "g": false,
                    "h": null, "i": {"j": 1}});
    let t = |f: &str| eval(&Expr::Pred(Predicate::field(f, Op::Truthy, vec![])), &ev);
    for f in ["a", "c", "e", "f", "g", "h", "missing"] {
        assert_eq!(t(f), Verdict::NoMatch, "{f}");
    }
    for f in ["b", "d", "i", "i.j"] {
        assert_eq!(t(f), Verdict::Match, "{f}");
    }
}

#[test]
fn type_tests_see_json_types() {
    let ev = json!({"s": "1", "i": 1, "f": 1.5, "b": true, "a": [1], "o": {}, "n": null});
    let t = |f: &str, ty: &str| {
        eval(
            &Expr::Pred(Predicate::field(f, Op::IsType, vec![Value::str(ty)])),
            &ev,
        )
    };
    for (f, ty) in [
        ("s", "string"),
        ("i", "integer"),
        ("f", "float"),
        ("b", "boolean"),
        ("a", "array"),
        ("o", "object"),
        ("n", "null"),
    ] {
        assert_eq!(t(f, ty), Verdict::Match, "{f} {ty}");
    }
    assert_eq!(t("s", "integer"), Verdict::NoMatch);
    assert_eq!(t("i", "string"), Verdict::NoMatch);
    assert_eq!(t("missing", "null"), Verdict::NoMatch);
}

#[test]
fn any_element_ties_conditions_to_one_element() {
    let item = Expr::All {
        items: vec![
            p("auth.permission", Op::Eq, &["x"]),
            p("auth.granted", Op::Eq, &["yes"]),
        ],
    };
    let e = Expr::AnyElement {
        field: "auth".into(),
        item: Box::new(item),
    };
    let split = json!({"auth": [{"permission": "x", "granted": "no"}, {"permission": "y", "granted": "yes"}]});
    let same = json!({"auth": [{"permission": "y"}, {"permission": "x", "granted": "yes"}]});
    assert_eq!(eval(&e, &split), Verdict::NoMatch);
    assert_eq!(eval(&e, &same), Verdict::Match);
    assert_eq!(eval(&e, &json!({})), Verdict::NoMatch);
    let negated = Expr::AnyElement {
        field: "auth".into(),
        item: Box::new(Expr::not(p("auth.permission", Op::Eq, &["x"]))),
    };
    assert_eq!(eval(&negated, &same), Verdict::Match);
    assert_eq!(
        eval(&negated, &json!({"auth": [{"permission": "x"}]})),
        Verdict::NoMatch
    );
}

#[test]
fn numeric_segments_index_lists() {
    let ev = json!({"ips": ["1.1.1.1", "2.2.2.2"], "a": [{"b": "x"}, {"b": "y"}]});
    assert_eq!(eval(&p("ips.0", Op::Eq, &["1.1.1.1"]), &ev), Verdict::Match);
    assert_eq!(
        eval(&p("ips.0", Op::Eq, &["2.2.2.2"]), &ev),
        Verdict::NoMatch
    );
    assert_eq!(
        eval(&p("ips.-1", Op::Eq, &["2.2.2.2"]), &ev),
        Verdict::Match
    );
    assert_eq!(eval(&p("a.1.b", Op::Eq, &["y"]), &ev), Verdict::Match);
    assert_eq!(eval(&p("a.2.b", Op::Eq, &["y"]), &ev), Verdict::NoMatch);
}
