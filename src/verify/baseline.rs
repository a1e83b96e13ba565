//! Baselines: accepted findings recorded once, so CI reports only new ones.
//!
//! An entry is keyed by check id, rule id, root-relative file and a fingerprint of the
//! message with numbers blanked, so it survives line moves and edits elsewhere in the file.

use crate::diag::Diagnostic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub check: String,
    pub rule: String,
    pub file: String,
    pub fingerprint: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub entries: Vec<Entry>,
}

/// What comparing findings with a baseline gives.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Findings not in the baseline.
    pub new: Vec<Diagnostic>,
    /// Findings the baseline accepted.
    pub suppressed: usize,
    /// Baseline entries no finding matches any more.
    pub fixed: usize,
}

pub fn entry(d: &Diagnostic, rel_file: &str) -> Entry {
    let normalised: String = {
        let mut out = String::new();
        let mut in_num = false;
        for c in d.message.chars() {
            if c.is_ascii_digit() {
                if !in_num {
                    out.push('#');
                }
                in_num = true;
            } else {
                in_num = false;
                out.push(c);
            }
        }
        out
    };
    Entry {
        check: d.code.id().to_string(),
        rule: d.rule.clone().unwrap_or_default(),
        file: rel_file.to_string(),
        fingerprint: format!("{:016x}", fnv1a(normalised.as_bytes())),
    }
}

/// 64-bit FNV-1a: stable across platforms and releases (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl Baseline {
    pub fn record(diags: &[Diagnostic], rel: impl Fn(&Diagnostic) -> String) -> Baseline {
        let mut entries: Vec<Entry> = diags.iter().map(|d| entry(d, &rel(d))).collect();
        entries.sort();
        Baseline {
            version: 1,
            entries,
        }
    }

    pub fn parse(text: &str) -> Result<Baseline, String> {
        serde_json::from_str(text).map_err(|e| format!("not a ruledex baseline: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("baseline serialises") + "\n"
    }

    /// Multiset comparison: two identical findings need two baseline entries.
    pub fn compare(
        &self,
        diags: Vec<Diagnostic>,
        rel: impl Fn(&Diagnostic) -> String,
    ) -> Comparison {
        let mut left: BTreeMap<&Entry, usize> = BTreeMap::new();
        for e in &self.entries {
            *left.entry(e).or_insert(0) += 1;
        }
        let mut out = Comparison::default();
        for d in diags {
            let e = entry(&d, &rel(&d));
            match left.get_mut(&e) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    out.suppressed += 1;
                }
                _ => out.new.push(d),
            }
        }
        out.fixed = left.values().sum();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::checks::Check;

    #[test]
    fn survives_line_moves_and_reports_new_and_fixed() {
        let a = Diagnostic::new(
            Check::UnusedSelection,
            "r/a.yml",
            10,
            "selection `x` at line 10 is unused",
        )
        .for_rule("A");
        let b =
            Diagnostic::new(Check::SigmaTitleLength, "r/b.yml", 1, "title too long").for_rule("B");
        let rel = |d: &Diagnostic| d.file.trim_start_matches("r/").to_string();
        let base = Baseline::record(&[a.clone(), b], rel);
        let base = Baseline::parse(&base.to_json()).unwrap();
        let mut moved = a.clone();
        moved.line = 14;
        moved.message = "selection `x` at line 14 is unused".into();
        let fresh = Diagnostic::new(
            Check::UnusedSelection,
            "r/a.yml",
            20,
            "selection `y` is unused",
        )
        .for_rule("A");
        let cmp = base.compare(vec![moved, fresh.clone()], rel);
        assert_eq!(cmp.suppressed, 1);
        assert_eq!(cmp.fixed, 1);
        assert_eq!(cmp.new.len(), 1);
        assert_eq!(cmp.new[0].message, fresh.message);
    }
}
