//! Indicators: the (field, operator, value) triples of a rule's predicates, with corpus
//! counts (how many rules of the whole catalog test the same triple).

use crate::model::{Op, Rule};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Indicator {
    /// `*` for a field-less (keyword) search.
    pub field: String,
    /// Operator key (`eq`, `contains`, ...), prefixed `not ` under an odd number of negations.
    pub op: String,
    pub value: String,
    pub case_sensitive: bool,
    /// Rules in the catalog with the same (field, op, value); values compared case-folded
    /// where the language is case-insensitive.
    pub count: usize,
}

impl Indicator {
    /// The key two rules must share to count as testing the same combination.
    pub fn key(&self) -> (String, String, String) {
        let value = if self.case_sensitive {
            self.value.clone()
        } else {
            self.value.to_lowercase()
        };
        (self.field.to_lowercase(), self.op.clone(), value)
    }
}

/// The indicators of one rule (count left at 0), in tree order, without repeats.
pub fn of_rule(rule: &Rule) -> Vec<Indicator> {
    let Some(det) = &rule.detection else {
        return Vec::new();
    };
    let mut out: Vec<Indicator> = Vec::new();
    for (p, negated) in det.expr.predicates() {
        if p.field_ref || p.op == Op::IsType {
            continue;
        }
        let field = p.field.clone().unwrap_or_else(|| "*".to_string());
        let op = if negated {
            format!("not {}", p.op.as_str())
        } else {
            p.op.as_str().to_string()
        };
        let values: Vec<String> =
            if matches!(p.op, Op::Exists | Op::IsNull | Op::IsEmpty | Op::Truthy) {
                vec![String::new()]
            } else {
                p.values.iter().map(|v| v.to_string()).collect()
            };
        for value in values {
            let ind = Indicator {
                field: field.clone(),
                op: op.clone(),
                value,
                case_sensitive: p.case_sensitive,
                count: 0,
            };
            if !out.contains(&ind) {
                out.push(ind);
            }
        }
    }
    out
}

/// Indicators of every rule with corpus counts filled in.
pub fn with_counts(rules: &[Rule]) -> Vec<Vec<Indicator>> {
    let mut per_rule: Vec<Vec<Indicator>> = rules.iter().map(of_rule).collect();
    let mut counts: HashMap<(String, String, String), usize> = HashMap::new();
    for inds in &per_rule {
        let keys: HashSet<_> = inds.iter().map(Indicator::key).collect();
        for k in keys {
            *counts.entry(k).or_insert(0) += 1;
        }
    }
    for inds in &mut per_rule {
        for i in inds.iter_mut() {
            i.count = counts.get(&i.key()).copied().unwrap_or(0);
        }
    }
    per_rule
}
