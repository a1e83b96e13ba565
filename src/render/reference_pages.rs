//! Microsoft's facts on the pages of tables, data connectors, solutions and parsers (facet
//! pages of those kinds, same URLs), the extra columns of their index pages, and the
//! "Tables used" section of Sentinel and Defender XDR rule pages.
//!
//! Sources: the Solutions Analyzer reference (`Build::reference`, optional) and what the
//! roots define (`Build::sentinel`: solution JSON, connector definitions, parsers). A table
//! page also lists the rules of other vendors on the same canonical data source
//! (`data/datasources.toml`): the sources a rule reading only that table would get.

use super::context::{Link, Links, RuleRow, Shared};
use super::rule_page::MetaRow;
use crate::catalog::datasources;
use crate::catalog::reference::TableFacts;
use crate::model::{FacetKind, Rule, SourceLocation, Vendor};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Shown for a fact the reference leaves empty.
pub const NOT_STATED: &str = "not stated";

/// One ingestion fact.
#[derive(Debug, Serialize)]
pub struct FactRow {
    pub label: &'static str,
    pub value: String,
    pub stated: bool,
}

/// Rules of one vendor.
#[derive(Serialize)]
pub struct RelatedGroup<'a> {
    pub name: &'static str,
    pub anchor: String,
    pub rules: Vec<RuleRow<'a>>,
}

/// The reference part of a facet page.
#[derive(Serialize, Default)]
pub struct RefView<'a> {
    /// Ingestion facts (tables only).
    pub facts: Vec<FactRow>,
    /// Whether Microsoft's reference lists the value (None: no reference was read).
    pub in_reference: Option<bool>,
    /// Canonical data sources of the table, and the other rules reading them.
    pub sources: Vec<Link>,
    pub related: Vec<RelatedGroup<'a>>,
    pub related_total: usize,
}

/// The kinds whose pages carry reference facts.
pub fn has_view(kind: FacetKind) -> bool {
    matches!(
        kind,
        FacetKind::Table | FacetKind::Connector | FacetKind::Solution | FacetKind::Parser
    )
}

fn row(label: &str, items: Vec<Link>) -> MetaRow {
    MetaRow {
        label: label.to_string(),
        items,
    }
}

fn text_row(out: &mut Vec<MetaRow>, label: &str, v: Option<&str>) {
    if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
        out.push(row(label, vec![Link::text(v.to_string())]));
    }
}

fn url_row(out: &mut Vec<MetaRow>, label: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| v.starts_with("https://") || v.starts_with("http://")) {
        out.push(row(label, vec![Link::to(v.to_string(), v.to_string())]));
    }
}

/// A facet link, or plain text when the value has no page.
fn link(s: &Shared, links: &Links, kind: FacetKind, value: &str, text: Option<String>) -> Link {
    let mut l = s.facet_link(links, kind, value);
    if let Some(t) = text {
        l.text = t;
    }
    l
}

/// The facet value a table name has in this build (case-insensitive), else the name.
fn facet_value<'b>(s: &'b Shared, kind: FacetKind, name: &'b str) -> &'b str {
    if s.cat.facet_slug(kind, name).is_some() {
        return name;
    }
    s.cat
        .facets
        .get(&kind)
        .and_then(|m| m.keys().find(|k| k.eq_ignore_ascii_case(name)))
        .map(String::as_str)
        .unwrap_or(name)
}

fn connector_text(s: &Shared, id: &str) -> String {
    match s.build.sentinel.connectors.get(id) {
        Some(c) => format!("{} ({id})", c.title),
        None => id.to_string(),
    }
}

/// Tables a connector fills: its definition's data types and the reference map.
pub fn connector_tables(s: &Shared, id: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    if let Some(c) = s.build.sentinel.connectors.get(id) {
        out.extend(c.tables.iter().cloned());
    }
    out.extend(
        s.build
            .reference
            .links_of_connector(id)
            .filter_map(|l| l.table.clone()),
    );
    out
}

/// (solution folders, connector ids) that fill a table.
fn table_fillers(s: &Shared, table: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let r = &s.build.reference;
    let mut sols = BTreeSet::new();
    let mut cons = BTreeSet::new();
    for l in r.links_of_table(table) {
        sols.insert(r.solution_folder(&l.solution));
        if let Some(c) = &l.connector {
            cons.insert(c.clone());
        }
    }
    for c in s.build.sentinel.connectors.values() {
        if c.tables.iter().any(|t| t.eq_ignore_ascii_case(table)) {
            cons.insert(c.id.clone());
            if let Some(f) = &c.solution {
                sols.insert(f.clone());
            }
        }
    }
    (sols, cons)
}

/// Parsers reading a table: reference rows and the root's own definitions.
fn table_parsers(s: &Shared, table: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = s
        .build
        .reference
        .parsers_of_table(table)
        .map(|p| p.name.clone())
        .collect();
    for f in s.build.sentinel.functions.iter() {
        if f.tables.iter().any(|t| t.eq_ignore_ascii_case(table)) {
            out.insert(f.name.clone());
        }
    }
    out
}

/// Tables a parser reads.
pub fn parser_tables(s: &Shared, name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(f) = s.build.sentinel.functions.get(name) {
        out.extend(f.tables.iter().cloned());
    }
    if let Some(p) = s.build.reference.parser(name) {
        out.extend(p.tables.iter().cloned());
    }
    out
}

/// Canonical data sources of a table: those a rule reading only that table gets.
pub fn table_sources(table: &str) -> Vec<&'static str> {
    let mut r = Rule::new(Vendor::Sentinel, "", SourceLocation::default());
    r.facet(FacetKind::Table, table);
    datasources::canonical(&r)
}

fn list_links(
    s: &Shared,
    links: &Links,
    kind: FacetKind,
    values: impl IntoIterator<Item = String>,
    text: impl Fn(&str) -> Option<String>,
) -> Vec<Link> {
    values
        .into_iter()
        .map(|v| {
            let fv = facet_value(s, kind, &v).to_string();
            link(s, links, kind, &fv, text(&v))
        })
        .collect()
}

/// Rows added to the "About" table of a facet page.
pub fn info_rows(
    s: &Shared,
    links: &Links,
    kind: FacetKind,
    value: &str,
    rules: &[usize],
) -> Vec<MetaRow> {
    let mut out = Vec::new();
    let r = &s.build.reference;
    let info = &s.build.sentinel;
    match kind {
        FacetKind::Table => {
            if let Some(t) = r.table(value) {
                text_row(&mut out, "Description", t.description.as_deref());
                text_row(&mut out, "Category", t.category.as_deref());
                text_row(&mut out, "Source", t.source().as_deref());
                text_row(&mut out, "Resource types", t.resource_types.as_deref());
                url_row(
                    &mut out,
                    "Azure Monitor reference",
                    t.azure_monitor_doc.as_deref(),
                );
                url_row(
                    &mut out,
                    "Defender XDR reference",
                    t.defender_xdr_doc.as_deref(),
                );
            }
            let (sols, cons) = table_fillers(s, value);
            if !sols.is_empty() {
                out.push(row(
                    "Solutions filling it",
                    list_links(s, links, FacetKind::Solution, sols, |v| {
                        r.solution(v).map(|x| x.name.clone())
                    }),
                ));
            }
            if !cons.is_empty() {
                out.push(row(
                    "Connectors filling it",
                    list_links(s, links, FacetKind::Connector, cons, |v| {
                        Some(connector_text(s, v))
                    }),
                ));
            }
            let parsers = table_parsers(s, value);
            if !parsers.is_empty() {
                out.push(row(
                    "Parsers reading it",
                    list_links(s, links, FacetKind::Parser, parsers, |_| None),
                ));
            }
        }
        FacetKind::Connector => {
            if let Some(c) = info.connectors.get(value) {
                text_row(&mut out, "Title", Some(&c.title));
                text_row(&mut out, "Publisher", c.publisher.as_deref());
                text_row(&mut out, "Definition", Some(&c.file));
            }
            let tables = connector_tables(s, value);
            if !tables.is_empty() {
                out.push(row(
                    "Tables it fills",
                    list_links(s, links, FacetKind::Table, tables, |_| None),
                ));
            }
            let mut sols: BTreeSet<String> = r
                .links_of_connector(value)
                .map(|l| r.solution_folder(&l.solution))
                .collect();
            if let Some(f) = info.connectors.get(value).and_then(|c| c.solution.clone()) {
                sols.insert(f);
            }
            if !sols.is_empty() {
                out.push(row(
                    "Solutions",
                    list_links(s, links, FacetKind::Solution, sols, |v| {
                        r.solution(v).map(|x| x.name.clone())
                    }),
                ));
            }
        }
        FacetKind::Solution => {
            let own = info.solutions.get(value);
            let refd = r.solution(value);
            let name = refd.map(|x| x.name.clone()).or(own.map(|x| x.name.clone()));
            text_row(&mut out, "Name", name.as_deref());
            text_row(
                &mut out,
                "Publisher",
                own.and_then(|x| x.publisher_id.clone())
                    .or(refd.and_then(|x| x.publisher_id.clone()))
                    .as_deref(),
            );
            text_row(
                &mut out,
                "Author",
                own.and_then(|x| x.author.clone())
                    .or(refd.and_then(|x| x.author.clone()))
                    .as_deref(),
            );
            text_row(
                &mut out,
                "Version",
                own.and_then(|x| x.version.clone())
                    .or(refd.and_then(|x| x.version.clone()))
                    .as_deref(),
            );
            let tier = own
                .and_then(|x| x.support_tier.clone())
                .or(refd.and_then(|x| x.support_tier.clone()));
            let support = match (refd.and_then(|x| x.support_name.clone()), tier) {
                (Some(n), Some(t)) => Some(format!("{t} ({n})")),
                (n, t) => t.or(n),
            };
            text_row(&mut out, "Support", support.as_deref());
            url_row(
                &mut out,
                "Support link",
                refd.and_then(|x| x.support_link.as_deref()),
            );
            let mut cats: Vec<String> = own.map(|x| x.categories.clone()).unwrap_or_default();
            for c in refd.map(|x| x.categories.clone()).unwrap_or_default() {
                if !cats.contains(&c) {
                    cats.push(c);
                }
            }
            if !cats.is_empty() {
                out.push(row(
                    "Categories",
                    cats.into_iter().map(Link::text).collect(),
                ));
            }
            text_row(
                &mut out,
                "First published",
                own.and_then(|x| x.first_published.clone())
                    .or(refd.and_then(|x| x.first_published.clone()))
                    .as_deref(),
            );
            text_row(
                &mut out,
                "Last published",
                own.and_then(|x| x.last_published.clone())
                    .or(refd.and_then(|x| x.last_published.clone()))
                    .as_deref(),
            );
            let mut cons: BTreeSet<String> = own
                .map(|x| x.connector_ids.iter().cloned().collect())
                .unwrap_or_default();
            let mut tables: BTreeSet<String> = BTreeSet::new();
            for l in r.links_of_solution(value) {
                cons.extend(l.connector.clone());
                tables.extend(l.table.clone());
            }
            for c in info.connectors.values() {
                if c.solution.as_deref() == Some(value) {
                    cons.insert(c.id.clone());
                    tables.extend(c.tables.iter().cloned());
                }
            }
            if !cons.is_empty() {
                out.push(row(
                    "Data connectors",
                    list_links(s, links, FacetKind::Connector, cons, |v| {
                        Some(connector_text(s, v))
                    }),
                ));
            }
            if !tables.is_empty() {
                out.push(row(
                    "Tables",
                    list_links(s, links, FacetKind::Table, tables, |_| None),
                ));
            }
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in rules {
                for k in s.cat.rules[i].facet_values(FacetKind::RuleType) {
                    *kinds.entry(k).or_insert(0) += 1;
                }
            }
            if !kinds.is_empty() {
                out.push(row(
                    "Content by kind",
                    kinds
                        .into_iter()
                        .map(|(k, n)| {
                            let mut l = s.facet_link(links, FacetKind::RuleType, k);
                            l.text = format!("{k} ({n})");
                            l
                        })
                        .collect(),
                ));
            }
            url_row(
                &mut out,
                "Solution folder",
                refd.and_then(|x| x.url.as_deref()),
            );
        }
        FacetKind::Parser => {
            let p = r.parser(value);
            let own = info.parsers.iter().find(|x| {
                x.name.eq_ignore_ascii_case(value)
                    || x.aliases.iter().any(|a| a.eq_ignore_ascii_case(value))
            });
            text_row(
                &mut out,
                "Title",
                p.and_then(|x| x.title.as_deref())
                    .or(own.and_then(|x| x.title.as_deref())),
            );
            text_row(
                &mut out,
                "Description",
                p.and_then(|x| x.description.as_deref()),
            );
            text_row(&mut out, "ASIM schema", p.and_then(|x| x.schema.as_deref()));
            text_row(&mut out, "Version", p.and_then(|x| x.version.as_deref()));
            text_row(
                &mut out,
                "Last updated",
                p.and_then(|x| x.last_updated.as_deref()),
            );
            let tables = parser_tables(s, value);
            if !tables.is_empty() {
                out.push(row(
                    "Tables read",
                    list_links(s, links, FacetKind::Table, tables, |_| None),
                ));
            }
            if let Some(p) = p.filter(|p| !p.sub_parsers.is_empty()) {
                out.push(row(
                    "Sub-parsers",
                    list_links(s, links, FacetKind::Parser, p.sub_parsers.clone(), |_| None),
                ));
            }
            if let Some(sol) = p.and_then(|x| x.solution.clone()) {
                out.push(row(
                    "Solution",
                    list_links(s, links, FacetKind::Solution, [sol], |_| None),
                ));
            }
            let file = own
                .map(|x| x.file.clone())
                .or(p.and_then(|x| x.source_file.clone()));
            text_row(&mut out, "Defined in", file.as_deref());
            url_row(&mut out, "Source", p.and_then(|x| x.url.as_deref()));
        }
        _ => {}
    }
    out
}

/// The ingestion facts of a table as rows ("not stated" where the reference is silent).
pub fn fact_rows(t: &TableFacts) -> Vec<FactRow> {
    t.facts()
        .into_iter()
        .map(|(label, v)| FactRow {
            label,
            value: v.unwrap_or(NOT_STATED).to_string(),
            stated: v.is_some(),
        })
        .collect()
}

/// The reference block of a facet page of a kind [`has_view`] accepts.
pub fn view<'a>(
    s: &Shared<'a>,
    links: &Links,
    kind: FacetKind,
    value: &str,
    rules: &[usize],
) -> Option<RefView<'a>> {
    if !has_view(kind) {
        return None;
    }
    let r = &s.build.reference;
    let mut v = RefView::default();
    if !r.is_empty() {
        v.in_reference = Some(match kind {
            FacetKind::Table => r.table(value).is_some(),
            FacetKind::Connector => r.links_of_connector(value).next().is_some(),
            FacetKind::Solution => r.solution(value).is_some(),
            _ => r.parser(value).is_some(),
        });
    }
    if kind != FacetKind::Table {
        return Some(v);
    }
    if let Some(t) = r.table(value) {
        v.facts = fact_rows(t);
    }
    let sources = table_sources(value);
    v.sources = sources
        .iter()
        .map(|n| s.facet_link(links, FacetKind::CanonicalSource, n))
        .collect();
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
    v.related_total = others.len();
    // Rules are sorted by vendor, so each vendor's rules are one run.
    for i in others {
        let vendor = s.cat.rules[i].vendor;
        if v.related.last().map(|g| g.name) != Some(vendor.name()) {
            v.related.push(RelatedGroup {
                name: vendor.name(),
                anchor: format!("same-source-{}", vendor.key()),
                rules: Vec::new(),
            });
        }
        v.related
            .last_mut()
            .expect("pushed above")
            .rules
            .push(s.rule_row(links, i));
    }
    for g in &mut v.related {
        g.rules
            .sort_by_cached_key(|r| (r.title.to_lowercase(), r.href.clone()));
    }
    Some(v)
}

/// Extra columns of the index page of a kind, and a header sentence with counts.
pub fn index_columns(kind: FacetKind) -> Vec<&'static str> {
    match kind {
        FacetKind::Table => vec![
            "Category",
            "Source",
            "Transformations",
            "Ingestion API",
            "Basic logs",
        ],
        FacetKind::Connector => vec!["Title", "Publisher", "Tables"],
        FacetKind::Solution => vec!["Name", "Support", "Version"],
        FacetKind::Parser => vec!["Title", "Tables"],
        _ => Vec::new(),
    }
}

/// The values of [`index_columns`] for one facet value.
pub fn index_cells(s: &Shared, kind: FacetKind, value: &str) -> Vec<String> {
    let r = &s.build.reference;
    let info = &s.build.sentinel;
    let o = |v: Option<&str>| v.unwrap_or("").to_string();
    match kind {
        FacetKind::Table => {
            let t = r.table(value);
            vec![
                o(t.and_then(|t| t.category.as_deref())),
                t.and_then(|t| t.source()).unwrap_or_default(),
                o(t.and_then(|t| t.transformations.as_deref())),
                o(t.and_then(|t| t.ingestion_api.as_deref())),
                o(t.and_then(|t| t.basic_logs.as_deref())),
            ]
        }
        FacetKind::Connector => {
            let c = info.connectors.get(value);
            vec![
                o(c.map(|c| c.title.as_str())),
                o(c.and_then(|c| c.publisher.as_deref())),
                connector_tables(s, value)
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        }
        FacetKind::Solution => {
            let own = info.solutions.get(value);
            let refd = r.solution(value);
            vec![
                refd.map(|x| x.name.clone())
                    .or(own.map(|x| x.name.clone()))
                    .unwrap_or_default(),
                own.and_then(|x| x.support_tier.clone())
                    .or(refd.and_then(|x| x.support_tier.clone()))
                    .unwrap_or_default(),
                own.and_then(|x| x.version.clone())
                    .or(refd.and_then(|x| x.version.clone()))
                    .unwrap_or_default(),
            ]
        }
        FacetKind::Parser => vec![
            o(r.parser(value).and_then(|p| p.title.as_deref())),
            parser_tables(s, value)
                .into_iter()
                .collect::<Vec<_>>()
                .join(", "),
        ],
        _ => Vec::new(),
    }
}

/// A sentence with counts for the index page header, when a reference was read.
pub fn index_summary(s: &Shared, kind: FacetKind) -> Option<String> {
    let r = &s.build.reference;
    if r.is_empty() || !has_view(kind) {
        return None;
    }
    let values = s.cat.facets.get(&kind)?;
    let known = values
        .keys()
        .filter(|v| match kind {
            FacetKind::Table => r.table(v).is_some(),
            FacetKind::Connector => r.links_of_connector(v).next().is_some(),
            FacetKind::Solution => r.solution(v).is_some(),
            _ => r.parser(v).is_some(),
        })
        .count();
    Some(format!(
        "{known} of {} listed in the Microsoft Solutions Analyzer reference, {} not.",
        values.len(),
        values.len() - known
    ))
}

/// One table a rule reads, with its facts.
#[derive(Serialize)]
pub struct TableUse {
    pub table: Link,
    pub category: Option<String>,
    pub source: Option<String>,
    pub facts: Vec<FactRow>,
    pub doc: Option<String>,
    pub connectors: Vec<Link>,
    pub in_reference: Option<bool>,
}

/// "Tables used" of a Sentinel or Defender XDR rule.
pub fn tables_used(s: &Shared, links: &Links, r: &Rule) -> Vec<TableUse> {
    if !matches!(r.vendor, Vendor::Sentinel | Vendor::DefenderXdr) {
        return Vec::new();
    }
    let reference = &s.build.reference;
    let rule_connectors: Vec<&str> = r.facet_values(FacetKind::Connector).collect();
    // A name the reference knows as a parser rather than a table (`OktaSSO`) stands for
    // the tables that parser reads.
    let mut names: Vec<String> = Vec::new();
    for t in r.facet_values(FacetKind::Table) {
        match reference.parser(t).filter(|_| reference.table(t).is_none()) {
            Some(p) if !p.tables.is_empty() => names.extend(p.tables.iter().cloned()),
            _ => names.push(t.to_string()),
        }
    }
    names.dedup();
    names
        .iter()
        .map(|t| {
            let t = t.as_str();
            let facts = reference.table(t);
            let (_, cons) = table_fillers(s, t);
            TableUse {
                table: s.facet_link(links, FacetKind::Table, t),
                category: facts.and_then(|f| f.category.clone()),
                source: facts.and_then(|f| f.source()),
                facts: facts.map(fact_rows).unwrap_or_default(),
                doc: facts.and_then(|f| f.doc()).map(str::to_string),
                // The rule's required connectors that fill this table.
                connectors: cons
                    .iter()
                    .filter(|c| rule_connectors.contains(&c.as_str()))
                    .map(|c| {
                        link(
                            s,
                            links,
                            FacetKind::Connector,
                            c,
                            Some(connector_text(s, c)),
                        )
                    })
                    .collect(),
                in_reference: (!reference.is_empty()).then_some(facts.is_some()),
            }
        })
        .collect()
}
