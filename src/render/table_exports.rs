//! `exports/tables.csv` and `exports/tables.json`: every table a rule reads, with
//! Microsoft's ingestion facts (when a reference was read) and rule counts per vendor:
//! rules naming the table, and rules of any vendor on its canonical data source.

use super::context::{paths, Fmt, Shared};
use super::exports::csv_doc;
use super::reference_pages::{table_sources, NOT_STATED};
use crate::catalog::reference::TableFacts;
use crate::model::{FacetKind, Vendor};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub const FILES: &[&str] = &["tables.csv", "tables.json"];

#[derive(Serialize)]
struct TableJson<'a> {
    table: &'a str,
    in_reference: bool,
    facts: Option<&'a TableFacts>,
    canonical_sources: Vec<&'static str>,
    /// Vendor key → rules naming the table.
    rules: BTreeMap<&'static str, usize>,
    /// Vendor key → rules on its canonical data sources that do not name it.
    same_source_rules: BTreeMap<&'static str, usize>,
    page: String,
}

fn rows<'a>(s: &Shared<'a>) -> Vec<TableJson<'a>> {
    let Some(values) = s.cat.facets.get(&FacetKind::Table) else {
        return Vec::new();
    };
    values
        .iter()
        .map(|(t, rules)| {
            let mut counts = BTreeMap::new();
            for &i in rules {
                *counts.entry(s.cat.rules[i].vendor.key()).or_insert(0) += 1;
            }
            let sources = table_sources(t);
            let own: BTreeSet<usize> = rules.iter().copied().collect();
            let mut others: BTreeSet<usize> = BTreeSet::new();
            for n in &sources {
                others.extend(
                    s.cat
                        .rules_of(FacetKind::CanonicalSource, n)
                        .iter()
                        .filter(|i| !own.contains(i)),
                );
            }
            let mut same = BTreeMap::new();
            for i in others {
                *same.entry(s.cat.rules[i].vendor.key()).or_insert(0) += 1;
            }
            let facts = s.build.reference.table(t);
            TableJson {
                table: t,
                in_reference: facts.is_some(),
                facts,
                canonical_sources: sources,
                rules: counts,
                same_source_rules: same,
                page: paths::facet(s.cat, FacetKind::Table, t)
                    .map(|p| Fmt::Html.file(&p))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// `tables.json`.
pub fn tables_json(s: &Shared) -> Result<Vec<u8>, String> {
    let mut out = serde_json::to_vec_pretty(&rows(s)).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// `tables.csv`: one row per table; fact columns hold "not stated" where the reference is
/// silent and are empty for tables it does not list.
pub fn tables_csv(s: &Shared) -> Result<Vec<u8>, String> {
    let fact_labels: Vec<&'static str> = TableFacts::default()
        .facts()
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    let fact_keys: Vec<String> = fact_labels
        .iter()
        .map(|l| {
            l.to_ascii_lowercase()
                .replace(['(', ')'], "")
                .replace(' ', "_")
        })
        .collect();
    let mut header: Vec<String> = ["table", "in_reference", "category", "source"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(fact_keys);
    header.push("doc".into());
    header.push("canonical_sources".into());
    header.push("rules".into());
    for v in Vendor::ALL {
        header.push(format!("rules_{}", v.key()));
    }
    header.push("same_source_rules".into());
    header.push("page".into());
    let data = rows(s);
    let lines = data.iter().map(|r| {
        let mut row = vec![
            r.table.to_string(),
            r.in_reference.to_string(),
            r.facts.and_then(|f| f.category.clone()).unwrap_or_default(),
            r.facts.and_then(|f| f.source()).unwrap_or_default(),
        ];
        match r.facts {
            Some(f) => row.extend(
                f.facts()
                    .into_iter()
                    .map(|(_, v)| v.unwrap_or(NOT_STATED).to_string()),
            ),
            None => row.extend(fact_labels.iter().map(|_| String::new())),
        }
        row.push(
            r.facts
                .and_then(|f| f.doc())
                .unwrap_or_default()
                .to_string(),
        );
        row.push(r.canonical_sources.join("; "));
        row.push(r.rules.values().sum::<usize>().to_string());
        for v in Vendor::ALL {
            row.push(r.rules.get(v.key()).copied().unwrap_or(0).to_string());
        }
        row.push(r.same_source_rules.values().sum::<usize>().to_string());
        row.push(r.page.clone());
        row
    });
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    csv_doc(&header, lines)
}
