//! Elastic detection rules: one TOML file per rule (`[metadata]`, `[rule]`,
//! `[[rule.threat]]`, optional `[transform]`), the query in KQL (kuery), Lucene, EQL or
//! ES|QL.
//!
//! - [`doc`] reads the TOML with spans, so every finding has a line.
//! - [`meta`] fills the rule: identity, dates, severity, ATT&CK, facets, sections, and
//!   the format's own lints (missing fields, values outside the allowed sets).
//! - [`logic`] turns the query, the Kibana `filters` and the rule type (threshold,
//!   new terms, indicator match) into the condition IR.
//!
//! Machine-learning rules have no query: their job ids are an `MlJob` facet and they have
//! no detection.

pub mod doc;
pub mod filters;
pub mod logic;
pub mod meta;

use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::{load_each, sidecar_tests, Format, Loaded};
use crate::model::{Rule, SourceLocation, Vendor};
use crate::verify::checks::Check;
use doc::Doc;

pub struct Elastic;

impl Format for Elastic {
    fn vendor(&self) -> Vendor {
        Vendor::Elastic
    }
    fn is_rule_file(&self, file: &SourceFile) -> bool {
        file.ext().eq_ignore_ascii_case("toml")
            && !crate::formats::is_sidecar(&file.rel)
            && file.text.lines().any(is_rule_header)
    }
    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        load_each(root, files, |f| load_file(root, f))
    }
}

/// A `[rule]`, `[rule.x]`, `[[rule.x]]` (or malformed `[[rule]]`) table header.
fn is_rule_header(line: &str) -> bool {
    let l = line.trim_start();
    let l = l
        .strip_prefix("[[")
        .or_else(|| l.strip_prefix('['))
        .unwrap_or("");
    l.trim_start()
        .strip_prefix("rule")
        .is_some_and(|rest| rest.trim_start().starts_with([']', '.']))
}

/// Findings about one file, all with its display path and the rule's id once known.
pub struct Findings {
    pub file: String,
    pub rule: Option<String>,
    pub diags: Vec<Diagnostic>,
}

impl Findings {
    pub fn push(&mut self, check: Check, line: usize, msg: impl Into<String>) {
        let mut d = Diagnostic::new(check, self.file.clone(), line, msg);
        d.rule = self.rule.clone();
        self.diags.push(d);
    }
    pub fn push_at(&mut self, check: Check, line: usize, column: usize, msg: impl Into<String>) {
        self.push(check, line, msg);
        if let Some(d) = self.diags.last_mut() {
            d.column = Some(column);
        }
    }
}

/// Loads one rule file.
pub fn load_file(root: &Root, file: &SourceFile) -> Loaded {
    let mut out = Loaded::default();
    let mut fx = Findings {
        file: root.display(&file.rel),
        rule: None,
        diags: Vec::new(),
    };
    let doc = match Doc::parse(&file.text) {
        Ok(d) => d,
        Err((line, col, msg)) => {
            fx.push_at(Check::ParseError, line, col, msg);
            out.diagnostics = fx.diags;
            return out;
        }
    };
    let source = SourceLocation {
        root: root.index,
        path: file.rel.clone(),
        line: 1,
    };
    let id = doc
        .rule_str("rule_id")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    fx.rule = id.clone();
    let mut rule = Rule::new(
        Vendor::Elastic,
        id.unwrap_or_else(|| file.rel.clone()),
        source,
    );
    rule.raw = file.text.clone();
    rule.raw_format = "toml".to_string();
    meta::fill(&doc, &mut rule, &mut fx);
    logic::fill(&doc, &mut rule, &mut fx);
    let (tests, diags) = sidecar_tests(root, &file.rel);
    rule.tests = tests;
    fx.diags.extend(diags);
    out.rules.push(rule);
    out.diagnostics = fx.diags;
    out
}

#[cfg(test)]
mod tests;
