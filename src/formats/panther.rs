//! Panther (panther-analysis): rule, scheduled rule, correlation rule and policy YAML, with
//! the Python file each names (`Filename:`) read into the condition IR.
//!
//! A root is read in two steps: first its support files, once (`support`: the
//! `global_helpers` Python modules, the data models per log type, the saved and scheduled
//! queries), then each rule file (`rule`), in parallel. Correlation rules get the
//! conditions of the rules they correlate once every rule of the root is loaded.

mod cases;
mod correlation;
mod rule;
mod support;

#[cfg(test)]
mod tests;

use crate::discover::{Root, SourceFile};
use crate::formats::{load_each, Format, Loaded};
use crate::model::{Expr, Vendor};
use std::collections::HashMap;

pub use support::Support;

pub struct Panther;

/// `AnalysisType`s loaded as rules.
pub const RULE_TYPES: &[&str] = &["rule", "scheduled_rule", "correlation_rule", "policy"];

/// The `AnalysisType:` of a Panther YAML file, by a look at its top-level lines.
pub fn analysis_type(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("AnalysisType:")?;
        let v = v.split('#').next().unwrap_or("").trim();
        Some(v.trim_matches(|c| c == '"' || c == '\''))
    })
}

impl Format for Panther {
    fn vendor(&self) -> Vendor {
        Vendor::Panther
    }

    fn is_rule_file(&self, file: &SourceFile) -> bool {
        matches!(file.ext(), "yml" | "yaml")
            && analysis_type(&file.text).is_some_and(|t| RULE_TYPES.contains(&t))
    }

    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        let support = Support::read(root);
        let mut loaded = load_each(root, files, |f| rule::load(root, f, &support));
        loaded
            .diagnostics
            .extend(support.diagnostics.iter().cloned());
        link_correlations(&mut loaded);
        loaded
    }
}

/// Puts the conditions of the correlated rules into each correlation step.
fn link_correlations(loaded: &mut Loaded) {
    // The first rule of an id (files in path order) when ids repeat.
    let mut by_id: HashMap<String, Expr> = HashMap::new();
    for r in &loaded.rules {
        if let Some(d) = &r.detection {
            by_id.entry(r.id.clone()).or_insert_with(|| d.expr.clone());
        }
    }
    for r in &mut loaded.rules {
        let Some(det) = &mut r.detection else {
            continue;
        };
        correlation::fill_steps(&mut det.expr, &by_id);
    }
}
