//! Tests of the YARA-L front end: lexer, parser (with error positions) and lowering.

use super::ast::{CmpOp, Kind, ListMode};
use super::lexer::{lex, Tok};
use super::*;
use crate::model::{Expr, Op, Transform, Value};
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::json;

fn no_lists(_: &str) -> Option<Vec<String>> {
    None
}

fn lower_src(src: &str) -> Lowered {
    let rules = parse_file(src).unwrap_or_else(|e| panic!("parse failed: {e}"));
    lower(&rules[0], src, &no_lists)
}

fn rule(events: &str) -> String {
    format!(
        "rule t {{\n  meta:\n    author = \"a\"\n  events:\n{events}\n  condition:\n    $e\n}}\n"
    )
}

/// The predicates under the only event variable of a single-event rule.
fn preds(l: &Lowered) -> Vec<crate::model::Predicate> {
    l.detection
        .expr
        .predicates()
        .into_iter()
        .map(|(p, _)| p.clone())
        .collect()
}

#[test]
fn lexer_tokens_and_regex_versus_division() {
    let toks: Vec<Tok> = lex("$e.a = /x\\/y/ nocase // c\n/* b */ #e > 10m and %l 2 / 4")
        .unwrap()
        .into_iter()
        .map(|t| t.tok)
        .collect();
    assert_eq!(
        toks,
        vec![
            Tok::Var("e".into()),
            Tok::Punct("."),
            Tok::Ident("a".into()),
            Tok::Punct("="),
            Tok::Regex("x/y".into()),
            Tok::Ident("nocase".into()),
            Tok::Count("e".into()),
            Tok::Punct(">"),
            Tok::Duration("10m".into()),
            Tok::Ident("and".into()),
            Tok::List("l".into()),
            Tok::Num("2".into()),
            Tok::Punct("/"),
            Tok::Num("4".into()),
        ]
    );
}

#[test]
fn lexer_strings() {
    let toks = lex(r#""a\"b\\c\d" `raw\d`"#).unwrap();
    assert_eq!(toks[0].tok, Tok::Str("a\"b\\c\\d".into()));
    assert_eq!(toks[1].tok, Tok::Raw("raw\\d".into()));
}

#[test]
fn lexer_errors_have_line_and_column() {
    let e = lex("rule x {\n  events:\n    $e.a = \"open\n}").unwrap_err();
    assert_eq!((e.line, e.col), (3, 12));
    assert!(e.message.contains("unterminated string"));
    let e = lex("a /* never closed").unwrap_err();
    assert_eq!((e.line, e.col), (1, 3));
    let e = lex("\n  a ^ b").unwrap_err();
    assert_eq!((e.line, e.col), (2, 5));
}

#[test]
fn parses_every_section() {
    let src = r#"
rule full_rule {
  meta:
    author = "me"
    severity = "High"
    version = 2
  events:
    $e.metadata.event_type = "USER_LOGIN"
    $e.target.user.userid = $user
    any $e.principal.ip = "10.0.0.1"
    $e.target.hostname in regex %hosts nocase
    re.regex($e.principal.process.command_line, `-enc`) nocase
  match:
    $user over 10m
  outcome:
    $risk_score = max(if($e.target.user.userid = /admin/ nocase, 80, 40) + 5)
    $ips = array_distinct($e.principal.ip)
  condition:
    $e and #e > 2
  options:
    allow_zero_values = true
}
"#;
    let rules = parse_file(src).unwrap();
    assert_eq!(rules.len(), 1);
    let r = &rules[0];
    assert_eq!(r.name, "full_rule");
    assert_eq!(r.span.line, 2);
    assert_eq!(
        r.sections,
        vec!["meta", "events", "match", "outcome", "condition", "options"]
    );
    assert_eq!(r.meta.len(), 3);
    assert_eq!(r.meta[2].value, "2");
    assert_eq!(r.events.len(), 5);
    assert!(matches!(r.events[2].kind, Kind::Quant { all: false, .. }));
    assert!(matches!(
        &r.events[3].kind,
        Kind::In { mode: ListMode::Regex, nocase: true, list, .. } if list == "hosts"
    ));
    assert!(matches!(&r.events[4].kind, Kind::Call { nocase: true, .. }));
    let m = r.match_section.as_ref().unwrap();
    assert_eq!(m.vars[0].0, "user");
    assert_eq!(m.window.as_deref(), Some("10m"));
    assert_eq!(r.outcome.len(), 2);
    assert!(matches!(r.condition.as_ref().unwrap().kind, Kind::And(_)));
    assert_eq!(r.options[0].key, "allow_zero_values");
}

#[test]
fn implicit_and_between_lines_and_precedence() {
    // `a or b ⏎ c` is `(a or b) and c`; `not` binds tighter than `and`, `and` than `or`.
    let src =
        rule("    $e.a = 1 or $e.b = 2\n    $e.c = 3\n    not $e.d = 4 and $e.f = 5 or $e.g = 6");
    let r = &parse_file(&src).unwrap()[0];
    assert_eq!(r.events.len(), 3);
    assert!(matches!(&r.events[0].kind, Kind::Or(items) if items.len() == 2));
    assert!(matches!(&r.events[1].kind, Kind::Cmp { op: CmpOp::Eq, .. }));
    let Kind::Or(items) = &r.events[2].kind else {
        panic!("or at the top: {:?}", r.events[2].kind)
    };
    let Kind::And(conj) = &items[0].kind else {
        panic!("and under or")
    };
    assert!(matches!(conj[0].kind, Kind::Not(_)));
}

#[test]
fn match_windows_and_pivots() {
    let src = "rule m { events: $a.x = $h $b.y = $h match: $h, $u over 1h after $a condition: $a and $b }";
    let r = &parse_file(src).unwrap()[0];
    let m = r.match_section.as_ref().unwrap();
    assert_eq!(m.vars.len(), 2);
    assert_eq!(m.window.as_deref(), Some("1h"));
    assert_eq!(m.pivot.as_deref(), Some("after $a"));
}

#[test]
fn parse_errors_have_line_and_column() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "rule x {\n  meta:\n    author \"me\"\n}",
            3,
            12,
            "expected `=`",
        ),
        (
            "rule x {\n  events:\n    $e.a = \n  condition:\n    $e\n}",
            4,
            3,
            "expected",
        ),
        (
            "rule x {\n  events:\n    $e.a = 1\n  condition:\n    $e\n",
            5,
            7,
            "`}`",
        ),
        ("rule {\n}", 1, 6, "rule name"),
        (
            "rule x {\n  evnts:\n    $e.a = 1\n}",
            2,
            3,
            "unknown section `evnts:`",
        ),
        (
            "rule x {\n  meta:\n    a = \"b\"\n  evnts:\n    $e.a = 1\n}",
            4,
            3,
            "unknown section",
        ),
        (
            "rule x {\n  events:\n    $e.a = 1\n}",
            1,
            1,
            "no `condition:`",
        ),
        (
            "rule x {\n  events:\n    ($e.a = 1\n  condition:\n    $e\n}",
            4,
            3,
            "`)`",
        ),
        (
            "rule x { events: $e.a in list condition: $e }",
            1,
            26,
            "reference list",
        ),
        (
            "rule x { events: $e.a = 1 match: $e over condition: $e }",
            1,
            42,
            "duration",
        ),
        ("", 1, 1, "no `rule"),
        ("rules x {}", 1, 1, "expected `rule`"),
    ];
    for (src, line, col, msg) in cases {
        let e = parse_file(src).expect_err(src);
        assert_eq!((e.line, e.col), (*line, *col), "{src:?}: {e}");
        assert!(e.message.contains(msg), "{src:?}: {e}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "rule x {{ events: {}$e.a = 1{} condition: $e }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let e = parse_file(&deep).unwrap_err();
    assert!(e.message.contains("nested too deeply"));
    let nots = format!(
        "rule x {{ events: {}$e.a = 1 condition: $e }}",
        "not ".repeat(5000)
    );
    assert!(parse_file(&nots).is_err());
}

#[test]
fn single_event_predicates() {
    let l = lower_src(&rule(
        r#"    $e.metadata.event_type = "USER_LOGIN"
    $e.target.user.userid = /admin/ nocase
    $e.principal.hostname != ""
    $e.target.port > 1024
    $e.principal.user.userid = "Bob" nocase
    re.regex($e.principal.process.command_line, `\s-enc\s`)
    strings.contains(strings.to_lower($e.target.url), "login")
    net.ip_in_range_cidr($e.principal.ip, "10.0.0.0/8")
    $e.target.process.file.full_path != $e.principal.process.file.full_path
    $e.security_result.detection_fields["status_code"] = "7""#,
    ));
    let Expr::Named { name, item } = &l.detection.expr else {
        panic!(
            "single-event rules are one named group: {:?}",
            l.detection.expr
        )
    };
    assert_eq!(name, "$e");
    assert!(matches!(**item, Expr::All { ref items } if items.len() == 10));
    let ps = preds(&l);
    assert_eq!(ps[0].field.as_deref(), Some("metadata.event_type"));
    assert_eq!((ps[0].op, ps[0].case_sensitive), (Op::Eq, true));
    assert_eq!((ps[1].op, ps[1].case_sensitive), (Op::Regex, false));
    assert_eq!(ps[1].values, vec![Value::str("admin")]);
    assert_eq!(ps[2].op, Op::IsEmpty);
    assert_eq!(
        (ps[3].op, &ps[3].values),
        (Op::Gt, &vec![Value::Num(1024.0)])
    );
    assert!(!ps[4].case_sensitive);
    assert_eq!(ps[5].values, vec![Value::str("\\s-enc\\s")]);
    assert_eq!(
        (ps[6].op, ps[6].transform),
        (Op::Contains, Some(Transform::Lower))
    );
    assert_eq!(ps[7].op, Op::Cidr);
    assert!(ps[8].field_ref);
    assert_eq!(
        ps[9].field.as_deref(),
        Some("security_result.detection_fields[\"status_code\"]")
    );
    assert!(l.detection.expr.fully_parsed());
    assert!(l.unbound.is_empty());
}

#[test]
fn matching_semantics() {
    let l = lower_src(&rule(
        r#"    $e.metadata.event_type = "PROCESS_LAUNCH"
    $e.target.process.file.full_path = /\\rundll32\.exe$/ nocase
    not $e.principal.user.userid = "SYSTEM""#,
    ));
    let hit = json!({"metadata": {"event_type": "PROCESS_LAUNCH"},
        "target": {"process": {"file": {"full_path": "C:\\Windows\\System32\\RUNDLL32.EXE"}}},
        "principal": {"user": {"userid": "alice"}}});
    assert_eq!(eval(&l.detection.expr, &hit), Verdict::Match);
    // `=` on strings is case-sensitive.
    let mut miss = hit.clone();
    miss["metadata"]["event_type"] = json!("process_launch");
    assert_eq!(eval(&l.detection.expr, &miss), Verdict::NoMatch);
    let mut sys = hit.clone();
    sys["principal"]["user"]["userid"] = json!("SYSTEM");
    assert_eq!(eval(&l.detection.expr, &sys), Verdict::NoMatch);
}

#[test]
fn alternatives_fold_into_one_predicate() {
    let l = lower_src(&rule(
        "    ($e.target.port = 4444 or $e.target.port = 5555 or $e.target.hostname = \"x\")",
    ));
    let ps = preds(&l);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].values, vec![Value::Num(4444.0), Value::Num(5555.0)]);
}

#[test]
fn placeholders_bind_and_join() {
    let src = r#"rule j {
  events:
    $a.metadata.event_type = "USER_LOGIN"
    $a.target.user.userid = $user
    $b.metadata.event_type = "PROCESS_LAUNCH"
    $b.principal.user.userid = $user
    $a.metadata.event_timestamp.seconds < $b.metadata.event_timestamp.seconds
    $a.principal.hostname = $b.target.hostname
  match:
    $user over 30m
  outcome:
    $risk_score = max(50)
    $hosts = array_distinct($b.target.hostname)
  condition:
    #a > 3 and $b
}"#;
    let l = lower_src(src);
    let Expr::Sequence {
        ordered,
        by,
        window,
        steps,
    } = &l.detection.expr
    else {
        panic!("multi-event rules are a sequence: {:?}", l.detection.expr)
    };
    assert!(!ordered);
    assert_eq!(by, &vec!["$user".to_string()]);
    assert_eq!(window.as_deref(), Some("30m"));
    assert_eq!(steps.len(), 2);
    assert!(matches!(&steps[0], Expr::Aggregate { description, .. } if description == "#a > 3"));
    assert!(matches!(&steps[1], Expr::Named { name, .. } if name == "$b"));
    // Bindings are not filters: each step has its event type and, for the match variable,
    // a non-empty bound field (match variables never take zero values by default).
    let ps: Vec<(String, Op, bool)> = l
        .detection
        .expr
        .predicates()
        .into_iter()
        .map(|(p, neg)| (p.field.clone().unwrap_or_default(), p.op, neg))
        .collect();
    assert_eq!(
        ps,
        vec![
            ("metadata.event_type".to_string(), Op::Eq, false),
            ("target.user.userid".to_string(), Op::IsEmpty, true),
            ("metadata.event_type".to_string(), Op::Eq, false),
            ("principal.user.userid".to_string(), Op::IsEmpty, true),
        ]
    );
    assert_eq!(l.bindings.len(), 2);
    assert_eq!(l.joins.len(), 3, "{:?}", l.joins);
    assert!(l.joins[0].contains("via $user"));
    assert_eq!(l.detection.output_fields[0].name, "$risk_score");
    assert_eq!(
        l.detection.output_fields[0].note.as_deref(),
        Some("risk score")
    );
    assert_eq!(
        l.detection.output_fields[1].source.as_deref(),
        Some("array_distinct($b.target.hostname)")
    );
    assert_eq!(l.risk_score.as_deref(), Some("50"));
    // One event cannot satisfy the pair; an unrelated event decides no.
    let other = json!({"metadata": {"event_type": "NETWORK_DNS"}});
    assert_eq!(eval(&l.detection.expr, &other), Verdict::NoMatch);
}

#[test]
fn zero_values_of_match_variables() {
    let base = "rule z { events: $e.metadata.event_type = \"X\" $e.principal.hostname = $h \
                match: $h over 1h condition: $e ";
    let l = lower_src(&format!("{base}}}"));
    let empty_host = json!({"metadata": {"event_type": "X"}});
    let host = json!({"metadata": {"event_type": "X"}, "principal": {"hostname": "h1"}});
    assert_eq!(eval(&l.detection.expr, &empty_host), Verdict::NoMatch);
    assert_eq!(eval(&l.detection.expr, &host), Verdict::Match);
    let l = lower_src(&format!("{base} options: allow_zero_values = true }}"));
    assert_eq!(eval(&l.detection.expr, &empty_host), Verdict::Match);
}

#[test]
fn count_and_outcome_conditions_aggregate() {
    let src =
        "rule c { events: $e.metadata.event_type = \"USER_LOGIN\" $e.target.user.userid = $u \
               match: $u over 1h outcome: $n = count_distinct($e.principal.ip) \
               condition: #e > 5 and $n > 2 }";
    let l = lower_src(src);
    let Expr::Aggregate { description, item } = &l.detection.expr else {
        panic!("{:?}", l.detection.expr)
    };
    assert_eq!(description, "#e > 5 and $n > 2 over 1h by $u");
    assert!(matches!(**item, Expr::Named { .. }));
    let hit =
        json!({"metadata": {"event_type": "USER_LOGIN"}, "target": {"user": {"userid": "u"}}});
    assert!(matches!(eval(&l.detection.expr, &hit), Verdict::Unknown(_)));
    // `#e > 0` and a match window alone keep the rule per-event.
    let src = "rule c { events: $e.metadata.event_type = \"X\" $e.a = $u match: $u over 1h condition: #e > 0 }";
    assert!(matches!(lower_src(src).detection.expr, Expr::Named { .. }));
}

#[test]
fn reference_lists() {
    let src = rule(
        "    $e.target.hostname in %hosts\n    $e.principal.ip in cidr %nets\n    not $e.target.url in regex %urls nocase\n    $e.x in %tbl.col",
    );
    let rules = parse_file(&src).unwrap();
    let lists = |n: &str| match n {
        "hosts" => Some(vec!["a".to_string(), "b".to_string()]),
        "nets" => Some(vec!["10.0.0.0/8".to_string()]),
        _ => None,
    };
    let l = lower(&rules[0], &src, &lists);
    let ps = preds(&l);
    assert_eq!((ps[0].op, ps[0].values.len()), (Op::Eq, 2));
    assert_eq!(ps[1].op, Op::Cidr);
    assert_eq!(ps.len(), 2);
    assert_eq!(l.lists, vec!["hosts", "nets", "tbl", "urls"]);
    assert_eq!(l.unresolved_lists, vec!["urls"]);
    let mut reasons = Vec::new();
    l.detection.expr.walk(&mut |e| {
        if let Expr::Opaque { text, reason } = e {
            reasons.push((text.clone(), reason.clone()));
        }
    });
    assert_eq!(reasons.len(), 2);
    assert_eq!(reasons[0].0, "$e.target.url in regex %urls nocase");
    assert!(reasons[0].1.contains("not in the rule root"));
    assert!(reasons[1].1.contains("data table"));
}

#[test]
fn placeholder_constraints_follow_their_binding() {
    let src = "rule p { events: $e.target.process.file.full_path = $svc $svc in %svcs \
               $e.principal.hostname = $h $h != \"\" match: $svc over 1h condition: $e }";
    let rules = parse_file(src).unwrap();
    let lists = |_: &str| Some(vec!["evil.exe".to_string()]);
    let l = lower(&rules[0], src, &lists);
    let ps = preds(&l);
    assert_eq!(
        ps[0].field.as_deref(),
        Some("target.process.file.full_path")
    );
    assert_eq!(ps[0].values, vec![Value::str("evil.exe")]);
    assert_eq!(ps[1].field.as_deref(), Some("principal.hostname"));
    assert_eq!(ps[1].op, Op::IsEmpty);
}

#[test]
fn unmapped_functions_stay_opaque() {
    let l = lower_src(&rule(
        "    $e.metadata.event_type = \"X\"\n    re.replace($e.a, `x`, \"\") = \"y\"\n    all $e.principal.ip = \"1.2.3.4\"\n    all $e.about.ip != \"5.6.7.8\"",
    ));
    let mut opaque = Vec::new();
    l.detection.expr.walk(&mut |e| {
        if let Expr::Opaque { text, .. } = e {
            opaque.push(text.clone());
        }
    });
    assert_eq!(
        opaque,
        vec![
            "re.replace($e.a, `x`, \"\") = \"y\"",
            "all $e.principal.ip = \"1.2.3.4\""
        ]
    );
    assert!(!l.detection.expr.fully_parsed());
    // `all x != v` is exactly "no element equals v".
    assert!(l
        .detection
        .expr
        .predicates()
        .iter()
        .any(|(p, neg)| *neg && p.field.as_deref() == Some("about.ip")));
}

#[test]
fn unbound_variables_are_found() {
    let src = "rule u {\n  events:\n    $e.a = $x\n    $e.b != $ghost\n  match:\n    $nobody over 5m\n  outcome:\n    $o = max($missing)\n  condition:\n    $e and $undefined > 1 and #x > 2 and $o > 0\n}";
    let l = lower_src(src);
    let got: Vec<(String, &str, usize, usize)> = l
        .unbound
        .iter()
        .map(|u| (u.name.clone(), u.section, u.span.line, u.span.col))
        .collect();
    assert_eq!(
        got,
        vec![
            ("nobody".to_string(), "match", 6, 5),
            ("missing".to_string(), "outcome", 8, 14),
            ("undefined".to_string(), "condition", 10, 12),
            ("ghost".to_string(), "events", 4, 13),
        ]
    );
}

#[test]
fn attack_strings_from_outcome() {
    let l = lower_src(
        "rule a { events: $e.a = 1 outcome: $mitre_attack_technique_id = \"T1078.004\" $other = \"T1111\" condition: $e }",
    );
    assert_eq!(l.attack_strings, vec!["T1078.004"]);
}

#[test]
fn several_rules_in_one_file() {
    let src =
        "rule a { events: $e.a = 1 condition: $e }\nrule b { events: $e.b = 2 condition: $e }";
    let rules = parse_file(src).unwrap();
    assert_eq!(
        rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(rules[1].span.line, 2);
}

#[test]
fn nesting_at_the_limit_parses_and_lowers() {
    // Half the default 2 MiB thread stack is enough at the limit (rayon workers use 2 MiB).
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(nesting_at_the_limit)
        .unwrap()
        .join()
        .unwrap();
}

fn nesting_at_the_limit() {
    let src = format!(
        "rule x {{ events: {}$e.a = 1{} condition: $e }}",
        "(".repeat(48),
        ")".repeat(48)
    );
    assert_eq!(preds(&lower_src(&src)).len(), 1);
    let src = format!(
        "rule x {{ events: {}$e.a = 1 condition: $e }}",
        "not ".repeat(95)
    );
    assert_eq!(preds(&lower_src(&src)).len(), 1);
    for deeper in [
        format!(
            "rule x {{ events: {}$e.a = 1{} condition: $e }}",
            "(".repeat(60),
            ")".repeat(60)
        ),
        format!(
            "rule x {{ events: {}$e.a condition: $e }}",
            "any ".repeat(500)
        ),
        format!(
            "rule x {{ events: {}$e.a{} = 1 condition: $e }}",
            "f(".repeat(500),
            ")".repeat(500)
        ),
        format!(
            "rule x {{ events: $e.a = {}1 condition: $e }}",
            "-".repeat(500)
        ),
        format!(
            "rule x {{ events: $e.a = 1{} condition: $e }}",
            " + 1".repeat(100_000)
        ),
    ] {
        let e = parse_file(&deeper).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
    }
}

#[test]
fn every_prefix_and_deletion_parses_or_errors() {
    let src = r#"rule p { meta: a = "b" events: $e.metadata.event_type = "X" nocase
    re.regex($e.f, `a|b`) nocase and not ($e.g in regex %l or any $e.h = /x\/y/)
    $e.u = $user $e2.v = $user $e.t.seconds < $e2.t.seconds
    strings.contains(strings.to_lower($e.labels["K k"]), "v") = false
  match: $user over 10m after $e
  outcome: $risk_score = max(if($e.x = 1, 10, 0) + -2 * 3 / 1) $o = array_distinct($e.y)
  condition: #e > 2 and $e2 and $risk_score >= 1 options: allow_zero_values = true }"#;
    let lists = |_: &str| Some(vec!["a".to_string()]);
    let cuts = src.char_indices().map(|(i, _)| i).chain([src.len()]);
    for i in cuts {
        for text in [
            src[..i].to_string(),
            format!(
                "{}{}",
                &src[..i],
                &src[i..].chars().skip(1).collect::<String>()
            ),
        ] {
            match parse_file(&text) {
                Ok(rules) => {
                    for r in &rules {
                        let l = lower(r, &text, &lists);
                        let _ = l.detection.expr.fully_parsed();
                    }
                }
                Err(e) => assert!(e.line >= 1 && e.col >= 1, "{e}"),
            }
        }
    }
}

#[test]
fn opaque_syntax_is_reported_with_its_position() {
    let src = "rule r {\n  events:\n    $e.a = 1\n    re.replace($e.b, `x`, \"\") = \"y\"\n    $e.c in %not_here\n  condition:\n    $e\n}";
    let l = lower_src(src);
    let got: Vec<(usize, usize, &str)> = l
        .unsupported
        .iter()
        .map(|(s, r)| (s.line, s.col, r.as_str()))
        .collect();
    // The missing reference list is external data, not unsupported syntax.
    assert_eq!(
        got,
        vec![(
            4,
            5,
            "comparison of computed values (functions, arithmetic)"
        )]
    );
}
