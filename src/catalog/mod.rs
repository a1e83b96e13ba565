//! The catalog: every rule in one place plus the indexes computed once (facets, page slugs,
//! indicators with corpus counts).

pub mod datasources;
pub mod indicators;
pub mod overlap;
pub mod reference;
pub mod shared_indicators;

pub use indicators::Indicator;

use crate::model::{FacetKind, Rule, Vendor};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
pub struct Catalog {
    /// Sorted by (vendor, id, source).
    pub rules: Vec<Rule>,
    /// Page slug of each rule, unique within its vendor (`rules/<vendor>/<slug>`).
    pub slugs: Vec<String>,
    /// Indicators of each rule with their corpus counts.
    pub indicators: Vec<Vec<Indicator>>,
    /// Facet kind → value → rule indexes (sorted). Includes vendor, technique, tactic,
    /// severity and status, derived from the rule fields.
    pub facets: BTreeMap<FacetKind, BTreeMap<String, Vec<usize>>>,
    /// Facet kind → value → page slug (unique within the kind).
    pub facet_slugs: BTreeMap<FacetKind, BTreeMap<String, String>>,
    /// (vendor, native id) → rule index (first one when ids collide).
    pub by_id: HashMap<(Vendor, String), usize>,
}

impl Catalog {
    pub fn build(mut rules: Vec<Rule>) -> Catalog {
        rules.sort_by(|a, b| (a.vendor, &a.id, &a.source).cmp(&(b.vendor, &b.id, &b.source)));
        let slugs = rule_slugs(&rules);
        let mut by_id = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            by_id.entry((r.vendor, r.id.clone())).or_insert(i);
        }
        let mut facets: BTreeMap<FacetKind, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
        for (i, r) in rules.iter().enumerate() {
            for (kind, value) in facet_pairs(r) {
                let list = facets.entry(kind).or_default().entry(value).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let facet_slugs = facets
            .iter()
            .map(|(k, values)| (*k, unique_slugs(values.keys().map(String::as_str))))
            .collect();
        let indicators = indicators::with_counts(&rules);
        Catalog {
            rules,
            slugs,
            indicators,
            facets,
            facet_slugs,
            by_id,
        }
    }

    pub fn facet_slug(&self, kind: FacetKind, value: &str) -> Option<&str> {
        self.facet_slugs.get(&kind)?.get(value).map(String::as_str)
    }

    /// Rules of a facet value.
    pub fn rules_of(&self, kind: FacetKind, value: &str) -> &[usize] {
        self.facets
            .get(&kind)
            .and_then(|m| m.get(value))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Site-relative path of a rule's HTML page (the Markdown twin swaps `.html` for `.md`).
    pub fn rule_page(&self, i: usize) -> String {
        format!(
            "rules/{}/{}.html",
            self.rules[i].vendor.key(),
            self.slugs[i]
        )
    }

    pub fn find(&self, vendor: Vendor, id: &str) -> Option<usize> {
        self.by_id.get(&(vendor, id.to_string())).copied()
    }
}

/// Every (kind, value) of a rule, derived fields included.
pub fn facet_pairs(r: &Rule) -> Vec<(FacetKind, String)> {
    let mut out = vec![(FacetKind::Vendor, r.vendor.key().to_string())];
    out.extend(
        r.techniques
            .iter()
            .map(|t| (FacetKind::Technique, t.clone())),
    );
    out.extend(r.tactics.iter().map(|t| (FacetKind::Tactic, t.clone())));
    if let Some(s) = r.severity {
        out.push((FacetKind::Severity, s.key().to_string()));
    }
    if let Some(s) = &r.status {
        out.push((FacetKind::Status, s.clone()));
    }
    if let Some(q) = &r.query {
        out.push((FacetKind::Language, q.language.name().to_string()));
    }
    out.extend(r.facets.iter().cloned());
    out.extend(
        datasources::canonical(r)
            .into_iter()
            .map(|s| (FacetKind::CanonicalSource, s.to_string())),
    );
    out
}

/// A URL-safe slug: lower-case ASCII letters, digits, `.`, `_` and `-`.
pub fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            if c == '.' && out.is_empty() {
                continue;
            }
            out.push(c);
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    let out = out.trim_end_matches(['-', '.']).to_string();
    let out: String = out.chars().take(100).collect();
    if out.is_empty() {
        "x".to_string()
    } else {
        out
    }
}

/// Unique slugs for a sorted list of names: collisions get `-2`, `-3`, ...
fn unique_slugs<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeMap::new();
    for n in names {
        let base = slugify(n);
        let k = used.entry(base.clone()).or_insert(0);
        *k += 1;
        let slug = if *k == 1 { base } else { format!("{base}-{k}") };
        out.insert(n.to_string(), slug);
    }
    out
}

fn rule_slugs(rules: &[Rule]) -> Vec<String> {
    let mut used: HashMap<(Vendor, String), usize> = HashMap::new();
    rules
        .iter()
        .map(|r| {
            // Titles read better in URLs than UUIDs; the native id stays reachable via /id/.
            let name = if r.title.is_empty() { &r.id } else { &r.title };
            let base = slugify(name);
            let k = used.entry((r.vendor, base.clone())).or_insert(0);
            *k += 1;
            if *k == 1 {
                base
            } else {
                format!("{base}-{k}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_is_url_safe() {
        assert_eq!(slugify("Okta API Token Created!"), "okta-api-token-created");
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        assert_eq!(slugify("AWS.Console.RootLogin"), "aws.console.rootlogin");
        assert_eq!(slugify("<script>"), "script");
        assert_eq!(slugify("///"), "x");
    }

    #[test]
    fn colliding_slugs_get_suffixes() {
        let m = unique_slugs(["A b", "a-b", "a b"].into_iter());
        let mut v: Vec<_> = m.values().cloned().collect();
        v.sort();
        assert_eq!(v, vec!["a-b", "a-b-2", "a-b-3"]);
    }
}
