//! The Sentinel and Defender XDR readers on the shared corpus ($RULEDEX_CORPUS/sentinel):
//! every rule file loads or gets a diagnostic, nothing panics, tables and indicators are
//! found for nearly every rule, connector titles are shown. Skipped when RULEDEX_CORPUS is
//! unset. Run with `--nocapture` to see the figures.

use ruledex::diag::Diagnostic;
use ruledex::discover::{read_root, Root, RootSpec};
use ruledex::formats::{self, sentinel, Loaded};
use ruledex::model::{Expr, FacetKind, Rule, Vendor};
use ruledex::verify::checks::Check;
use ruledex::verify::{matcher, Outcome, Verdict};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("RULEDEX_CORPUS") {
        Some(p) => Some(PathBuf::from(p).join("sentinel")),
        None => {
            eprintln!("RULEDEX_CORPUS is not set: skipping the Sentinel corpus test");
            None
        }
    }
}

/// Loads a root the way discovery does: each file goes to the first format that claims it.
fn load(root: &Root) -> (Vec<(Vendor, String)>, Loaded) {
    let all = formats::all();
    let mut claimed: Vec<Vec<&ruledex::discover::SourceFile>> = vec![Vec::new(); all.len()];
    let mut files = Vec::new();
    for f in &root.files {
        if let Some(i) = all.iter().position(|fmt| fmt.is_rule_file(f)) {
            claimed[i].push(f);
            files.push((all[i].vendor(), f.rel.clone()));
        }
    }
    let mut out = Loaded::default();
    for (fmt, fs) in all.iter().zip(&claimed) {
        if !fs.is_empty() {
            out.extend(fmt.load(root, fs));
        }
    }
    (files, out)
}

struct Figures {
    files: usize,
    files_ok: usize,
    rules: usize,
    /// Rules with a table facet.
    with_table: usize,
    /// Rules that read every table (`union *`): no table to name.
    every_table: usize,
    /// Rules that read only data they bring themselves (externaldata, datatable, print).
    own_data: usize,
    with_indicator: usize,
    fully_parsed: usize,
}

fn figures(vendor: Vendor, files: &[(Vendor, String)], loaded: &Loaded) -> Figures {
    let files: Vec<&String> = files
        .iter()
        .filter(|(v, _)| *v == vendor)
        .map(|(_, f)| f)
        .collect();
    let rules: Vec<&Rule> = loaded.rules.iter().filter(|r| r.vendor == vendor).collect();
    let with_rule: BTreeSet<&str> = rules.iter().map(|r| r.source.path.as_str()).collect();
    let with_diag: BTreeSet<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, Check::ParseError | Check::MissingField))
        .map(|d| d.file.clone())
        .collect();
    let files_ok = files
        .iter()
        .filter(|f| {
            with_rule.contains(f.as_str()) || with_diag.iter().any(|d| d.ends_with(f.as_str()))
        })
        .count();
    Figures {
        files: files.len(),
        files_ok,
        rules: rules.len(),
        with_table: rules
            .iter()
            .filter(|r| r.facet_values(FacetKind::Table).next().is_some())
            .count(),
        every_table: rules
            .iter()
            .filter(|r| has_meta(r, sentinel::TABLES_KEY, sentinel::EVERY_TABLE))
            .count(),
        own_data: rules
            .iter()
            .filter(|r| has_meta(r, sentinel::DATA_KEY, sentinel::OWN_DATA))
            .count(),
        with_indicator: rules
            .iter()
            .filter(|r| {
                r.detection
                    .as_ref()
                    .is_some_and(|d| !d.expr.predicates().is_empty())
            })
            .count(),
        fully_parsed: rules
            .iter()
            .filter(|r| r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()))
            .count(),
    }
}

fn has_meta(r: &Rule, k: &str, v: &str) -> bool {
    r.metadata.iter().any(|(a, b)| a == k && b == v)
}

/// Share of the rules that read log data which name their tables (a `union *` names every
/// table); rules reading only their own inline or external data have no table to name.
fn table_share(f: &Figures) -> f64 {
    pct(f.with_table + f.every_table, f.rules - f.own_data)
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        100.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name}: files {} (loaded or diagnosed {}), rules {}, with a table {} ({:.1}% of all), reading every table {}, reading only their own data {}, naming their tables {:.1}% of rules reading log data, with an indicator {} ({:.1}%), fully parsed {} ({:.1}%)",
        f.files,
        f.files_ok,
        f.rules,
        f.with_table,
        pct(f.with_table, f.rules),
        f.every_table,
        f.own_data,
        table_share(f),
        f.with_indicator,
        pct(f.with_indicator, f.rules),
        f.fully_parsed,
        pct(f.fully_parsed, f.rules),
    );
}

#[test]
fn sentinel_corpus_figures() {
    let Some(path) = corpus() else { return };
    let (root, discover_diags) = read_root(0, RootSpec::new(&path)).expect("corpus root");
    let (files, loaded) = load(&root);

    // No panics: the loader turns a panic into an "internal error" diagnostic.
    let panics: Vec<&Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.starts_with("internal error"))
        .collect();
    assert!(panics.is_empty(), "panics: {panics:#?}");

    let s = figures(Vendor::Sentinel, &files, &loaded);
    let x = figures(Vendor::DefenderXdr, &files, &loaded);
    report("Sentinel", &s);
    report("Defender XDR", &x);
    let total = Figures {
        files: s.files + x.files,
        files_ok: s.files_ok + x.files_ok,
        rules: s.rules + x.rules,
        with_table: s.with_table + x.with_table,
        every_table: s.every_table + x.every_table,
        own_data: s.own_data + x.own_data,
        with_indicator: s.with_indicator + x.with_indicator,
        fully_parsed: s.fully_parsed + x.fully_parsed,
    };
    report("Both", &total);

    // Every rule file loads or gets a diagnostic.
    assert_eq!(s.files, s.files_ok);
    assert_eq!(x.files, x.files_ok);
    assert!(s.files >= 490, "Sentinel rule files: {}", s.files);
    assert!(x.files >= 1000, "Defender XDR query files: {}", x.files);
    // Tables and indicators.
    assert!(table_share(&total) >= 98.0);
    assert!(table_share(&s) >= 98.0);
    assert!(table_share(&x) >= 98.0);
    assert!(pct(total.with_table, total.rules) >= 97.0);
    assert!(pct(total.with_indicator, total.rules) >= 85.0);
    assert!(pct(s.with_indicator, s.rules) >= 85.0);
    assert!(pct(x.with_indicator, x.rules) >= 85.0);

    // The cp1252 hunting query loads, with discovery's warning.
    let cp = "Hunting Queries/SecurityEvent/cscript_summary.yaml";
    assert!(loaded.rules.iter().any(|r| r.source.path == cp));
    assert!(discover_diags
        .iter()
        .any(|d| d.code == Check::NotUtf8 && d.file.ends_with(cp)));

    // No README or repository document is read as a rule.
    for (_, f) in &files {
        let name = f.rsplit('/').next().unwrap_or(f).to_ascii_lowercase();
        assert!(!name.starts_with("readme"), "{f}");
        assert!(!name.starts_with("license"), "{f}");
    }

    // Every connector id a definition in the root describes shows its title.
    let info = ruledex::formats::sentinel::RootInfo::read(&root);
    let mut described = 0;
    for r in &loaded.rules {
        for id in r.facet_values(FacetKind::Connector) {
            if let Some(c) = info.connectors.get(id) {
                described += 1;
                assert!(
                    r.metadata
                        .iter()
                        .any(|(k, v)| k == "Data connector" && v.contains(&c.title)),
                    "{}: connector {id} without its title",
                    r.source.path
                );
            }
        }
    }
    println!(
        "connector definitions {}, rule→connector links with a definition {described}",
        info.connectors.len()
    );
    assert!(described >= 20);
    assert!(info.connectors.contains_key("OktaSSOv2"));
    assert!(info.solutions.len() >= 13);

    // Facets used by the table, connector and solution pages.
    let mfa = loaded
        .rules
        .iter()
        .find(|r| r.source.path == "Solutions/Okta Single Sign-On/Analytic Rules/MFAFatigue.yaml")
        .expect("MFAFatigue");
    assert_eq!(
        mfa.facet_values(FacetKind::Solution).collect::<Vec<_>>(),
        vec!["Okta Single Sign-On"]
    );
    assert_eq!(
        mfa.facet_values(FacetKind::Connector).collect::<Vec<_>>(),
        vec!["OktaSSO", "OktaSSOv2"]
    );
    assert_eq!(
        mfa.facet_values(FacetKind::RuleType).collect::<Vec<_>>(),
        vec!["Scheduled"]
    );
    assert!(mfa.facet_values(FacetKind::Table).any(|t| t == "OktaSSO"));

    // Mock data runs: report each outcome.
    let mut mocks = 0;
    for r in &loaded.rules {
        for (t, res) in r.tests.iter().zip(matcher::run_tests(r)) {
            if t.name.starts_with("mock data") {
                mocks += 1;
                println!(
                    "mock test {} / {}: {:?} {}",
                    r.source.path, t.name, res.outcome, res.detail
                );
                assert_ne!(res.outcome, Outcome::Fail, "{}", r.source.path);
            }
        }
    }
    assert_eq!(mocks, 2);
    // The matcher cannot run a join or an aggregation, but the per-event parts can be
    // checked: every step of the correlation is matched by one of the mock events.
    for path in [
        "Solutions/Okta Single Sign-On/Analytic Rules/DeviceRegistrationMaliciousIP.yaml",
        "Solutions/Zscaler Internet Access/Analytic Rules/DiscordCDNRiskyDownload.yaml",
    ] {
        let r = loaded
            .rules
            .iter()
            .find(|r| r.source.path == path)
            .expect(path);
        let t = r
            .tests
            .iter()
            .find(|t| t.name.starts_with("mock data"))
            .expect("mock");
        let det = r.detection.as_ref().expect("detection");
        let steps: Vec<&Expr> = match &det.expr {
            Expr::Sequence { steps, .. } => steps.iter().collect(),
            Expr::Aggregate { item, .. } => vec![item.as_ref()],
            other => vec![other],
        };
        for (i, step) in steps.iter().enumerate() {
            let step = match step {
                Expr::Named { item, .. } => item.as_ref(),
                s => s,
            };
            let step = match step {
                Expr::Aggregate { item, .. } => item.as_ref(),
                s => s,
            };
            assert!(
                t.events
                    .iter()
                    .any(|e| matcher::eval(step, e) == Verdict::Match),
                "{path}: no mock event matches step {i}"
            );
        }
        println!(
            "mock events of {path} match every per-event step ({})",
            steps.len()
        );
    }
}
