use super::*;
use crate::model::{Expr, Op, Predicate, Transform, Value};
use crate::verify::{matcher::eval, Verdict};
use serde_json::json;

fn a(q: &str) -> Analysis {
    analyze(q, &Functions::default())
}

fn preds(e: &Expr) -> Vec<Predicate> {
    e.predicates().into_iter().map(|(p, _)| p.clone()).collect()
}

fn one_pred(q: &str) -> Predicate {
    let an = a(q);
    let ps = preds(&an.detection.expr);
    assert_eq!(ps.len(), 1, "{q}: {:?}", an.detection.expr);
    ps.into_iter().next().unwrap()
}

#[test]
fn lexer_reads_every_string_form() {
    let (toks, errs) = lexer::lex(
        r#"'a\'b' "c\"d" @"e""f" @'g\h' h"secret" ```multi
line``` 14d 1.5 0x10 !has in~ !in~ project-away"#,
    );
    assert!(errs.is_empty(), "{errs:?}");
    let kinds: Vec<lexer::Tok> = toks.into_iter().map(|t| t.tok).collect();
    use lexer::Tok::*;
    assert_eq!(
        kinds,
        vec![
            Str("a'b".into()),
            Str("c\"d".into()),
            Str("e\"f".into()),
            Str(r"g\h".into()),
            Str("secret".into()),
            Str("multi\nline".into()),
            Timespan("14d".into()),
            Num(1.5),
            Num(16.0),
            Ident("!has".into()),
            Ident("in~".into()),
            Ident("!in~".into()),
            Ident("project-away".into()),
        ]
    );
}

#[test]
fn lexer_reports_unterminated_string_with_position() {
    let (_, errs) = lexer::lex("T | where a == \"open");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].pos, 15);
}

#[test]
fn first_table_and_output_fields() {
    let an = a("SecurityEvent\n| where EventID == 4688\n| project TimeGenerated, Account, Cmd = CommandLine");
    assert_eq!(an.tables, vec!["SecurityEvent"]);
    let names: Vec<&str> = an
        .detection
        .output_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, vec!["TimeGenerated", "Account", "Cmd"]);
    assert_eq!(
        an.detection.output_fields[2].source.as_deref(),
        Some("CommandLine")
    );
    assert!(an.errors.is_empty());
}

#[test]
fn tables_from_union_join_lookup_lets_and_functions() {
    let q = r#"
let lookback = 7d;
let Admins = IdentityInfo | where AssignedRoles has "Admin" | distinct AccountUPN;
let Recent = (since:timespan) { AuditLogs | where TimeGenerated > ago(since) };
union SigninLogs, AADNonInteractiveUserSignInLogs, (OfficeActivity | where Operation == "New-InboxRule")
| where UserPrincipalName in (Admins)
| join kind=inner (Recent(lookback)) on CorrelationId
| lookup kind=leftouter (BehaviorAnalytics | project UserName) on $left.UserPrincipalName == $right.UserName
| extend x = toscalar(Heartbeat | count)
"#;
    let an = a(q);
    assert_eq!(
        an.tables,
        vec![
            "AADNonInteractiveUserSignInLogs",
            "AuditLogs",
            "BehaviorAnalytics",
            "Heartbeat",
            "IdentityInfo",
            "OfficeActivity",
            "SigninLogs"
        ]
    );
    assert!(an.functions.is_empty());
}

#[test]
fn datatable_externaldata_print_are_not_tables() {
    let an = a(r#"let bad = datatable(ip:string)["1.2.3.4", "5.6.7.8"];
let feed = externaldata(h:string)[@"https://example.test/x.txt"] with (format="txt");
print x = 1;
CommonSecurityLog | where SourceIP in (bad) or DestinationIP in (feed)"#);
    assert_eq!(an.tables, vec!["CommonSecurityLog"]);
    // The datatable's first column is substituted; the external feed is opaque.
    let ps = preds(&an.detection.expr);
    assert_eq!(
        ps[0].values,
        vec![Value::str("1.2.3.4"), Value::str("5.6.7.8")]
    );
    assert!(!an.detection.expr.fully_parsed());
}

#[test]
fn parser_functions_resolve_through_the_root() {
    let funcs = Functions::resolve(&[
        (
            vec!["ASimDns".into(), "_ASim_Dns".into()],
            "union isfuzzy=true _ASim_DnsMicrosoftOMS, _ASim_DnsZscaler".into(),
            "Parsers/ASimDns.yaml".into(),
        ),
        (
            vec!["_ASim_DnsMicrosoftOMS".into()],
            "DnsEvents | where EventId == 256".into(),
            "Parsers/ASimDnsMicrosoftOMS.yaml".into(),
        ),
        (
            vec!["_ASim_DnsZscaler".into()],
            "CommonSecurityLog | where DeviceVendor == \"Zscaler\"".into(),
            "Parsers/ASimDnsZscaler.yaml".into(),
        ),
    ]);
    let an = analyze(
        "_ASim_Dns(starttime=ago(1d)) | where DnsQuery has \"evil\"",
        &funcs,
    );
    assert_eq!(an.tables, vec!["CommonSecurityLog", "DnsEvents"]);
    assert_eq!(an.functions, vec!["_ASim_Dns"]);
    assert!(an.unresolved.is_empty());
    // Unknown ASIM parsers are recorded, not taken for tables.
    let an = a("imProcessCreate | where Process has \"x\"");
    assert!(an.tables.is_empty());
    assert_eq!(an.unresolved, vec!["imProcessCreate"]);
}

#[test]
fn operators_keep_kql_case_semantics() {
    let cases: &[(&str, Op, bool, bool)] = &[
        ("T | where A == \"x\"", Op::Eq, true, false),
        ("T | where A =~ \"x\"", Op::Eq, false, false),
        ("T | where A has \"x\"", Op::HasTerm, false, false),
        ("T | where A has_cs \"x\"", Op::HasTerm, true, false),
        ("T | where A contains \"x\"", Op::Contains, false, false),
        ("T | where A contains_cs \"x\"", Op::Contains, true, false),
        ("T | where A startswith \"x\"", Op::StartsWith, false, false),
        ("T | where A endswith_cs \"x\"", Op::EndsWith, true, false),
        ("T | where A matches regex \"x+\"", Op::Regex, true, false),
        ("T | where A in (\"x\", \"y\")", Op::Eq, true, false),
        ("T | where A in~ (\"x\", \"y\")", Op::Eq, false, false),
        (
            "T | where A has_any (\"x\", \"y\")",
            Op::HasTerm,
            false,
            false,
        ),
        (
            "T | where A has_all (\"x\", \"y\")",
            Op::HasTerm,
            false,
            true,
        ),
    ];
    for (q, op, cased, all) in cases {
        let p = one_pred(q);
        assert_eq!(p.op, *op, "{q}");
        assert_eq!(p.case_sensitive, *cased, "{q}");
        assert_eq!(p.all, *all, "{q}");
        assert_eq!(p.field.as_deref(), Some("A"), "{q}");
    }
}

#[test]
fn negations_between_and_emptiness() {
    let an = a("T | where A !in (\"x\") and B !has \"y\" and not(C contains \"z\") and D !between (1 .. 5) and isnotempty(E) and isempty(F)");
    let expr = &an.detection.expr;
    let ps = expr.predicates();
    let negated: Vec<(String, Op, bool)> = ps
        .iter()
        .map(|(p, n)| (p.field.clone().unwrap(), p.op, *n))
        .collect();
    assert_eq!(
        negated,
        vec![
            ("A".into(), Op::Eq, true),
            ("B".into(), Op::HasTerm, true),
            ("C".into(), Op::Contains, true),
            ("D".into(), Op::Gte, true),
            ("D".into(), Op::Lte, true),
            ("E".into(), Op::IsEmpty, true),
            ("F".into(), Op::IsEmpty, false),
        ]
    );
    assert!(expr.fully_parsed());
}

#[test]
fn let_lists_are_substituted() {
    let an = a(r#"let procs = dynamic(["a.exe", "b.exe"]);
let more = pack_array("c.exe");
let one = "d.exe";
DeviceProcessEvents | where FileName in~ (procs) or FileName has_any (more) or FileName == one"#);
    let ps = preds(&an.detection.expr);
    assert_eq!(ps[0].values, vec![Value::str("a.exe"), Value::str("b.exe")]);
    assert_eq!(ps[1].values, vec![Value::str("c.exe")]);
    assert_eq!(ps[2].values, vec![Value::str("d.exe")]);
    assert!(an.detection.expr.fully_parsed());
}

#[test]
fn time_windows_are_dropped() {
    let an = a(r#"let starttime = 14d;
let endtime = ago(1d);
SigninLogs
| where TimeGenerated between (ago(starttime) .. endtime)
| where Timestamp > ago(7d) and ingestion_time() > ago(1h)
| where TimeGenerated >= startofday(now())
| where ResultType == 0"#);
    let ps = preds(&an.detection.expr);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].field.as_deref(), Some("ResultType"));
    assert!(an.detection.expr.fully_parsed());
}

#[test]
fn summarize_wraps_the_filter_in_an_aggregate() {
    let an = a("SigninLogs | where ResultType == \"50126\" | summarize n = count() by IPAddress | where n > 10");
    match &an.detection.expr {
        Expr::Aggregate { description, item } => {
            assert!(description.contains("summarize n = count() by IPAddress"));
            assert!(description.contains("where n > 10"));
            assert_eq!(preds(item).len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let names: Vec<&str> = an
        .detection
        .output_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, vec!["IPAddress", "n"]);
}

#[test]
fn default_aggregate_names() {
    let an = a("T | summarize count(), dcount(User), make_set(IP), min(TimeGenerated) by bin(TimeGenerated, 1h), Host");
    let names: Vec<&str> = an
        .detection
        .output_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "TimeGenerated",
            "Host",
            "count_",
            "dcount_User",
            "set_IP",
            "min_TimeGenerated"
        ]
    );
}

#[test]
fn inner_join_is_a_two_step_sequence() {
    let an = a(r#"let a = OktaSSO | where eventType_s == "x";
let b = OktaSSO | where eventType_s == "y" | extend ip = actor_s;
a | join kind=inner (b) on $left.client_s == $right.ip"#);
    match &an.detection.expr {
        Expr::Sequence { steps, by, .. } => {
            assert_eq!(steps.len(), 2);
            assert_eq!(by, &vec!["$left.client_s == $right.ip".to_string()]);
            assert!(matches!(&steps[0], Expr::Named { name, .. } if name == "a"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn computed_columns_are_followed_or_kept_opaque() {
    let an = a(r#"T
| extend lower = tolower(CommandLine), user = tostring(parse_json(AdditionalFields).User), len = strlen(Cmd)
| extend weird = strcat(A, B)
| where lower has "mimikatz" and user == "admin" and len > 100 and weird == "x""#);
    let ps = preds(&an.detection.expr);
    assert_eq!(ps.len(), 3);
    assert_eq!(ps[0].field.as_deref(), Some("CommandLine"));
    assert_eq!(ps[0].transform, Some(Transform::Lower));
    assert_eq!(ps[1].field.as_deref(), Some("AdditionalFields.User"));
    assert_eq!(ps[2].transform, Some(Transform::Length));
    assert!(!an.detection.expr.fully_parsed());
}

#[test]
fn unknown_operators_are_opaque_and_parse_errors_positioned() {
    let an = a("T | where A == 1 | evaluate autocluster()");
    assert!(!an.detection.expr.fully_parsed());
    // mv-apply conditions test the array's elements.
    let an = a("AuditLogs | mv-apply r = TargetResources on (where r.type =~ \"User\" | extend n = r.name)");
    let ps = preds(&an.detection.expr);
    assert_eq!(ps[0].field.as_deref(), Some("TargetResources.type"));
    assert!(an.detection.expr.fully_parsed());
    let an = a("T\n| where A == ");
    assert_eq!(an.errors.len(), 1);
    assert_eq!(an.errors[0].line, 2);
    assert!(!an.detection.expr.fully_parsed());
}

#[test]
fn statements_without_semicolons_split_on_new_lines() {
    let an = a(
        "DeviceProcessEvents\n| take 100\n\n// next\nDeviceFileEvents\n| where FileName == \"x\"",
    );
    assert_eq!(an.tables, vec!["DeviceFileEvents", "DeviceProcessEvents"]);
    assert!(an.errors.is_empty(), "{:?}", an.errors);
}

#[test]
fn matcher_honours_kql_semantics() {
    let an = a(r#"DeviceProcessEvents
| where FileName =~ "POWERSHELL.EXE" and ProcessCommandLine has "-enc" and AccountName == "Admin""#);
    let e = &an.detection.expr;
    let ev = json!({"FileName": "powershell.exe", "ProcessCommandLine": "powershell -enc AAA", "AccountName": "Admin"});
    assert_eq!(eval(e, &ev), Verdict::Match);
    // `==` is case-sensitive.
    let ev2 = json!({"FileName": "powershell.exe", "ProcessCommandLine": "powershell -enc AAA", "AccountName": "admin"});
    assert_eq!(eval(e, &ev2), Verdict::NoMatch);
    // `has` matches whole terms only.
    let ev3 = json!({"FileName": "powershell.exe", "ProcessCommandLine": "powershell -encoded", "AccountName": "Admin"});
    assert_eq!(eval(e, &ev3), Verdict::NoMatch);
}

#[test]
fn search_and_star_are_keyword_predicates() {
    let p = one_pred("search \"mimikatz\"");
    assert_eq!(p.field, None);
    let p = one_pred("T | where * has \"evil.com\"");
    assert_eq!(p.field, None);
    assert_eq!(p.op, Op::HasTerm);
}

#[test]
fn hostile_input_does_not_panic() {
    let deep = "(".repeat(5000);
    let _ = a(&deep);
    let _ = a(&format!("T | where {}", "not(".repeat(3000)));
    let _ = a("let = ; | | where ) ] } \"unterminated");
    let _ = a("\u{0}\u{feff}T | where x == h@'");
    // Long IOC lists joined by `or`, long pipelines, long `+` chains.
    let iocs: Vec<String> = (0..20000)
        .map(|i| format!("Ip == \"10.0.{}.{}\"", i / 256, i % 256))
        .collect();
    let an = a(&format!("T | where {}", iocs.join(" or ")));
    assert_eq!(preds(&an.detection.expr).len(), 20000);
    let _ = a(&format!("T{}", " | where a == 1".repeat(20000)));
    let _ = a(&format!("T | extend x = {}", vec!["a"; 50000].join(" + ")));
    let _ = a(&format!("T | where x{} == 1", ".a".repeat(50000)));
    let _ = a(&format!("T | where x == {}1", "-".repeat(50000)));
}

#[test]
fn let_parameters_fold_to_constants() {
    // An empty optional parameter disables its filter; a set one keeps it.
    let an = a(r#"let Sha = "";
DeviceFileEvents | where isempty(Sha) or SHA1 == Sha | where FileName has "x""#);
    let ps = preds(&an.detection.expr);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].field.as_deref(), Some("FileName"));
    let an = a(r#"let Sha = "abc";
let IncludeSystem = false;
DeviceFileEvents | where isempty(Sha) or SHA1 == Sha | where IncludeSystem == true or AccountName != "system""#);
    let ps = preds(&an.detection.expr);
    let fields: Vec<&str> = ps.iter().filter_map(|p| p.field.as_deref()).collect();
    assert_eq!(fields, vec!["SHA1", "AccountName"]);
    assert!(an.detection.expr.fully_parsed());
}

#[test]
fn membership_in_a_filtering_query_is_a_semi_join() {
    let an = a(
        r#"let BadIPs = ThreatIntelligenceIndicator | where ConfidenceScore > 70 | distinct NetworkIP;
SigninLogs | where ResultType == 0 and IPAddress in (BadIPs)"#,
    );
    match &an.detection.expr {
        Expr::Sequence { steps, by, .. } => {
            assert_eq!(by, &vec!["IPAddress in (BadIPs)".to_string()]);
            assert_eq!(preds(&steps[0])[0].field.as_deref(), Some("ResultType"));
            assert_eq!(
                preds(&steps[1])[0].field.as_deref(),
                Some("ConfidenceScore")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(an.tables, vec!["SigninLogs", "ThreatIntelligenceIndicator"]);
}

#[test]
fn time_parts_and_enrichment() {
    let an = a("DeviceLogonEvents | where hourofday(Timestamp) !between (6 .. 18)");
    let ps = preds(&an.detection.expr);
    assert_eq!(ps.len(), 2);
    assert!(ps.iter().all(|p| p.transform == Some(Transform::Hour)));
    let ev = json!({"Timestamp": "2026-03-01T02:10:00Z"});
    assert_eq!(eval(&an.detection.expr, &ev), Verdict::Match);
    let ev = json!({"Timestamp": "2026-03-01T11:10:00Z"});
    assert_eq!(eval(&an.detection.expr, &ev), Verdict::NoMatch);
    let an = a("DeviceFileEvents | invoke FileProfile(SHA1, 1000) | where GlobalPrevalence < 50");
    assert!(an.detection.expr.fully_parsed());
    assert_eq!(preds(&an.detection.expr)[0].op, Op::Lt);
}

#[test]
fn legacy_spellings() {
    let p = one_pred("T | where A containscs \"X\"");
    assert_eq!((p.op, p.case_sensitive), (Op::Contains, true));
    let p = one_pred("T | mvexpand B | where B = 5");
    assert_eq!((p.op, p.values.clone()), (Op::Eq, vec![Value::Num(5.0)]));
    let an = a("search in (DeviceFileEvents) \"ntds\" and ActionType:\"FileModified\"");
    assert_eq!(an.tables, vec!["DeviceFileEvents"]);
    let ps = preds(&an.detection.expr);
    assert_eq!(ps[0].field, None);
    assert_eq!(ps[1].field.as_deref(), Some("ActionType"));
}
