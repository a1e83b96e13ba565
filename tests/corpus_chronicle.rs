//! The Chronicle corpus (`$RULEDEX_CORPUS/chronicle`): every `.yaral` file loads or gets a
//! diagnostic, nothing panics, and at least 95% of the rules have an indicator.

use ruledex::catalog::indicators;
use ruledex::discover::{read_root, RootSpec};
use ruledex::formats::{chronicle::Chronicle, Format};
use ruledex::verify::checks::Check;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[test]
fn chronicle_corpus() {
    let Some(base) = std::env::var_os("RULEDEX_CORPUS") else {
        eprintln!("skipped: set RULEDEX_CORPUS to the corpus folder to run this test");
        return;
    };
    let path = PathBuf::from(base).join("chronicle");
    if !path.exists() {
        eprintln!("skipped: {} does not exist", path.display());
        return;
    }
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("corpus root reads");
    let files: Vec<_> = root
        .files
        .iter()
        .filter(|f| Chronicle.is_rule_file(f))
        .collect();
    let loaded = Chronicle.load(&root, &files);

    let total = files.len();
    let with_rules: BTreeSet<&str> = loaded
        .rules
        .iter()
        .map(|r| r.source.path.as_str())
        .collect();
    let with_errors: BTreeSet<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::ParseError)
        .map(|d| d.file.clone())
        .collect();
    let accounted = files
        .iter()
        .filter(|f| {
            with_rules.contains(f.rel.as_str()) || with_errors.contains(&root.display(&f.rel))
        })
        .count();
    let panics = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("internal error"))
        .count();
    let rules = loaded.rules.len();
    let with_ind = loaded
        .rules
        .iter()
        .filter(|r| !indicators::of_rule(r).is_empty())
        .count();
    let fully = loaded
        .rules
        .iter()
        .filter(|r| r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()))
        .count();
    let unbound = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::YaralUnboundVariable)
        .count();
    let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
    eprintln!(
        "chronicle: {total} .yaral files, {accounted} loaded or diagnosed, {} with a parse error, \
         {panics} panics; {rules} rules, {with_ind} with an indicator ({:.1}%), {fully} fully \
         parsed ({:.1}%), {unbound} unbound-variable findings",
        with_errors.len(),
        pct(with_ind, rules),
        pct(fully, rules),
    );
    for d in loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::ParseError)
    {
        eprintln!(
            "  {}:{}:{} {}",
            d.file,
            d.line,
            d.column.unwrap_or(0),
            d.message
        );
    }
    assert!(total > 700, "the corpus should hold the ~800 .yaral files");
    assert_eq!(
        accounted, total,
        "every .yaral file loads or gets a diagnostic"
    );
    assert_eq!(panics, 0, "no panics");
    for d in loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::ParseError)
    {
        assert!(d.line > 0, "parse errors carry a line: {d:?}");
    }
    assert!(
        pct(with_ind, rules) >= 95.0,
        "at least 95% of rules have an indicator ({with_ind} of {rules})"
    );
    assert!(
        rules >= total,
        "every file holds at least one rule ({rules} rules from {total} files)"
    );
}

/// The sample rules under `rules/chronicle` load cleanly and their tests pass (correlation
/// rules' single-event tests may only be unsupported).
#[test]
fn chronicle_sample_rules() {
    use ruledex::verify::{matcher::run_tests, Outcome};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules/chronicle");
    let (root, diags) = read_root(0, RootSpec::new(&path)).expect("sample root reads");
    assert!(diags.is_empty(), "{diags:?}");
    let files: Vec<_> = root
        .files
        .iter()
        .filter(|f| Chronicle.is_rule_file(f))
        .collect();
    let loaded = Chronicle.load(&root, &files);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.rules.len(), files.len());
    let mut passed = 0;
    for rule in &loaded.rules {
        assert!(
            rule.tests.len() >= 2,
            "{} needs positive and negative tests",
            rule.id
        );
        assert!(
            !indicators::of_rule(rule).is_empty(),
            "{} has indicators",
            rule.id
        );
        let multi = rule
            .facet_values(ruledex::model::FacetKind::RuleType)
            .any(|v| v == "multi event");
        for r in run_tests(rule) {
            match r.outcome {
                Outcome::Pass => passed += 1,
                Outcome::Unsupported if multi => {}
                _ => panic!(
                    "{}: test `{}` {:?}: {}",
                    rule.id, r.name, r.outcome, r.detail
                ),
            }
        }
    }
    eprintln!(
        "chronicle samples: {} rules, {passed} tests pass",
        loaded.rules.len()
    );
    assert!(passed >= 15, "{passed} sample tests pass");
}

/// Hostile and broken inputs give diagnostics with positions, never a panic.
#[test]
fn chronicle_fixtures() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chronicle");
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("fixture root reads");
    let files: Vec<_> = root
        .files
        .iter()
        .filter(|f| Chronicle.is_rule_file(f))
        .collect();
    let loaded = Chronicle.load(&root, &files);
    let expect = std::fs::read_to_string(path.join("expected.txt")).expect("expected.txt");
    let mut got: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let file = d.file.rsplit('/').next().unwrap_or(&d.file).to_string();
            format!(
                "{file}:{}:{} {}",
                d.line,
                d.column.unwrap_or(0),
                d.code.id()
            )
        })
        .collect();
    got.sort();
    let want: Vec<&str> = expect.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(got, want, "diagnostics of the fixtures");
    assert!(loaded
        .diagnostics
        .iter()
        .all(|d| !d.message.contains("internal error")));
}
