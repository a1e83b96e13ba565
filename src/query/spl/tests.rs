use super::*;
use crate::model::{Expr, Op, Predicate, Transform, Value};
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::json;

fn table(defs: &[(&str, &[&str], &str)]) -> MacroTable {
    let mut t = MacroTable::default();
    for (name, args, def) in defs {
        t.insert(MacroDef {
            name: name.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            definition: def.to_string(),
            description: String::new(),
            file: None,
        });
    }
    t
}

fn parse(s: &str) -> Parsed {
    parse_search(s, &MacroTable::default()).1
}

fn expr(s: &str) -> Expr {
    parse(s).detection.expr
}

fn p(field: &str, op: Op, values: &[&str]) -> Expr {
    Expr::Pred(Predicate::field(
        field,
        op,
        values.iter().map(|v| Value::str(*v)).collect(),
    ))
}

fn json_of(e: &Expr) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

fn assert_expr(got: &Expr, want: &Expr) {
    assert_eq!(
        json_of(got),
        json_of(want),
        "\n got: {got:?}\nwant: {want:?}"
    );
}

fn matches(e: &Expr, ev: serde_json::Value) -> Verdict {
    eval(e, &ev)
}

// ---- macros ----------------------------------------------------------------------------

#[test]
fn macros_expand_recursively_with_arguments() {
    let t = table(&[
        ("sysmon", &[], "sourcetype=sysmon"),
        (
            "proc",
            &["name"],
            "(Processes.process_name=$name$ `sysmon`)",
        ),
    ]);
    let x = expand("`proc(cmd.exe)` foo", &t);
    assert_eq!(
        x.text,
        "(Processes.process_name=cmd.exe sourcetype=sysmon) foo"
    );
    assert!(x.unresolved.is_empty());
    let keys: Vec<String> = x.used.iter().map(|u| u.key()).collect();
    assert_eq!(keys, vec!["proc(1)", "sysmon"]);
}

#[test]
fn macros_are_keyed_by_arity() {
    let t = table(&[("m", &["a"], "x=$a$")]);
    let x = expand("`m` `m(1)` `m(1,2)`", &t);
    assert_eq!(x.unresolved.len(), 2);
    assert_eq!(x.unresolved[0].key(), "m");
    assert!(x.unresolved[0]
        .reason
        .contains("defined with 1 argument(s), called with 0"));
    assert_eq!(x.unresolved[1].key(), "m(2)");
    assert!(x.text.contains("x=1"));
    // Unresolved calls stay in the text, as written.
    assert!(x.text.starts_with("`m` "));
}

#[test]
fn filter_hooks_are_empty_and_cim_rename_is_known() {
    let x = expand(
        "| tstats count by P.a | `drop_dm_object_name(\"P\")` | `my_rule_filter`",
        &MacroTable::default(),
    );
    assert_eq!(x.text, "| tstats count by P.a | rename P.* AS * | ");
    assert!(x.unresolved.is_empty());
    let kinds: Vec<MacroKind> = x.used.iter().map(|u| u.kind).collect();
    assert_eq!(kinds, vec![MacroKind::Builtin, MacroKind::FilterHook]);
}

#[test]
fn a_defined_filter_macro_is_used() {
    let t = table(&[("r_filter", &[], "search NOT user=svc_*")]);
    let e = parse_search("x=1 | `r_filter`", &t).1.detection.expr;
    assert_eq!(
        matches(&e, json!({"x": "1", "user": "svc_backup"})),
        Verdict::NoMatch
    );
    assert_eq!(
        matches(&e, json!({"x": "1", "user": "alice"})),
        Verdict::Match
    );
}

#[test]
fn recursive_macros_stop() {
    let t = table(&[("a", &[], "`b`"), ("b", &[], "`a`")]);
    let x = expand("`a`", &t);
    assert_eq!(x.unresolved.len(), 1);
    assert!(x.unresolved[0].reason.contains("recursive"));
}

#[test]
fn comments_are_dropped_and_dollars_escape() {
    let t = table(&[("re", &["f"], "match($f$, \"x$$\")")]);
    let x = expand("a=1 ```a | comment with `ticks` ``` | where `re(b)`", &t);
    assert_eq!(x.text, "a=1   | where match(b, \"x$\")");
}

#[test]
fn positions_map_back_to_the_original() {
    let t = table(&[("m", &[], "aaaa bbbb")]);
    let x = expand("x `m` yy", &t);
    assert_eq!(x.text, "x aaaa bbbb yy");
    assert_eq!(x.original_pos(0), 0);
    assert_eq!(x.original_pos(5), 2); // inside the expansion: the call
    assert_eq!(x.original_pos(12), 6); // after it: one to one again
}

// ---- pipeline --------------------------------------------------------------------------

#[test]
fn pipeline_splits_at_top_level_pipes_only() {
    let s = r#"a="x|y" [search b | head 1] | where match(c, "d|e") | stats count"#;
    let stages = pipeline::split(s);
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["search", "where", "stats"]);
    assert!(stages[0].implied);
    assert_eq!(stages[1].args, r#"match(c, "d|e")"#);
    assert_eq!(&s[stages[1].args_start..stages[1].args_start + 5], "match");
    let lead = pipeline::split("| tstats count");
    assert_eq!(lead[0].name, "tstats");
    assert!(!lead[0].implied);
}

// ---- search language -------------------------------------------------------------------

#[test]
fn search_or_binds_tighter_than_and() {
    let e = expr("a=1 b=2 OR c=3");
    let want = Expr::all(vec![
        p("a", Op::Eq, &["1"]),
        Expr::any(vec![p("b", Op::Eq, &["2"]), p("c", Op::Eq, &["3"])]),
    ]);
    assert_expr(&e, &want);
    let e = expr("NOT a=1 OR b=2");
    let want = Expr::any(vec![
        Expr::not(p("a", Op::Eq, &["1"])),
        p("b", Op::Eq, &["2"]),
    ]);
    assert_expr(&e, &want);
}

#[test]
fn search_values_wildcards_and_in() {
    let e = expr(r#"f=*evil* g="a b" h=* k IN ("x", "y*", z) "m.n"="v""#);
    let want = Expr::all(vec![
        p("f", Op::Glob, &["*evil*"]),
        p("g", Op::Eq, &["a b"]),
        Expr::pred(Predicate::field("h", Op::Exists, vec![])),
        Expr::any(vec![p("k", Op::Eq, &["x", "z"]), p("k", Op::Glob, &["y*"])]),
        p("m.n", Op::Eq, &["v"]),
    ]);
    assert_expr(&e, &want);
}

#[test]
fn search_not_equal_needs_the_field() {
    let e = expr("user!=admin");
    assert_eq!(matches(&e, json!({"user": "bob"})), Verdict::Match);
    assert_eq!(matches(&e, json!({"user": "ADMIN"})), Verdict::NoMatch);
    assert_eq!(matches(&e, json!({})), Verdict::NoMatch);
    let e = expr("NOT user=admin");
    assert_eq!(matches(&e, json!({})), Verdict::Match);
}

#[test]
fn search_values_are_case_insensitive_and_backslashes_literal() {
    let e = expr(r#"Processes.process IN ("*\\appdata\\*") TargetImage=*\\lsass.exe"#);
    let ev = json!({"Processes": {"process": "C:\\Users\\x\\AppData\\evil.exe"},
                    "TargetImage": "C:\\Windows\\System32\\LSASS.EXE"});
    assert_eq!(matches(&e, ev), Verdict::Match);
    let ev = json!({"Processes": {"process": "C:\\AppDataX"}, "TargetImage": "lsass.exe"});
    assert_eq!(matches(&e, ev), Verdict::NoMatch);
    // `?` is not a wildcard in SPL.
    let e = expr("q=a?c");
    assert_eq!(matches(&e, json!({"q": "abc"})), Verdict::NoMatch);
    assert_eq!(matches(&e, json!({"q": "A?C"})), Verdict::Match);
}

#[test]
fn keywords_time_modifiers_and_json_arrays() {
    let e = expr(r#"earliest=-24h mimikatz "sekurlsa::" target{}.id=123"#);
    let want = Expr::all(vec![
        Expr::pred(Predicate::new(
            None,
            Op::Contains,
            vec![Value::str("mimikatz")],
        )),
        Expr::pred(Predicate::new(
            None,
            Op::Contains,
            vec![Value::str("sekurlsa::")],
        )),
        p("target.id", Op::Eq, &["123"]),
    ]);
    assert_expr(&e, &want);
    let ev = json!({"msg": "Running MIMIKATZ sekurlsa::logonpasswords", "target": [{"id": 7}, {"id": 123}]});
    assert_eq!(matches(&e, ev), Verdict::Match);
}

#[test]
fn search_comparisons_are_numeric() {
    let e = expr("bytes>1000");
    assert_eq!(matches(&e, json!({"bytes": 5000})), Verdict::Match);
    assert_eq!(matches(&e, json!({"bytes": "999"})), Verdict::NoMatch);
}

#[test]
fn syntax_errors_become_opaque_with_a_position() {
    let got = parse("a=1 (b=2 | stats count");
    assert!(!got.detection.expr.fully_parsed());
    assert_eq!(got.issues.len(), 1);
    assert!(
        got.issues[0].message.contains("unclosed"),
        "{:?}",
        got.issues
    );
    assert_eq!(got.issues[0].pos, 4);
}

// ---- where / eval ----------------------------------------------------------------------

#[test]
fn where_functions_become_predicates() {
    let e = expr(
        r#"x=1 | where like(cmd, "%-enc%") AND match(path, "(?i)\\\\temp\\\\") AND isnotnull(user) AND len(cmd) > 100 AND lower(host)="dc01""#,
    );
    let Expr::All { items } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(items.len(), 6, "{e:?}");
    let ev = json!({"x": "1", "cmd": format!("powershell -enc {}", "A".repeat(100)),
                    "path": "C:\\TEMP\\a", "user": "bob", "host": "DC01"});
    assert_eq!(matches(&e, ev.clone()), Verdict::Match);
    // like() is case-sensitive.
    let mut ev2 = ev.clone();
    ev2["cmd"] = json!(format!("powershell -ENC {}", "A".repeat(100)));
    assert_eq!(matches(&e, ev2), Verdict::NoMatch);
    let mut ev3 = ev;
    ev3["user"] = serde_json::Value::Null;
    assert_eq!(matches(&e, ev3), Verdict::NoMatch);
}

#[test]
fn where_and_binds_tighter_than_or_and_compares_exactly() {
    let e = expr(r#"| where a="x" OR b="y" AND c="z""#);
    assert_eq!(matches(&e, json!({"a": "x"})), Verdict::Match);
    assert_eq!(matches(&e, json!({"b": "y"})), Verdict::NoMatch);
    assert_eq!(matches(&e, json!({"a": "X"})), Verdict::NoMatch);
    let e = expr(r#"| where LIKE (p, "%find%") OR NOT c IN ("a", "b")"#);
    assert!(e.fully_parsed(), "{e:?}");
    let e = expr("| where src_dc >= 10 AND .25 > (success/failure)");
    assert!(!e.fully_parsed());
    let Expr::All { items } = &e else { panic!() };
    assert!(
        matches!(&items[0], Expr::Pred(p) if p.op == Op::Gte && p.values == vec![Value::Num(10.0)])
    );
}

#[test]
fn where_compares_two_fields() {
    let e = expr("| where src_user != user");
    assert_eq!(
        matches(&e, json!({"src_user": "a", "user": "b"})),
        Verdict::Match
    );
    assert_eq!(
        matches(&e, json!({"src_user": "a", "user": "a"})),
        Verdict::NoMatch
    );
}

#[test]
fn like_patterns_translate_to_globs() {
    assert_eq!(eval::like_to_glob("%a_b*c%"), "*a?b\\*c*");
}

#[test]
fn transforms_keep_their_field() {
    let e = expr(r#"| where upper(x)="AB""#);
    let Expr::Pred(p) = &e else { panic!("{e:?}") };
    assert_eq!(p.transform, Some(Transform::Upper));
    assert!(p.case_sensitive);
}

// ---- pipeline semantics ----------------------------------------------------------------

#[test]
fn okta_api_token_tstats() {
    let got = parse(
        "| tstats count min(_time) as firstTime from datamodel=Change \
         where All_Changes.action=created All_Changes.command=system.api_token.create \
         by All_Changes.user All_Changes.src | `drop_dm_object_name(\"All_Changes\")` \
         | `okta_new_api_token_created_filter`",
    );
    let want = Expr::all(vec![
        p("All_Changes.action", Op::Eq, &["created"]),
        p("All_Changes.command", Op::Eq, &["system.api_token.create"]),
    ]);
    assert_expr(&got.detection.expr, &want);
    assert_eq!(got.data_models, vec!["Change"]);
    let outs: Vec<(String, Option<String>)> = got
        .detection
        .output_fields
        .iter()
        .map(|o| (o.name.clone(), o.source.clone()))
        .collect();
    assert_eq!(
        outs,
        vec![
            ("user".into(), Some("All_Changes.user".into())),
            ("src".into(), Some("All_Changes.src".into())),
            ("count".into(), None),
            ("firstTime".into(), Some("min(_time)".into())),
        ]
    );
}

#[test]
fn filters_after_renames_use_the_event_names() {
    let e = expr(
        "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe \
         by Processes.process Processes.dest | rename Processes.* AS * | rename dest as host \
         | search process=\"*whoami*\" | where host!=\"dc01\"",
    );
    let ev = json!({"Processes": {"process_name": "cmd.exe", "process": "cmd /c whoami", "dest": "ws1"}});
    assert_eq!(matches(&e, ev), Verdict::Match);
    let preds: Vec<String> = e
        .predicates()
        .iter()
        .filter_map(|(p, _)| p.field.clone())
        .collect();
    assert!(
        preds.contains(&"Processes.process".to_string()),
        "{preds:?}"
    );
    assert!(preds.contains(&"Processes.dest".to_string()), "{preds:?}");
}

#[test]
fn thresholds_on_aggregates_are_stateful() {
    let e = expr(
        "eventType=user.session.start outcome.result=FAILURE \
         | stats dc(user) as users values(app) as app by src | where users > 5 AND app=\"okta\"",
    );
    let Expr::Aggregate { description, item } = &e else {
        panic!("{e:?}")
    };
    assert!(
        description.starts_with("stats dc(user) as users"),
        "{description}"
    );
    assert!(description.ends_with("where users > 5 AND app=\"okta\""));
    // `values(app)` passes the event's own value through; the threshold stays stateful.
    assert_eq!(item.predicates().len(), 3);
    let ev =
        json!({"eventType": "user.session.start", "outcome": {"result": "FAILURE"}, "app": "okta"});
    assert!(matches!(matches(&e, ev), Verdict::Unknown(_)));
    let ev = json!({"eventType": "user.session.end"});
    assert_eq!(matches(&e, ev), Verdict::NoMatch);
    // Without a threshold, grouping alone is not stateful.
    assert!(matches!(expr("a=1 | stats count by b"), Expr::Pred(_)));
}

#[test]
fn filters_on_computed_fields_are_opaque() {
    let got = parse(
        r#"a=1 | eval n=len(cmd)+1 | rex field=x "(?<who>\w+)@" | where n > 5 | search who=root"#,
    );
    let Expr::All { items } = &got.detection.expr else {
        panic!()
    };
    assert_eq!(items.len(), 3);
    let reasons: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Expr::Opaque { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            "filters on `n` (computed by `eval`)",
            "filters on `who` (computed by `rex`)"
        ]
    );
    // An eval alias keeps the event's field.
    let e = expr("a=1 | eval u=user | where u=\"bob\"");
    assert!(e.fully_parsed());
    assert_eq!(matches(&e, json!({"a": 1, "user": "bob"})), Verdict::Match);
    // An eval over aggregates is stateful, not opaque.
    let e = expr("a=1 | stats count by u | eval big=if(count>5,1,0) | where big=1");
    assert!(matches!(e, Expr::Aggregate { .. }), "{e:?}");
}

#[test]
fn unknown_commands_keep_their_text() {
    let got = parse("a=1 | frobnicate x=1 | `missing_macro`");
    let Expr::All { items } = &got.detection.expr else {
        panic!()
    };
    assert!(
        matches!(&items[1], Expr::Opaque { text, reason } if text == "frobnicate x=1" && reason.contains("not understood"))
    );
    assert!(
        matches!(&items[2], Expr::Opaque { reason, .. } if reason == "macro `missing_macro` is not defined")
    );
    assert_eq!(got.issues.len(), 2);
}

#[test]
fn joins_are_unordered_correlations() {
    let e = expr(
        "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=a.exe \
         by Processes.process_guid | rename Processes.* as * \
         | join process_guid [| tstats count from datamodel=Endpoint.Registry \
           where Registry.registry_path=\"*\\\\Run\\\\*\" by Registry.process_guid | rename Registry.* as *]",
    );
    let Expr::Sequence {
        ordered, by, steps, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(!ordered);
    assert_eq!(by, &vec!["Processes.process_guid".to_string()]);
    assert_eq!(steps.len(), 2);
    let got = parse("| tstats count from datamodel=Endpoint.Processes by Processes.dest | join type=left dest [search index=x]");
    assert!(!got.detection.expr.fully_parsed());
    assert_eq!(got.data_models, vec!["Endpoint.Processes"]);
}

#[test]
fn lookups_and_data_models_are_collected() {
    let got = parse(
        "| tstats count from datamodel=Network_Resolution.DNS by DNS.query \
         | lookup local=true dynamic_dns query OUTPUT isDynDNS | search isDynDNS=True \
         | join q [| inputlookup seen.csv | fields q]",
    );
    let names: Vec<&str> = got.lookups.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["dynamic_dns", "seen.csv"]);
    assert_eq!(got.data_models, vec!["Network_Resolution.DNS"]);
    assert!(!got.detection.expr.fully_parsed());
    let got = parse("| from datamodel Web.Web | regex _raw=\"jndi:\" | table url src");
    assert_eq!(got.data_models, vec!["Web.Web"]);
    let Expr::Pred(p) = &got.detection.expr else {
        panic!()
    };
    assert_eq!((p.field.clone(), p.op), (None, Op::Regex));
    let names: Vec<&str> = got
        .detection
        .output_fields
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, vec!["url", "src"]);
}

#[test]
fn regex_command_filters() {
    let e = expr(r#"a=1 | regex cmd!="^C:\\\\Windows""#);
    assert_eq!(
        matches(&e, json!({"a": 1, "cmd": "C:\\Windows\\x"})),
        Verdict::NoMatch
    );
    assert_eq!(matches(&e, json!({"a": 1, "cmd": "D:\\x"})), Verdict::Match);
}

#[test]
fn hostile_inputs_do_not_panic() {
    for s in [
        "",
        "|",
        "| | |",
        "`",
        "```",
        "[",
        "]",
        "\"",
        "a=",
        "a IN (",
        "NOT",
        "x OR",
        "| where",
        "| where (",
        "| where f(",
        "| tstats",
        "| tstats where",
        "| tstats by",
        "| stats count by",
        "| rename a as",
        "| eval",
        "| eval =",
        "| rex \"(?<",
        "| lookup",
        "| join [",
        "| regex",
        "a=\"\\",
        "é=ü OR ß",
        "| where 'x",
        "| where -",
        "| where .5.5",
        "| stats values(eval(if(a==\"b\",1,0))) as x by y | where x>",
        "((((((((((a))))))))))",
    ] {
        let _ = parse(s);
        let _ = expand(s, &table(&[("a", &["x"], "$x$ `a($x$)`")]));
    }
    let deep = format!("{}a=1{}", "(".repeat(50), ")".repeat(50));
    assert!(parse(&deep).detection.expr.fully_parsed());
}

#[test]
fn options_with_parentheses_and_generating_subsearches() {
    let e = expr(
        "EventCode=5136 | transaction ObjectDN startswith=(EventCode=5136 Op=\"a\") \
         endswith=(Op=\"b\") | where duration < 300",
    );
    let Expr::Aggregate { item, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(item.predicates().len(), 1);
    // `[mstats ...]` starts with a generating command even without its pipe.
    let stages = pipeline::split("mstats count where index=m by host");
    assert_eq!(stages[0].name, "mstats");
}

#[test]
fn lookups_without_output_may_add_any_field() {
    let got = parse("EventCode=4698 | lookup ut_shannon_lookup word as Task_Name | where ut_shannon > 3 AND EventCode=4698");
    let Expr::All { items } = &got.detection.expr else {
        panic!("{:?}", got.detection.expr)
    };
    // The field named before the lookup is still the event's; the new one is opaque.
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(
        matches!(&items[2], Expr::Opaque { reason, .. } if reason.contains("lookup ut_shannon_lookup")),
        "{items:?}"
    );
}

#[test]
fn eval_lower_upper_len_become_transforms() {
    let e = expr("a=1 | eval l=lower(Image), n = len(cmd) | where l=\"c:\\\\x.exe\" AND n > 3");
    assert!(e.fully_parsed(), "{e:?}");
    let ev = json!({"a": 1, "Image": "C:\\X.EXE", "cmd": "abcd"});
    assert_eq!(matches(&e, ev), Verdict::Match);
    let ev = json!({"a": 1, "Image": "C:\\X.EXE", "cmd": "ab"});
    assert_eq!(matches(&e, ev), Verdict::NoMatch);
}

#[test]
fn hostile_nesting_is_refused_not_overflowed() {
    for s in [
        format!("{}a=1{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("{}a=1", "NOT ".repeat(100_000)),
        format!("| where {}a=1{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("| where {}1", "-".repeat(100_000)),
        format!("| where {}x", "NOT ".repeat(100_000)),
        format!(
            "a=1 {}",
            "| join x [search b=1 ".repeat(2_000) + &"]".repeat(2_000)
        ),
    ] {
        let got = parse(&s);
        assert!(!got.detection.expr.fully_parsed());
    }
}

#[test]
fn exponential_macros_are_capped() {
    let names: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    let defs: Vec<(String, String)> = (0..30)
        .map(|i| {
            let body = if i == 29 {
                "x=1".to_string()
            } else {
                format!("`m{}` `m{}`", i + 1, i + 1)
            };
            (names[i].clone(), body)
        })
        .collect();
    let t = table(
        &defs
            .iter()
            .map(|(n, d)| (n.as_str(), &[][..], d.as_str()))
            .collect::<Vec<_>>(),
    );
    let x = expand("`m0`", &t);
    assert!(x.text.len() < 4 << 20, "{}", x.text.len());
    assert!(!x.unresolved.is_empty());
}
