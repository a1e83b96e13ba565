//! The `ruledex check` report: JSON (the yardstick of every format), text and SARIF 2.1.0.

use crate::diag::Diagnostic;
use crate::pipeline::Build;
use crate::verify::checks::{Check, Level};
use crate::verify::Outcome;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct TestCounts {
    pub pass: usize,
    pub fail: usize,
    pub unsupported: usize,
}

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Rule files found.
    pub files: usize,
    /// Rules loaded.
    pub rules: usize,
    /// Rule files that yielded no rule and an error.
    pub load_errors: usize,
    /// Rules with at least one (field, operator, value) indicator.
    pub with_indicators: usize,
    /// Rules whose condition has no opaque node.
    pub fully_parsed: usize,
    pub tests: TestCounts,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.files += o.files;
        self.rules += o.rules;
        self.load_errors += o.load_errors;
        self.with_indicators += o.with_indicators;
        self.fully_parsed += o.fully_parsed;
        self.tests.pass += o.tests.pass;
        self.tests.fail += o.tests.fail;
        self.tests.unsupported += o.tests.unsupported;
    }
}

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub version: u32,
    pub vendors: BTreeMap<&'static str, Counts>,
    pub totals: Counts,
    pub diagnostics: &'a [Diagnostic],
}

impl<'a> Report<'a> {
    pub fn new(build: &'a Build) -> Report<'a> {
        let mut vendors: BTreeMap<&'static str, Counts> = BTreeMap::new();
        for (v, n) in &build.files {
            vendors.entry(v.key()).or_default().files = *n;
        }
        for (v, n) in &build.failed_files {
            vendors.entry(v.key()).or_default().load_errors = *n;
        }
        let cat = &build.catalog;
        for (i, r) in cat.rules.iter().enumerate() {
            let c = vendors.entry(r.vendor.key()).or_default();
            c.rules += 1;
            if !cat.indicators[i].is_empty() {
                c.with_indicators += 1;
            }
            if r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()) {
                c.fully_parsed += 1;
            }
            for t in &build.results[i] {
                match t.outcome {
                    Outcome::Pass => c.tests.pass += 1,
                    Outcome::Fail => c.tests.fail += 1,
                    Outcome::Unsupported => c.tests.unsupported += 1,
                }
            }
        }
        let mut totals = Counts::default();
        for c in vendors.values() {
            totals.add(c);
        }
        Report {
            version: 1,
            vendors,
            totals,
            diagnostics: &build.diagnostics,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises") + "\n"
    }

    /// Diagnostics grouped by file with the offending line and a caret, then a summary.
    pub fn to_text(&self, build: &Build, min_level: Level) -> String {
        let texts = file_texts(build);
        let mut out = String::new();
        let mut current = "";
        for d in self.diagnostics.iter().filter(|d| d.level >= min_level) {
            if d.file != current {
                current = &d.file;
                let _ = writeln!(out, "\n{}", d.file);
            }
            let loc = match (d.line, d.column) {
                (0, _) => d.file.clone(),
                (l, Some(c)) => format!("{}:{l}:{c}", d.file),
                (l, None) => format!("{}:{l}", d.file),
            };
            let _ = writeln!(
                out,
                "{loc}: {}[{}]: {}",
                d.level.as_str(),
                d.code.id(),
                d.message
            );
            if d.line > 0 {
                if let Some(line) = texts
                    .get(d.file.as_str())
                    .and_then(|t| t.lines().nth(d.line - 1))
                {
                    let _ = writeln!(out, "  {:>5} | {}", d.line, line);
                    if let Some(c) = d.column {
                        let _ = writeln!(out, "        | {}^", " ".repeat(c.saturating_sub(1)));
                    }
                }
            }
        }
        let _ = writeln!(out, "\n{}", self.summary());
        out
    }

    pub fn summary(&self) -> String {
        let t = &self.totals;
        let count = |l: Level| self.diagnostics.iter().filter(|d| d.level == l).count();
        format!(
            "{} rules from {} files ({} load errors); tests: {} pass, {} fail, {} unsupported; {} errors, {} warnings, {} notes",
            t.rules,
            t.files,
            t.load_errors,
            t.tests.pass,
            t.tests.fail,
            t.tests.unsupported,
            count(Level::Error),
            count(Level::Warning),
            count(Level::Note)
        )
    }

    /// SARIF 2.1.0 with the lint catalogue as the tool's rules.
    pub fn to_sarif(&self) -> String {
        let rules: Vec<serde_json::Value> = Check::ALL
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id(),
                    "shortDescription": {"text": c.description()},
                    "defaultConfiguration": {"level": c.default_level().as_str()},
                    "properties": {"vendors": c.vendors()},
                })
            })
            .collect();
        let index: HashMap<&str, usize> = Check::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id(), i))
            .collect();
        let results: Vec<serde_json::Value> = self
            .diagnostics
            .iter()
            .map(|d| {
                let mut loc = serde_json::json!({"artifactLocation": {"uri": sarif_uri(&d.file)}});
                if d.line > 0 {
                    let mut region = serde_json::json!({"startLine": d.line});
                    if let Some(c) = d.column {
                        region["startColumn"] = c.into();
                    }
                    loc["region"] = region;
                }
                serde_json::json!({
                    "ruleId": d.code.id(),
                    "ruleIndex": index[d.code.id()],
                    "level": d.level.as_str(),
                    "message": {"text": d.message},
                    "locations": [{"physicalLocation": loc}],
                })
            })
            .collect();
        let doc = serde_json::json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "ruledex",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/ruledex/ruledex",
                    "rules": rules,
                }},
                "results": results,
            }],
        });
        serde_json::to_string_pretty(&doc).expect("sarif serialises")
    }
}

/// SARIF wants URI references: forward slashes, spaces and other specials escaped.
fn sarif_uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.trim_start_matches("./").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn file_texts(build: &Build) -> HashMap<String, &str> {
    let mut m = HashMap::new();
    for root in &build.roots {
        for f in &root.files {
            m.insert(root.display(&f.rel), f.text.as_str());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_escaped() {
        assert_eq!(sarif_uri("./a b/c%.yml"), "a%20b/c%25.yml");
    }
}
