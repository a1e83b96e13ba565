//! Sigma detection front end: a rule's `detection` map into the condition IR.
//!
//! Each search identifier (selection) becomes an `Expr::Named` over its field items: a map
//! is an AND of items, a list of maps an OR, a list of plain values a keyword search. Each
//! item `field|mod|mod: value(s)` becomes predicates (`modifiers.rs`); the condition text is
//! parsed by a hand-written parser (`condition.rs`) and resolved against the selections.
//! What cannot be decided per event from the rule alone (an unresolved `%placeholder%`, a
//! regex the engine does not support) becomes `Expr::Opaque` with the source text.

pub mod condition;
mod modifiers;
pub mod value;

#[cfg(test)]
mod tests;

use crate::model::{Expr, Op, Predicate, Value};
use crate::verify::checks::Check;
use condition::{Cond, CondError};
use serde_json::Value as J;
use std::collections::BTreeSet;

/// Where in the detection a finding is, for the format to turn into a file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The detection block as a whole.
    Detection,
    /// A selection's key.
    Selection(String),
    /// One `field|modifiers` key inside a selection.
    Item { selection: String, key: String },
    /// A character offset in the `index`th condition (0 for a single condition).
    Condition { index: usize, at: usize },
}

/// A lint or error found while compiling a detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub message: String,
    pub anchor: Anchor,
}

/// A compiled detection.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub expr: Expr,
    pub findings: Vec<Finding>,
    /// The v1 `timeframe` of the detection, when given.
    pub timeframe: Option<String>,
}

/// Keys of a detection map that are not selections.
const RESERVED: [&str; 2] = ["condition", "timeframe"];

/// Compiles a Sigma `detection` map (or a filter's `filter` map, whose `rules` key is
/// skipped) into the IR.
pub fn compile(detection: &J) -> Compiled {
    let mut findings = Vec::new();
    let Some(map) = detection.as_object() else {
        return Compiled {
            expr: Expr::opaque(
                detection.to_string(),
                "`detection` must be a map of selections and a condition",
            ),
            findings: vec![Finding {
                check: Check::ParseError,
                message: "`detection` must be a map of selections and a condition".into(),
                anchor: Anchor::Detection,
            }],
            timeframe: None,
        };
    };
    let mut selections: Vec<(String, Expr)> = Vec::new();
    for (name, body) in map {
        if RESERVED.contains(&name.as_str()) || name == "rules" {
            continue;
        }
        let expr = selection(name, body, &mut findings);
        selections.push((name.clone(), Expr::named(name.clone(), expr)));
    }
    let timeframe = crate::formats::scalar(map.get("timeframe"));
    let conditions: Vec<String> = match map.get("condition") {
        None | Some(J::Null) => Vec::new(),
        Some(J::Array(a)) => a.iter().map(cond_text).collect(),
        Some(other) => vec![cond_text(other)],
    };
    let mut used = BTreeSet::new();
    let expr = if conditions.is_empty() {
        findings.push(Finding {
            check: Check::MissingField,
            message: "the detection has no `condition`".into(),
            anchor: Anchor::Detection,
        });
        Expr::opaque("", "the detection has no condition")
    } else {
        let mut parsed_all = true;
        let mut exprs = Vec::new();
        for (index, text) in conditions.iter().enumerate() {
            match condition::parse(text) {
                Ok(p) => {
                    let e = resolve(&p.cond, index, &selections, &mut used, &mut findings);
                    exprs.push(match p.aggregation {
                        Some(agg) => {
                            findings.push(Finding {
                                check: Check::SigmaObsoleteSyntax,
                                message: format!(
                                    "`| {agg}` is a Sigma v1 aggregation; write a correlation rule instead"
                                ),
                                anchor: Anchor::Condition {
                                    index,
                                    at: text.find('|').map(|b| text[..b].chars().count()).unwrap_or(0),
                                },
                            });
                            let description = match &timeframe {
                                Some(tf) => format!("{agg} (timeframe {tf})"),
                                None => agg,
                            };
                            Expr::Aggregate {
                                description,
                                item: Box::new(e),
                            }
                        }
                        None => e,
                    });
                }
                Err(CondError { at, message }) => {
                    parsed_all = false;
                    findings.push(Finding {
                        check: Check::ParseError,
                        message: format!("condition: {message}"),
                        anchor: Anchor::Condition { index, at },
                    });
                    exprs.push(Expr::opaque(text.clone(), format!("condition: {message}")));
                }
            }
        }
        if parsed_all {
            for (name, _) in &selections {
                if !used.contains(name) {
                    findings.push(Finding {
                        check: Check::UnusedSelection,
                        message: format!("selection `{name}` is not used by the condition"),
                        anchor: Anchor::Selection(name.clone()),
                    });
                }
            }
        }
        Expr::any(exprs)
    };
    Compiled {
        expr,
        findings,
        timeframe,
    }
}

fn cond_text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The names a condition pattern stands for: `*` wildcards, names starting with `_` only
/// when the pattern does too; `them` is every selection but the `_` ones.
fn expand_pattern<'a>(
    pattern: Option<&str>,
    selections: &'a [(String, Expr)],
) -> Vec<&'a (String, Expr)> {
    selections
        .iter()
        .filter(|(name, _)| match pattern {
            None => !name.starts_with('_'),
            Some(p) => {
                (!name.starts_with('_') || p.starts_with('_'))
                    && condition::pattern_matches(p, name)
            }
        })
        .collect()
}

fn resolve(
    cond: &Cond,
    index: usize,
    selections: &[(String, Expr)],
    used: &mut BTreeSet<String>,
    findings: &mut Vec<Finding>,
) -> Expr {
    match cond {
        Cond::Ident { name, at } => match selections.iter().find(|(n, _)| n == name) {
            Some((n, e)) => {
                used.insert(n.clone());
                e.clone()
            }
            None => {
                findings.push(Finding {
                    check: Check::UnknownSelection,
                    message: format!(
                        "the condition names `{name}`, which the detection does not define"
                    ),
                    anchor: Anchor::Condition { index, at: *at },
                });
                Expr::opaque(name.clone(), format!("no selection named `{name}`"))
            }
        },
        Cond::Of { all, pattern, at } => {
            let hits = expand_pattern(pattern.as_deref(), selections);
            let text = format!(
                "{} of {}",
                if *all { "all" } else { "1" },
                pattern.as_deref().unwrap_or("them")
            );
            if hits.is_empty() {
                findings.push(Finding {
                    check: Check::UnknownSelection,
                    message: format!("`{text}` matches no selection"),
                    anchor: Anchor::Condition { index, at: *at },
                });
                return Expr::opaque(text, "the pattern matches no selection");
            }
            let items: Vec<Expr> = hits
                .into_iter()
                .map(|(n, e)| {
                    used.insert(n.clone());
                    e.clone()
                })
                .collect();
            if *all {
                Expr::all(items)
            } else {
                Expr::any(items)
            }
        }
        Cond::And(items) => Expr::all(
            items
                .iter()
                .map(|c| resolve(c, index, selections, used, findings))
                .collect(),
        ),
        Cond::Or(items) => Expr::any(
            items
                .iter()
                .map(|c| resolve(c, index, selections, used, findings))
                .collect(),
        ),
        Cond::Not(item) => Expr::not(resolve(item, index, selections, used, findings)),
    }
}

/// One selection body: a map (AND), a list (OR of maps and keywords) or a keyword value.
fn selection(name: &str, body: &J, findings: &mut Vec<Finding>) -> Expr {
    match body {
        J::Object(m) => map_items(name, m, findings),
        J::Array(items) => {
            let mut alts = Vec::new();
            let mut keywords = Vec::new();
            for it in items {
                match it {
                    J::Object(m) => alts.push(map_items(name, m, findings)),
                    J::Array(_) => {
                        findings.push(Finding {
                            check: Check::ParseError,
                            message: format!("selection `{name}` holds a nested list"),
                            anchor: Anchor::Selection(name.into()),
                        });
                        alts.push(Expr::opaque(it.to_string(), "nested list in a selection"));
                    }
                    scalar => keywords.push(scalar.clone()),
                }
            }
            if !keywords.is_empty() {
                let e = modifiers::item(name, None, "", &[], &J::Array(keywords), findings);
                alts.insert(0, e);
            }
            if alts.is_empty() {
                findings.push(Finding {
                    check: Check::ParseError,
                    message: format!("selection `{name}` is an empty list"),
                    anchor: Anchor::Selection(name.into()),
                });
                return Expr::opaque("[]", "empty selection");
            }
            Expr::any(alts)
        }
        J::Null => {
            findings.push(Finding {
                check: Check::ParseError,
                message: format!("selection `{name}` is empty"),
                anchor: Anchor::Selection(name.into()),
            });
            Expr::opaque("", "empty selection")
        }
        scalar => modifiers::item(name, None, "", &[], scalar, findings),
    }
}

fn map_items(name: &str, m: &serde_json::Map<String, J>, findings: &mut Vec<Finding>) -> Expr {
    if m.is_empty() {
        findings.push(Finding {
            check: Check::ParseError,
            message: format!("selection `{name}` is an empty map"),
            anchor: Anchor::Selection(name.into()),
        });
        return Expr::opaque("{}", "empty selection");
    }
    let items = m
        .iter()
        .map(|(key, value)| {
            let mut parts = key.split('|');
            let field = parts.next().unwrap_or("").trim();
            let mods: Vec<&str> = parts.map(str::trim).collect();
            let field = (!field.is_empty()).then_some(field);
            modifiers::item(name, field, key, &mods, value, findings)
        })
        .collect();
    Expr::all(items)
}

/// A predicate with the defaults of Sigma: case-insensitive.
fn pred(field: Option<&str>, op: Op, values: Vec<Value>) -> Predicate {
    Predicate::new(field.map(str::to_string), op, values)
}
