//! Machine-readable exports under `exports/`: `catalog.json` (every rule with facets,
//! indicators, output fields, test verdicts, canonical data sources and closest rules, plus
//! the cross-vendor groups; described by `catalog.schema.json`), `rules.csv` and
//! `indicators.csv`. ATT&CK Navigator layers are written by `navigator`.
//!
//! CSV cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
//! return first) get a leading `'`.

use super::context::{display_title, paths, Fmt, Shared};
use super::rule_page::source_url;
use crate::catalog::Indicator;
use crate::model::{Language, OutputField, Rule};
use crate::verify::{Outcome, TestResult};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

pub const FILES: &[&str] = &[
    "catalog.json",
    "catalog.schema.json",
    "rules.csv",
    "indicators.csv",
];

/// The JSON Schema of `catalog.json` (written beside it; `tests/exports.rs` validates a
/// built catalog against it).
pub const CATALOG_SCHEMA: &str = include_str!("../../data/catalog.schema.json");

#[derive(Serialize)]
struct CatalogJson<'a> {
    version: u32,
    title: &'a str,
    rules: Vec<RuleJson<'a>>,
    /// Actions detected on several platforms (`overlap` groups).
    groups: Vec<GroupJson<'a>>,
}

#[derive(Serialize)]
struct RuleRef<'a> {
    vendor: &'static str,
    id: &'a str,
    page: String,
}

#[derive(Serialize)]
struct GroupJson<'a> {
    label: &'a [String],
    rules: Vec<RuleRef<'a>>,
}

#[derive(Serialize)]
struct CloseJson<'a> {
    vendor: &'static str,
    id: &'a str,
    page: String,
    score: f64,
    same_technique: bool,
    same_source: bool,
    /// The heaviest shared normalised values (at most `SHARED_SHOWN`).
    shared: Vec<&'a str>,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    vendor: &'static str,
    id: &'a str,
    title: &'a str,
    description: &'a str,
    severity: Option<&'static str>,
    status: Option<&'a str>,
    techniques: &'a [String],
    tactics: &'a [String],
    facets: BTreeMap<&'static str, Vec<&'a str>>,
    references: &'a [String],
    created: Option<&'a str>,
    modified: Option<&'a str>,
    language: Option<String>,
    query: Option<&'a str>,
    fully_parsed: bool,
    output_fields: &'a [OutputField],
    indicators: &'a [Indicator],
    data_sources: &'a [String],
    /// Closest rules per vendor (the rule's own included), best first within a vendor.
    overlap: Vec<CloseJson<'a>>,
    tests: Vec<TestJson<'a>>,
    file: String,
    line: usize,
    source_url: Option<String>,
    page: String,
}

#[derive(Serialize)]
struct TestJson<'a> {
    name: &'a str,
    outcome: Outcome,
    detail: &'a str,
}

fn rule_json<'a>(s: &'a Shared<'a>, i: usize) -> RuleJson<'a> {
    let r: &'a Rule = &s.cat.rules[i];
    let root = &s.build.roots[r.source.root];
    let mut facets: BTreeMap<&'static str, Vec<&'a str>> = BTreeMap::new();
    for (k, v) in &r.facets {
        facets.entry(k.key()).or_default().push(v);
    }
    let results: &'a [TestResult] = &s.build.results[i];
    RuleJson {
        vendor: r.vendor.key(),
        id: &r.id,
        title: display_title(r),
        description: &r.description,
        severity: r.severity.map(|x| x.key()),
        status: r.status.as_deref(),
        techniques: &r.techniques,
        tactics: &r.tactics,
        facets,
        references: &r.references,
        created: r.created.as_deref(),
        modified: r.modified.as_deref(),
        language: r.query.as_ref().map(|q| language_key(q.language)),
        query: r.query.as_ref().map(|q| q.text.as_str()),
        fully_parsed: r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()),
        output_fields: r
            .detection
            .as_ref()
            .map(|d| d.output_fields.as_slice())
            .unwrap_or(&[]),
        indicators: &s.cat.indicators[i],
        data_sources: &s.cross.sources[i],
        overlap: s
            .cross
            .overlap
            .top_by_vendor(i, super::cross::CLOSEST)
            .into_iter()
            .flat_map(|(_, l)| l.iter())
            .map(|nb| CloseJson {
                vendor: nb.vendor.key(),
                id: &s.cat.rules[nb.rule].id,
                page: Fmt::Html.file(&paths::rule(s.cat, nb.rule)),
                score: (nb.score * 1000.0).round() / 1000.0,
                same_technique: nb.same_technique,
                same_source: nb.same_source,
                shared: nb
                    .shared
                    .iter()
                    .take(super::overlap_pages::SHARED_SHOWN)
                    .map(|x| x.token.as_str())
                    .collect(),
            })
            .collect(),
        tests: results
            .iter()
            .map(|t| TestJson {
                name: &t.name,
                outcome: t.outcome,
                detail: &t.detail,
            })
            .collect(),
        file: root.display(&r.source.path),
        line: r.source.line,
        source_url: source_url(
            root.spec.repo_url.as_deref(),
            root.spec.commit.as_deref(),
            &r.source.path,
            r.source.line,
        ),
        page: Fmt::Html.file(&paths::rule(s.cat, i)),
    }
}

/// The language's stable snake_case key (`sigma_detection`, `spl`, `yara_l`).
fn language_key(l: Language) -> String {
    match serde_json::to_value(l) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `catalog.json`.
pub fn catalog_json(s: &Shared) -> Result<Vec<u8>, String> {
    let doc = CatalogJson {
        version: 1,
        title: &s.config.title,
        rules: (0..s.cat.rules.len()).map(|i| rule_json(s, i)).collect(),
        groups: s
            .cross
            .overlap
            .groups
            .iter()
            .map(|g| GroupJson {
                label: &g.label,
                rules: g
                    .rules
                    .iter()
                    .map(|&r| RuleRef {
                        vendor: s.cat.rules[r].vendor.key(),
                        id: &s.cat.rules[r].id,
                        page: Fmt::Html.file(&paths::rule(s.cat, r)),
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// Neutralises a CSV cell a spreadsheet would evaluate as a formula.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

pub(crate) fn csv_doc(
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| e.to_string())?;
    for row in rows {
        w.write_record(row.iter().map(|c| csv_cell(c).into_owned()))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// `rules.csv`: one row per rule.
pub fn rules_csv(s: &Shared) -> Result<Vec<u8>, String> {
    let header = [
        "vendor",
        "id",
        "title",
        "severity",
        "status",
        "techniques",
        "tactics",
        "language",
        "created",
        "modified",
        "indicators",
        "fully_parsed",
        "tests_pass",
        "tests_fail",
        "tests_unsupported",
        "file",
        "line",
        "page",
    ];
    let rows = s.cat.rules.iter().enumerate().map(|(i, r)| {
        let mut t = [0usize; 3];
        for res in &s.build.results[i] {
            t[match res.outcome {
                Outcome::Pass => 0,
                Outcome::Fail => 1,
                Outcome::Unsupported => 2,
            }] += 1;
        }
        vec![
            r.vendor.key().to_string(),
            r.id.clone(),
            display_title(r).to_string(),
            r.severity.map(|x| x.key()).unwrap_or("").to_string(),
            r.status.clone().unwrap_or_default(),
            r.techniques.join(" "),
            r.tactics.join(" "),
            r.query
                .as_ref()
                .map(|q| language_key(q.language))
                .unwrap_or_default(),
            r.created.clone().unwrap_or_default(),
            r.modified.clone().unwrap_or_default(),
            s.cat.indicators[i].len().to_string(),
            r.detection
                .as_ref()
                .is_some_and(|d| d.expr.fully_parsed())
                .to_string(),
            t[0].to_string(),
            t[1].to_string(),
            t[2].to_string(),
            s.build.roots[r.source.root].display(&r.source.path),
            r.source.line.to_string(),
            Fmt::Html.file(&paths::rule(s.cat, i)),
        ]
    });
    csv_doc(&header, rows)
}

/// `indicators.csv`: one row per (rule, indicator).
pub fn indicators_csv(s: &Shared) -> Result<Vec<u8>, String> {
    let header = [
        "vendor",
        "rule_id",
        "field",
        "op",
        "value",
        "case_sensitive",
        "corpus_count",
        "page",
    ];
    let rows = s.cat.rules.iter().enumerate().flat_map(|(i, r)| {
        let page = Fmt::Html.file(&paths::rule(s.cat, i));
        s.cat.indicators[i].iter().map(move |ind| {
            vec![
                r.vendor.key().to_string(),
                r.id.clone(),
                ind.field.clone(),
                ind.op.clone(),
                ind.value.clone(),
                ind.case_sensitive.to_string(),
                ind.count.to_string(),
                page.clone(),
            ]
        })
    });
    csv_doc(&header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-EncodedCommand"), "'-EncodedCommand");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("cmd.exe"), "cmd.exe");
        assert_eq!(csv_cell(""), "");
    }
}
