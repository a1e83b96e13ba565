//! Facts across vendors computed once per build and read by several page families: rule
//! overlap (closest rules, groups), the indicator index, each rule's canonical data sources
//! and rule counts per ATT&CK technique.

use crate::attack::{self, Resolution};
use crate::catalog::overlap::{self, Overlap};
use crate::catalog::shared_indicators::{self, SharedIndicators};
use crate::catalog::Catalog;
use crate::model::{FacetKind, Vendor};
use std::collections::{BTreeMap, BTreeSet};

/// Closest rules shown per vendor on a rule page and in `catalog.json`.
pub const CLOSEST: usize = 5;

/// An indicator is listed in the index when at least this many rules hold it.
pub const INDEX_MIN_RULES: usize = 2;

pub struct Cross {
    pub overlap: Overlap,
    pub indicators: SharedIndicators,
    /// Canonical data sources of each rule (sorted).
    pub sources: Vec<Vec<String>>,
    /// Technique id → rules tagged with it, or with one of its sub-techniques (sorted, no
    /// duplicates). Sub-technique ids map to their own rules only. A revoked id tagged on a
    /// rule also counts for the technique that replaced it.
    pub technique_rules: BTreeMap<String, Vec<usize>>,
}

impl Cross {
    pub fn new(cat: &Catalog) -> Cross {
        let (overlap, indicators) = rayon::join(
            || overlap::compute(cat),
            || shared_indicators::compute(cat, INDEX_MIN_RULES),
        );
        let mut sources = vec![Vec::new(); cat.rules.len()];
        if let Some(values) = cat.facets.get(&FacetKind::CanonicalSource) {
            for (v, rules) in values {
                for &i in rules {
                    sources[i].push(v.clone());
                }
            }
        }
        let mut technique_rules: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        if let Some(values) = cat.facets.get(&FacetKind::Technique) {
            for (t, rules) in values {
                // A revoked id also counts for its replacement (the matrix shows live ids).
                let mut ids = vec![t.clone()];
                if let Resolution::Revoked { new: Some(n), .. } = attack::db().resolve(t) {
                    ids.push(n);
                }
                for id in ids {
                    if let Some((parent, _)) = id.split_once('.') {
                        technique_rules
                            .entry(parent.to_string())
                            .or_default()
                            .extend(rules.iter().copied());
                    }
                    technique_rules
                        .entry(id)
                        .or_default()
                        .extend(rules.iter().copied());
                }
            }
        }
        Cross {
            overlap,
            indicators,
            sources,
            technique_rules: technique_rules
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
        }
    }

    /// Rules of a technique (with its sub-techniques for a parent id).
    pub fn rules_of_technique(&self, id: &str) -> &[usize] {
        self.technique_rules
            .get(id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Rule counts per vendor of a list of rules, in `Vendor::ALL` order (zeros left out).
pub fn per_vendor(cat: &Catalog, rules: &[usize]) -> Vec<(Vendor, usize)> {
    let mut m: BTreeMap<Vendor, usize> = BTreeMap::new();
    for &i in rules {
        *m.entry(cat.rules[i].vendor).or_insert(0) += 1;
    }
    m.into_iter().collect()
}
