//! The Splunk ESCU corpus (`$RULEDEX_CORPUS/splunk`): every detection file loads or gets a
//! diagnostic, nothing panics, nearly every live detection has an indicator after macro
//! expansion, and every macro call resolves unless the repository does not define it.

use ruledex::catalog::indicators;
use ruledex::discover::{read_root, RootSpec};
use ruledex::formats::{splunk::Splunk, Format};
use ruledex::verify::checks::Check;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Fields that only pick the data's origin (set by index macros), not what happened.
const SOURCE_FIELDS: &[&str] = &["index", "sourcetype", "source", "eventtype", "host"];

fn corpus() -> Option<PathBuf> {
    let Some(base) = std::env::var_os("RULEDEX_CORPUS") else {
        eprintln!("RULEDEX_CORPUS is not set: skipping the Splunk corpus test");
        return None;
    };
    let p = PathBuf::from(base).join("splunk");
    if !p.is_dir() {
        eprintln!(
            "{} is missing: skipping the Splunk corpus test",
            p.display()
        );
        return None;
    }
    Some(p)
}

#[test]
fn splunk_corpus_figures() {
    let Some(path) = corpus() else { return };
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("corpus root reads");
    let detection_files: Vec<_> = root
        .files
        .iter()
        .filter(|f| f.rel.starts_with("detections/") && f.rel.ends_with(".yml"))
        .collect();
    let claimed: Vec<_> = root
        .files
        .iter()
        .filter(|f| Splunk.is_rule_file(f))
        .collect();
    let claimed_set: BTreeSet<&str> = claimed.iter().map(|f| f.rel.as_str()).collect();
    let loaded = Splunk.load(&root, &claimed);

    // Every detection file is claimed, and yields a rule or a diagnostic.
    let with_rule: BTreeSet<&str> = loaded
        .rules
        .iter()
        .map(|r| r.source.path.as_str())
        .collect();
    let with_diag: BTreeSet<String> = loaded.diagnostics.iter().map(|d| d.file.clone()).collect();
    let mut unaccounted = Vec::new();
    for f in &detection_files {
        let shown = root.display(&f.rel);
        if !claimed_set.contains(f.rel.as_str())
            || !(with_rule.contains(f.rel.as_str()) || with_diag.contains(&shown))
        {
            unaccounted.push(f.rel.clone());
        }
    }
    let panics = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.starts_with("internal error"))
        .count();

    let live: Vec<_> = loaded
        .rules
        .iter()
        .filter(|r| r.status.as_deref() != Some("deprecated"))
        .collect();
    let with_ind = live
        .iter()
        .filter(|r| !indicators::of_rule(r).is_empty())
        .count();
    let with_event_ind = live
        .iter()
        .filter(|r| {
            indicators::of_rule(r)
                .iter()
                .any(|i| !SOURCE_FIELDS.contains(&i.field.as_str()))
        })
        .count();
    let fully = live
        .iter()
        .filter(|r| r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()))
        .count();

    // Macro calls left unexpanded, by macro; none of them may be defined by the repository.
    let defined: BTreeSet<String> = root
        .files_under("macros/")
        .filter_map(|f| {
            f.text
                .lines()
                .find_map(|l| l.strip_prefix("name:"))
                .map(|n| n.trim().split('(').next().unwrap_or("").to_string())
        })
        .collect();
    let mut unresolved: BTreeMap<String, usize> = BTreeMap::new();
    for d in &loaded.diagnostics {
        if d.code == Check::BrokenReference && d.message.starts_with("macro `") {
            // "macro `call` (key): reason"
            let key = d
                .message
                .split_once("` (")
                .and_then(|(_, rest)| rest.split_once("): "))
                .map(|(k, _)| k.to_string())
                .unwrap_or_default();
            *unresolved.entry(key).or_default() += 1;
        }
    }
    let tests = loaded.rules.iter().map(|r| r.tests.len()).sum::<usize>();
    let remote = loaded
        .rules
        .iter()
        .flat_map(|r| &r.tests)
        .filter(|t| {
            t.unsupported
                .as_deref()
                .is_some_and(|u| u.starts_with("remote data: "))
        })
        .count();
    let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
    eprintln!(
        "splunk corpus: {} detection files, {} claimed, {} rules, {} diagnostics, {} panics",
        detection_files.len(),
        claimed.len(),
        loaded.rules.len(),
        loaded.diagnostics.len(),
        panics
    );
    eprintln!(
        "non-deprecated: {} rules, {} with indicators ({:.1}%), {} with an indicator beyond \
         source selection ({:.1}%), {} fully parsed ({:.1}%)",
        live.len(),
        with_ind,
        pct(with_ind, live.len()),
        with_event_ind,
        pct(with_event_ind, live.len()),
        fully,
        pct(fully, live.len())
    );
    eprintln!("tests: {tests} ({remote} remote data)");
    eprintln!("unresolved macros (not defined by the repository): {unresolved:?}");
    let mut by_check: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &loaded.diagnostics {
        *by_check.entry(d.code.id()).or_default() += 1;
    }
    eprintln!("diagnostics by check: {by_check:?}");

    assert!(
        unaccounted.is_empty(),
        "files without rule or diagnostic: {unaccounted:?}"
    );
    assert_eq!(panics, 0, "internal errors while loading");
    assert!(
        pct(with_ind, live.len()) >= 90.0,
        "only {with_ind} of {} live detections have an indicator",
        live.len()
    );
    for name in unresolved.keys() {
        let bare = name.split('(').next().unwrap_or(name);
        assert!(
            !defined.contains(bare),
            "macro `{name}` is defined but did not resolve"
        );
    }
    assert!(remote > 1000, "ESCU tests are reported as remote data");
    assert!(
        pct(fully, live.len()) >= 80.0,
        "only {fully} of {} live detections are fully parsed",
        live.len()
    );
}
