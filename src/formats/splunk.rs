//! Splunk ESCU (splunk/security_content, validated by contentctl): detections as YAML with
//! an SPL search leaning on macros, lookups, data sources and stories in sibling folders.
//!
//! A root may hold one or more repositories; each detection's repository is the folder
//! above its `detections/` folder (see [`repo::repo_base`]). Support files are read once
//! per repository, then detections load in parallel.

mod detection;
pub mod repo;

use crate::discover::{Root, SourceFile};
use crate::formats::{is_sidecar, load_each, Format, Loaded};
use crate::model::Vendor;
use repo::{repo_base, Repo};
use std::collections::BTreeMap;

pub use detection::severity_of_score;

pub struct Splunk;

/// Top-level keys of other vendors' YAML that may also live in a `detections/` folder.
const FOREIGN_KEYS: &[&str] = &["detection:", "logsource:", "query:", "AnalysisType:"];

impl Format for Splunk {
    fn vendor(&self) -> Vendor {
        Vendor::Splunk
    }
    fn is_rule_file(&self, file: &SourceFile) -> bool {
        matches!(file.ext(), "yml" | "yaml")
            && !is_sidecar(&file.rel)
            && repo_base(&file.rel).is_some()
            && !file
                .text
                .lines()
                .any(|l| FOREIGN_KEYS.iter().any(|k| l.starts_with(k)))
    }
    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        let mut out = Loaded::default();
        let mut repos: BTreeMap<&str, Repo> = BTreeMap::new();
        for f in files {
            let base = repo_base(&f.rel).unwrap_or("");
            if !repos.contains_key(base) {
                let (r, diags) = Repo::load(root, base);
                out.diagnostics.extend(diags);
                repos.insert(base, r);
            }
        }
        let empty = Repo::default();
        out.extend(load_each(root, files, |f| {
            let repo = repos.get(repo_base(&f.rel).unwrap_or("")).unwrap_or(&empty);
            detection::load(root, f, repo)
        }));
        out
    }
}

/// Descriptions of the facet values (analytic stories, data sources) defined by the
/// repositories of `root`, as (kind, value, Markdown), sorted.
pub fn facet_descriptions(root: &Root) -> Vec<(crate::model::FacetKind, String, String)> {
    let mut bases: Vec<&str> = root
        .files
        .iter()
        .filter(|f| Splunk.is_rule_file(f))
        .filter_map(|f| repo_base(&f.rel))
        .collect();
    bases.sort();
    bases.dedup();
    let mut out = Vec::new();
    for b in bases {
        out.extend(Repo::load(root, b).0.facet_descriptions());
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    out
}

#[cfg(test)]
mod tests;
