//! Vendor formats: each module turns the files of one vendor into `Rule`s.
//!
//! Discovery hands every format the files of a root; a format claims its rule files with a
//! cheap sniff (`is_rule_file`) and loads them with the whole root at hand, so it can read
//! the support files a rule leans on (macros, helpers, data models, parsers, lists).

pub mod chronicle;
pub mod defender_xdr;
pub mod elastic;
pub mod panther;
pub mod sentinel;
pub mod sigma;
pub mod splunk;

use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::model::{Rule, Vendor};
use crate::verify::checks::Check;
use rayon::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a format made of its files in one root.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn extend(&mut self, other: Loaded) {
        self.rules.extend(other.rules);
        self.diagnostics.extend(other.diagnostics);
    }
}

pub trait Format: Sync {
    fn vendor(&self) -> Vendor;
    /// Cheap sniff by path and a look at the text: is this one of my rule files?
    fn is_rule_file(&self, file: &SourceFile) -> bool;
    /// Loads the claimed rule files. `root` gives access to every file of the root.
    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded;
}

/// Every format, in the order discovery asks them (the first to claim a file gets it).
pub fn all() -> Vec<&'static dyn Format> {
    vec![
        &sigma::Sigma,
        &panther::Panther,
        &splunk::Splunk,
        &sentinel::Sentinel,
        &defender_xdr::DefenderXdr,
        &elastic::Elastic,
        &chronicle::Chronicle,
    ]
}

pub fn by_vendor(vendor: Vendor) -> &'static dyn Format {
    all()
        .into_iter()
        .find(|f| f.vendor() == vendor)
        .expect("every vendor has a format")
}

/// Loads files one by one in parallel; a panic in `f` becomes a `parse_error` diagnostic for
/// that file instead of stopping the build.
pub fn load_each<F>(root: &Root, files: &[&SourceFile], f: F) -> Loaded
where
    F: Fn(&SourceFile) -> Loaded + Sync,
{
    let parts: Vec<Loaded> = files
        .par_iter()
        .map(|file| match catch_unwind(AssertUnwindSafe(|| f(file))) {
            Ok(l) => l,
            Err(e) => {
                let msg = e
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| e.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Loaded {
                    rules: Vec::new(),
                    diagnostics: vec![Diagnostic::new(
                        Check::ParseError,
                        root.display(&file.rel),
                        0,
                        format!("internal error while reading this file (please report): {msg}"),
                    )],
                }
            }
        })
        .collect();
    let mut out = Loaded::default();
    for p in parts {
        out.extend(p);
    }
    out
}

/// Converts a parsed YAML document into JSON, the one tree type events and rules share.
/// Fails (with a message) on non-string keys that cannot be stringified.
pub fn yaml_to_json(v: serde_yaml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        serde_yaml::Value::Null => J::Null,
        serde_yaml::Value::Bool(b) => J::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(J::Number)
                    .unwrap_or(J::Null)
            }
        }
        serde_yaml::Value::String(s) => J::String(s),
        serde_yaml::Value::Sequence(seq) => J::Array(seq.into_iter().map(yaml_to_json).collect()),
        serde_yaml::Value::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Null => "null".to_string(),
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    other => serde_yaml::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            J::Object(out)
        }
        serde_yaml::Value::Tagged(t) => yaml_to_json(t.value),
    }
}

/// Parses YAML text into JSON, with the error's 1-based line.
pub fn parse_yaml(text: &str) -> Result<serde_json::Value, (usize, String)> {
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(v) => Ok(yaml_to_json(v)),
        Err(e) => {
            let line = e.location().map(|l| l.line()).unwrap_or(1);
            Err((line, e.to_string()))
        }
    }
}

/// Strings of a JSON value that may be a string or a list of strings.
pub fn str_list(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        Some(serde_json::Value::Null) | None => Vec::new(),
        Some(other) => vec![other.to_string()],
    }
}

/// A scalar as text (`None` for null, arrays and objects).
pub fn scalar(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Suffix of ruledex's own test files: `<rule file stem>.tests.yml` beside a rule holds
/// test events for vendors whose format has no tests of its own (and extra ones for those
/// that do). Shape: `tests: [{name, match: true|false | count: N, event: {...} | events: [...]}]`.
pub const SIDECAR_SUFFIX: &str = ".tests.yml";

/// True for ruledex test files, which no format claims as rules.
pub fn is_sidecar(rel: &str) -> bool {
    rel.ends_with(SIDECAR_SUFFIX)
}

/// The sidecar tests of the rule file `rel` (none when there is no sidecar file).
pub fn sidecar_tests(root: &Root, rel: &str) -> (Vec<crate::model::RuleTest>, Vec<Diagnostic>) {
    use crate::model::{Expect, RuleTest, SourceLocation};
    let stem = rel.rsplit_once('.').map(|(s, _)| s).unwrap_or(rel);
    let side = format!("{stem}{SIDECAR_SUFFIX}");
    let Some(file) = root.get(&side) else {
        return (Vec::new(), Vec::new());
    };
    let mut diags = Vec::new();
    let doc = match parse_yaml(&file.text) {
        Ok(d) => d,
        Err((line, msg)) => {
            diags.push(Diagnostic::new(
                Check::ParseError,
                root.display(&side),
                line,
                msg,
            ));
            return (Vec::new(), diags);
        }
    };
    let mut tests = Vec::new();
    let items = doc
        .get("tests")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    if items.is_empty() {
        diags.push(Diagnostic::new(
            Check::ParseError,
            root.display(&side),
            1,
            "a tests file needs a non-empty `tests:` list",
        ));
    }
    for (i, t) in items.iter().enumerate() {
        let name = scalar(t.get("name")).unwrap_or_else(|| format!("test {}", i + 1));
        let line = crate::diag::find_line(&file.text, &name).unwrap_or(1);
        let events: Vec<serde_json::Value> = match (t.get("event"), t.get("events")) {
            (Some(e), _) => vec![e.clone()],
            (None, Some(serde_json::Value::Array(a))) => a.clone(),
            _ => Vec::new(),
        };
        let expect = match (
            t.get("match").and_then(|m| m.as_bool()),
            t.get("count").and_then(|c| c.as_u64()),
        ) {
            (_, Some(n)) => Some(Expect::Count(n as usize)),
            (Some(true), None) => Some(Expect::Match),
            (Some(false), None) => Some(Expect::NoMatch),
            (None, None) => None,
        };
        let (Some(expect), false) = (expect, events.is_empty()) else {
            diags.push(Diagnostic::new(
                Check::MissingField,
                root.display(&side),
                line,
                format!("test `{name}` needs `event` (or `events`) and `match: true|false` (or `count`)"),
            ));
            continue;
        };
        tests.push(RuleTest {
            name,
            events,
            expect,
            unsupported: None,
            location: Some(SourceLocation {
                root: root.index,
                path: side.clone(),
                line,
            }),
        });
    }
    (tests, diags)
}
