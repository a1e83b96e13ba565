//! `unknown_log_source`: a log source, table or log type ruledex does not know.
//!
//! Knowledge comes from `data/log_sources.toml` (written by hand: the Sigma taxonomy,
//! Sentinel and Defender XDR tables, Panther log type families), from the canonical
//! data-source map `data/datasources.toml` (every `table`, `log_type`, `product`,
//! `category` and `service` pattern its sources match on, which includes the parser
//! functions Sentinel solutions ship, such as `GitHubAudit`), and from what a rule's own
//! root or query defines: KQL custom tables (`*_CL`) are the workspace's own, and names the
//! query binds itself (`let T = ...`, `| as T`) are not tables. Stored functions the root
//! defines are not tables either (the KQL reader reports those it cannot resolve as
//! `unresolved_function`).
//! Splunk data sources are checked by the ESCU reader against `data_sources/`
//! (`broken_reference`); Elastic index patterns and Chronicle log types are not checked.

use crate::catalog::datasources::{self, Glob};
use crate::model::{FacetKind, Rule, Vendor};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
struct Data {
    sigma: SigmaData,
    kql: KqlData,
    panther: PantherData,
}

#[derive(Debug, Deserialize)]
struct SigmaData {
    categories: Vec<String>,
    products: Vec<String>,
    services: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct KqlData {
    tables: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PantherData {
    families: Vec<String>,
}

/// The lower-cased lists, parsed once.
struct Lists {
    categories: HashSet<String>,
    products: HashSet<String>,
    /// `product/service`, `/service` for a service of no product.
    services: HashSet<String>,
    tables: HashSet<String>,
    families: HashSet<String>,
    /// The canonical data-source map's match alternatives: each a list of positive
    /// `KEY = A | B` conditions (key lower-cased).
    map: Vec<Vec<(String, Vec<Glob>)>>,
}

impl Lists {
    /// Some alternative of the map names `value` under `key`.
    fn in_map(&self, key: &str, value: &str) -> bool {
        self.in_map_with(key, value, None)
    }

    /// As `in_map`, and when `with = (key2, value2)` is given, the same alternative's
    /// `key2` condition (if it has one) matches `value2`: a service of its product.
    fn in_map_with(&self, key: &str, value: &str, with: Option<(&str, &str)>) -> bool {
        let v = value.to_lowercase();
        self.map.iter().any(|alt| {
            let hit = |k: &str, v: &str| {
                alt.iter()
                    .filter(|(ck, _)| ck == k)
                    .map(|(_, gs)| gs.iter().any(|g| g.matches(v)))
                    .reduce(|a, b| a && b)
            };
            hit(key, &v) == Some(true)
                && with.is_none_or(|(k2, v2)| hit(k2, &v2.to_lowercase()) != Some(false))
        })
    }
}

/// The positive `KEY = A | B` conditions of each alternative of the canonical data-source
/// map's match strings.
fn map_patterns() -> Vec<Vec<(String, Vec<Glob>)>> {
    let mut out = Vec::new();
    for src in datasources::table().sources() {
        for alt in &src.written {
            let mut conds = Vec::new();
            for cond in alt.split('&') {
                let Some((key, pats)) = cond.split_once('=') else {
                    continue;
                };
                let key = key.trim();
                if key.ends_with('!') {
                    continue;
                }
                let globs = pats
                    .split('|')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(Glob::new)
                    .collect();
                conds.push((key.to_lowercase(), globs));
            }
            out.push(conds);
        }
    }
    out
}

fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(|| {
        let d: Data = toml::from_str(include_str!("../../../data/log_sources.toml"))
            .expect("data/log_sources.toml is valid");
        let low = |v: Vec<String>| v.into_iter().map(|s| s.to_lowercase()).collect();
        Lists {
            categories: low(d.sigma.categories),
            products: low(d.sigma.products),
            services: low(d.sigma.services),
            tables: low(d.kql.tables),
            families: low(d.panther.families),
            map: map_patterns(),
        }
    })
}

/// The unknown parts of a rule's log source, as (key to point at, message).
pub fn unknown(rule: &Rule) -> Vec<(&'static str, String)> {
    let l = lists();
    let mut out = Vec::new();
    match rule.vendor {
        Vendor::Sigma => {
            let product = rule.facet_values(FacetKind::Product).next();
            for p in rule.facet_values(FacetKind::Product) {
                if !l.products.contains(&p.to_lowercase()) && !l.in_map("product", p) {
                    out.push((
                        "product",
                        format!("logsource product `{p}` is not in the Sigma taxonomy"),
                    ));
                }
            }
            for c in rule.facet_values(FacetKind::Category) {
                if !l.categories.contains(&c.to_lowercase()) && !l.in_map("category", c) {
                    out.push((
                        "category",
                        format!("logsource category `{c}` is not in the Sigma taxonomy"),
                    ));
                }
            }
            for s in rule.facet_values(FacetKind::Service) {
                let s = s.to_lowercase();
                let with = format!("{}/{s}", product.unwrap_or("").to_lowercase());
                if !l.services.contains(&with)
                    && !l.services.contains(&format!("/{s}"))
                    && !l.in_map_with("service", &s, Some(("product", product.unwrap_or(""))))
                {
                    out.push((
                        "service",
                        match product {
                            Some(p) => format!(
                                "logsource service `{s}` is not a Sigma taxonomy service of product `{p}`"
                            ),
                            None => format!("logsource service `{s}` is not in the Sigma taxonomy"),
                        },
                    ));
                }
            }
        }
        Vendor::Sentinel | Vendor::DefenderXdr => {
            let from_connectors = rule
                .metadata
                .iter()
                .any(|(k, v)| k == "Tables" && v.contains("requiredDataConnectors"));
            if !from_connectors {
                let text = rule.query.as_ref().map(|q| q.text.as_str()).unwrap_or("");
                for t in rule.facet_values(FacetKind::Table) {
                    if !known_table(t) && !binds(text, t) {
                        out.push((
                            "query",
                            format!(
                                "`{t}` is neither a Sentinel / Defender XDR table or solution parser ruledex knows, a custom `_CL` table, nor a function this root defines"
                            ),
                        ));
                    }
                }
            }
        }
        Vendor::Panther => {
            for lt in rule.facet_values(FacetKind::LogType) {
                let family = lt.split('.').next().unwrap_or(lt);
                let listed = lt.contains('.') && l.families.contains(&family.to_lowercase());
                if !listed && !l.in_map("log_type", lt) {
                    out.push((
                        "LogTypes",
                        format!("log type `{lt}` is not a Panther log type family ruledex knows (`AWS.CloudTrail`, `Custom.*`...)"),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

/// A KQL table name ruledex knows: listed, matched by the data-source map, or a custom log
/// (`_CL`). A wildcard (`union Device*`) is known when it covers a listed table.
pub fn known_table(t: &str) -> bool {
    let l = lists();
    let low = t.to_lowercase();
    if low.contains('*') {
        let g = Glob::new(&low);
        return l.tables.iter().any(|x| g.matches(x));
    }
    low.ends_with("_cl") || l.tables.contains(&low) || l.in_map("table", t)
}

/// The query binds `name` itself: `let name =` or `| as name`.
fn binds(query: &str, name: &str) -> bool {
    let words: Vec<&str> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '='))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .any(|w| (w[0] == "let" || w[0] == "as") && w[1].trim_end_matches('=') == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceLocation;

    fn rule(v: Vendor, facets: &[(FacetKind, &str)]) -> Rule {
        let mut r = Rule::new(
            v,
            "x",
            SourceLocation {
                root: 0,
                path: "a".into(),
                line: 1,
            },
        );
        for (k, val) in facets {
            r.facet(*k, *val);
        }
        r
    }

    fn unknown(r: &Rule) -> Vec<String> {
        super::unknown(r).into_iter().map(|x| x.1).collect()
    }

    #[test]
    fn sigma_taxonomy() {
        let ok = rule(
            Vendor::Sigma,
            &[
                (FacetKind::Product, "windows"),
                (FacetKind::Category, "process_creation"),
            ],
        );
        assert!(unknown(&ok).is_empty());
        let svc = rule(
            Vendor::Sigma,
            &[
                (FacetKind::Product, "windows"),
                (FacetKind::Service, "security"),
            ],
        );
        assert!(unknown(&svc).is_empty());
        let typo = rule(
            Vendor::Sigma,
            &[
                (FacetKind::Product, "windwos"),
                (FacetKind::Category, "proces_creation"),
            ],
        );
        assert_eq!(unknown(&typo).len(), 2);
        let wrong_pair = rule(
            Vendor::Sigma,
            &[
                (FacetKind::Product, "linux"),
                (FacetKind::Service, "security"),
            ],
        );
        assert!(unknown(&wrong_pair)[0].contains("product `linux`"));
        let bare = rule(Vendor::Sigma, &[(FacetKind::Service, "apache")]);
        assert!(unknown(&bare).is_empty());
    }

    #[test]
    fn kql_tables() {
        assert!(known_table("SecurityEvent"));
        assert!(known_table("deviceprocessevents"));
        assert!(known_table("MyApp_CL"));
        assert!(!known_table("SecurityEvents"));
        // From the canonical data-source map: a solution's parser function.
        assert!(known_table("GitHubAudit"));
        assert!(known_table("Device*"));
        assert!(!known_table("Nothing*"));
        assert!(binds("let T = SigninLogs; T | count", "T"));
        assert!(binds(
            "X | as _Retrievals | join (_Retrievals)",
            "_Retrievals"
        ));
        assert!(!binds("SigninLogs | where x", "SigninLogs"));
        let r = rule(Vendor::Sentinel, &[(FacetKind::Table, "SigninLog")]);
        assert_eq!(unknown(&r).len(), 1);
    }

    #[test]
    fn panther_log_types() {
        let ok = rule(
            Vendor::Panther,
            &[
                (FacetKind::LogType, "AWS.CloudTrail"),
                (FacetKind::LogType, "Custom.MyApp"),
            ],
        );
        assert!(unknown(&ok).is_empty());
        let bad = rule(
            Vendor::Panther,
            &[(FacetKind::LogType, "AWS"), (FacetKind::LogType, "Nope.X")],
        );
        assert_eq!(unknown(&bad).len(), 2);
    }
}
