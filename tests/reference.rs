//! Microsoft's Solutions Analyzer reference (issue 12): table, connector, solution and
//! parser pages with the reference facts, "Tables used" on rule pages, `tables.csv` /
//! `tables.json`. The fixture (`tests/fixtures/reference/`) is our own; the corpus test
//! reads `$RULEDEX_CORPUS/sentinel` with its `reference/` folder and is skipped without it.

use ruledex::config::Config;
use ruledex::discover::RootSpec;
use ruledex::model::{FacetKind, Vendor};
use ruledex::pipeline::{self, Build};
use ruledex::render;
use ruledex::render::context::paths;
use ruledex::verify::checks::Check;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn page(out: &Path, rel: &str) -> String {
    std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn rule_page(build: &Build, vendor: Vendor, path_end: &str) -> String {
    let i = build
        .catalog
        .rules
        .iter()
        .position(|r| r.vendor == vendor && r.source.path.ends_with(path_end))
        .unwrap_or_else(|| panic!("no rule {path_end}"));
    format!("{}.html", paths::rule(&build.catalog, i))
}

fn facet_page(build: &Build, kind: FacetKind, value: &str) -> String {
    let p =
        paths::facet(&build.catalog, kind, value).unwrap_or_else(|| panic!("no page for {value}"));
    format!("{p}.html")
}

#[test]
fn fixture_reference_pages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
    let build = pipeline::run(&[RootSpec::new(root)], &()).unwrap();
    // The malformed row is reported with its line; the rest loaded.
    let bad: Vec<_> = build
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::ReferenceRow)
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].line, 4);
    assert!(bad[0].file.ends_with("reference/tables_reference.csv"));
    assert!(build.reference.table("DeviceLogonEvents").is_some());

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("site");
    render::site(&build, &Config::default(), &out).unwrap();

    // The table page: facts, docs, solution, connector, parser, and the Sigma rule on the
    // same canonical source beside the Sentinel rule that names the table.
    let t = page(&out, &facet_page(&build, FacetKind::Table, "SigninLogs"));
    for want in [
        "Interactive sign-ins, with &quot;risk&quot; details",
        "Ingestion facts",
        "Transformations</th><td>Yes",
        "Retention (maximum)</th><td>12 years",
        "https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/signinlogs",
        "Fixture Identity Suite",
        "AzureActiveDirectory",
        "FixtureSignins",
        "Burst of failed Entra ID sign-ins for one account",
        "Rules on the same data source",
        "Entra ID sign-in flagged as coming from an anonymizing proxy",
    ] {
        assert!(t.contains(want), "table page lacks {want:?}");
    }
    assert!(!t.contains("must not win"));
    let md = page(
        &out,
        &format!(
            "md/{}",
            facet_page(&build, FacetKind::Table, "SigninLogs").replace(".html", ".md")
        ),
    );
    assert!(md.contains("## Ingestion facts") && md.contains("| Transformations | Yes |"));

    // The rule page: Tables used with the facts, the required connector linked.
    let r = page(
        &out,
        &rule_page(&build, Vendor::Sentinel, "SigninBurst.yaml"),
    );
    assert!(r.contains("id=\"tables-used\""));
    assert!(r.contains("Transformations: Yes"));
    assert!(r.contains("connectors/azureactivedirectory.html"));

    // Solution page: reference name, version, support, categories, content by kind.
    let s = page(
        &out,
        &facet_page(&build, FacetKind::Solution, "Fixture Identity"),
    );
    for want in [
        "Fixture Identity Suite",
        "2.0.1",
        "Partner (Fixture Corp)",
        "Identity",
        "Scheduled (1)",
        "2025-02-01",
    ] {
        assert!(s.contains(want), "solution page lacks {want:?}");
    }
    // Connector page: its tables and solution from the map.
    let c = page(
        &out,
        &facet_page(&build, FacetKind::Connector, "AzureActiveDirectory"),
    );
    assert!(
        c.contains("Tables it fills")
            && c.contains("SigninLogs")
            && c.contains("Fixture Identity Suite")
    );

    // Index: extra columns, counts, sortable.
    let idx = page(&out, "tables/index.html");
    assert!(idx.contains("sortable") && idx.contains("Transformations"));
    assert!(idx.contains("1 of 1 listed in the Microsoft Solutions Analyzer reference, 0 not."));

    // Exports.
    let csv = page(&out, "exports/tables.csv");
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    assert_eq!(&rows[0][col("table")], "SigninLogs");
    assert_eq!(&rows[0][col("transformations")], "Yes");
    assert_eq!(&rows[0][col("auxiliary_logs_eligible")], "No");
    assert_eq!(&rows[0][col("rules_sentinel")], "1");
    assert_eq!(&rows[0][col("same_source_rules")], "1");
    let json: serde_json::Value = serde_json::from_str(&page(&out, "exports/tables.json")).unwrap();
    assert_eq!(json[0]["same_source_rules"]["sigma"], 1);
    assert!(render::links::check(&out).unwrap().broken.is_empty());
}

/// A build without a reference folder still renders the same pages, with fewer facts.
#[test]
fn fixture_without_reference_still_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sentinel");
    let build = pipeline::run(&[RootSpec::new(root)], &()).unwrap();
    assert!(build.reference.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    render::site(&build, &Config::default(), tmp.path()).unwrap();
    let idx = page(tmp.path(), "tables/index.html");
    assert!(!idx.contains("Solutions Analyzer"));
}

#[test]
fn corpus_reference_pages() {
    let Some(corpus) = std::env::var_os("RULEDEX_CORPUS").map(PathBuf::from) else {
        eprintln!("skipped: RULEDEX_CORPUS is not set");
        return;
    };
    let mut specs = vec![RootSpec::new(corpus.join("sentinel"))];
    for v in ["sigma", "elastic"] {
        if corpus.join(v).is_dir() {
            specs.push(RootSpec::new(corpus.join(v)));
        }
    }
    let build = pipeline::run(&specs, &()).unwrap();
    assert!(
        !build.reference.is_empty(),
        "the corpus has sentinel/reference/"
    );

    // Tables named by Sentinel and Defender rules, and how many the reference lists.
    let named: BTreeSet<&str> = build
        .catalog
        .rules
        .iter()
        .filter(|r| matches!(r.vendor, Vendor::Sentinel | Vendor::DefenderXdr))
        .flat_map(|r| r.facet_values(FacetKind::Table))
        .collect();
    let known = named
        .iter()
        .filter(|t| build.reference.table(t).is_some())
        .count();
    eprintln!(
        "tables named by Sentinel/Defender rules: {}, in the reference: {known}, not: {}",
        named.len(),
        named.len() - known
    );
    assert!(named.len() >= 110, "{}", named.len());
    assert!(known >= 85, "{known}");

    // The site goes to a temporary folder unless RULEDEX_REFERENCE_SITE asks to keep it.
    let tmp = tempfile::tempdir().unwrap();
    let out = match std::env::var_os("RULEDEX_REFERENCE_SITE") {
        Some(d) => PathBuf::from(d),
        None => tmp.path().join("site"),
    };
    render::site(&build, &Config::default(), &out).unwrap();
    // Every named table the reference lists has a page with its facts.
    for t in &named {
        if let Some(f) = build.reference.table(t) {
            let p = page(&out, &facet_page(&build, FacetKind::Table, t));
            if let Some(c) = &f.category {
                assert!(
                    p.contains(&render::templates::escape_html(c)),
                    "{t}: category"
                );
            }
            assert!(p.contains("Ingestion facts"), "{t}: facts");
        }
    }

    // MFAFatigue: solution, required connectors, each table with facts.
    let mfa = page(
        &out,
        &rule_page(
            &build,
            Vendor::Sentinel,
            "Solutions/Okta Single Sign-On/Analytic Rules/MFAFatigue.yaml",
        ),
    );
    assert!(mfa.contains("solutions/okta-single-sign-on.html"));
    assert!(mfa.contains("connectors/oktasso.html") && mfa.contains("connectors/oktassov2.html"));
    assert!(mfa.contains("id=\"tables-used\""));
    for t in ["Okta_CL", "OktaV2_CL"] {
        assert!(mfa.contains(t), "MFAFatigue lacks table {t}");
    }
    assert!(mfa.contains("Support tier: Partner") || mfa.contains("Support tier: Microsoft"));

    // SigninLogs: facts and rules from at least two vendors.
    let signin = page(&out, &facet_page(&build, FacetKind::Table, "SigninLogs"));
    assert!(signin.contains(
        "https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/signinlogs"
    ));
    let vendors = [
        "Microsoft Sentinel",
        "Sigma",
        "Elastic",
        "Splunk ESCU",
        "Defender XDR",
    ]
    .iter()
    .filter(|v| signin.contains(&format!("{v} <span class=\"count\">")))
    .count();
    assert!(vendors >= 2, "SigninLogs lists rules of {vendors} vendors");
}
