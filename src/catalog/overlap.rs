//! Rules detecting the same action, on one platform and across platforms.
//!
//! Vendors rarely share field names (`eventType`, `All_Changes.command`, `OperationName`,
//! `metadata.product_event_type`), so rules are compared on the *values* they test:
//!
//! 1. Each rule gives a set of tokens: the values of its positive predicates, normalised
//!    (`tokens::normalise`), plus literals of what its parser left opaque. A rule without
//!    readable logic falls back to the literals of its query text, then to the values shared
//!    by all its positive test events (weighted lower).
//! 2. A token weighs its rarity, `idf²` with `idf = ln(N / df)` over the catalog, times a
//!    factor (words of a longer value and test-event values count less). Tokens
//!    held by more than `max_df` rules (2% of the catalog: `cmd.exe`, `4624`) are dropped: they tell no action
//!    apart and would make the search quadratic.
//! 3. Two rules score the cosine of their weighted token sets, multiplied by agreement on
//!    ATT&CK technique and canonical data-source family (`datasources`).
//! 4. Candidates come from an inverted index token → rules, so a rule is only compared with
//!    rules sharing a rare token. Each rule keeps its best `keep` neighbours per vendor above
//!    `min_score` and above `relative_cut` times the best score of that vendor.
//! 5. Groups ("actions detected on several platforms") are the connected components of
//!    mutual cross-vendor neighbours scoring at least `group_score` whose shared weight is at
//!    least `group_balance` of the broader rule's and who share a value held by few rules
//!    (`group_max_df`), split again with a higher bar while a component is larger than
//!    `max_group`.
//!
//! docs/overlap.md has the method, its parameters and how it is measured.

pub mod tokens;

use super::{datasources, Catalog};
use crate::model::{Rule, Vendor};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
pub use tokens::{Evidence, Found, Origin};

/// Tuning of the search. `Params::default()` is what the catalog uses.
#[derive(Debug, Clone)]
pub struct Params {
    /// Neighbours kept per rule and vendor.
    pub keep: usize,
    /// Lowest score of a neighbour.
    pub min_score: f64,
    /// Lowest score of a neighbour relative to the best of its vendor list.
    pub relative_cut: f64,
    /// Lowest score of a link inside a group.
    pub group_score: f64,
    /// Lowest balance of a link inside a group: the shared weight over the weight of the
    /// broader rule (`dot / max(|a|², |b|²)`). A rule listing twenty actions is a neighbour of
    /// each, but does not glue their groups together.
    pub group_balance: f64,
    /// A link inside a group shares at least one value held by at most this many rules (an
    /// action has a specific name; `admin` or `http` is not one). `None`: `max(12, N / 400)`.
    pub group_max_df: Option<usize>,
    /// Largest group; bigger components are split with a higher bar.
    pub max_group: usize,
    /// Tokens held by more rules than this are not distinctive. `None`: `max(10, N / 50)`.
    pub max_df: Option<usize>,
    /// A token weighs `idf^idf_power` (times its factor): above 1, rare values dominate more.
    pub idf_power: f64,
    /// Factor when the two rules share an ATT&CK technique (or its parent).
    pub technique_bonus: f64,
    /// Factor when both have techniques and none is shared.
    pub technique_malus: f64,
    /// Factor when the two rules share a canonical data-source family.
    pub source_bonus: f64,
    /// Factor when both have canonical sources and no family is shared.
    pub source_malus: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            keep: 10,
            min_score: 0.2,
            relative_cut: 0.4,
            group_score: 0.3,
            group_balance: 0.25,
            group_max_df: None,
            max_group: 16,
            max_df: None,
            idf_power: 2.0,
            technique_bonus: 1.2,
            technique_malus: 0.9,
            source_bonus: 1.2,
            source_malus: 0.6,
        }
    }
}

/// One value two rules share.
#[derive(Debug, Clone, Serialize)]
pub struct Shared {
    /// The normalised value.
    pub token: String,
    /// Its weight in the rule whose list this is.
    pub weight: f64,
    /// Number of rules of the catalog holding it.
    pub df: usize,
    /// Where it is written in the rule whose list this is.
    pub ours: Vec<Origin>,
    /// Where it is written in the neighbour.
    pub theirs: Vec<Origin>,
}

/// A close rule.
#[derive(Debug, Clone, Serialize)]
pub struct Neighbour {
    /// Index in `Catalog::rules`.
    pub rule: usize,
    pub vendor: Vendor,
    /// Cosine of the weighted tokens times the technique and data-source factors.
    pub score: f64,
    /// Shared weight over the weight of the broader of the two rules (1: same values).
    pub balance: f64,
    pub same_technique: bool,
    pub same_source: bool,
    /// Shared values, heaviest first.
    pub shared: Vec<Shared>,
}

/// An action detected on several platforms.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Heaviest values held by most members (a readable name for the action).
    pub label: Vec<String>,
    /// Rule indexes, by vendor then index.
    pub rules: Vec<usize>,
    pub vendors: Vec<Vendor>,
}

/// Per-rule features, kept for explanations and the indicator pages.
#[derive(Debug, Clone, Serialize)]
pub struct Features {
    /// (token id, weight) sorted by token id; distinctive tokens only.
    #[serde(skip)]
    pub weights: Vec<(u32, f64)>,
    pub evidence: Evidence,
    /// Canonical data-source families.
    pub families: Vec<&'static str>,
}

#[derive(Debug, Default)]
pub struct Overlap {
    /// Per rule: neighbours, by vendor (`Vendor` order) then score.
    pub neighbours: Vec<Vec<Neighbour>>,
    pub groups: Vec<Group>,
    /// Per rule: indexes of its groups.
    pub group_of: Vec<Vec<usize>>,
    pub features: Vec<Features>,
    /// Token id → normalised value.
    pub tokens: Vec<String>,
    /// Token id → number of rules holding it.
    pub df: Vec<usize>,
    origins: Vec<BTreeMap<u32, Vec<Origin>>>,
}

/// Overlap of every rule of the catalog with the default parameters.
pub fn compute(catalog: &Catalog) -> Overlap {
    compute_with(&catalog.rules, &Params::default())
}

impl Overlap {
    /// The `k` closest rules of `vendor` to `rule` (fewer when fewer pass `min_score`).
    pub fn top(&self, rule: usize, vendor: Vendor, k: usize) -> &[Neighbour] {
        let list = &self.neighbours[rule];
        let start = list.partition_point(|n| n.vendor < vendor);
        let end = list.partition_point(|n| n.vendor <= vendor);
        &list[start..end.min(start + k)]
    }

    /// The `k` closest rules of every vendor (the rule's own included), vendor by vendor.
    pub fn top_by_vendor(&self, rule: usize, k: usize) -> Vec<(Vendor, &[Neighbour])> {
        Vendor::ALL
            .into_iter()
            .map(|v| (v, self.top(rule, v, k)))
            .filter(|(_, l)| !l.is_empty())
            .collect()
    }

    /// Groups a rule belongs to.
    pub fn groups_of(&self, rule: usize) -> impl Iterator<Item = &Group> {
        self.group_of[rule].iter().map(|&g| &self.groups[g])
    }

    /// Where a normalised value is written in a rule.
    pub fn origins(&self, rule: usize, token: &str) -> &[Origin] {
        let id = self.tokens.binary_search_by(|t| t.as_str().cmp(token));
        id.ok()
            .and_then(|id| self.origins[rule].get(&(id as u32)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// The overlap of a list of rules (indexes are positions in `rules`).
pub fn compute_with(rules: &[Rule], params: &Params) -> Overlap {
    let n = rules.len();
    let raw: Vec<(BTreeMap<String, Found>, Evidence, Vec<&'static str>)> = rules
        .par_iter()
        .map(|r| {
            let (toks, ev) = tokens::of_rule(r);
            let mut fam: Vec<&'static str> = datasources::canonical(r)
                .into_iter()
                .filter_map(datasources::family)
                .collect();
            fam.sort_unstable();
            fam.dedup();
            (toks, ev, fam)
        })
        .collect();

    // Values of test events count only where some rule's logic tests them: the rest of an
    // event (regions, fixture names) says nothing about the action.
    let tested: BTreeSet<&str> = raw
        .iter()
        .filter(|(_, ev, _)| *ev != Evidence::TestEvents)
        .flat_map(|(t, _, _)| t.keys().map(String::as_str))
        .collect();
    let raw: Vec<(BTreeMap<String, Found>, Evidence, Vec<&'static str>)> = raw
        .iter()
        .map(|(toks, ev, fam)| {
            let toks = if *ev == Evidence::TestEvents {
                toks.iter()
                    .filter(|(t, _)| tested.contains(t.as_str()))
                    .map(|(t, f)| (t.clone(), f.clone()))
                    .collect()
            } else {
                toks.clone()
            };
            (toks, *ev, fam.clone())
        })
        .collect();

    // Token ids in sorted order, so `origins()` can binary-search.
    let vocab: BTreeSet<&str> = raw
        .iter()
        .flat_map(|(t, _, _)| t.keys().map(String::as_str))
        .collect();
    let tokens: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
    let id_of: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let mut df = vec![0usize; tokens.len()];
    let mut origins = Vec::with_capacity(n);
    let mut factors: Vec<Vec<(u32, f64)>> = Vec::with_capacity(n);
    for (toks, _, _) in &raw {
        let mut m = BTreeMap::new();
        let mut f = Vec::with_capacity(toks.len());
        for (t, found) in toks {
            let id = id_of[t.as_str()];
            df[id as usize] += 1;
            m.insert(id, found.origins.clone());
            f.push((id, found.factor));
        }
        origins.push(m);
        factors.push(f);
    }
    let max_df = params.max_df.unwrap_or_else(|| (n / 50).max(10));
    let idf = |id: u32| ((n as f64) / (df[id as usize] as f64)).ln();
    let power = params.idf_power;

    let features: Vec<Features> = raw
        .iter()
        .zip(&factors)
        .map(|((_, ev, fam), f)| Features {
            weights: f
                .iter()
                .filter(|(id, _)| df[*id as usize] >= 2 && df[*id as usize] <= max_df)
                .map(|&(id, factor)| (id, idf(id).powf(power) * factor))
                .collect(),
            evidence: *ev,
            families: fam.clone(),
        })
        .collect();
    let norms: Vec<f64> = features
        .iter()
        .map(|f| f.weights.iter().map(|(_, w)| w * w).sum::<f64>().sqrt())
        .collect();

    let mut postings: Vec<Vec<(usize, f64)>> = vec![Vec::new(); tokens.len()];
    for (i, f) in features.iter().enumerate() {
        for &(id, w) in &f.weights {
            postings[id as usize].push((i, w));
        }
    }

    // Technique ids cut to their parent (`T1078.004` → `T1078`), sorted, once per rule.
    let parents: Vec<Vec<&str>> = rules
        .iter()
        .map(|r| {
            let mut p: Vec<&str> = r
                .techniques
                .iter()
                .map(|t| t.split('.').next().unwrap_or(t))
                .collect();
            p.sort_unstable();
            p.dedup();
            p
        })
        .collect();
    let best_factor = params.technique_bonus.max(1.0) * params.source_bonus.max(1.0);

    let neighbours: Vec<Vec<Neighbour>> = (0..n)
        .into_par_iter()
        .map_init(
            || (vec![0.0f64; n], Vec::<usize>::new()),
            |(acc, touched), a| {
                // Dot products with every rule sharing a kept token, in a dense accumulator.
                for &(id, wa) in &features[a].weights {
                    for &(b, wb) in &postings[id as usize] {
                        if b != a {
                            if acc[b] == 0.0 {
                                touched.push(b);
                            }
                            acc[b] += wa * wb;
                        }
                    }
                }
                let mut scored: Vec<(Vendor, f64, usize, bool, bool, f64)> = Vec::new();
                for &b in touched.iter() {
                    let cos = acc[b] / (norms[a] * norms[b]);
                    let balance = acc[b] / norms[a].max(norms[b]).powi(2);
                    acc[b] = 0.0;
                    if cos * best_factor < params.min_score {
                        continue;
                    }
                    let (t, s, factor) =
                        context(&parents[a], &parents[b], &features[a], &features[b], params);
                    if cos * factor >= params.min_score {
                        scored.push((rules[b].vendor, cos * factor, b, t, s, balance));
                    }
                }
                touched.clear();
                scored.sort_by(|x, y| x.0.cmp(&y.0).then(y.1.total_cmp(&x.1)).then(x.2.cmp(&y.2)));
                let mut out = Vec::new();
                // (vendor, count so far, best score)
                let mut last: Option<(Vendor, usize, f64)> = None;
                for (vendor, score, b, same_technique, same_source, balance) in scored {
                    let (count, best) = match last {
                        Some((v, c, best)) if v == vendor => (c + 1, best),
                        _ => (1, score),
                    };
                    last = Some((vendor, count, best));
                    if count > params.keep || score < params.relative_cut * best {
                        continue;
                    }
                    out.push(Neighbour {
                        rule: b,
                        vendor,
                        score,
                        balance,
                        same_technique,
                        same_source,
                        shared: shared(a, b, &features, &origins, &tokens, &df),
                    });
                }
                out
            },
        )
        .collect();

    let group_max_df = params.group_max_df.unwrap_or_else(|| (n / 400).max(12));
    let groups = group(
        rules,
        &neighbours,
        &features,
        &tokens,
        &df,
        group_max_df,
        params,
    );
    let mut group_of = vec![Vec::new(); n];
    for (g, grp) in groups.iter().enumerate() {
        for &r in &grp.rules {
            group_of[r].push(g);
        }
    }
    Overlap {
        neighbours,
        groups,
        group_of,
        features,
        tokens,
        df,
        origins,
    }
}

/// (same technique, same source family, score factor) of a pair; `ta`, `tb` are sorted
/// parent technique ids.
fn context(
    ta: &[&str],
    tb: &[&str],
    fa: &Features,
    fb: &Features,
    p: &Params,
) -> (bool, bool, f64) {
    let mut factor = 1.0;
    let same_technique = tb.iter().any(|t| ta.binary_search(t).is_ok());
    if same_technique {
        factor *= p.technique_bonus;
    } else if !ta.is_empty() && !tb.is_empty() {
        factor *= p.technique_malus;
    }
    let same_source = fa.families.iter().any(|f| fb.families.contains(f));
    if same_source {
        factor *= p.source_bonus;
    } else if !fa.families.is_empty() && !fb.families.is_empty() {
        factor *= p.source_malus;
    }
    (same_technique, same_source, factor)
}

fn shared(
    a: usize,
    b: usize,
    features: &[Features],
    origins: &[BTreeMap<u32, Vec<Origin>>],
    tokens: &[String],
    df: &[usize],
) -> Vec<Shared> {
    // Both weight lists are sorted by token id: merge them.
    let (wa, wb) = (&features[a].weights, &features[b].weights);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < wa.len() && j < wb.len() {
        match wa[i].0.cmp(&wb[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let id = wa[i].0;
                out.push(Shared {
                    token: tokens[id as usize].clone(),
                    weight: wa[i].1,
                    df: df[id as usize],
                    ours: origins[a].get(&id).cloned().unwrap_or_default(),
                    theirs: origins[b].get(&id).cloned().unwrap_or_default(),
                });
                i += 1;
                j += 1;
            }
        }
    }
    out.sort_by(|x, y| y.weight.total_cmp(&x.weight).then(x.token.cmp(&y.token)));
    out
}

/// Connected components of mutual cross-vendor links, split while too large.
fn group(
    rules: &[Rule],
    neighbours: &[Vec<Neighbour>],
    features: &[Features],
    tokens: &[String],
    df: &[usize],
    max_df: usize,
    p: &Params,
) -> Vec<Group> {
    let lookup: Vec<HashMap<usize, f64>> = neighbours
        .iter()
        .map(|l| l.iter().map(|nb| (nb.rule, nb.score)).collect())
        .collect();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    for (a, list) in neighbours.iter().enumerate() {
        for nb in list {
            let b = nb.rule;
            if a < b
                && rules[a].vendor != rules[b].vendor
                && nb.score >= p.group_score
                && nb.balance >= p.group_balance
                && nb.shared.iter().any(|s| s.df <= max_df)
            {
                if let Some(&back) = lookup[b].get(&a) {
                    edges.push((a, b, nb.score.min(back)));
                }
            }
        }
    }
    let mut comps = Vec::new();
    split(&edges, p.group_score, p, &mut comps);
    let mut groups: Vec<Group> = comps
        .into_iter()
        .filter_map(|mut members| {
            members.sort_by_key(|&r| (rules[r].vendor, r));
            let vendors: BTreeSet<Vendor> = members.iter().map(|&r| rules[r].vendor).collect();
            if vendors.len() < 2 {
                return None;
            }
            Some(Group {
                label: label(&members, rules, features, tokens, df),
                vendors: vendors.into_iter().collect(),
                rules: members,
            })
        })
        .collect();
    groups.sort_by(|a, b| {
        b.vendors
            .len()
            .cmp(&a.vendors.len())
            .then(b.rules.len().cmp(&a.rules.len()))
            .then(a.label.cmp(&b.label))
            .then(a.rules.cmp(&b.rules))
    });
    groups
}

fn split(edges: &[(usize, usize, f64)], bar: f64, p: &Params, out: &mut Vec<Vec<usize>>) {
    let kept: Vec<&(usize, usize, f64)> = edges.iter().filter(|e| e.2 >= bar).collect();
    let mut parent: HashMap<usize, usize> = HashMap::new();
    fn find(parent: &mut HashMap<usize, usize>, x: usize) -> usize {
        let mut r = x;
        while let Some(&up) = parent.get(&r) {
            if up == r {
                break;
            }
            r = up;
        }
        let mut y = x;
        while y != r {
            let up = parent[&y];
            parent.insert(y, r);
            y = up;
        }
        r
    }
    for &&(a, b, _) in &kept {
        parent.entry(a).or_insert(a);
        parent.entry(b).or_insert(b);
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    let nodes: Vec<usize> = parent.keys().copied().collect();
    let mut comps: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for x in nodes {
        let r = find(&mut parent, x);
        comps.entry(r).or_default().push(x);
    }
    for (_, mut members) in comps {
        members.sort_unstable();
        if members.len() <= p.max_group || bar >= 1.5 {
            out.push(members);
            continue;
        }
        let inside: BTreeSet<usize> = members.iter().copied().collect();
        let sub: Vec<(usize, usize, f64)> = kept
            .iter()
            .filter(|e| inside.contains(&e.0))
            .map(|e| **e)
            .collect();
        split(&sub, bar + 0.05, p, out);
    }
}

/// The heaviest tokens held by the most members of a group.
fn label(
    members: &[usize],
    rules: &[Rule],
    features: &[Features],
    tokens: &[String],
    df: &[usize],
) -> Vec<String> {
    let mut vendors_of: BTreeMap<u32, BTreeSet<Vendor>> = BTreeMap::new();
    for &r in members {
        for &(id, _) in &features[r].weights {
            vendors_of.entry(id).or_default().insert(rules[r].vendor);
        }
    }
    let mut ranked: Vec<(usize, usize, u32)> = vendors_of
        .into_iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(id, v)| (v.len(), df[id as usize], id))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked
        .into_iter()
        .take(3)
        .map(|(_, _, id)| tokens[id as usize].clone())
        .collect()
}

#[cfg(test)]
#[path = "overlap/tests.rs"]
mod tests;
