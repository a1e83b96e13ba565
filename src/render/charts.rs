//! The charts of the statistics page (static SVG from `svg`): rules by vendor, severity,
//! tactic and canonical data source, test verdicts, parse coverage. The HTML page inlines
//! them; the Markdown tree shows the same drawings as files under `charts/`.

use super::context::Shared;
use super::svg::{bar_chart, Bar};
use crate::attack;
use crate::model::{FacetKind, Severity, Vendor};
use serde::Serialize;

/// Data sources shown in their chart (the most used ones).
const TOP_SOURCES: usize = 25;

#[derive(Debug, Serialize)]
pub struct Chart {
    /// Unique in the page; also the file name under `charts/` (`<id>.svg`).
    pub id: &'static str,
    pub title: String,
    pub svg: String,
}

/// Folder of the chart files in the output folder.
pub const DIR: &str = "charts";

fn vendor_label(key: &str) -> String {
    Vendor::from_key(key)
        .map(|v| v.name().to_string())
        .unwrap_or_else(|| key.to_string())
}

fn vendor_order(key: &str) -> usize {
    Vendor::from_key(key)
        .and_then(|v| Vendor::ALL.iter().position(|x| *x == v))
        .unwrap_or(usize::MAX)
}

/// Every chart of the statistics page, in page order.
pub fn charts(s: &Shared) -> Vec<Chart> {
    let mut vendors: Vec<(&str, &crate::verify::report::Counts)> =
        s.report.vendors.iter().map(|(k, c)| (*k, c)).collect();
    vendors.sort_by_key(|(k, _)| vendor_order(k));
    let facet = |kind: FacetKind| s.cat.facets.get(&kind);
    let mut out = Vec::new();
    let mut push = |id: &'static str, title: String, bars: Vec<Bar>, max: Option<f64>| {
        let svg = bar_chart(&format!("chart-{id}"), &title, &bars, max);
        out.push(Chart { id, title, svg });
    };

    push(
        "vendors",
        "Rules by vendor".to_string(),
        vendors
            .iter()
            .map(|(k, c)| Bar::count(vendor_label(k), c.rules))
            .collect(),
        None,
    );

    let mut sev: Vec<(Option<Severity>, &String, usize)> = facet(FacetKind::Severity)
        .into_iter()
        .flatten()
        .map(|(v, r)| (Severity::parse(v), v, r.len()))
        .collect();
    sev.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    push(
        "severity",
        "Rules by severity".to_string(),
        sev.into_iter().map(|(_, v, n)| Bar::count(v, n)).collect(),
        None,
    );

    // Tactics in matrix order; ids ATT&CK does not know go last.
    let db = attack::db();
    let mut tac: Vec<(usize, String, usize)> = facet(FacetKind::Tactic)
        .into_iter()
        .flatten()
        .map(|(v, r)| {
            let pos = db
                .tactics()
                .iter()
                .position(|t| t.id == *v)
                .unwrap_or(usize::MAX);
            let label = match db.tactic(v) {
                Some(t) => format!("{} ({v})", t.name),
                None => v.clone(),
            };
            (pos, label, r.len())
        })
        .collect();
    tac.sort();
    push(
        "tactics",
        "Rules by ATT&CK tactic".to_string(),
        tac.into_iter().map(|(_, l, n)| Bar::count(l, n)).collect(),
        None,
    );

    let mut src: Vec<(&String, usize)> = facet(FacetKind::CanonicalSource)
        .into_iter()
        .flatten()
        .map(|(v, r)| (v, r.len()))
        .collect();
    src.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let total_sources = src.len();
    let title = if total_sources > TOP_SOURCES {
        format!("Rules by data source (the {TOP_SOURCES} most used of {total_sources})")
    } else {
        "Rules by data source".to_string()
    };
    push(
        "sources",
        title,
        src.into_iter()
            .take(TOP_SOURCES)
            .map(|(v, n)| Bar::count(v, n))
            .collect(),
        None,
    );

    let t = &s.report.totals.tests;
    push(
        "verdicts",
        "Test verdicts".to_string(),
        vec![
            Bar::count("pass", t.pass),
            Bar::count("fail", t.fail),
            Bar::count("unsupported", t.unsupported),
        ],
        None,
    );

    push(
        "parsed",
        "Rules fully parsed, by vendor".to_string(),
        vendors
            .iter()
            .map(|(k, c)| Bar::percent(vendor_label(k), c.fully_parsed, c.rules))
            .collect(),
        Some(100.0),
    );
    out
}

/// A chart as a page shows it: inline SVG in HTML, a link to its file in Markdown.
#[derive(Debug, Serialize)]
pub struct ChartView {
    pub title: String,
    /// HTML only: built by `svg::bar_chart`, which escapes every label.
    pub svg_html: String,
    /// Link to `charts/<id>.svg`.
    pub file: String,
}

pub fn views(
    s: &Shared,
    links: &super::context::Links,
    fmt: super::context::Fmt,
) -> Vec<ChartView> {
    charts(s)
        .into_iter()
        .map(|c| ChartView {
            file: links.out(&format!("{DIR}/{}.svg", c.id)),
            svg_html: if fmt == super::context::Fmt::Html {
                c.svg
            } else {
                String::new()
            },
            title: c.title,
        })
        .collect()
}
