//! The Python reader on small rules written for these tests: each construct it follows,
//! checked both on the condition it builds and on the matcher's verdicts.

use super::*;
use crate::catalog::indicators;
use crate::model::{Rule, SourceLocation, Vendor};
use crate::verify::matcher::eval;
use crate::verify::Verdict;
use serde_json::{json, Value as J};

const HELPERS: &str = r#"
SERVICE_ACCOUNTS = {"svc-deploy", "svc-backup"}


def is_service_account(event):
    return event.get("actor", {}).get("name") in SERVICE_ACCOUNTS


def acme_alert_context(event):
    return {
        "actor": event.deep_get("actor", "name", default="<unknown>"),
        "ip": event.get("client_ip"),
        "outcome": event.deep_get("outcome", "result"),
    }
"#;

const MODEL: &str = r#"
def get_event_type(event):
    if event.get("action") == "login" and event.deep_get("outcome", "result") == "FAILURE":
        return "failed_login"
    return None
"#;

struct Fixture {
    helpers: BTreeMap<String, Source>,
    models: BTreeMap<String, Vec<(String, Mapping)>>,
    log_types: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        let mut helpers = BTreeMap::new();
        helpers.insert(
            "acme_helpers".to_string(),
            Source::parse("acme_helpers", HELPERS).unwrap(),
        );
        helpers.insert(
            "acme_data_model".to_string(),
            Source::parse("acme_data_model", MODEL).unwrap(),
        );
        let mut models = BTreeMap::new();
        models.insert(
            "Acme.Audit".to_string(),
            vec![
                ("source_ip".to_string(), Mapping::path("$.client.address")),
                (
                    "event_type".to_string(),
                    Mapping::Method {
                        module: Some("acme_data_model".into()),
                        name: "get_event_type".into(),
                    },
                ),
            ],
        );
        Fixture {
            helpers,
            models,
            log_types: vec!["Acme.Audit".to_string()],
        }
    }

    fn read(&self, code: &str, kind: EventKind) -> Reading {
        let src = Source::parse("rule_under_test", code).expect("the test rule parses");
        let ctx = Context {
            helpers: &self.helpers,
            data_models: &self.models,
            log_types: &self.log_types,
            kind,
        };
        read(&src, &ctx)
    }

    fn expr(&self, code: &str) -> Expr {
        self.read(code, EventKind::Rule)
            .expr
            .expect("rule() is defined")
    }
}

fn verdict(e: &Expr, ev: J) -> Verdict {
    eval(e, &ev)
}

fn is(e: &Expr, ev: J, want: bool) {
    let want = if want {
        Verdict::Match
    } else {
        Verdict::NoMatch
    };
    assert_eq!(verdict(e, ev.clone()), want, "on {ev}");
}

fn indicators_of(e: &Expr) -> Vec<String> {
    let mut r = Rule::new(Vendor::Panther, "t", SourceLocation::default());
    r.detection = Some(crate::model::Detection {
        expr: e.clone(),
        output_fields: Vec::new(),
    });
    indicators::of_rule(&r)
        .into_iter()
        .map(|i| format!("{} {} {}", i.field, i.op, i.value))
        .collect()
}

#[test]
fn the_issue_example_gives_two_indicators() {
    let e = Fixture::new().expr(
        r#"
def rule(event):
    return event.get("source_type") == "api_token" and event.get("action") in ["create", "destroy"]
"#,
    );
    assert_eq!(
        indicators_of(&e),
        vec![
            "source_type eq api_token",
            "action eq create",
            "action eq destroy"
        ]
    );
    is(
        &e,
        json!({"source_type": "api_token", "action": "create"}),
        true,
    );
    is(
        &e,
        json!({"source_type": "api_token", "action": "update"}),
        false,
    );
    // Exact and case-sensitive.
    is(
        &e,
        json!({"source_type": "API_TOKEN", "action": "create"}),
        false,
    );
}

#[test]
fn reads_of_the_event_and_missing_keys() {
    let f = Fixture::new();
    let e = f.expr(
        r#"
from panther_base_helpers import deep_get

def rule(event):
    return (
        event.deep_get("user", "type") == "Root"
        and deep_get(event, "session", "mfa", default="false") != "true"
        and event.get("region", "us-east-1") == "us-east-1"
    )
"#,
    );
    // A missing key reads as the default: != holds, == holds for the default.
    is(&e, json!({"user": {"type": "Root"}}), true);
    is(
        &e,
        json!({"user": {"type": "Root"}, "session": {"mfa": "true"}}),
        false,
    );
    is(
        &e,
        json!({"user": {"type": "Root"}, "region": "eu-west-1"}),
        false,
    );
    is(&e, json!({"user": {"type": "IAMUser"}}), false);
    // A value that is not the same type never equals: 200 != "200".
    let e = f.expr("def rule(event):\n    return event.get('code') == '200'\n");
    is(&e, json!({"code": "200"}), true);
    is(&e, json!({"code": 200}), false);
}

#[test]
fn membership_prefixes_substrings_and_case() {
    let e = Fixture::new().expr(
        r#"
SENSITIVE = ("/etc/shadow", "/etc/passwd")

def rule(event):
    path = event.get("path", "")
    if path.startswith(SENSITIVE) or path.endswith((".pem", ".key")):
        return True
    return "mimikatz" in event.get("command", "").lower()
"#,
    );
    is(&e, json!({"path": "/etc/shadow-"}), true);
    is(&e, json!({"path": "/home/a/id.pem"}), true);
    is(&e, json!({"command": "C:\\Tools\\MimiKatz.exe"}), true);
    is(&e, json!({"path": "/tmp/x", "command": "ls"}), false);
    is(&e, json!({}), false);
}

#[test]
fn regexes_and_fnmatch() {
    let e = Fixture::new().expr(
        r#"
import re
from fnmatch import fnmatch

TOKEN = re.compile(r"^ghp_[A-Za-z0-9]{8}", re.IGNORECASE)

def rule(event):
    return bool(TOKEN.search(event.get("secret", ""))) or fnmatch(event.get("host", ""), "db-*.prod")
"#,
    );
    is(&e, json!({"secret": "GHP_abcdefgh"}), true);
    is(&e, json!({"host": "db-7.prod"}), true);
    is(
        &e,
        json!({"secret": "xghp_abcdefgh", "host": "web-1.prod"}),
        false,
    );
}

#[test]
fn guards_if_chains_and_helpers() {
    let e = Fixture::new().expr(
        r#"
from acme_helpers import is_service_account

WATCHED = {"DeleteBucket", "PutBucketPolicy"}

def is_failed(event):
    return event.get("errorCode") is not None

def rule(event):
    if is_failed(event):
        return False
    if is_service_account(event):
        return False
    name = event.get("eventName")
    if name in WATCHED:
        return True
    elif name == "PutBucketAcl":
        return event.deep_get("request", "acl") == "public-read"
    return False
"#,
    );
    is(
        &e,
        json!({"eventName": "DeleteBucket", "actor": {"name": "alice"}}),
        true,
    );
    is(
        &e,
        json!({"eventName": "DeleteBucket", "actor": {"name": "svc-deploy"}}),
        false,
    );
    is(
        &e,
        json!({"eventName": "DeleteBucket", "errorCode": "AccessDenied"}),
        false,
    );
    is(
        &e,
        json!({"eventName": "PutBucketAcl", "request": {"acl": "public-read"}}),
        true,
    );
    is(
        &e,
        json!({"eventName": "PutBucketAcl", "request": {"acl": "private"}}),
        false,
    );
    assert!(e.fully_parsed());
}

#[test]
fn any_all_and_loops_over_lists() {
    let f = Fixture::new();
    let e = f.expr(
        r#"
ADMIN = ["Owner", "Admin"]

def rule(event):
    return any(role in event.get("roles", []) for role in ADMIN)
"#,
    );
    is(&e, json!({"roles": ["Reader", "Admin"]}), true);
    is(&e, json!({"roles": ["Reader"]}), false);
    // One element must satisfy both conditions.
    let e = f.expr(
        r#"
def rule(event):
    for grant in event.get("grants", []):
        if grant.get("permission") == "storage.write" and grant.get("granted") is True:
            return True
    return False
"#,
    );
    is(
        &e,
        json!({"grants": [{"permission": "storage.write", "granted": false}, {"permission": "x", "granted": true}]}),
        false,
    );
    is(
        &e,
        json!({"grants": [{"permission": "x"}, {"permission": "storage.write", "granted": true}]}),
        true,
    );
    let e =
        f.expr("def rule(event):\n    return all(t.get('ok') for t in event.get('checks', []))\n");
    is(&e, json!({"checks": [{"ok": true}, {"ok": true}]}), true);
    is(&e, json!({"checks": [{"ok": true}, {"ok": false}]}), false);
    is(&e, json!({}), true);
}

#[test]
fn data_models_through_udm() {
    let f = Fixture::new();
    let e = f.expr("def rule(event):\n    return event.udm('source_ip') == '10.1.1.1'\n");
    is(
        &e,
        json!({"p_log_type": "Acme.Audit", "client": {"address": "10.1.1.1"}}),
        true,
    );
    // Without p_log_type Panther reads p_udm, then the key itself.
    is(&e, json!({"source_ip": "10.1.1.1"}), true);
    is(&e, json!({"client": {"address": "10.1.1.1"}}), false);
    // A data model method is read like any other function.
    let e = f.expr("def rule(event):\n    return event.udm('event_type') == 'failed_login'\n");
    is(
        &e,
        json!({"p_log_type": "Acme.Audit", "action": "login", "outcome": {"result": "FAILURE"}}),
        true,
    );
    is(
        &e,
        json!({"p_log_type": "Acme.Audit", "action": "login", "outcome": {"result": "SUCCESS"}}),
        false,
    );
}

#[test]
fn strings_split_and_strip() {
    let e = Fixture::new().expr(
        r#"
def rule(event):
    domain = event.get("email", "").split("@")[-1]
    return domain not in ("acme.com", "acme.io") and event.get("query", "").rstrip(".").endswith(".onion")
"#,
    );
    is(
        &e,
        json!({"email": "bob@evil.com", "query": "x.onion."}),
        true,
    );
    is(
        &e,
        json!({"email": "bob@acme.com", "query": "x.onion."}),
        false,
    );
    is(
        &e,
        json!({"email": "bob@evil.com", "query": "x.onion.com"}),
        false,
    );
}

#[test]
fn try_blocks_ip_addresses_json_and_types() {
    let f = Fixture::new();
    let e = f.expr(
        r#"
from ipaddress import ip_address

def rule(event):
    try:
        addr = ip_address(event.get("client_ip"))
    except ValueError:
        return False
    return addr.is_global
"#,
    );
    is(&e, json!({"client_ip": "8.8.8.8"}), true);
    is(&e, json!({"client_ip": "10.0.0.1"}), false);
    is(&e, json!({"client_ip": "not-an-ip"}), false);
    let e = f.expr(
        r#"
import json

def rule(event):
    details = json.loads(event.get("details", "{}"))
    return isinstance(details, dict) and details.get("public") is True
"#,
    );
    // The format adds `details@json` to test events; here it is given directly.
    is(&e, json!({"details@json": {"public": true}}), true);
    is(&e, json!({"details@json": {"public": "true"}}), false);
}

#[test]
fn unknown_code_stays_opaque_with_its_text() {
    let e = Fixture::new().expr(
        r#"
from somewhere_else import score

def rule(event):
    return event.get("action") == "delete" and score(event) > 10
"#,
    );
    assert!(!e.fully_parsed());
    let mut texts = Vec::new();
    e.walk(&mut |x| {
        if let Expr::Opaque { text, .. } = x {
            texts.push(text.clone());
        }
    });
    assert!(
        texts.iter().any(|t| t.contains("score(event)")),
        "{texts:?}"
    );
    // Decided where the known part decides, unknown otherwise.
    is(&e, json!({"action": "create"}), false);
    assert!(matches!(
        verdict(&e, json!({"action": "delete"})),
        Verdict::Unknown(_)
    ));
}

#[test]
fn outputs_from_alert_context_and_title() {
    let r = Fixture::new().read(
        r#"
from acme_helpers import acme_alert_context

def rule(event):
    return True

def title(event):
    return f"{event.get('user')} did {event.deep_get('request', 'action')}"

def alert_context(event):
    return acme_alert_context(event)
"#,
        EventKind::Rule,
    );
    let fields: Vec<(String, Option<String>, Option<String>)> = r
        .output_fields
        .iter()
        .map(|o| (o.name.clone(), o.source.clone(), o.note.clone()))
        .collect();
    assert!(fields.contains(&(
        "actor".into(),
        Some("actor.name".into()),
        Some("alert_context".into())
    )));
    assert!(fields.contains(&("user".into(), None, Some("title".into()))));
    assert!(fields.contains(&("request.action".into(), None, Some("title".into()))));
}

#[test]
fn globals_the_condition_reads_are_reported_for_mocks() {
    let r = Fixture::new().read(
        r#"
ALLOWED = {"acme.com"}

def rule(event):
    return event.get("domain") not in ALLOWED
"#,
        EventKind::Rule,
    );
    assert!(r.reads_globals.contains("ALLOWED"));
}

#[test]
fn policies_read_the_resource() {
    let r = Fixture::new().read(
        r#"
def policy(resource):
    return resource.get("Versioning", {}).get("Status") == "Enabled"
"#,
        EventKind::Policy,
    );
    let e = r.expr.unwrap();
    is(&e, json!({"Versioning": {"Status": "Enabled"}}), true);
    is(&e, json!({"Versioning": {"Status": "Suspended"}}), false);
}

#[test]
fn syntax_errors_have_a_position() {
    let err = Source::parse("bad", "def rule(event):\n    return (\n").unwrap_err();
    assert!(err.line >= 2, "{err:?}");
}

#[test]
fn hostile_rules_end_without_panicking() {
    let f = Fixture::new();
    // Deep nesting, long chains, unbounded recursion and loops too long to unroll.
    let deep = format!(
        "def rule(event):\n    return {}event.get('a') == 1{}\n",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    is(&f.expr(&deep), json!({"a": 1}), true);
    let chain = (0..2000)
        .map(|i| format!("event.get('k{i}') == {i}"))
        .collect::<Vec<_>>()
        .join(" and ");
    let e = f.expr(&format!("def rule(event):\n    return {chain}\n"));
    is(&e, json!({"k0": 0}), false);
    let e = f.expr("def f(e):\n    return f(e)\n\ndef rule(event):\n    return f(event)\n");
    assert!(!e.fully_parsed());
    let e = f.expr(
        "L = list(range(300))\n\ndef rule(event):\n    for a in L:\n        for b in L:\n            if event.get('x') == a * b:\n                return True\n    return False\n",
    );
    assert!(!e.fully_parsed());
    let nested_ifs: String = (0..120)
        .map(|i| format!("{}if event.get('k{i}'):\n", "    ".repeat(i + 1)))
        .collect();
    let e = f.expr(&format!(
        "def rule(event):\n{nested_ifs}{}return True\n    return False\n",
        "    ".repeat(121)
    ));
    let _ = verdict(&e, json!({}));
}

/// Values re-branched on in a loop double at each turn; the reader caps them instead of
/// growing without bound (a real rule took 2.3 GB before the cap).
#[test]
fn values_that_branch_on_every_path_stay_bounded() {
    let f = Fixture::new();
    let turns = (0..40)
        .map(|i| format!("    if event.get('k{i}') == v:\n        v = event.get('a{i}')\n    else:\n        v = event.get('b{i}')\n"))
        .collect::<String>();
    let e = f.expr(&format!(
        "def rule(event):\n    v = event.get('start')\n{turns}    return v == 'x'\n"
    ));
    let mut too_many = false;
    e.walk(&mut |n| {
        if let Expr::Opaque { reason, .. } = n {
            too_many |= reason == super::sym::TOO_MANY_PATHS;
        }
    });
    assert!(too_many, "{e:?}");
}

/// A `try:` body with more ways to raise than the reader keeps: the rest become one
/// opaque possibility, so the condition says "unknown" rather than guessing.
#[test]
fn many_ways_to_raise_become_one_opaque_entry() {
    let f = Fixture::new();
    let body = (0..100)
        .map(|i| format!("        v{i} = event['k{i}']['x']\n"))
        .collect::<String>();
    let e = f.expr(&format!(
        "def rule(event):\n    try:\n{body}    except Exception:\n        return False\n    return True\n"
    ));
    let mut capped = false;
    e.walk(&mut |n| {
        if let Expr::Opaque { text, .. } = n {
            capped |= text == "an exception on one of many paths";
        }
    });
    assert!(capped, "{e:?}");
    // The first ways to raise are still exact.
    is(&e, json!({"k1": {"x": 1}}), false);
}
