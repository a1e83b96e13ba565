use super::*;
use crate::model::{Detection, Expr, Predicate, Query, SourceLocation, Value, Vendor};

fn rule(vendor: Vendor, id: &str) -> Rule {
    Rule::new(vendor, id, SourceLocation::default())
}

fn with_facets(vendor: Vendor, facets: &[(FacetKind, &str)]) -> Rule {
    let mut r = rule(vendor, "x");
    for (k, v) in facets {
        r.facet(*k, *v);
    }
    r
}

fn with_query(vendor: Vendor, language: Language, text: &str) -> Rule {
    let mut r = rule(vendor, "x");
    r.query = Some(Query {
        language,
        text: text.to_string(),
    });
    r
}

fn eq(field: &str, value: &str) -> Expr {
    Expr::pred(Predicate::field(field, Op::Eq, vec![Value::str(value)]))
}

#[test]
fn embedded_table_parses_and_names_are_unique() {
    let t = Table::parse(DATA).unwrap();
    let names = t.names();
    assert!(names.len() >= 60, "{} sources", names.len());
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
}

#[test]
fn okta_is_one_name_for_every_vendor() {
    let okta = "Okta System Log";
    let cases = vec![
        with_facets(
            Vendor::Sigma,
            &[
                (FacetKind::Product, "okta"),
                (FacetKind::LogSource, "okta/okta"),
            ],
        ),
        with_facets(Vendor::Panther, &[(FacetKind::LogType, "Okta.SystemLog")]),
        with_facets(Vendor::Sentinel, &[(FacetKind::Table, "OktaV2_CL")]),
        with_facets(Vendor::Splunk, &[(FacetKind::DataSource, "Okta")]),
        with_facets(Vendor::Elastic, &[(FacetKind::Integration, "okta")]),
        with_facets(Vendor::Chronicle, &[(FacetKind::LogType, "OKTA")]),
        // No facet: the table is read from the KQL text, strings and comments ignored.
        with_query(
            Vendor::Sentinel,
            Language::Kql,
            "// Okta_CL is old\nOktaSSO\n| where eventType_s == \"SigninLogs\"",
        ),
    ];
    for r in &cases {
        assert_eq!(canonical(r), vec![okta], "{:?}", r.facets);
    }
    let kql = &cases[6];
    assert!(!canonical(kql).contains(&"Entra ID sign-in logs"));
}

#[test]
fn splunk_lists_are_split() {
    let r = with_facets(
        Vendor::Splunk,
        &[(
            FacetKind::DataSource,
            "Sysmon EventID 1 AND Sysmon EventID 11",
        )],
    );
    assert_eq!(
        canonical(&r),
        vec!["Process creation (Windows)", "File events (Windows)"]
    );
}

#[test]
fn elastic_activity_and_os_come_from_the_query() {
    let mut r = with_query(
        Vendor::Elastic,
        Language::Eql,
        "/* process where */ process where host.os.type == \"linux\" and process.name : \"curl\"",
    );
    r.facet(FacetKind::IndexPattern, "logs-endpoint.events.*");
    assert_eq!(canonical(&r), vec!["Process creation (Linux)"]);

    // Same, without any OS: the family fallback applies.
    let mut r = with_query(
        Vendor::Elastic,
        Language::Eql,
        "process where process.name : \"x\"",
    );
    r.facet(FacetKind::IndexPattern, "endgame-*");
    assert_eq!(canonical(&r), vec!["Process creation (any OS)"]);

    // A sequence names every category of its steps.
    let mut r = with_query(
        Vendor::Elastic,
        Language::Eql,
        "sequence by host.id [process where true] [network where true]",
    );
    r.facet(FacetKind::Tag, "OS: Windows");
    r.facet(FacetKind::Integration, "endpoint");
    assert_eq!(
        canonical(&r),
        vec![
            "Process creation (Windows)",
            "Network connections (Windows)"
        ]
    );
}

#[test]
fn kuery_category_is_read_from_the_ir_or_the_text() {
    let mut r = rule(Vendor::Elastic, "x");
    r.facet(FacetKind::IndexPattern, "logs-windows.sysmon_operational-*");
    r.detection = Some(Detection {
        expr: Expr::all(vec![
            eq("event.category", "registry"),
            eq("registry.path", "x"),
        ]),
        output_fields: vec![],
    });
    assert_eq!(canonical(&r), vec!["Registry events (Windows)"]);

    let mut r = with_query(
        Vendor::Elastic,
        Language::Kuery,
        "event.category:file and host.os.type:macos and file.path:/tmp/*",
    );
    r.facet(FacetKind::Integration, "endpoint");
    assert_eq!(canonical(&r), vec!["File events (macOS)"]);
}

#[test]
fn negated_predicates_do_not_count() {
    let mut r = rule(Vendor::Chronicle, "x");
    r.detection = Some(Detection {
        expr: Expr::all(vec![
            eq("$e.metadata.product_name", "Okta"),
            Expr::not(eq("$e.metadata.vendor_name", "AMAZON")),
        ]),
        output_fields: vec![],
    });
    assert_eq!(canonical(&r), vec!["Okta System Log"]);
}

#[test]
fn spl_macros_and_datamodels() {
    let r = with_query(
        Vendor::Splunk,
        Language::Spl,
        "`cloudtrail` eventName=CreateAccessKey | stats count by user | `x_filter`",
    );
    assert_eq!(canonical(&r), vec!["AWS CloudTrail"]);
    let r = with_query(
        Vendor::Splunk,
        Language::Spl,
        "| tstats count from datamodel=Network_Resolution.DNS by DNS.query",
    );
    assert_eq!(canonical(&r), vec!["DNS logs (network)"]);
}

#[test]
fn any_fallback_only_when_nothing_else_matched() {
    let r = with_facets(
        Vendor::Sigma,
        &[(FacetKind::LogSource, "windows/appxdeployment-server")],
    );
    assert_eq!(canonical(&r), vec!["Windows event log (other channels)"]);
    let r = with_facets(
        Vendor::Sigma,
        &[
            (FacetKind::Product, "windows"),
            (FacetKind::LogSource, "windows/security"),
        ],
    );
    assert_eq!(canonical(&r), vec!["Windows Security event log"]);
}

#[test]
fn unmapped_rules_get_nothing() {
    let r = with_facets(Vendor::Sigma, &[(FacetKind::LogSource, "acme/widget")]);
    assert!(canonical(&r).is_empty());
}

#[test]
fn families() {
    assert_eq!(
        family("Process creation (any OS)"),
        Some("Process creation")
    );
    assert_eq!(family("Okta System Log"), Some("Okta System Log"));
    assert_eq!(family("nope"), None);
}

#[test]
fn bad_tables_are_rejected_with_a_reason() {
    let bad = |t: &str| Table::parse(t).unwrap_err();
    assert!(bad("[[source]]\nname='a'\nmatch=['colour = red']").contains("unknown key"));
    assert!(bad("[[source]]\nname='a'\nmatch=['hint = nope']").contains("unknown hint"));
    assert!(bad("[[source]]\nname='a'\nmatch=['table']").contains("no `=`"));
    assert!(bad("[[source]]\nname='a'\nmatch=[]").contains("empty"));
    let twice = "[[source]]\nname='a'\nmatch=['table=x']\n[[source]]\nname='a'\nmatch=['table=y']";
    assert!(bad(twice).contains("twice"));
    // One name, a firm entry and a fallback entry: allowed.
    let two = "[[source]]\nname='a'\nmatch=['table=x']\n[[source]]\nname='a'\nfallback='any'\nmatch=['table=y']";
    let t = Table::parse(two).unwrap();
    assert_eq!(t.names(), vec!["a"]);
    assert!(bad("[[source]]\nname='a'\nfallback='x'\nmatch=['table=x']").contains("fallback"));
}

#[test]
fn globs() {
    let g = Glob::new("logs-endpoint.events.*");
    assert!(g.matches("logs-endpoint.events.process-*"));
    assert!(!g.matches("logs-endpoint.alerts-*"));
    let g = Glob::new("*sysmon*");
    assert!(g.matches("microsoft sysmon"));
    assert!(g.matches("sysmon"));
    let g = Glob::new("a*b*c");
    assert!(g.matches("abc") && g.matches("a-b-c") && !g.matches("a-c-b") && !g.matches("abcx"));
    assert!(!Glob::new("ab*ba").matches("aba"));
    assert!(Glob::new("Okta").matches("okta"));
}
