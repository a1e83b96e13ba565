//! The Elastic format on the real corpus (`$RULEDEX_CORPUS/elastic`), with the issue's
//! figures as thresholds: every rule file loads or gets a diagnostic, no panic, at least
//! 90% of query-based rules have an indicator; machine-learning rules are counted apart.
//! Skipped (with a message) when `RULEDEX_CORPUS` is unset.

use ruledex::catalog::indicators;
use ruledex::discover::{read_root, RootSpec};
use ruledex::formats::{elastic::Elastic, Format};
use ruledex::model::Language;
use ruledex::verify::checks::Check;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let Some(base) = std::env::var_os("RULEDEX_CORPUS") else {
        eprintln!("RULEDEX_CORPUS is not set: skipping the Elastic corpus test");
        return None;
    };
    let p = PathBuf::from(base).join("elastic");
    if !p.is_dir() {
        eprintln!(
            "{} is not a folder: skipping the Elastic corpus test",
            p.display()
        );
        return None;
    }
    Some(p)
}

#[test]
fn elastic_corpus_figures() {
    let Some(path) = corpus() else { return };
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("corpus root");
    let toml_files = root.files.iter().filter(|f| f.ext() == "toml").count();
    let files: Vec<_> = root
        .files
        .iter()
        .filter(|f| Elastic.is_rule_file(f))
        .collect();
    assert_eq!(
        files.len(),
        toml_files,
        "every TOML file of the corpus is a rule file"
    );
    let loaded = Elastic.load(&root, &files);

    let verbose = std::env::var_os("RULEDEX_VERBOSE").is_some();
    let panics = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("internal error"))
        .count();
    let loaded_paths: BTreeSet<&str> = loaded
        .rules
        .iter()
        .map(|r| r.source.path.as_str())
        .collect();
    let diag_files: BTreeSet<String> = loaded.diagnostics.iter().map(|d| d.file.clone()).collect();
    let unaccounted: Vec<&str> = files
        .iter()
        .filter(|f| {
            !loaded_paths.contains(f.rel.as_str()) && !diag_files.contains(&root.display(&f.rel))
        })
        .map(|f| f.rel.as_str())
        .collect();
    let load_errors = files.len() - loaded_paths.len();

    let ml = loaded.rules.iter().filter(|r| r.query.is_none()).count();
    let query_rules: Vec<_> = loaded.rules.iter().filter(|r| r.query.is_some()).collect();
    let with_indicators = query_rules
        .iter()
        .filter(|r| !indicators::of_rule(r).is_empty())
        .count();
    let fully = query_rules
        .iter()
        .filter(|r| r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()))
        .count();
    let mut by_lang: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for r in &query_rules {
        let lang = r
            .query
            .as_ref()
            .map(|q| q.language)
            .unwrap_or(Language::Kuery);
        let e = by_lang.entry(lang.name()).or_default();
        e.0 += 1;
        if !indicators::of_rule(r).is_empty() {
            e.1 += 1;
        }
        if r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()) {
            e.2 += 1;
        }
    }
    let syntax: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::ElasticQuerySyntax)
        .collect();
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &loaded.diagnostics {
        *by_code.entry(d.code.id()).or_default() += 1;
    }
    eprintln!(
        "elastic corpus: {} rule files, {} rules, {} load errors, {} panics, {} ML rules (no query), \
         {} query rules: {} with indicators ({:.1}%), {} fully parsed ({:.1}%), {} query syntax findings",
        files.len(),
        loaded.rules.len(),
        load_errors,
        panics,
        ml,
        query_rules.len(),
        with_indicators,
        100.0 * with_indicators as f64 / query_rules.len().max(1) as f64,
        fully,
        100.0 * fully as f64 / query_rules.len().max(1) as f64,
        syntax.len()
    );
    for (lang, (n, ind, full)) in &by_lang {
        eprintln!("  {lang}: {n} rules, {ind} with indicators, {full} fully parsed");
    }
    eprintln!("  diagnostics by check: {by_code:?}");
    if verbose {
        for r in &query_rules {
            if indicators::of_rule(r).is_empty() {
                eprintln!("no indicator: {}", r.source.path);
            }
        }
        for d in &loaded.diagnostics {
            if d.code == Check::ElasticQuerySyntax || d.code == Check::UnsupportedSyntax {
                eprintln!("{}:{}: {}", d.file, d.line, d.message);
            }
        }
    }

    assert!(
        unaccounted.is_empty(),
        "files neither loaded nor diagnosed: {unaccounted:?}"
    );
    assert_eq!(panics, 0, "no panic on any rule file");
    assert!(ml > 0, "machine-learning rules are counted apart");
    assert!(
        with_indicators * 100 >= query_rules.len() * 90,
        "at least 90% of query-based rules have an indicator ({with_indicators} of {})",
        query_rules.len()
    );
    // Every rule of the corpus loads (none is broken TOML).
    assert_eq!(load_errors, 0);
}
