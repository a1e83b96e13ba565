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

// ---- fixtures (no corpus needed) ---------------------------------------------------------

fn fixture_root() -> (Root, Vec<Diagnostic>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sentinel");
    read_root(0, RootSpec::new(path)).expect("fixture root")
}

fn rule<'a>(loaded: &'a Loaded, path: &str) -> &'a Rule {
    loaded
        .rules
        .iter()
        .find(|r| r.source.path == path)
        .unwrap_or_else(|| panic!("no rule from {path}"))
}

fn meta<'a>(r: &'a Rule, key: &str) -> Vec<&'a str> {
    r.metadata
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn facets(r: &Rule, kind: FacetKind) -> Vec<&str> {
    r.facet_values(kind).collect()
}

#[test]
fn fixture_claims_rules_and_never_documents() {
    let (root, _) = fixture_root();
    let (files, _) = load(&root);
    let claimed: Vec<(&str, Vendor)> = files.iter().map(|(v, f)| (f.as_str(), *v)).collect();
    let vendor_of = |f: &str| claimed.iter().find(|(p, _)| *p == f).map(|(_, v)| *v);
    assert_eq!(
        vendor_of("Solutions/Fixture Proxy/Analytic Rules/ProxyAdminLogin.yaml"),
        Some(Vendor::Sentinel)
    );
    assert_eq!(
        vendor_of("Detections/Broken/broken.yaml"),
        Some(Vendor::Sentinel)
    );
    assert_eq!(
        vendor_of("defender-xdr/Collection/Endpoint/LsassAccess.yaml"),
        Some(Vendor::DefenderXdr)
    );
    assert_eq!(
        vendor_of("defender-xdr/Collection/Endpoint/RundllNoArgs.txt"),
        Some(Vendor::DefenderXdr)
    );
    for not_rule in [
        "defender-xdr/Collection/README.md",
        "defender-xdr/Collection/Endpoint/notes.txt",
        "defender-xdr/Collection/Endpoint/WhoamiBySystem.tests.yml",
        "Parsers/ASimFixtureDns/Parsers/ASimFixtureDns.yaml",
        "Solutions/Fixture Proxy/Data/Solution_FixtureProxy.json",
        "Solutions/Fixture Proxy/Mock Data/Wave 1/ProxyAdminLogin.json",
    ] {
        assert_eq!(vendor_of(not_rule), None, "{not_rule} is not a rule file");
    }
}

#[test]
fn fixture_solution_connector_and_rule_fields() {
    let (root, _) = fixture_root();
    let (_, loaded) = load(&root);
    let r = rule(
        &loaded,
        "Solutions/Fixture Proxy/Analytic Rules/ProxyAdminLogin.yaml",
    );
    assert_eq!(facets(r, FacetKind::Solution), vec!["Fixture Proxy"]);
    assert_eq!(facets(r, FacetKind::Connector), vec!["FixtureProxyCcp"]);
    assert_eq!(facets(r, FacetKind::Table), vec!["FixtureProxy_CL"]);
    assert_eq!(facets(r, FacetKind::RuleType), vec!["Scheduled"]);
    assert_eq!(meta(r, "Solution"), vec!["Fixture Proxy Gateway"]);
    assert_eq!(meta(r, "Solution version"), vec!["2.1.0"]);
    assert_eq!(
        meta(r, "Data connector"),
        vec!["Fixture Proxy Gateway (via Codeless Connector) (FixtureProxyCcp), publisher Fixture Corp — data types: FixtureProxy_CL"]
    );
    assert_eq!(meta(r, "Trigger"), vec!["number of results > 0"]);
    assert_eq!(r.techniques, vec!["T1078"]);
    assert_eq!(r.tactics, vec!["TA0001"]);
    let info = sentinel::RootInfo::read(&root);
    let c = &info.connectors["FixtureProxyCcp"];
    assert_eq!(c.tables, vec!["FixtureProxy_CL"]);
    assert_eq!(c.solution.as_deref(), Some("Fixture Proxy"));
    // The entity column is an output field marked as such.
    let det = r.detection.as_ref().unwrap();
    let actor = det
        .output_fields
        .iter()
        .find(|f| f.name == "actor_name_s")
        .expect("entity column");
    assert_eq!(actor.note.as_deref(), Some("entity Account.FullName"));
}

#[test]
fn fixture_mock_data_runs_as_positive_tests() {
    let (root, _) = fixture_root();
    let (_, loaded) = load(&root);
    for path in [
        // CEF keys (`act`, `request`) become CommonSecurityLog columns.
        "Solutions/Fixture Proxy/Analytic Rules/ProxyExecutableFromPastebin.yaml",
        // Nested objects become custom-log columns (`outcome.result` → `outcome_result_s`).
        "Solutions/Fixture Proxy/Analytic Rules/ProxyAdminLogin.yaml",
    ] {
        let r = rule(&loaded, path);
        assert_eq!(r.tests.len(), 1, "{path}");
        assert!(r.tests[0].name.starts_with("mock data Wave 1/"));
        assert!(r.dependencies.iter().any(|d| d.contains("Mock Data")));
        let results = matcher::run_tests(r);
        assert_eq!(
            results[0].outcome,
            Outcome::Pass,
            "{path}: {}",
            results[0].detail
        );
    }
}

#[test]
fn fixture_parsers_resolve_to_tables() {
    let (root, _) = fixture_root();
    let (_, loaded) = load(&root);
    let r = rule(&loaded, "Hunting Queries/Legacy/DnsToMiningPool.yaml");
    assert_eq!(facets(r, FacetKind::Table), vec!["DnsEvents", "Syslog"]);
    assert_eq!(facets(r, FacetKind::RuleType), vec!["Hunting query"]);
    assert_eq!(meta(r, "Parser functions"), vec!["_ASim_FixtureDns"]);
    assert_eq!(r.dependencies.len(), 3, "{:?}", r.dependencies);
    // A parser the root does not define: a note, and the connector's tables instead.
    let r = rule(&loaded, "Hunting Queries/Legacy/UsesMissingParser.yaml");
    assert_eq!(facets(r, FacetKind::Table), vec!["SecurityEvent"]);
    assert!(loaded
        .diagnostics
        .iter()
        .any(|d| d.code == Check::UnresolvedFunction
            && d.file.ends_with("UsesMissingParser.yaml")
            && d.message.contains("imProcessCreate")));
}

#[test]
fn fixture_bad_files_get_diagnostics() {
    let (root, discover_diags) = fixture_root();
    let (_, loaded) = load(&root);
    let diag = |file: &str, code: Check| {
        loaded
            .diagnostics
            .iter()
            .chain(&discover_diags)
            .filter(|d| d.file.ends_with(file) && d.code == code)
            .collect::<Vec<_>>()
    };
    // Broken YAML: no rule, an error with its line.
    assert!(!loaded
        .rules
        .iter()
        .any(|r| r.source.path.ends_with("broken.yaml")));
    let broken = diag("broken.yaml", Check::ParseError);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].line, 7);
    // Junk values are reported, the rule still loads.
    let junk = rule(&loaded, "Detections/Junk/junk_values.yaml");
    assert_eq!(junk.techniques, vec!["T1048"]);
    assert_eq!(junk.tactics, vec!["TA0010"]);
    assert_eq!(meta(junk, "Other tactic"), vec!["PreAttack"]);
    assert_eq!(diag("junk_values.yaml", Check::MissingField).len(), 1);
    let invalid: Vec<&str> = diag("junk_values.yaml", Check::InvalidValue)
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(invalid.len(), 4, "{invalid:?}");
    assert!(invalid.iter().any(|m| m.contains("`NONE`")));
    // Windows-1252: loads, with discovery's warning.
    let cp = rule(&loaded, "Hunting Queries/Legacy/cp1252_summary.yaml");
    assert!(cp.title.contains("café"));
    assert_eq!(diag("cp1252_summary.yaml", Check::NotUtf8).len(), 1);
}

#[test]
fn fixture_markdown_pages_give_one_rule_per_query() {
    let (root, _) = fixture_root();
    let (_, loaded) = load(&root);
    let page = "defender-xdr/Collection/Endpoint/WhoamiBySystem.md";
    let rules: Vec<&Rule> = loaded
        .rules
        .iter()
        .filter(|r| r.source.path == page)
        .collect();
    let titles: Vec<&str> = rules.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Discovery with whoami run as SYSTEM — Defender XDR",
            "Discovery with whoami run as SYSTEM — Sentinel"
        ]
    );
    for r in &rules {
        assert_eq!(r.vendor, Vendor::DefenderXdr);
        assert_eq!(r.techniques, vec!["T1033"]);
        assert!(r.description.starts_with("A process running as SYSTEM"));
        assert_eq!(facets(r, FacetKind::Table), vec!["DeviceProcessEvents"]);
        assert_eq!(meta(r, "Collection"), vec!["Collection"]);
        assert_eq!(meta(r, "Folder"), vec!["Endpoint"]);
        let results = matcher::run_tests(r);
        assert_eq!(results.len(), 2);
        assert!(
            results.iter().all(|t| t.outcome == Outcome::Pass),
            "{results:?}"
        );
    }
    assert_eq!(rules[0].id, format!("{page}#1"));
    assert_eq!(rules[0].source.line, 16); // the opening fence
                                          // The query's first line written on the fence line.
    let tor = rule(
        &loaded,
        "defender-xdr/Collection/Endpoint/FirstLineOnFence.md",
    );
    assert_eq!(facets(tor, FacetKind::Table), vec!["DeviceProcessEvents"]);
    assert_eq!(tor.title, "Tor browser started");
}

#[test]
fn sample_rules_load_and_pass() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules");
    let (root, _) = read_root(0, RootSpec::new(path)).expect("rules");
    let (_, loaded) = load(&root);
    for v in [Vendor::Sentinel, Vendor::DefenderXdr] {
        let rules: Vec<&Rule> = loaded.rules.iter().filter(|r| r.vendor == v).collect();
        assert!(rules.len() >= 2, "{v:?}");
        for r in rules {
            assert!(r.tests.len() >= 3, "{}", r.source.path);
            assert!(r
                .tests
                .iter()
                .any(|t| t.expect == ruledex::model::Expect::Match));
            assert!(r
                .tests
                .iter()
                .any(|t| t.expect == ruledex::model::Expect::NoMatch));
            for res in matcher::run_tests(r) {
                assert_eq!(
                    res.outcome,
                    Outcome::Pass,
                    "{}: {} {}",
                    r.source.path,
                    res.name,
                    res.detail
                );
            }
            assert!(r.detection.as_ref().unwrap().expr.fully_parsed());
        }
    }
    let psexec = loaded
        .rules
        .iter()
        .find(|r| r.title.starts_with("PsExec service"))
        .unwrap();
    assert_eq!(
        facets(psexec, FacetKind::Table),
        vec!["DeviceProcessEvents", "SecurityEvent"]
    );
    let legacy = loaded
        .rules
        .iter()
        .find(|r| r.title.starts_with("Successful sign-in with a legacy"))
        .unwrap();
    assert_eq!(
        meta(legacy, "Data connector"),
        vec!["Microsoft Entra ID (AzureActiveDirectory), publisher Microsoft — data types: SigninLogs"]
    );
    let errors: Vec<&Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.level != ruledex::verify::checks::Level::Note)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
