//! Sigma rule files (spec v2.1): detection rules, correlation rules and meta-filters, one
//! or several YAML documents per file (v1 `action: global` collections are merged).
//!
//! Per file (in parallel): documents (`lines.rs` splits them and finds lines) into `Rule`s
//! (`rule.rs` for metadata, facets and lints; `logic.rs` for the detection, filter or
//! correlation block, compiled by `query::sigma`), test events from SigmaHQ regression data
//! (`regression.rs`) and from ruledex sidecar files. Then, with every rule of the root at hand: correlation rules are
//! built over the rules they name, filters and correlations are linked to their rules, and
//! regression tests go to the rule their `info.yml` names (`links.rs`).

mod lines;
mod links;
mod logic;
mod regression;
mod rule;

#[cfg(test)]
mod tests;

pub use regression::prepare_event;

use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::{is_sidecar, load_each, parse_yaml, sidecar_tests, Format, Loaded};
use crate::model::Vendor;
use crate::verify::checks::Check;
use serde_json::Value as J;
use std::sync::Mutex;

pub struct Sigma;

/// True when `key:` starts a line of `text` (a top-level YAML key).
fn has_top_key(text: &str, key: &str) -> bool {
    text.lines().any(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

impl Format for Sigma {
    fn vendor(&self) -> Vendor {
        Vendor::Sigma
    }

    fn is_rule_file(&self, file: &SourceFile) -> bool {
        let ext = file.ext().to_ascii_lowercase();
        (ext == "yml" || ext == "yaml")
            && !is_sidecar(&file.rel)
            && (has_top_key(&file.text, "detection")
                || has_top_key(&file.text, "correlation")
                || (has_top_key(&file.text, "filter") && has_top_key(&file.text, "logsource")))
    }

    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        let pending = Mutex::new(Vec::new());
        let mut loaded = load_each(root, files, |f| load_file(root, f, &pending));
        let pending = pending.into_inner().unwrap_or_else(|e| e.into_inner());
        links::resolve(root, &mut loaded, pending);
        loaded
    }
}

/// Work left for when every rule of the root is loaded.
pub(crate) struct Pending {
    /// (file, line) of the rule the work is about.
    pub key: (String, usize),
    pub file_display: String,
    pub what: PendingKind,
}

pub(crate) enum PendingKind {
    Correlation(rule::Correlation),
    Filter(Vec<(String, usize)>),
    Regression(regression::Regression),
}

/// Deep merge for `action: global`: the document's values win, maps merge.
fn merge(base: &J, over: &J) -> J {
    match (base, over) {
        (J::Object(b), J::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match out.get(k) {
                    Some(bv) => merge(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            J::Object(out)
        }
        (_, o) => o.clone(),
    }
}

fn load_file(root: &Root, file: &SourceFile, pending: &Mutex<Vec<Pending>>) -> Loaded {
    let mut out = Loaded::default();
    let display = root.display(&file.rel);
    let docs = lines::split_docs(&file.text);
    let multi = docs.len() > 1;
    let mut global: Option<J> = None;
    let mut previous: Option<J> = None;
    let mut work = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        let value = match parse_yaml(&doc.text()) {
            Ok(v) => v,
            Err((line, msg)) => {
                out.diagnostics.push(Diagnostic::new(
                    Check::ParseError,
                    display.clone(),
                    doc.start + line.saturating_sub(1),
                    msg,
                ));
                continue;
            }
        };
        let J::Object(map) = &value else {
            if !value.is_null() {
                out.diagnostics.push(Diagnostic::new(
                    Check::ParseError,
                    display.clone(),
                    doc.start,
                    "a Sigma document must be a map of keys",
                ));
            }
            continue;
        };
        let action = crate::formats::scalar(map.get("action"));
        let mut value = value.clone();
        match action.as_deref() {
            Some("global") => {
                out.diagnostics.push(Diagnostic::new(
                    Check::SigmaObsoleteSyntax,
                    display.clone(),
                    doc.line_of("action"),
                    "`action: global` rule collections are Sigma v1",
                ));
                let mut g = value.clone();
                if let J::Object(m) = &mut g {
                    m.remove("action");
                }
                global = Some(g);
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                if let Some(p) = &previous {
                    value = merge(p, &value);
                }
            }
            Some(other) => out.diagnostics.push(Diagnostic::new(
                Check::InvalidValue,
                display.clone(),
                doc.line_of("action"),
                format!("unknown `action: {other}`"),
            )),
            None => {}
        }
        if let Some(g) = &global {
            value = merge(g, &value);
        }
        if let J::Object(m) = &mut value {
            m.remove("action");
        }
        previous = Some(value.clone());
        let J::Object(map) = &value else { continue };
        let ctx = rule::Ctx {
            root,
            file,
            doc,
            index,
            multi,
        };
        let mut built = rule::build(&ctx, map, &mut out.diagnostics);
        let key = (file.rel.clone(), built.rule.source.line);
        if let Some((path, line)) = &built.regression {
            if let Some(reg) = regression::load(root, file, path, *line, &mut out.diagnostics) {
                work.push(Pending {
                    key: key.clone(),
                    file_display: display.clone(),
                    what: PendingKind::Regression(reg),
                });
            }
        }
        match std::mem::replace(&mut built.kind, rule::Kind::Detection) {
            rule::Kind::Detection => {}
            rule::Kind::Correlation(c) => work.push(Pending {
                key: key.clone(),
                file_display: display.clone(),
                what: PendingKind::Correlation(c),
            }),
            rule::Kind::Filter(refs) => work.push(Pending {
                key: key.clone(),
                file_display: display.clone(),
                what: PendingKind::Filter(refs),
            }),
        }
        out.rules.push(built.rule);
    }
    if out.rules.is_empty() && out.diagnostics.iter().all(|d| d.code != Check::ParseError) {
        out.diagnostics.push(Diagnostic::new(
            Check::ParseError,
            display.clone(),
            1,
            "no Sigma rule in this file",
        ));
    }
    let (mut tests, side_diags) = sidecar_tests(root, &file.rel);
    out.diagnostics.extend(side_diags);
    for t in &mut tests {
        t.events = std::mem::take(&mut t.events)
            .into_iter()
            .map(prepare_event)
            .collect();
    }
    if let Some(first) = out.rules.first_mut() {
        first.tests.extend(tests);
    }
    if !work.is_empty() {
        pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(work);
    }
    out
}
