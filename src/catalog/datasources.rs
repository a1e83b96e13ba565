//! Canonical data sources: one name for the log a rule reads, whatever its vendor calls it
//! (Panther `Okta.SystemLog`, Sentinel `Okta_CL`, Splunk `Okta`, Sigma `okta/okta`, Elastic
//! `okta`, Chronicle `OKTA` → "Okta System Log").
//!
//! The mapping is data, written by hand in `data/datasources.toml` and embedded in the
//! binary. A rule offers *keys* (its facets, fields it tests, names read from its query text:
//! EQL categories, SPL macros, KQL tables, ES|QL indexes); each source of the table holds a
//! list of alternatives over those keys (see the file header for the syntax). Hints are named
//! facts (the operating system, the activity of an endpoint event) evaluated first and usable
//! as keys by the sources.

use crate::model::{FacetKind, Language, Op, Rule};
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const DATA: &str = include_str!("../../data/datasources.toml");

/// When a source applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Whenever one of its alternatives holds.
    None,
    /// Only when no other source of its family matched the rule.
    Family,
    /// Only when no other source matched the rule.
    Any,
}

/// One canonical data source.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    /// Names describing the same kind of event on different platforms share a family.
    pub family: String,
    pub fallback: Fallback,
    /// The `match` strings as written (shown on the data-source page).
    pub written: Vec<String>,
    alternatives: Vec<Vec<Cond>>,
}

#[derive(Debug)]
struct Hint {
    name: String,
    alternatives: Vec<Vec<Cond>>,
}

#[derive(Debug)]
struct Cond {
    /// Lower-cased key; `field:` keys may hold `*`.
    key: String,
    /// The field pattern of a `field:` key.
    field: Option<Glob>,
    negate: bool,
    patterns: Vec<Glob>,
}

/// The parsed table.
#[derive(Debug)]
pub struct Table {
    hints: Vec<Hint>,
    sources: Vec<Source>,
    by_name: BTreeMap<String, usize>,
}

#[derive(Deserialize)]
struct RawTable {
    #[serde(default)]
    hint: Vec<RawHint>,
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHint {
    name: String,
    #[serde(rename = "match")]
    matches: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    family: Option<String>,
    fallback: Option<String>,
    #[serde(rename = "match")]
    matches: Vec<String>,
}

/// The embedded table, parsed once. The data is part of the program and checked by tests,
/// so a parse error here is a bug in the build, not bad user input.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table::parse(DATA).expect("data/datasources.toml is invalid"))
}

/// Canonical data sources of a rule (names from `data/datasources.toml`), in table order.
pub fn canonical(rule: &Rule) -> Vec<&'static str> {
    table().canonical(rule)
}

/// The family of a canonical name (the name itself when it has none).
pub fn family(name: &str) -> Option<&'static str> {
    let t = table();
    t.by_name.get(name).map(|&i| t.sources[i].family.as_str())
}

impl Table {
    pub fn parse(text: &str) -> Result<Table, String> {
        let raw: RawTable = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut hints = Vec::new();
        let mut known_hints = BTreeSet::new();
        for h in raw.hint {
            let alternatives = parse_alternatives(&h.matches, &known_hints)
                .map_err(|e| format!("hint `{}`: {e}", h.name))?;
            known_hints.insert(h.name.to_ascii_lowercase());
            hints.push(Hint {
                name: h.name,
                alternatives,
            });
        }
        let mut sources = Vec::new();
        let mut by_name = BTreeMap::new();
        for s in raw.source {
            let alternatives = parse_alternatives(&s.matches, &known_hints)
                .map_err(|e| format!("source `{}`: {e}", s.name))?;
            let fallback = match s.fallback.as_deref() {
                None => Fallback::None,
                Some("family") => Fallback::Family,
                Some("any") => Fallback::Any,
                Some(o) => return Err(format!("source `{}`: unknown fallback `{o}`", s.name)),
            };
            let family = s.family.unwrap_or_else(|| s.name.clone());
            if let Some(&first) = by_name.get(&s.name) {
                let first: &Source = &sources[first];
                if first.family != family || first.fallback == fallback {
                    return Err(format!(
                        "source `{}` is defined twice (entries of one name must differ in \
                         `fallback` and agree on `family`)",
                        s.name
                    ));
                }
            } else {
                by_name.insert(s.name.clone(), sources.len());
            }
            sources.push(Source {
                family,
                name: s.name,
                fallback,
                written: s.matches,
                alternatives,
            });
        }
        Ok(Table {
            hints,
            sources,
            by_name,
        })
    }

    /// Every entry, in file order (a name may have several entries).
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The canonical names, in file order, each once.
    pub fn names(&self) -> Vec<&str> {
        let mut seen = BTreeSet::new();
        self.sources
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| seen.insert(*n))
            .collect()
    }

    pub fn canonical(&self, rule: &Rule) -> Vec<&str> {
        let mut keys = Keys::of(rule);
        for h in &self.hints {
            if h.alternatives.iter().any(|alt| keys.holds(alt)) {
                keys.add("hint", &h.name);
            }
        }
        let hit: Vec<bool> = self
            .sources
            .iter()
            .map(|s| s.alternatives.iter().any(|alt| keys.holds(alt)))
            .collect();
        let primary = |i: usize| hit[i] && self.sources[i].fallback == Fallback::None;
        let mut out: Vec<&str> = Vec::new();
        for (i, s) in self.sources.iter().enumerate() {
            let keep = match s.fallback {
                Fallback::None => hit[i],
                Fallback::Family => {
                    hit[i]
                        && !self
                            .sources
                            .iter()
                            .enumerate()
                            .any(|(j, o)| j != i && o.family == s.family && primary(j))
                }
                Fallback::Any => false,
            };
            if keep && !out.contains(&s.name.as_str()) {
                out.push(s.name.as_str());
            }
        }
        if out.is_empty() {
            // The first `any` fallback that holds, so the answer stays one name.
            if let Some(i) = (0..self.sources.len())
                .find(|&i| hit[i] && self.sources[i].fallback == Fallback::Any)
            {
                out.push(self.sources[i].name.as_str());
            }
        }
        out
    }
}

fn parse_alternatives(
    matches: &[String],
    hints: &BTreeSet<String>,
) -> Result<Vec<Vec<Cond>>, String> {
    if matches.is_empty() {
        return Err("empty `match` list".into());
    }
    matches
        .iter()
        .map(|m| {
            m.split('&')
                .map(|c| parse_cond(c, hints).map_err(|e| format!("`{m}`: {e}")))
                .collect()
        })
        .collect()
}

fn parse_cond(text: &str, hints: &BTreeSet<String>) -> Result<Cond, String> {
    let (key, negate, values) = if let Some((k, v)) = text.split_once("!=") {
        (k, true, v)
    } else if let Some((k, v)) = text.split_once('=') {
        (k, false, v)
    } else {
        return Err(format!("condition `{}` has no `=`", text.trim()));
    };
    let key = key.trim().to_ascii_lowercase();
    if !KEYS.contains(&key.as_str()) && !key.starts_with("field:") {
        return Err(format!("unknown key `{key}`"));
    }
    let patterns: Vec<Glob> = values
        .split('|')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(Glob::new)
        .collect();
    if patterns.is_empty() {
        return Err(format!("condition on `{key}` has no value"));
    }
    if key == "hint" {
        for p in &patterns {
            if !hints.contains(&p.text) {
                return Err(format!("unknown hint `{}` (hints must come first)", p.text));
            }
        }
    }
    Ok(Cond {
        field: key.strip_prefix("field:").map(Glob::new),
        key,
        negate,
        patterns,
    })
}

/// Keys a match expression may name (besides `field:NAME`).
const KEYS: &[&str] = &[
    "log_source",
    "product",
    "category",
    "service",
    "log_type",
    "resource_type",
    "table",
    "data_source",
    "data_model",
    "connector",
    "solution",
    "index_pattern",
    "integration",
    "event_type",
    "tag",
    "rule_type",
    "ml_job",
    "vendor",
    "id",
    "eql",
    "macro",
    "sourcetype",
    "hint",
];

fn kind_key(kind: FacetKind) -> Option<&'static str> {
    Some(match kind {
        FacetKind::LogSource => "log_source",
        FacetKind::Product => "product",
        FacetKind::Category => "category",
        FacetKind::Service => "service",
        FacetKind::LogType => "log_type",
        FacetKind::ResourceType => "resource_type",
        FacetKind::Table => "table",
        FacetKind::DataSource => "data_source",
        FacetKind::DataModel => "data_model",
        FacetKind::Connector => "connector",
        FacetKind::Solution => "solution",
        FacetKind::IndexPattern => "index_pattern",
        FacetKind::Integration => "integration",
        FacetKind::EventType => "event_type",
        FacetKind::Tag => "tag",
        FacetKind::RuleType => "rule_type",
        FacetKind::MlJob => "ml_job",
        _ => return None,
    })
}

/// A case-insensitive pattern where `*` matches any run of characters.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    parts: Vec<String>,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let text = pattern.trim().to_lowercase();
        let parts = text.split('*').map(str::to_string).collect();
        Glob { text, parts }
    }

    /// `value` must already be lower-cased.
    pub fn matches(&self, value: &str) -> bool {
        if self.parts.len() == 1 {
            return self.text == value;
        }
        let first = &self.parts[0];
        let last = &self.parts[self.parts.len() - 1];
        if !value.starts_with(first.as_str()) {
            return false;
        }
        let mut rest = &value[first.len()..];
        for mid in &self.parts[1..self.parts.len() - 1] {
            match rest.find(mid.as_str()) {
                Some(at) => rest = &rest[at + mid.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last.as_str())
    }
}

/// What a rule offers to match expressions: key → lower-cased values, plus tested fields.
#[derive(Debug, Default)]
struct Keys {
    map: BTreeMap<String, BTreeSet<String>>,
    /// (lower-cased field, lower-cased value) of positive predicates.
    fields: BTreeSet<(String, String)>,
}

impl Keys {
    fn add(&mut self, key: &str, value: &str) {
        let v = value.trim().to_lowercase();
        if !v.is_empty() {
            self.map.entry(key.to_string()).or_default().insert(v);
        }
    }

    fn of(rule: &Rule) -> Keys {
        let mut k = Keys::default();
        k.add("vendor", rule.vendor.key());
        k.add("id", &rule.id);
        for (kind, value) in &rule.facets {
            let Some(key) = kind_key(*kind) else { continue };
            k.add(key, value);
            if matches!(kind, FacetKind::DataSource | FacetKind::LogType) {
                for part in value.split(" AND ").flat_map(|p| p.split(',')) {
                    k.add(key, part);
                }
            }
        }
        if let Some(det) = &rule.detection {
            for (p, negated) in det.expr.predicates() {
                let Some(field) = &p.field else { continue };
                if negated || p.field_ref {
                    continue;
                }
                let field = normalise_field(field);
                if matches!(p.op, Op::Exists) || p.values.is_empty() {
                    k.fields.insert((field.clone(), String::new()));
                }
                for v in &p.values {
                    k.fields
                        .insert((field.clone(), v.to_string().to_lowercase()));
                }
            }
        }
        if let Some(q) = &rule.query {
            k.add_query(q.language, &q.text);
        }
        k
    }

    fn add_query(&mut self, language: Language, text: &str) {
        let re = regexes();
        match language {
            Language::Eql => {
                let bare = re.comments.replace_all(text, " ");
                for c in re.eql_category.captures_iter(&bare) {
                    self.add("eql", &c[1]);
                }
            }
            Language::Spl => {
                for c in re.spl_macro.captures_iter(text) {
                    self.add("macro", &c[1]);
                }
                for c in re.spl_datamodel.captures_iter(text) {
                    self.add("data_model", &c[1]);
                    if let Some((dm, _)) = c[1].split_once('.') {
                        self.add("data_model", dm);
                    }
                }
                for c in re.spl_sourcetype.captures_iter(text) {
                    self.add("sourcetype", &c[1]);
                }
            }
            Language::Kql => {
                let bare = re.kql_strings.replace_all(text, " ");
                let bare = re.line_comments.replace_all(&bare, " ");
                for c in re.identifier.captures_iter(&bare) {
                    self.add("table", &c[1]);
                }
            }
            Language::Esql => {
                if let Some(c) = re.esql_from.captures(text) {
                    for part in c[1].split(',') {
                        if let Some(p) = part.split_whitespace().next() {
                            self.add("index_pattern", p);
                        }
                    }
                }
            }
            _ => {}
        }
        // Source-describing fields written in the query text, in case the front end left
        // them in an opaque node.
        for c in re.source_field.captures_iter(text) {
            let field = c[1].to_lowercase();
            let values = c
                .get(2)
                .or(c.get(3))
                .or(c.get(4))
                .map(|m| m.as_str())
                .unwrap_or("");
            for v in re.word.find_iter(values) {
                self.fields
                    .insert((field.clone(), v.as_str().to_lowercase()));
            }
        }
    }

    fn holds(&self, alternative: &[Cond]) -> bool {
        alternative.iter().all(|c| self.cond(c) != c.negate)
    }

    fn cond(&self, c: &Cond) -> bool {
        if let Some(fg) = &c.field {
            return self
                .fields
                .iter()
                .any(|(f, v)| fg.matches(f) && c.patterns.iter().any(|p| p.matches(v)));
        }
        match self.map.get(&c.key) {
            Some(values) => values
                .iter()
                .any(|v| c.patterns.iter().any(|p| p.matches(v))),
            None => false,
        }
    }
}

/// Lower-cased field path without a YARA-L event variable (`$e.metadata.x` → `metadata.x`).
fn normalise_field(field: &str) -> String {
    let f = field.trim();
    let f = match f.strip_prefix('$') {
        Some(rest) => rest.split_once('.').map(|(_, r)| r).unwrap_or(rest),
        None => f,
    };
    f.to_lowercase()
}

struct Regexes {
    comments: Regex,
    line_comments: Regex,
    eql_category: Regex,
    spl_macro: Regex,
    spl_datamodel: Regex,
    spl_sourcetype: Regex,
    kql_strings: Regex,
    identifier: Regex,
    esql_from: Regex,
    source_field: Regex,
    word: Regex,
}

fn regexes() -> &'static Regexes {
    static RE: OnceLock<Regexes> = OnceLock::new();
    RE.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("static regex");
        Regexes {
            comments: re(r"(?s)/\*.*?\*/|//[^\n]*"),
            line_comments: re(r"//[^\n]*"),
            eql_category: re(r"(?im)(?:^|\[)\s*([a-z_]+)\s+where\b"),
            spl_macro: re(r"`([A-Za-z0-9_]+)(?:\(|`)"),
            spl_datamodel: re(r#"(?i)datamodel\s*[=:]?\s*"?([A-Za-z_]+(?:\.[A-Za-z_]+)?)"#),
            spl_sourcetype: re(r#"(?i)sourcetype\s*=\s*"?([^\s"|)]+)"#),
            kql_strings: re(r#"@?"(?:[^"\\\n]|\\.)*"|@?'(?:[^'\\\n]|\\.)*'"#),
            identifier: re(r"\b([A-Z][A-Za-z0-9_]*)\b"),
            esql_from: re(r"(?im)^\s*from\s+([^|\n]+)"),
            source_field: re(concat!(
                r"(?i)\b(event\.category|event\.dataset|data_stream\.dataset|host\.os\.type",
                r"|host\.os\.family|metadata\.event_type|metadata\.product_event_type",
                r"|metadata\.product_name|metadata\.vendor_name|metadata\.log_type",
                r"|principal\.platform)\s*(?:==|=~|:|=|\bin~?\b)\s*",
                r#"(?:\(([^)\n]*)\)|"([^"\n]*)"|([A-Za-z_][A-Za-z0-9_.\-]*))"#
            )),
            word: re(r"[A-Za-z0-9_.\-]+"),
        }
    })
}

#[cfg(test)]
#[path = "datasources/tests.rs"]
mod tests;
