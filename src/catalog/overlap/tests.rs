use super::tokens::{normalise, regex_literals};
use super::*;
use crate::model::{
    Detection, Expect, Expr, FacetKind, Op, Predicate, RuleTest, SourceLocation, Value,
};

fn rule(vendor: Vendor, id: &str, techniques: &[&str], expr: Expr) -> Rule {
    let mut r = Rule::new(vendor, id, SourceLocation::default());
    r.techniques = techniques.iter().map(|t| t.to_string()).collect();
    r.detection = Some(Detection {
        expr,
        output_fields: vec![],
    });
    r
}

fn p(field: &str, op: Op, values: &[&str]) -> Expr {
    Expr::pred(Predicate::field(
        field,
        op,
        values.iter().map(|v| Value::str(*v)).collect(),
    ))
}

fn find(rules: &[Rule], vendor: Vendor, id: &str) -> usize {
    rules
        .iter()
        .position(|r| r.vendor == vendor && r.id == id)
        .unwrap()
}

/// Background rules so that rarity weights mean something: each tests its own value plus
/// one of a few common ones.
fn background(n: usize) -> Vec<Rule> {
    (0..n)
        .map(|i| {
            let vendor = Vendor::ALL[i % Vendor::ALL.len()];
            rule(
                vendor,
                &format!("bg-{i}"),
                &[],
                Expr::all(vec![
                    p("a", Op::Eq, &[&format!("background-value-{i}")]),
                    p("b", Op::Eq, &[["cmd.exe", "powershell.exe", "4624"][i % 3]]),
                ]),
            )
        })
        .collect()
}

#[test]
fn values_are_normalised() {
    assert_eq!(normalise("\\certutil.exe", Op::EndsWith), vec!["certutil"]);
    assert_eq!(
        normalise("C:\\Windows\\System32\\CertUtil.exe", Op::Eq),
        vec!["certutil", "c:/windows/system32/certutil"]
    );
    assert_eq!(normalise("*urlcache*", Op::Glob), vec!["urlcache"]);
    assert_eq!(normalise(" -urlcache ", Op::Contains), vec!["urlcache"]);
    assert_eq!(normalise("/urlcache", Op::Contains), vec!["urlcache"]);
    assert_eq!(normalise("certutil\\.exe$", Op::Regex), vec!["certutil"]);
    assert_eq!(
        normalise("\"system.api_token.create\"", Op::Eq),
        vec!["system.api_token.create"]
    );
    assert_eq!(
        normalise("vssadmin.exe delete shadows /all /quiet", Op::Contains),
        vec![
            "vssadmin",
            "delete",
            "shadows",
            "quiet",
            "vssadmin.exe delete shadows /all /quiet"
        ]
    );
    // Slashes of an API name are not a path.
    assert_eq!(
        normalise(
            "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
            Op::Eq
        ),
        vec!["microsoft.compute/virtualmachines/runcommand/action"]
    );
    assert_eq!(
        normalise("/etc/passwd", Op::Eq),
        vec!["passwd", "etc/passwd"]
    );
    assert_eq!(
        super::tokens::normalise_weighted("iam.amazonaws.com", Op::Eq),
        vec![("iam.amazonaws.com".to_string(), super::tokens::SERVICE)]
    );
    assert!(normalise("true", Op::Eq).is_empty());
    assert!(normalise("/c", Op::Contains).is_empty());
    assert!(normalise("anything", Op::Exists).is_empty());
}

#[test]
fn regex_literal_runs() {
    assert_eq!(
        regex_literals(r"(?i)^c:\\windows\\.*\\(cmd|powershell)\.exe$"),
        vec!["c:\\windows\\", "\\", "cmd", "powershell", ".exe"]
    );
    assert_eq!(
        regex_literals(r"foo[0-9]{2,3}bar\d+baz"),
        vec!["foo", "bar", "baz"]
    );
    assert_eq!(regex_literals(r"abcs?"), vec!["abc"]);
}

/// The Okta API-token example: six vendors, six field names, one value.
fn okta_fixture() -> Vec<Rule> {
    let v = "system.api_token.create";
    let mut rules = background(70);
    rules.push(rule(
        Vendor::Sigma,
        "sigma-okta-token",
        &["T1136"],
        p("eventtype", Op::Eq, &[v]),
    ));
    rules.push(rule(
        Vendor::Splunk,
        "splunk-okta-token",
        &["T1078.001"],
        p("All_Changes.command", Op::Eq, &[v]),
    ));
    rules.push(rule(
        Vendor::Elastic,
        "elastic-okta-token",
        &["T1136"],
        Expr::all(vec![
            p("event.dataset", Op::Eq, &["okta.system"]),
            p("event.action", Op::Eq, &[v]),
        ]),
    ));
    rules.push(rule(
        Vendor::Chronicle,
        "chronicle-okta-token",
        &[],
        Expr::all(vec![
            p("$token.metadata.product_name", Op::Eq, &["Okta"]),
            p("$token.metadata.product_event_type", Op::Eq, &[v]),
            p(
                "$token.security_result.summary",
                Op::Eq,
                &["Create API token"],
            ),
        ]),
    ));
    rules.push(rule(
        Vendor::Sentinel,
        "sentinel-okta-token",
        &["T1134"],
        Expr::all(vec![
            p("eventType_s", Op::Eq, &[v]),
            p("outcome_result_s", Op::Eq, &["SUCCESS"]),
        ]),
    ));
    // Panther: no readable logic, only test events.
    let mut panther = Rule::new(
        Vendor::Panther,
        "Okta.APIKeyCreated",
        SourceLocation::default(),
    );
    panther.facet(FacetKind::LogType, "Okta.SystemLog");
    panther.tests = vec![RuleTest {
        name: "created".into(),
        events: vec![serde_json::json!({
            "eventType": v,
            "actor": {"alternateId": "someone@example.com"},
            "client": {"ipAddress": "198.51.100.7"},
            "outcome": {"result": "SUCCESS"},
            "debugContext": {"debugData": {"requestUri": "/api/v1/tokens-fixture"}},
        })],
        expect: Expect::Match,
        unsupported: None,
        location: None,
    }];
    rules.push(panther);
    // Distractors: other Okta events and an unrelated value.
    rules.push(rule(
        Vendor::Sigma,
        "sigma-okta-revoke",
        &["T1136"],
        p("eventtype", Op::Eq, &["system.api_token.revoke"]),
    ));
    rules.push(rule(
        Vendor::Elastic,
        "elastic-okta-mfa",
        &[],
        p("event.action", Op::Eq, &["user.mfa.factor.deactivate"]),
    ));
    rules.push(rule(
        Vendor::Splunk,
        "splunk-okta-mfa",
        &[],
        p(
            "All_Changes.command",
            Op::Eq,
            &["user.mfa.factor.deactivate"],
        ),
    ));
    rules
}

#[test]
fn okta_api_token_rules_form_one_group() {
    let rules = okta_fixture();
    let ov = compute_with(&rules, &Params::default());
    let ids = [
        (Vendor::Sigma, "sigma-okta-token"),
        (Vendor::Splunk, "splunk-okta-token"),
        (Vendor::Elastic, "elastic-okta-token"),
        (Vendor::Chronicle, "chronicle-okta-token"),
        (Vendor::Sentinel, "sentinel-okta-token"),
        (Vendor::Panther, "Okta.APIKeyCreated"),
    ];
    let members: Vec<usize> = ids.iter().map(|(v, id)| find(&rules, *v, id)).collect();
    let g = ov.group_of[members[0]].clone();
    assert_eq!(g.len(), 1, "one group for the Sigma rule");
    let group = &ov.groups[g[0]];
    let mut expected = members.clone();
    expected.sort_by_key(|&r| (rules[r].vendor, r));
    assert_eq!(group.rules, expected);
    assert_eq!(
        group.label.first().map(String::as_str),
        Some("system.api_token.create")
    );
    // The MFA pair forms its own group; the revoke rule has no partner on another platform.
    let revoke = find(&rules, Vendor::Sigma, "sigma-okta-revoke");
    assert!(ov.group_of[revoke].is_empty());
    let mfa = find(&rules, Vendor::Elastic, "elastic-okta-mfa");
    assert_eq!(ov.groups[ov.group_of[mfa][0]].rules.len(), 2);
    // The Panther rule is found through its test event, with a lower weight.
    let panther = members[5];
    assert_eq!(ov.features[panther].evidence, Evidence::TestEvents);
    let top = ov.top(members[0], Vendor::Panther, 5);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].rule, panther);
    assert_eq!(top[0].shared[0].token, "system.api_token.create");
    assert_eq!(top[0].shared[0].theirs[0].field, "test event");
    // Test-event values no rule's logic tests are not tokens.
    assert!(ov.origins(panther, "api/v1/tokens-fixture").is_empty());
    assert!(!ov.origins(panther, "system.api_token.create").is_empty());
}

#[test]
fn neighbours_per_vendor_rank_the_closer_action_first() {
    let mut rules = background(60);
    let img = |v: &str| p("Image", Op::EndsWith, &[v]);
    rules.push(rule(
        Vendor::Sigma,
        "sigma-urlcache",
        &["T1105"],
        Expr::all(vec![
            img("\\certutil.exe"),
            p("CommandLine", Op::Contains, &[" -urlcache ", " -f "]),
        ]),
    ));
    rules.push(rule(
        Vendor::Sigma,
        "sigma-encode",
        &["T1027"],
        Expr::all(vec![
            img("\\certutil.exe"),
            p("CommandLine", Op::Contains, &["-encode"]),
        ]),
    ));
    rules.push(rule(
        Vendor::Splunk,
        "splunk-urlcache",
        &["T1105"],
        Expr::all(vec![
            p("Processes.process_name", Op::Eq, &["certutil.exe"]),
            p("Processes.process", Op::Glob, &["*urlcache*"]),
        ]),
    ));
    rules.push(rule(
        Vendor::Splunk,
        "splunk-encode",
        &["T1027"],
        Expr::all(vec![
            p("Processes.process_name", Op::Eq, &["certutil.exe"]),
            p("Processes.process", Op::Glob, &["*-encode*"]),
        ]),
    ));
    // Shares only an excluded value: no link.
    rules.push(rule(
        Vendor::Elastic,
        "elastic-filtered",
        &[],
        Expr::all(vec![
            p("process.name", Op::Eq, &["wmic.exe"]),
            Expr::not(p("process.args", Op::Eq, &["urlcache"])),
        ]),
    ));
    let ov = compute_with(&rules, &Params::default());
    let a = find(&rules, Vendor::Sigma, "sigma-urlcache");
    let top = ov.top(a, Vendor::Splunk, 5);
    assert_eq!(rules[top[0].rule].id, "splunk-urlcache");
    assert!(top[0].same_technique);
    assert!(top.len() < 2 || top[1].score < top[0].score);
    let shared: Vec<&str> = top[0].shared.iter().map(|s| s.token.as_str()).collect();
    assert_eq!(shared, vec!["urlcache", "certutil"]);
    assert_eq!(top[0].shared[0].ours[0].field, "CommandLine");
    assert_eq!(top[0].shared[0].theirs[0].value, "*urlcache*");
    // Own platform: the encode rule shares certutil.
    let own = ov.top(a, Vendor::Sigma, 5);
    assert!(own.iter().any(|n| rules[n.rule].id == "sigma-encode"));
    assert!(own.iter().all(|n| n.rule != a));
    // Negated values give nothing.
    let f = find(&rules, Vendor::Elastic, "elastic-filtered");
    assert!(ov.top(f, Vendor::Sigma, 5).is_empty());
    assert_eq!(ov.origins(a, "urlcache")[0].value, " -urlcache ");
}

#[test]
fn common_values_are_not_distinctive() {
    let rules = background(200);
    let ov = compute_with(
        &rules,
        &Params {
            max_df: Some(20),
            ..Params::default()
        },
    );
    // `cmd.exe` is held by ~67 rules: above max_df, so no rule has a neighbour.
    assert!(ov.neighbours.iter().all(Vec::is_empty));
    assert!(ov.groups.is_empty());
}

#[test]
fn data_source_disagreement_lowers_the_score() {
    let mut rules = background(60);
    let mut a = rule(
        Vendor::Sigma,
        "a",
        &[],
        p("x", Op::Eq, &["shared-value-123"]),
    );
    a.facet(FacetKind::LogSource, "okta/okta");
    let mut b = rule(
        Vendor::Elastic,
        "b",
        &[],
        p("y", Op::Eq, &["shared-value-123"]),
    );
    b.facet(FacetKind::Integration, "okta");
    let mut c = rule(
        Vendor::Elastic,
        "c",
        &[],
        p("y", Op::Eq, &["shared-value-123"]),
    );
    c.facet(FacetKind::Integration, "github");
    rules.extend([a, b, c]);
    let ov = compute_with(&rules, &Params::default());
    let top = ov.top(find(&rules, Vendor::Sigma, "a"), Vendor::Elastic, 5);
    assert_eq!(rules[top[0].rule].id, "b");
    assert!(top[0].same_source);
    assert!(top[1].score < top[0].score && !top[1].same_source);
}

#[test]
fn large_components_are_split() {
    // A chain of rules alternating vendors, each sharing one value with the next.
    let mut rules = background(80);
    for i in 0..40 {
        let vendor = if i % 2 == 0 {
            Vendor::Sigma
        } else {
            Vendor::Splunk
        };
        rules.push(rule(
            vendor,
            &format!("chain-{i}"),
            &[],
            Expr::all(vec![
                p("f", Op::Eq, &[&format!("link-value-{i}")]),
                p("f", Op::Eq, &[&format!("link-value-{}", i + 1)]),
            ]),
        ));
    }
    let params = Params {
        max_group: 6,
        ..Params::default()
    };
    let ov = compute_with(&rules, &params);
    assert!(ov.groups.iter().all(|g| g.rules.len() <= 6));
}

#[test]
fn output_is_deterministic() {
    let rules = okta_fixture();
    let a = compute_with(&rules, &Params::default());
    let b = compute_with(&rules, &Params::default());
    let key = |o: &Overlap| {
        (
            o.neighbours
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|n| (n.rule, n.score.to_bits()))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
            o.groups.iter().map(|g| g.rules.clone()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(key(&a), key(&b));
}

#[test]
fn top_by_vendor_lists_each_vendor_once() {
    let rules = okta_fixture();
    let ov = compute_with(&rules, &Params::default());
    let a = find(&rules, Vendor::Sigma, "sigma-okta-token");
    let lists = ov.top_by_vendor(a, 5);
    let vendors: Vec<Vendor> = lists.iter().map(|(v, _)| *v).collect();
    let mut sorted = vendors.clone();
    sorted.dedup();
    assert_eq!(vendors, sorted);
    assert!(lists.iter().all(|(v, l)| l.iter().all(|n| n.vendor == *v)));
    assert!(ov.top(a, Vendor::Splunk, 0).is_empty());
}

#[test]
fn a_broad_rule_does_not_glue_groups() {
    let mut rules = background(70);
    let one = |v: Vendor, id: &str, value: &str| rule(v, id, &[], p("op", Op::Eq, &[value]));
    rules.push(one(Vendor::Sigma, "s-x", "action.x.create"));
    rules.push(one(Vendor::Elastic, "e-x", "action.x.create"));
    rules.push(one(Vendor::Sigma, "s-y", "action.y.delete"));
    rules.push(one(Vendor::Elastic, "e-y", "action.y.delete"));
    let listed: Vec<String> = (0..6).map(|i| format!("action.z{i}.other")).collect();
    let mut values: Vec<&str> = vec!["action.x.create", "action.y.delete"];
    values.extend(listed.iter().map(String::as_str));
    rules.push(rule(
        Vendor::Sentinel,
        "k-broad",
        &[],
        p("OperationName", Op::Eq, &values),
    ));
    // The listed values must be held twice to count at all.
    for (i, v) in listed.iter().enumerate() {
        rules.push(one(Vendor::Chronicle, &format!("c-{i}"), v));
    }
    let ov = compute_with(&rules, &Params::default());
    let broad = find(&rules, Vendor::Sentinel, "k-broad");
    let sx = find(&rules, Vendor::Sigma, "s-x");
    // The broad rule is a neighbour of each narrow one ...
    assert_eq!(ov.top(sx, Vendor::Sentinel, 5)[0].rule, broad);
    assert!(ov.top(sx, Vendor::Sentinel, 5)[0].balance < 0.25);
    // ... but the two actions stay apart, and the broad rule is in no group.
    let gx = &ov.groups[ov.group_of[sx][0]];
    let ids: Vec<&str> = gx.rules.iter().map(|&r| rules[r].id.as_str()).collect();
    assert_eq!(ids, vec!["s-x", "e-x"]);
    assert!(ov.group_of[broad].is_empty());
}
