//! Views of the pages that list rules: home, facet kind indexes, facet values (vendors,
//! techniques, tactics and every other kind), statistics, `/id/` redirects, content pages.

use super::context::{
    display_title, facet_label, paths, rule_date, Base, ContentPage, Fmt, IdPage, Link, Links,
    RuleRow, Shared,
};
use super::markdown;
use super::names;
use super::rule_page::MetaRow;
use crate::model::{FacetKind, Vendor};
use crate::verify::report::Counts;
use serde::Serialize;
use std::collections::BTreeMap;

/// Newest rules listed on the home page.
const NEWEST: usize = 25;

#[derive(Serialize)]
pub struct VendorRow {
    pub vendor: Link,
    pub counts: Counts,
    pub fully_parsed_pct: String,
    pub indicators_pct: String,
}

#[derive(Serialize)]
pub struct KindRow {
    pub label: &'static str,
    pub href: String,
    pub values: usize,
}

#[derive(Serialize)]
pub struct HomePage<'a> {
    #[serde(flatten)]
    pub base: Base,
    pub vendors: Vec<VendorRow>,
    pub totals: VendorRow,
    pub kinds: Vec<KindRow>,
    pub newest: Vec<RuleRow<'a>>,
    pub exports: Vec<Link>,
    pub pages: Vec<Link>,
    pub stats: String,
    pub matrix: String,
    pub overlap: String,
    pub indicators: String,
}

#[derive(Serialize)]
pub struct FacetValueRow {
    pub link: Link,
    pub total: usize,
    pub per_vendor: Vec<usize>,
    /// Values of `FacetIndexPage::columns` (reference facts of tables, connectors...).
    pub extra: Vec<String>,
}

#[derive(Serialize)]
pub struct FacetIndexPage {
    #[serde(flatten)]
    pub base: Base,
    pub kind: &'static str,
    pub label: &'static str,
    pub vendors: Vec<&'static str>,
    pub values: Vec<FacetValueRow>,
    /// Extra columns after the value (`reference_pages::index_columns`).
    pub columns: Vec<&'static str>,
    /// A sentence with reference counts for the header.
    pub summary: Option<String>,
}

#[derive(Serialize)]
pub struct Group<'a> {
    pub name: &'static str,
    pub anchor: &'static str,
    pub rules: Vec<RuleRow<'a>>,
}

#[derive(Serialize)]
pub struct FacetPage<'a> {
    #[serde(flatten)]
    pub base: Base,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub kind_plural: &'static str,
    pub kind_href: String,
    pub value: &'a str,
    pub label: String,
    pub info: Vec<MetaRow>,
    pub total: usize,
    pub groups: Vec<Group<'a>>,
    /// Microsoft's facts and same-source rules (tables, connectors, solutions, parsers).
    pub reference: Option<super::reference_pages::RefView<'a>>,
}

#[derive(Serialize)]
pub struct DistRow {
    pub link: Link,
    pub total: usize,
    pub per_vendor: Vec<usize>,
    /// Bar length, percent of the largest row.
    pub bar: usize,
}

#[derive(Serialize)]
pub struct Distribution {
    pub title: &'static str,
    pub href: String,
    pub rows: Vec<DistRow>,
}

#[derive(Serialize)]
pub struct DiagCount {
    pub code: &'static str,
    pub level: &'static str,
    pub count: usize,
    pub description: &'static str,
}

#[derive(Serialize)]
pub struct StatsPage {
    #[serde(flatten)]
    pub base: Base,
    pub vendors: Vec<VendorRow>,
    pub totals: VendorRow,
    pub vendor_names: Vec<&'static str>,
    pub distributions: Vec<Distribution>,
    pub diagnostics: Vec<DiagCount>,
    pub unclaimed_files: usize,
    pub charts: Vec<super::charts::ChartView>,
}

#[derive(Serialize)]
pub struct RedirectPage<'a> {
    #[serde(flatten)]
    pub base: Base,
    pub target: String,
    pub vendor: &'static str,
    pub id: &'a str,
    pub title: &'a str,
}

#[derive(Serialize)]
pub struct ContentView<'a> {
    #[serde(flatten)]
    pub base: Base,
    pub markdown: &'a str,
    pub html: String,
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "0.0".to_string()
    } else {
        format!("{:.1}", n as f64 * 100.0 / of as f64)
    }
}

fn vendor_row(s: &Shared, links: &Links, key: &str, counts: &Counts) -> VendorRow {
    let vendor = match Vendor::from_key(key) {
        Some(_) => s.facet_link(links, FacetKind::Vendor, key),
        None => Link::text(key.to_string()),
    };
    VendorRow {
        vendor,
        counts: counts.clone(),
        fully_parsed_pct: pct(counts.fully_parsed, counts.rules),
        indicators_pct: pct(counts.with_indicators, counts.rules),
    }
}

/// Report rows in `Vendor::ALL` order (the report itself is keyed alphabetically).
fn vendor_rows(s: &Shared, links: &Links) -> Vec<VendorRow> {
    let mut rows: Vec<(usize, VendorRow)> = s
        .report
        .vendors
        .iter()
        .map(|(k, c)| {
            let order = Vendor::from_key(k)
                .and_then(|v| Vendor::ALL.iter().position(|x| *x == v))
                .unwrap_or(usize::MAX);
            (order, vendor_row(s, links, k, c))
        })
        .collect();
    rows.sort_by_key(|(o, _)| *o);
    rows.into_iter().map(|(_, r)| r).collect()
}

fn totals_row(s: &Shared, links: &Links) -> VendorRow {
    let mut row = vendor_row(s, links, "Total", &s.report.totals);
    row.vendor = Link::text("Total");
    row
}

pub fn home<'a>(s: &Shared<'a>, fmt: Fmt) -> HomePage<'a> {
    let links = Links::new(fmt, paths::HOME);
    let cat = s.cat;
    let mut dated: Vec<(String, usize)> = cat
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rule_date(r).map(|d| (d, i)))
        .collect();
    dated.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    HomePage {
        base: s.base(&links, s.config.title.clone(), paths::HOME),
        vendors: vendor_rows(s, &links),
        totals: totals_row(s, &links),
        kinds: cat
            .facets
            .iter()
            .map(|(k, values)| KindRow {
                label: k.plural(),
                href: links.page(&paths::facet_index(*k)),
                values: values.len(),
            })
            .collect(),
        newest: dated
            .iter()
            .take(NEWEST)
            .map(|(_, i)| s.rule_row(&links, *i))
            .collect(),
        exports: super::exports::FILES
            .iter()
            .chain(super::table_exports::FILES)
            .map(|f| Link::to(f.to_string(), links.out(&format!("exports/{f}"))))
            .chain(
                super::navigator::files(s)
                    .into_iter()
                    .map(|(name, f)| Link::to(format!("Navigator layer: {name}"), links.out(&f))),
            )
            .collect(),
        pages: s
            .content
            .iter()
            .map(|c| Link::to(c.title.clone(), links.page(&paths::content(&c.slug))))
            .collect(),
        stats: links.page(paths::STATS),
        matrix: links.page(paths::MATRIX),
        overlap: links.page(paths::OVERLAP),
        indicators: links.page(paths::INDICATORS),
    }
}

fn per_vendor(s: &Shared, rules: &[usize]) -> Vec<usize> {
    let mut counts: BTreeMap<Vendor, usize> = BTreeMap::new();
    for &i in rules {
        *counts.entry(s.cat.rules[i].vendor).or_insert(0) += 1;
    }
    s.vendors
        .iter()
        .map(|v| counts.get(v).copied().unwrap_or(0))
        .collect()
}

pub fn facet_index(s: &Shared, fmt: Fmt, kind: FacetKind) -> FacetIndexPage {
    let page = paths::facet_index(kind);
    let links = Links::new(fmt, &page);
    let values = s.cat.facets.get(&kind);
    FacetIndexPage {
        base: s.base(&links, kind.plural(), &page),
        kind: kind.key(),
        label: kind.label(),
        vendors: s.vendors.iter().map(|v| v.name()).collect(),
        values: values
            .into_iter()
            .flatten()
            .map(|(value, rules)| FacetValueRow {
                link: s.facet_link(&links, kind, value),
                total: rules.len(),
                per_vendor: per_vendor(s, rules),
                extra: super::reference_pages::index_cells(s, kind, value),
            })
            .collect(),
        columns: super::reference_pages::index_columns(kind),
        summary: super::reference_pages::index_summary(s, kind),
    }
}

pub fn facet_value<'a>(s: &Shared<'a>, fmt: Fmt, kind: FacetKind, value: &'a str) -> FacetPage<'a> {
    let page = paths::facet(s.cat, kind, value).expect("facet values have pages");
    let links = Links::new(fmt, &page);
    let rules = s.cat.rules_of(kind, value);
    let mut groups: Vec<Group> = Vec::new();
    // Rules are sorted by vendor, so each vendor's rules are one run.
    for &i in rules {
        let v = s.cat.rules[i].vendor;
        if groups.last().map(|g| g.anchor) != Some(v.key()) {
            groups.push(Group {
                name: v.name(),
                anchor: v.key(),
                rules: Vec::new(),
            });
        }
        groups
            .last_mut()
            .expect("pushed above")
            .rules
            .push(s.rule_row(&links, i));
    }
    // By title within each vendor, as a reader scans them.
    for g in &mut groups {
        g.rules
            .sort_by_cached_key(|r| (r.title.to_lowercase(), r.href.clone()));
    }
    let label = facet_label(kind, value);
    FacetPage {
        base: s.base(&links, format!("{}: {label}", kind.label()), &page),
        kind: kind.key(),
        kind_label: kind.label(),
        kind_plural: kind.plural(),
        kind_href: links.page(&paths::facet_index(kind)),
        value,
        label,
        info: facet_info(s, &links, kind, value, rules),
        total: rules.len(),
        groups,
        reference: super::reference_pages::view(s, &links, kind, value, rules),
    }
}

/// Facts about a facet value shown above its rules (ATT&CK names, parents, vendor counts).
fn facet_info(
    s: &Shared,
    links: &Links,
    kind: FacetKind,
    value: &str,
    rules: &[usize],
) -> Vec<MetaRow> {
    let row = |label: &str, items: Vec<Link>| MetaRow {
        label: label.to_string(),
        items,
    };
    let mut out = Vec::new();
    match kind {
        FacetKind::Technique => {
            if let Some(st) = names::technique_status(value) {
                out.push(row("Status in ATT&CK", vec![Link::text(st)]));
            }
            if let Some(sm) = names::technique_summary(value) {
                out.push(row("Summary", vec![Link::text(sm)]));
            }
            let tactics: Vec<Link> = names::technique_tactics(value)
                .iter()
                .map(|t| s.facet_link(links, FacetKind::Tactic, t))
                .collect();
            if !tactics.is_empty() {
                out.push(row("Tactics", tactics));
            }
            if let Some((parent, _)) = value.split_once('.') {
                if s.cat.facet_slug(kind, parent).is_some() {
                    out.push(row(
                        "Parent technique",
                        vec![s.facet_link(links, kind, parent)],
                    ));
                }
            } else {
                let prefix = format!("{value}.");
                let subs: Vec<Link> = s.cat.facets[&kind]
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .map(|k| s.facet_link(links, kind, k))
                    .collect();
                if !subs.is_empty() {
                    out.push(row("Sub-techniques with rules", subs));
                }
            }
            out.extend(super::attack_pages::technique_sources(s, links, rules));
            if let Some(u) = names::mitre_url(value) {
                out.push(row("ATT&CK", vec![Link::to(u.clone(), u)]));
            }
        }
        FacetKind::Tactic => {
            let mut techs: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in rules {
                for t in &s.cat.rules[i].techniques {
                    *techs.entry(t).or_insert(0) += 1;
                }
            }
            if !techs.is_empty() {
                let items = techs
                    .into_iter()
                    .map(|(t, n)| {
                        let mut l = s.facet_link(links, FacetKind::Technique, t);
                        l.text = format!("{} ({n})", l.text);
                        l
                    })
                    .collect();
                out.push(row("Techniques of these rules", items));
            }
            if let Some(u) = names::mitre_url(value) {
                out.push(row("ATT&CK", vec![Link::to(u.clone(), u)]));
            }
        }
        FacetKind::Vendor => {
            if let Some(c) = s.report.vendors.get(value) {
                let t = |l: &str, v: String| row(l, vec![Link::text(v)]);
                out.push(t("Rule files", c.files.to_string()));
                out.push(t("Files with a load error", c.load_errors.to_string()));
                out.push(t(
                    "Fully parsed",
                    format!(
                        "{} of {} ({}%)",
                        c.fully_parsed,
                        c.rules,
                        pct(c.fully_parsed, c.rules)
                    ),
                ));
                out.push(t(
                    "Tests",
                    format!(
                        "{} pass, {} fail, {} unsupported",
                        c.tests.pass, c.tests.fail, c.tests.unsupported
                    ),
                ));
            }
        }
        _ => out.extend(super::reference_pages::info_rows(
            s, links, kind, value, rules,
        )),
    }
    if s.vendors.len() > 1 && kind != FacetKind::Vendor {
        let counts = per_vendor(s, rules);
        let items: Vec<Link> = s
            .vendors
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| Link::to(format!("{} ({n})", v.name()), format!("#{}", v.key())))
            .collect();
        out.push(row("Vendors", items));
    }
    out
}

fn distribution(
    s: &Shared,
    links: &Links,
    kind: FacetKind,
    title: &'static str,
) -> Option<Distribution> {
    let values = s.cat.facets.get(&kind)?;
    let mut rows: Vec<DistRow> = values
        .iter()
        .map(|(v, rules)| DistRow {
            link: s.facet_link(links, kind, v),
            total: rules.len(),
            per_vendor: per_vendor(s, rules),
            bar: 0,
        })
        .collect();
    if kind == FacetKind::Severity {
        let rank = |r: &DistRow| crate::model::Severity::parse(&r.link.text).map(|s| s as usize);
        rows.sort_by_key(|r| std::cmp::Reverse(rank(r)));
    }
    let max = rows.iter().map(|r| r.total).max().unwrap_or(1).max(1);
    for r in &mut rows {
        r.bar = (r.total * 100).div_ceil(max);
    }
    Some(Distribution {
        title,
        href: links.page(&paths::facet_index(kind)),
        rows,
    })
}

pub fn stats(s: &Shared, fmt: Fmt) -> StatsPage {
    let links = Links::new(fmt, paths::STATS);
    let mut diags: BTreeMap<&'static str, DiagCount> = BTreeMap::new();
    for d in &s.build.diagnostics {
        diags
            .entry(d.code.id())
            .or_insert(DiagCount {
                code: d.code.id(),
                level: d.level.as_str(),
                count: 0,
                description: d.code.description(),
            })
            .count += 1;
    }
    StatsPage {
        base: s.base(&links, "Statistics", paths::STATS),
        vendors: vendor_rows(s, &links),
        totals: totals_row(s, &links),
        vendor_names: s.vendors.iter().map(|v| v.name()).collect(),
        distributions: [
            (FacetKind::Severity, "Rules by severity"),
            (FacetKind::Tactic, "Rules by tactic"),
            (FacetKind::Status, "Rules by status"),
            (FacetKind::Language, "Rules by query language"),
        ]
        .into_iter()
        .filter_map(|(k, t)| distribution(s, &links, k, t))
        .collect(),
        diagnostics: diags.into_values().collect(),
        unclaimed_files: s.build.unclaimed_files,
        charts: super::charts::views(s, &links, fmt),
    }
}

pub fn redirect<'a>(s: &Shared<'a>, fmt: Fmt, p: &'a IdPage) -> RedirectPage<'a> {
    let page = paths::id(p.vendor, &p.slug);
    let links = Links::new(fmt, &page);
    let r = &s.cat.rules[p.rule];
    RedirectPage {
        base: s.base(&links, display_title(r), &page),
        target: links.page(&paths::rule(s.cat, p.rule)),
        vendor: p.vendor.name(),
        id: &p.id,
        title: display_title(r),
    }
}

pub fn content<'a>(s: &Shared, fmt: Fmt, c: &'a ContentPage) -> ContentView<'a> {
    let page = paths::content(&c.slug);
    let links = Links::new(fmt, &page);
    ContentView {
        base: s.base(&links, c.title.clone(), &page),
        markdown: &c.markdown,
        html: if fmt == Fmt::Html {
            markdown::to_html(&c.markdown, 1)
        } else {
            String::new()
        },
    }
}
