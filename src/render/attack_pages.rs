//! ATT&CK coverage: the matrix page (tactics as columns, techniques and sub-techniques as
//! cells shaded by rule count, one shading per vendor chosen with radio inputs and CSS, no
//! script), the techniques no rule covers, and the data sources of each vendor's rules shown
//! on technique pages.
//!
//! A rule counts for a technique when it is tagged with it or with one of its
//! sub-techniques (a revoked id counts for its replacement). A technique under several
//! tactics counts, under each tactic, the rules that name that tactic or none of the
//! technique's tactics; the Navigator layers (`navigator`) count the same way.

use super::context::{paths, Base, Fmt, Link, Links, Shared};
use super::cross::per_vendor;
use super::rule_page::MetaRow;
use crate::attack::{self, Technique};
use crate::model::{FacetKind, Vendor};
use serde::Serialize;
use std::collections::BTreeMap;

/// Shading level of a rule count (0 = no rule): 1, 2–4, 5–14, 15–49, 50 and more.
pub fn level(n: usize) -> usize {
    match n {
        0 => 0,
        1 => 1,
        2..=4 => 2,
        5..=14 => 3,
        15..=49 => 4,
        _ => 5,
    }
}

/// The legend of the shading levels.
pub const LEVELS: &[&str] = &["1 rule", "2–4", "5–14", "15–49", "50 or more"];

/// Rules of `rules` (those of technique `t`) that count under `tactic`.
pub fn under_tactic(s: &Shared, t: &Technique, tactic: &str, rules: &[usize]) -> Vec<usize> {
    if t.tactics.len() <= 1 {
        return rules.to_vec();
    }
    rules
        .iter()
        .copied()
        .filter(|&i| {
            let rt = &s.cat.rules[i].tactics;
            rt.iter().any(|x| x == tactic) || !t.tactics.iter().any(|x| rt.contains(x))
        })
        .collect()
}

#[derive(Serialize)]
pub struct VendorOpt {
    pub key: &'static str,
    pub name: &'static str,
}

#[derive(Serialize)]
pub struct Count {
    /// `all` or a vendor key.
    pub key: &'static str,
    pub n: usize,
    pub level: usize,
}

#[derive(Serialize)]
pub struct Cell {
    pub id: String,
    pub name: String,
    pub link: Link,
    pub total: usize,
    /// `all` first, then every vendor of the site (zeros included), for the CSS filter.
    pub counts: Vec<Count>,
    /// Per-vendor counts as text (`Sigma 3, Splunk ESCU 1`).
    pub breakdown: String,
    pub subs: Vec<Cell>,
    pub covered_subs: usize,
}

#[derive(Serialize)]
pub struct Column {
    pub id: String,
    pub name: String,
    pub link: Link,
    pub cells: Vec<Cell>,
    pub covered: usize,
}

#[derive(Serialize)]
pub struct Uncovered {
    pub link: Link,
    pub name: String,
    pub tactics: Vec<String>,
}

#[derive(Serialize)]
pub struct MatrixPage {
    #[serde(flatten)]
    pub base: Base,
    pub attack_version: String,
    pub vendors: Vec<VendorOpt>,
    pub columns: Vec<Column>,
    pub levels: &'static [&'static str],
    pub techniques: usize,
    pub covered: usize,
    pub subtechniques: usize,
    pub covered_subtechniques: usize,
    pub uncovered: Vec<Uncovered>,
    pub uncovered_subtechniques: Vec<Uncovered>,
    pub layers: Vec<Link>,
}

fn technique_link(s: &Shared, links: &Links, id: &str, text: String) -> Link {
    match paths::facet(s.cat, FacetKind::Technique, id) {
        Some(p) => Link::to(text, links.page(&p)),
        None => match super::names::mitre_url(id) {
            Some(u) => Link::to(text, u),
            None => Link::text(text),
        },
    }
}

fn cell(s: &Shared, links: &Links, t: &Technique, tactic: &str) -> Cell {
    let rules = under_tactic(s, t, tactic, s.cross.rules_of_technique(&t.id));
    let by_vendor: BTreeMap<Vendor, usize> = per_vendor(s.cat, &rules).into_iter().collect();
    let mut counts = vec![Count {
        key: "all",
        n: rules.len(),
        level: level(rules.len()),
    }];
    counts.extend(s.vendors.iter().map(|v| {
        let n = by_vendor.get(v).copied().unwrap_or(0);
        Count {
            key: v.key(),
            n,
            level: level(n),
        }
    }));
    let breakdown = by_vendor
        .iter()
        .map(|(v, n)| format!("{} {n}", v.name()))
        .collect::<Vec<_>>()
        .join(", ");
    Cell {
        id: t.id.clone(),
        name: t.name.clone(),
        link: technique_link(s, links, &t.id, t.id.clone()),
        total: rules.len(),
        counts,
        breakdown,
        subs: Vec::new(),
        covered_subs: 0,
    }
}

fn live_subs(t: &Technique) -> impl Iterator<Item = &Technique> {
    attack::db().subtechniques(&t.id).filter(|x| x.is_live())
}

pub fn matrix(s: &Shared, fmt: Fmt) -> MatrixPage {
    let links = Links::new(fmt, paths::MATRIX);
    let db = attack::db();
    let parents: Vec<&Technique> = db
        .techniques()
        .iter()
        .filter(|t| t.is_live() && !t.subtechnique)
        .collect();
    let columns: Vec<Column> = db
        .tactics()
        .iter()
        .map(|tac| {
            let mut cells: Vec<Cell> = parents
                .iter()
                .filter(|t| t.tactics.contains(&tac.id))
                .map(|t| {
                    let mut c = cell(s, &links, t, &tac.id);
                    c.subs = live_subs(t)
                        .map(|st| cell(s, &links, st, &tac.id))
                        .collect();
                    c.covered_subs = c.subs.iter().filter(|x| x.total > 0).count();
                    c
                })
                .collect();
            cells.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            let name = tac.name.clone();
            let link = match paths::facet(s.cat, FacetKind::Tactic, &tac.id) {
                Some(p) => Link::to(name.clone(), links.page(&p)),
                None => Link::to(name.clone(), tac.url.clone()),
            };
            Column {
                id: tac.id.clone(),
                covered: cells.iter().filter(|c| c.total > 0).count(),
                name,
                link,
                cells,
            }
        })
        .collect();
    let uncovered_of = |list: Vec<&Technique>| -> Vec<Uncovered> {
        list.into_iter()
            .filter(|t| s.cross.rules_of_technique(&t.id).is_empty())
            .map(|t| Uncovered {
                link: technique_link(s, &links, &t.id, t.id.clone()),
                name: db.full_name(&t.id).unwrap_or_else(|| t.name.clone()),
                tactics: t
                    .tactics
                    .iter()
                    .map(|x| db.tactic(x).map(|y| y.name.clone()).unwrap_or(x.clone()))
                    .collect(),
            })
            .collect()
    };
    let subs: Vec<&Technique> = db
        .techniques()
        .iter()
        .filter(|t| t.is_live() && t.subtechnique)
        .collect();
    let uncovered = uncovered_of(parents.clone());
    let uncovered_subtechniques = uncovered_of(subs.clone());
    MatrixPage {
        base: s.base(&links, "ATT&CK coverage matrix", paths::MATRIX),
        attack_version: db.attack_version().to_string(),
        vendors: s
            .vendors
            .iter()
            .map(|v| VendorOpt {
                key: v.key(),
                name: v.name(),
            })
            .collect(),
        levels: LEVELS,
        techniques: parents.len(),
        covered: parents.len() - uncovered.len(),
        subtechniques: subs.len(),
        covered_subtechniques: subs.len() - uncovered_subtechniques.len(),
        uncovered,
        uncovered_subtechniques,
        layers: super::navigator::files(s)
            .into_iter()
            .map(|(name, f)| Link::to(name, links.out(&f)))
            .collect(),
        columns,
    }
}

/// Technique pages: the canonical data sources of each vendor's rules (with rule counts).
pub fn technique_sources(s: &Shared, links: &Links, rules: &[usize]) -> Vec<MetaRow> {
    let mut by_vendor: BTreeMap<Vendor, BTreeMap<&str, usize>> = BTreeMap::new();
    for &i in rules {
        let m = by_vendor.entry(s.cat.rules[i].vendor).or_default();
        let src = &s.cross.sources[i];
        if src.is_empty() {
            *m.entry("").or_insert(0) += 1;
        }
        for x in src {
            *m.entry(x.as_str()).or_insert(0) += 1;
        }
    }
    by_vendor
        .into_iter()
        .map(|(v, m)| {
            let mut items: Vec<(&str, usize)> = m.into_iter().collect();
            items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            MetaRow {
                label: format!("Data sources of {} rules", v.name()),
                items: items
                    .into_iter()
                    .map(|(src, n)| {
                        if src.is_empty() {
                            Link::text(format!("no canonical data source ({n})"))
                        } else {
                            let mut l = s.facet_link(links, FacetKind::CanonicalSource, src);
                            l.text = format!("{} ({n})", l.text);
                            l
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_monotonic_and_match_the_legend() {
        let ns = [0, 1, 2, 4, 5, 14, 15, 49, 50, 5000];
        let ls: Vec<usize> = ns.iter().map(|&n| level(n)).collect();
        assert_eq!(ls, vec![0, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(LEVELS.len(), 5);
    }
}
