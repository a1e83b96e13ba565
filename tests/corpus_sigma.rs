//! The Sigma corpus (`$RULEDEX_CORPUS/sigma`, SigmaHQ): load, indicator, parse and
//! regression-test figures, asserted as the thresholds of issue 3.

use ruledex::catalog::indicators;
use ruledex::discover::{read_root, RootSpec, SourceFile};
use ruledex::formats::{sigma::Sigma, Format};
use ruledex::verify::{matcher, Outcome};
use std::collections::BTreeSet;

#[test]
fn sigma_corpus_figures() {
    let Ok(corpus) = std::env::var("RULEDEX_CORPUS") else {
        eprintln!("skipped: set RULEDEX_CORPUS to the corpus folder to run this test");
        return;
    };
    let path = std::path::Path::new(&corpus).join("sigma");
    if !path.is_dir() {
        eprintln!("skipped: {} does not exist", path.display());
        return;
    }
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("corpus root readable");
    let files: Vec<&SourceFile> = root
        .files
        .iter()
        .filter(|f| Sigma.is_rule_file(f))
        .collect();
    let loaded = Sigma.load(&root, &files);

    let loaded_files: BTreeSet<&str> = loaded
        .rules
        .iter()
        .map(|r| r.source.path.as_str())
        .collect();
    let failed: Vec<&&SourceFile> = files
        .iter()
        .filter(|f| !loaded_files.contains(f.rel.as_str()))
        .collect();
    for f in &failed {
        let shown = root.display(&f.rel);
        let diag = loaded
            .diagnostics
            .iter()
            .find(|d| d.file == shown && d.line > 0);
        println!(
            "load error: {shown}: {:?}",
            diag.map(|d| (d.line, &d.message))
        );
        assert!(
            diag.is_some(),
            "{shown} did not load and has no diagnostic with a line"
        );
    }
    let rules = loaded.rules.len();
    let with_indicators = loaded
        .rules
        .iter()
        .filter(|r| !indicators::of_rule(r).is_empty())
        .count();
    let fully_parsed = loaded
        .rules
        .iter()
        .filter(|r| r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()))
        .count();
    let (mut pass, mut fail, mut unsupported) = (0usize, 0usize, 0usize);
    for r in &loaded.rules {
        for t in matcher::run_tests(r) {
            match t.outcome {
                Outcome::Pass => pass += 1,
                Outcome::Fail => {
                    fail += 1;
                    println!(
                        "FAIL {} ({}): {}: {}",
                        r.id, r.source.path, t.name, t.detail
                    );
                }
                Outcome::Unsupported => {
                    unsupported += 1;
                    println!(
                        "unsupported {} ({}): {}: {}",
                        r.id, r.source.path, t.name, t.detail
                    );
                }
            }
        }
    }
    let tests = pass + fail + unsupported;
    let pct = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "sigma corpus: files {} rules {rules} load_errors {} with_indicators {with_indicators} ({:.2}%) \
         fully_parsed {fully_parsed} ({:.2}%) tests pass {pass} fail {fail} unsupported {unsupported} ({:.2}% pass) \
         diagnostics {}",
        files.len(),
        failed.len(),
        pct(with_indicators, rules),
        pct(fully_parsed, rules),
        pct(pass, tests),
        loaded.diagnostics.len(),
    );
    assert!(
        pct(files.len() - failed.len(), files.len()) >= 99.5,
        "files loading"
    );
    assert!(
        pct(with_indicators, rules) >= 99.0,
        "rules with an indicator"
    );
    assert!(pct(fully_parsed, rules) >= 98.0, "fully parsed rules");
    assert_eq!(fail, 0, "failing regression tests");
    assert!(
        tests > 0 && pct(pass, tests) >= 97.0,
        "passing regression tests"
    );
}

/// Prints the diagnostics and the rules that are not fully parsed or have no indicator
/// (run with `--ignored --nocapture` to inspect the corpus).
#[test]
#[ignore]
fn sigma_corpus_details() {
    let Ok(corpus) = std::env::var("RULEDEX_CORPUS") else {
        eprintln!("skipped: set RULEDEX_CORPUS");
        return;
    };
    let path = std::path::Path::new(&corpus).join("sigma");
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("corpus root readable");
    let files: Vec<&SourceFile> = root
        .files
        .iter()
        .filter(|f| Sigma.is_rule_file(f))
        .collect();
    let loaded = Sigma.load(&root, &files);
    for d in &loaded.diagnostics {
        println!(
            "{}:{}:{} {} {}",
            d.file,
            d.line,
            d.column.unwrap_or(0),
            d.code.id(),
            d.message
        );
    }
    for r in &loaded.rules {
        if indicators::of_rule(r).is_empty() {
            println!("no indicator: {}", r.source.path);
        }
        if let Some(d) = &r.detection {
            d.expr.walk(&mut |e| {
                if let ruledex::model::Expr::Opaque { text, reason } = e {
                    println!("opaque: {}: {reason}: {text}", r.source.path);
                }
            });
        }
    }
}
