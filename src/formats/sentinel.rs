//! Microsoft Sentinel analytic rules and hunting queries (Azure/Azure-Sentinel YAML).
//!
//! Layouts read: legacy `Detections/` and `Hunting Queries/`, and
//! `Solutions/<solution>/Analytic Rules|Analytics Rules|Hunting Queries/` (any YAML with a
//! top-level `query:` and Sentinel keys is claimed, wherever it lies, except under a
//! `defender-xdr/` folder, which belongs to [`crate::formats::defender_xdr`]).
//!
//! Around the rules the root is read once ([`meta::RootInfo`]): solution metadata, data
//! connector definitions (their titles and publishers) and parser functions, which the KQL
//! front end resolves to tables. Facets: `solution` (folder), `connector` (connector id),
//! `table` (from the KQL), `parser` (functions the KQL calls), `rule_type` (Scheduled, NRT, Hunting query...), tags, author.
//! Mock events a solution ships under `Mock Data/` for a rule become its positive tests.

pub mod meta;
mod mock;
mod rule;

pub use meta::{ConnectorInfo, ParserInfo, RootInfo, SolutionInfo};
pub(crate) use rule::urls;
pub use rule::HUNTING;

use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::{load_each, Format, Loaded};
use crate::model::{FacetKind, Language, Query, Rule, Vendor};
use crate::query::kql::{self, Analysis};
use crate::verify::checks::Check;

pub struct Sentinel;

/// Keys only Sentinel rule YAML has at the top level.
const SENTINEL_KEYS: &[&str] = &[
    "requiredDataConnectors:",
    "queryFrequency:",
    "queryPeriod:",
    "relevantTechniques:",
    "entityMappings:",
    "triggerOperator:",
    "tactics:",
];

/// A `defender-xdr` (or `defender_xdr`) folder anywhere in the path.
pub(crate) fn in_defender_folder(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts[..parts.len().saturating_sub(1)]
        .iter()
        .any(|p| p.eq_ignore_ascii_case("defender-xdr") || p.eq_ignore_ascii_case("defender_xdr"))
}

/// Sentinel-shaped YAML: a top-level `query:` and at least one Sentinel key.
pub(crate) fn is_sentinel_yaml(file: &SourceFile) -> bool {
    let ext = file.ext().to_ascii_lowercase();
    if (ext != "yaml" && ext != "yml") || crate::formats::is_sidecar(&file.rel) {
        return false;
    }
    let top = |k: &str| file.text.lines().any(|l| l.starts_with(k));
    top("query:") && (top("name:") || top("id:")) && SENTINEL_KEYS.iter().any(|k| top(k))
}

impl Format for Sentinel {
    fn vendor(&self) -> Vendor {
        Vendor::Sentinel
    }
    fn is_rule_file(&self, file: &SourceFile) -> bool {
        !in_defender_folder(&file.rel) && is_sentinel_yaml(file)
    }
    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        let info = RootInfo::read(root);
        load_each(root, files, |f| {
            rule::load(root, f, &info, Vendor::Sentinel)
        })
    }
}

/// Metadata row for queries that name no table.
pub const TABLES_KEY: &str = "Tables";
pub const EVERY_TABLE: &str = "every table (`union *` / `search`)";
pub const DATA_KEY: &str = "Data";
pub const OWN_DATA: &str = "only data the query supplies itself (externaldata, datatable, print)";

/// Loads one Sentinel-shaped YAML rule file as a rule of `vendor`.
pub(crate) fn load_yaml(root: &Root, file: &SourceFile, info: &RootInfo, vendor: Vendor) -> Loaded {
    rule::load(root, file, info, vendor)
}

/// Reads a rule's KQL: sets its query, detection and table facets, records the parser
/// functions it calls, and reports what the front end could not read. `first_line` is the
/// file line of the query's first line.
pub(crate) fn apply_kql(
    rule: &mut Rule,
    text: &str,
    info: &RootInfo,
    root: &Root,
    rel: &str,
    first_line: usize,
    diags: &mut Vec<Diagnostic>,
) -> Analysis {
    let a = kql::analyze(text, &info.functions);
    rule.query = Some(Query {
        language: Language::Kql,
        text: text.to_string(),
    });
    rule.detection = Some(a.detection.clone());
    for t in &a.tables {
        rule.facet(FacetKind::Table, t.clone());
    }
    if a.tables.is_empty() && a.functions.is_empty() {
        if a.reads_every_table {
            rule.metadata.push((TABLES_KEY.into(), EVERY_TABLE.into()));
        } else if a.errors.is_empty() {
            rule.metadata.push((DATA_KEY.into(), OWN_DATA.into()));
        }
    }
    for f in &a.functions {
        // The spelling of the definition when the root has one.
        let name = info
            .functions
            .get(f)
            .map_or(f.as_str(), |d| d.name.as_str());
        rule.facet(FacetKind::Parser, name);
    }
    if !a.functions.is_empty() {
        rule.metadata
            .push(("Parser functions".into(), a.functions.join(", ")));
    }
    // The parser files the query depends on, those they call included.
    let mut stack: Vec<String> = a.functions.clone();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(f) = stack.pop() {
        if !seen.insert(f.to_ascii_lowercase()) {
            continue;
        }
        if let Some(def) = info.functions.get(&f) {
            if !rule.dependencies.contains(&def.file) {
                rule.dependencies.push(def.file.clone());
            }
            stack.extend(def.calls.iter().cloned());
        }
    }
    let disp = root.display(rel);
    for e in &a.errors {
        diags.push(
            Diagnostic::new(
                Check::UnsupportedSyntax,
                disp.clone(),
                first_line + e.line - 1,
                format!("KQL not understood: {}", e.message),
            )
            .at_column(e.column)
            .for_rule(rule.id.clone()),
        );
    }
    for f in &a.unresolved {
        diags.push(
            Diagnostic::new(
                Check::UnresolvedFunction,
                disp.clone(),
                first_line,
                format!("the query calls `{f}`, a function or parser this root does not define; the tables it reads are unknown"),
            )
            .for_rule(rule.id.clone()),
        );
    }
    a
}

#[cfg(test)]
mod tests;
