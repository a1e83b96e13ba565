//! Correlation detections: a sequence or group of other rules' alerts, with links to those
//! rules and, once every rule of the root is loaded, their conditions in the steps.

use crate::formats::scalar;
use crate::model::{Expr, RelatedRule, Rule};
use crate::query::panther_detection;
use serde_json::Value as J;
use std::collections::HashMap;

pub(super) fn is_correlation(det: &J) -> bool {
    det.as_array().is_some_and(|items| {
        items
            .iter()
            .any(|i| i.get("Sequence").is_some() || i.get("Group").is_some())
    })
}

/// A correlation detection: a sequence or group of other rules' alerts.
pub(super) fn correlation(det: &J, rule: &mut Rule) -> Expr {
    let mut parts = Vec::new();
    for item in det.as_array().into_iter().flatten() {
        let (ordered, steps) = match (item.get("Sequence"), item.get("Group")) {
            (Some(s), _) => (true, s),
            (None, Some(g)) => (false, g),
            _ => {
                parts.push(panther_detection::parse(item));
                continue;
            }
        };
        let mut step_exprs = Vec::new();
        for s in steps.as_array().into_iter().flatten() {
            let step_id = scalar(s.get("ID")).unwrap_or_default();
            let Some(rule_id) = scalar(s.get("RuleID")) else {
                step_exprs.push(Expr::opaque(
                    serde_yaml::to_string(s).unwrap_or_default(),
                    "a correlation step without `RuleID`",
                ));
                continue;
            };
            if !rule.related.iter().any(|r| r.id == rule_id) {
                rule.related.push(RelatedRule {
                    id: rule_id.clone(),
                    relation: "correlates".into(),
                });
            }
            let mut name = if step_id.is_empty() {
                rule_id.clone()
            } else {
                format!("{step_id}: {rule_id}")
            };
            if let Some(n) = scalar(s.get("MinMatchCount")) {
                name.push_str(&format!(" (at least {n} alerts)"));
            }
            if s.get("Absence").and_then(J::as_bool) == Some(true) {
                name.push_str(" (absent)");
            }
            step_exprs.push(Expr::named(
                name,
                Expr::opaque(format!("rule {rule_id}"), STEP_REASON),
            ));
        }
        let by: Vec<String> = match item.get("MatchCriteria") {
            Some(J::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let window = scalar(item.get("LookbackWindowMinutes")).map(|m| format!("{m} minutes"));
        parts.push(Expr::Sequence {
            ordered,
            by,
            window,
            steps: step_exprs,
        });
    }
    Expr::all(parts)
}

pub(super) const STEP_REASON: &str = "an alert of another rule";

/// Replaces each correlation step that names a loaded rule with that rule's condition.
pub fn fill_steps(e: &mut Expr, by_id: &HashMap<String, Expr>) {
    match e {
        Expr::Sequence { steps, .. } => {
            for s in steps {
                if let Expr::Named { item, .. } = s {
                    if let Expr::Opaque { text, reason } = &**item {
                        if reason == STEP_REASON {
                            let id = text.trim_start_matches("rule ");
                            if let Some(target) = by_id.get(id) {
                                if !matches!(target, Expr::Sequence { .. }) {
                                    **item = target.clone();
                                }
                            }
                        }
                    }
                }
            }
        }
        Expr::All { items } | Expr::Any { items } => {
            items.iter_mut().for_each(|i| fill_steps(i, by_id))
        }
        _ => {}
    }
}
