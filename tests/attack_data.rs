//! The embedded ATT&CK data against the corpus: the committed `data/attack.json` is what the
//! generator makes from the corpus today, and the revoked ids the vendors use resolve.
//! Skipped (with a printed reason) when `RULEDEX_CORPUS` is unset.

use ruledex::attack::{db, parse_refs, AttackRef, Resolution};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("RULEDEX_CORPUS") {
        Some(c) => Some(PathBuf::from(c)),
        None => {
            eprintln!("skipped: RULEDEX_CORPUS is not set");
            None
        }
    }
}

#[test]
fn committed_data_is_up_to_date() {
    let Some(corpus) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("attack.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gen_attack"))
        .arg(corpus.join("attack"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let fresh = std::fs::read_to_string(&out).unwrap();
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/attack.json"))
            .unwrap();
    assert!(
        fresh == committed,
        "data/attack.json is stale: run `cargo run --bin gen_attack` and commit it"
    );
    assert!(committed.len() < 1_500_000);
}

/// Distinct technique ids written anywhere in a vendor's files (`T1086`, `t1059.001`,
/// `T1580/001`).
fn technique_ids(dir: &Path) -> BTreeSet<String> {
    let re =
        regex::Regex::new(r"(?i)(?:^|[^A-Za-z0-9])(t\d{4}(?:[./]\d{3})?)(?:[^0-9]|$)").unwrap();
    let mut ids = BTreeSet::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(bytes) = std::fs::read(e.path()) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for c in re.captures_iter(&text) {
            for r in parse_refs(&c[1]) {
                if let AttackRef::Technique(t) = r {
                    ids.insert(t);
                }
            }
        }
    }
    ids
}

#[test]
fn vendor_revoked_ids_resolve() {
    let Some(corpus) = corpus() else { return };
    let d = db();
    // MANIFEST: Chronicle refers to 59 revoked and 4 missing ids, Sentinel to 12 revoked
    // (against v18.1; v19 revokes more, e.g. T1562).
    for (vendor, min_revoked, min_unknown) in [("chronicle", 59, 4), ("sentinel", 12, 0)] {
        let ids = technique_ids(&corpus.join(vendor));
        let (mut revoked, mut replaced, mut unknown) = (0, 0, Vec::new());
        for id in &ids {
            match d.resolve(id) {
                Resolution::Revoked { new, .. } => {
                    revoked += 1;
                    if let Some(n) = new {
                        replaced += 1;
                        assert!(d.technique(&n).unwrap().is_live(), "{id} -> {n}");
                    } else {
                        // Only v19 revocations lack a replacement.
                        assert!(id.starts_with("T1562"), "{vendor}: {id} has no replacement");
                    }
                }
                Resolution::Unknown(u) => unknown.push(u),
                _ => {}
            }
        }
        eprintln!(
            "{vendor}: {} distinct technique ids, {revoked} revoked ({replaced} with a \
             replacement), unknown {unknown:?}",
            ids.len()
        );
        assert!(revoked >= min_revoked, "{vendor}: {revoked} revoked");
        assert!(
            unknown.len() >= min_unknown,
            "{vendor}: unknown {unknown:?}"
        );
    }
    // Sigma's rules use v19 ids that v18.1 lacks; all are known here.
    let sigma = technique_ids(&corpus.join("sigma/rules"));
    for id in ["T1685", "T1685.001", "T1686.003", "T1689", "T1690"] {
        assert!(sigma.contains(id), "sigma uses {id}");
        assert_eq!(d.resolve(id), Resolution::Known(id.into()));
    }
}
