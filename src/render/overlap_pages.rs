//! Views built on rule overlap (`catalog::overlap`, computed once per build in `cross`):
//! the closest rules on a rule page, the overlap page ("Same action, several platforms":
//! groups side by side, one column per vendor), and the indicator index page (the most
//! shared indicators per field and across fields, each with its rules).

use super::context::{display_title, paths, Base, Fmt, Link, Links, Shared};
use super::cross::CLOSEST;
use crate::catalog::overlap::{Neighbour, Origin};
use crate::model::Vendor;
use serde::Serialize;
use std::collections::BTreeSet;

/// Shared values shown per close rule (page and `catalog.json`).
pub const SHARED_SHOWN: usize = 5;
/// Spellings shown per side of a shared value.
const ORIGINS_SHOWN: usize = 2;
/// Entries of each list of the indicator index.
pub const INDEX_ENTRIES: usize = 100;
/// Rules linked per entry of the indicator index (the count says how many there are).
pub const INDEX_RULES: usize = 60;

#[derive(Serialize)]
pub struct SharedValue {
    pub value: String,
    /// Where this rule writes it (`Image = \certutil.exe`).
    pub ours: Vec<String>,
    /// Where the close rule writes it.
    pub theirs: Vec<String>,
    /// Rules of the catalog holding the value.
    pub df: usize,
}

#[derive(Serialize)]
pub struct Closest {
    pub link: Link,
    pub score: String,
    pub same_technique: bool,
    pub same_source: bool,
    pub shared: Vec<SharedValue>,
}

#[derive(Serialize)]
pub struct ClosestGroup {
    pub vendor: &'static str,
    /// The rule's own platform.
    pub own: bool,
    pub rules: Vec<Closest>,
}

fn origin_text(o: &Origin) -> String {
    if o.field.is_empty() || o.field == "*" {
        o.value.clone()
    } else {
        format!("{} = {}", o.field, o.value)
    }
}

fn origins_text(list: &[Origin]) -> Vec<String> {
    let set: BTreeSet<String> = list.iter().map(origin_text).collect();
    set.into_iter().take(ORIGINS_SHOWN).collect()
}

fn closest_row(s: &Shared, links: &Links, nb: &Neighbour) -> Closest {
    Closest {
        link: Link::to(
            display_title(&s.cat.rules[nb.rule]).to_string(),
            links.page(&paths::rule(s.cat, nb.rule)),
        ),
        score: format!("{:.2}", nb.score),
        same_technique: nb.same_technique,
        same_source: nb.same_source,
        shared: nb
            .shared
            .iter()
            .take(SHARED_SHOWN)
            .map(|sh| SharedValue {
                value: sh.token.clone(),
                ours: origins_text(&sh.ours),
                theirs: origins_text(&sh.theirs),
                df: sh.df,
            })
            .collect(),
    }
}

/// The closest rules of rule `i`: its own platform first, then every other vendor.
pub fn closest(s: &Shared, links: &Links, i: usize) -> Vec<ClosestGroup> {
    let own = s.cat.rules[i].vendor;
    let mut groups: Vec<ClosestGroup> = s
        .cross
        .overlap
        .top_by_vendor(i, CLOSEST)
        .into_iter()
        .map(|(v, list)| ClosestGroup {
            vendor: v.name(),
            own: v == own,
            rules: list.iter().map(|nb| closest_row(s, links, nb)).collect(),
        })
        .collect();
    groups.sort_by_key(|g| !g.own);
    groups
}

/// (field, value) pairs of rule `i` that its shown close rules share: the indicator table
/// highlights them.
pub fn shared_pairs<'s>(s: &'s Shared, i: usize) -> BTreeSet<(&'s str, &'s str)> {
    s.cross
        .overlap
        .top_by_vendor(i, CLOSEST)
        .into_iter()
        .flat_map(|(_, l)| l.iter())
        .flat_map(|nb| nb.shared.iter())
        .flat_map(|sh| sh.ours.iter())
        .map(|o| (o.field.as_str(), o.value.as_str()))
        .collect()
}

#[derive(Serialize)]
pub struct GroupRow {
    pub label: String,
    /// One cell per vendor of the site (empty when the vendor has no rule in the group).
    pub cells: Vec<Vec<Link>>,
    pub size: usize,
}

#[derive(Serialize)]
pub struct OverlapPage {
    #[serde(flatten)]
    pub base: Base,
    pub vendors: Vec<&'static str>,
    pub groups: Vec<GroupRow>,
    pub rules_in_groups: usize,
}

pub fn overlap_page(s: &Shared, fmt: Fmt) -> OverlapPage {
    let links = Links::new(fmt, paths::OVERLAP);
    let ov = &s.cross.overlap;
    let groups = ov
        .groups
        .iter()
        .map(|g| GroupRow {
            label: g.label.join(" · "),
            size: g.rules.len(),
            cells: s
                .vendors
                .iter()
                .map(|v| {
                    g.rules
                        .iter()
                        .filter(|&&r| s.cat.rules[r].vendor == *v)
                        .map(|&r| {
                            Link::to(
                                display_title(&s.cat.rules[r]).to_string(),
                                links.page(&paths::rule(s.cat, r)),
                            )
                        })
                        .collect()
                })
                .collect(),
        })
        .collect();
    OverlapPage {
        base: s.base(&links, "Same action, several platforms", paths::OVERLAP),
        vendors: s.vendors.iter().map(|v| v.name()).collect(),
        groups,
        rules_in_groups: ov.group_of.iter().filter(|g| !g.is_empty()).count(),
    }
}

#[derive(Serialize)]
pub struct IndexEntry {
    /// `field op value` (per field) or the normalised value (across fields).
    pub value: String,
    pub field: String,
    pub op: String,
    /// Field names with counts (across fields).
    pub fields: Vec<String>,
    pub count: usize,
    pub vendors: String,
    pub rules: Vec<Link>,
    /// Rules not linked (over `INDEX_RULES`).
    pub more: usize,
}

#[derive(Serialize)]
pub struct IndicatorsPage {
    #[serde(flatten)]
    pub base: Base,
    pub per_field: Vec<IndexEntry>,
    pub across_fields: Vec<IndexEntry>,
    pub per_field_total: usize,
    pub across_fields_total: usize,
    pub shown: usize,
    pub rules_shown: usize,
}

fn vendor_text(v: &[(Vendor, usize)]) -> String {
    v.iter()
        .map(|(v, n)| format!("{} {n}", v.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rule_links(s: &Shared, links: &Links, rules: &[usize]) -> (Vec<Link>, usize) {
    let shown = rules
        .iter()
        .take(INDEX_RULES)
        .map(|&r| {
            let rule = &s.cat.rules[r];
            Link::to(
                format!("{} ({})", display_title(rule), rule.vendor.name()),
                links.page(&paths::rule(s.cat, r)),
            )
        })
        .collect();
    (shown, rules.len().saturating_sub(INDEX_RULES))
}

pub fn indicators_page(s: &Shared, fmt: Fmt) -> IndicatorsPage {
    let links = Links::new(fmt, paths::INDICATORS);
    let idx = &s.cross.indicators;
    let per_field = idx
        .per_field
        .iter()
        .take(INDEX_ENTRIES)
        .map(|e| {
            let (rules, more) = rule_links(s, &links, &e.rules);
            IndexEntry {
                value: e.value.clone(),
                field: e.field.clone(),
                op: super::condition::op_key_text(&e.op),
                fields: Vec::new(),
                count: e.count,
                vendors: vendor_text(&e.vendors),
                rules,
                more,
            }
        })
        .collect();
    let across_fields = idx
        .across_fields
        .iter()
        .take(INDEX_ENTRIES)
        .map(|e| {
            let (rules, more) = rule_links(s, &links, &e.rules);
            IndexEntry {
                value: e.value.clone(),
                field: String::new(),
                op: String::new(),
                fields: e.fields.iter().map(|(f, n)| format!("{f} ({n})")).collect(),
                count: e.count,
                vendors: vendor_text(&e.vendors),
                rules,
                more,
            }
        })
        .collect();
    IndicatorsPage {
        base: s.base(&links, "Most shared indicators", paths::INDICATORS),
        per_field,
        across_fields,
        per_field_total: idx.per_field.len(),
        across_fields_total: idx.across_fields.len(),
        shown: INDEX_ENTRIES,
        rules_shown: INDEX_RULES,
    }
}
