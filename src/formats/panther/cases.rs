//! `Tests:` as test cases, and the test events prepared the way Panther hands them to a
//! rule (keys read case-insensitively, JSON decoded where the rule decodes it).

use crate::diag::{find_line, Diagnostic};
use crate::discover::{Root, SourceFile};
use crate::formats::scalar;
use crate::model::{Expect, Expr, Rule, RuleTest, SourceLocation};
use crate::query::python;
use crate::query::python::JSON_SUFFIX;
use crate::verify::checks::Check;
use serde_json::Value as J;
use std::collections::BTreeSet;

/// `Tests:`: each with `Log` (or `Resource`) and `ExpectedResult`.
pub(super) fn tests(
    root: &Root,
    file: &SourceFile,
    doc: &J,
    rule: &mut Rule,
    reading: Option<&python::Reading>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(items) = doc.get("Tests") else {
        return;
    };
    let disp = root.display(&file.rel);
    let Some(items) = items.as_array() else {
        diags.push(
            Diagnostic::new(
                Check::ParseError,
                disp,
                find_line(&file.text, "Tests:").unwrap_or(1),
                "`Tests` must be a list",
            )
            .for_rule(&rule.id),
        );
        return;
    };
    let empty = BTreeSet::new();
    let reads = reading.map(|r| &r.reads_globals).unwrap_or(&empty);
    let mut seen_names: Vec<String> = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let name = scalar(t.get("Name")).unwrap_or_else(|| format!("test {}", i + 1));
        // The test's line: its `Name:` (the n-th occurrence for repeated names).
        let nth = seen_names.iter().filter(|n| **n == name).count();
        seen_names.push(name.clone());
        let line = file
            .text
            .match_indices(&name)
            .nth(nth)
            .map(|(p, _)| crate::diag::line_of(&file.text, p))
            .unwrap_or(1);
        let expect = match t.get("ExpectedResult") {
            Some(J::Bool(true)) => Expect::Match,
            Some(J::Bool(false)) => Expect::NoMatch,
            Some(other) => {
                diags.push(
                    Diagnostic::new(
                        Check::InvalidValue,
                        disp.clone(),
                        line,
                        format!(
                            "test `{name}`: `ExpectedResult` must be true or false, not {other}"
                        ),
                    )
                    .for_rule(&rule.id),
                );
                continue;
            }
            None => {
                diags.push(
                    Diagnostic::new(
                        Check::MissingField,
                        disp.clone(),
                        line,
                        format!("test `{name}` has no `ExpectedResult`"),
                    )
                    .for_rule(&rule.id),
                );
                continue;
            }
        };
        let mut unsupported = None;
        let event = match (t.get("Log"), t.get("Resource")) {
            (_, Some(r)) => Some(r.clone()),
            (Some(J::String(s)), None) => serde_json::from_str::<J>(s).ok(),
            (Some(l), None) => Some(l.clone()),
            (None, None) => None,
        };
        if t.get("RuleOutputs").is_some() {
            unsupported = Some(
                "a correlation test on other rules' alerts (`RuleOutputs`), run by Panther's backend"
                    .to_string(),
            );
        }
        let event = match event {
            Some(e) => e,
            None if unsupported.is_some() => J::Object(Default::default()),
            None => {
                diags.push(
                    Diagnostic::new(
                        Check::MissingField,
                        disp.clone(),
                        line,
                        format!("test `{name}` has no `Log` (or `Resource`)"),
                    )
                    .for_rule(&rule.id),
                );
                continue;
            }
        };
        if unsupported.is_none() {
            let mocked: Vec<String> = t
                .get("Mocks")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| scalar(m.get("objectName")))
                .filter(|n| reads.contains(n))
                .collect();
            if !mocked.is_empty() {
                unsupported = Some(format!(
                    "mocks {}, which the rule's condition reads",
                    mocked
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        rule.tests.push(RuleTest {
            name,
            events: vec![event],
            expect,
            unsupported,
            location: Some(SourceLocation {
                root: root.index,
                path: file.rel.clone(),
                line,
            }),
        });
    }
}

/// Panther hands rules a `PantherEvent`, whose keys are read case-insensitively (the exact
/// key first): test events get the rule's spelling of the keys its condition reads, so the
/// matcher's exact lookup finds what Panther finds.
pub(super) fn align_keys(rule: &mut Rule) {
    let Some(det) = &rule.detection else {
        return;
    };
    let mut paths: BTreeSet<String> = BTreeSet::new();
    det.expr.walk(&mut |e| match e {
        Expr::Pred(p) => {
            if let Some(f) = &p.field {
                paths.insert(f.clone());
            }
            if p.field_ref {
                paths.extend(p.values.iter().map(|v| v.to_string()));
            }
        }
        Expr::AnyElement { field, .. } => {
            paths.insert(field.clone());
        }
        _ => {}
    });
    for t in &mut rule.tests {
        for ev in &mut t.events {
            for p in &paths {
                let parts: Vec<&str> = p.split('.').collect();
                align(ev, &parts);
            }
        }
    }
}

pub(super) fn align(v: &mut J, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if first.ends_with(JSON_SUFFIX) {
        // Decoded JSON is a plain dict: its keys are exact.
        return;
    }
    match v {
        J::Array(items) => items.iter_mut().for_each(|x| align(x, path)),
        J::Object(m) => {
            if !m.contains_key(*first) {
                let lower = first.to_lowercase();
                let found = m.keys().find(|k| k.to_lowercase() == lower).cloned();
                if let Some(k) = found {
                    if let Some(val) = m.remove(&k) {
                        m.insert(first.to_string(), val);
                    }
                }
            }
            if let Some(child) = m.get_mut(*first) {
                align(child, rest);
            }
        }
        _ => {}
    }
}

/// The rule decodes JSON held in string keys (`json.loads(event.get("k"))`), which the IR
/// reads through the pseudo-key `k@json`: test events get that key beside `k`, holding the
/// decoded value (none when the text is not JSON, as `json.loads` would raise).
pub(super) fn decode_json_keys(rule: &mut Rule) {
    let Some(det) = &rule.detection else {
        return;
    };
    let mut paths: BTreeSet<Vec<String>> = BTreeSet::new();
    det.expr.walk(&mut |e| {
        let mut add = |f: &str| {
            let segs: Vec<&str> = f.split('.').collect();
            for (i, s) in segs.iter().enumerate() {
                if s.ends_with(JSON_SUFFIX) {
                    paths.insert(segs[..=i].iter().map(|x| x.to_string()).collect());
                }
            }
        };
        match e {
            Expr::Pred(p) => {
                if let Some(f) = &p.field {
                    add(f);
                }
                if p.field_ref {
                    p.values.iter().for_each(|v| add(&v.to_string()));
                }
            }
            Expr::AnyElement { field, .. } => add(field),
            _ => {}
        }
    });
    if paths.is_empty() {
        return;
    }
    for t in &mut rule.tests {
        for ev in &mut t.events {
            for p in &paths {
                let parts: Vec<&str> = p.iter().map(String::as_str).collect();
                decode_at(ev, &parts);
            }
        }
    }
}

pub(super) fn decode_at(v: &mut J, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match v {
        J::Array(items) => items.iter_mut().for_each(|x| decode_at(x, path)),
        J::Object(m) => {
            if rest.is_empty() {
                let Some(key) = first.strip_suffix(JSON_SUFFIX) else {
                    return;
                };
                if m.contains_key(*first) {
                    return;
                }
                if let Some(J::String(text)) = m.get(key) {
                    if let Ok(decoded) = serde_json::from_str::<J>(text) {
                        m.insert(first.to_string(), decoded);
                    }
                }
            } else if let Some(child) = m.get_mut(*first) {
                decode_at(child, rest);
            }
        }
        _ => {}
    }
}
