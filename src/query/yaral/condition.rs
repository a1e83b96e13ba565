//! The condition section (counts, absences, outcome thresholds) and the check that every
//! variable a rule uses is bound.

use super::ast::*;
use super::lower::{flatten_and, Unbound};
use std::collections::{BTreeMap, BTreeSet};

/// What the condition section asks beyond "an event of each variable exists".
#[derive(Default)]
pub(super) struct CondInfo {
    /// Event variable -> count threshold as written (`#e > 5`).
    pub counts: BTreeMap<String, String>,
    /// Event variables required absent (`!$e`).
    pub absent: BTreeSet<String>,
    /// Other thresholds (outcome variables, distinct placeholder counts, `or`s).
    pub other: Vec<String>,
}

impl CondInfo {
    pub(super) fn of(
        cond: Option<&Ast>,
        is_event: &dyn Fn(&str) -> bool,
        text: &dyn Fn(Span) -> String,
    ) -> Self {
        let mut info = CondInfo::default();
        let Some(cond) = cond else {
            return info;
        };
        let mut conj = Vec::new();
        flatten_and(cond, &mut conj);
        for c in conj {
            match &c.kind {
                Kind::Var(v) if is_event(v) => {}
                Kind::Not(inner) if matches!(&inner.kind, Kind::Var(v) if is_event(v)) => {
                    if let Kind::Var(v) = &inner.kind {
                        info.absent.insert(v.clone());
                    }
                }
                Kind::Cmp { op, lhs, rhs, .. } => {
                    let count = match (&lhs.kind, &rhs.kind) {
                        (Kind::Count(v), Kind::Num(n)) => Some((v, *op, n)),
                        (Kind::Num(n), Kind::Count(v)) => Some((v, op.flip(), n)),
                        _ => None,
                    };
                    match count {
                        Some((v, op, n)) if is_event(v) => {
                            let n: f64 = n.parse().unwrap_or(0.0);
                            let trivial = matches!((op, n), (CmpOp::Gt, x) if x < 1.0)
                                || matches!((op, n), (CmpOp::Ge, x) if x <= 1.0);
                            if !trivial {
                                info.counts.insert(v.clone(), text(c.span));
                            }
                        }
                        _ => info.other.push(text(c.span)),
                    }
                }
                _ => info.other.push(text(c.span)),
            }
        }
        info
    }
}

/// Variables used in match, outcome, condition or events that nothing binds.
pub(super) fn unbound(
    rule: &RuleAst,
    event_vars: &[String],
    outcome_vars: &BTreeSet<&str>,
) -> Vec<Unbound> {
    let is_event = |v: &str| event_vars.iter().any(|e| e == v);
    // Placeholders: any `$p` on a side of an `=` in the events section.
    let mut bound: BTreeSet<String> = BTreeSet::new();
    for st in &rule.events {
        st.walk(&mut |n| {
            if let Kind::Cmp {
                op: CmpOp::Eq,
                lhs,
                rhs,
                ..
            } = &n.kind
            {
                for side in [lhs, rhs] {
                    if let Kind::Var(v) = &side.kind {
                        bound.insert(v.clone());
                    }
                }
            }
        });
    }
    let mut out: Vec<Unbound> = Vec::new();
    let mut report = |name: &str, section: &'static str, span: Span| {
        if !out.iter().any(|u| u.name == name && u.section == section) {
            out.push(Unbound {
                name: name.to_string(),
                section,
                span,
            });
        }
    };
    if let Some(m) = &rule.match_section {
        for (v, span) in &m.vars {
            if !bound.contains(v) && !is_event(v) {
                report(v, "match", *span);
            }
        }
    }
    let known = |v: &str| bound.contains(v) || is_event(v) || outcome_vars.contains(v);
    for o in &rule.outcome {
        o.expr.walk(&mut |n| {
            if let Kind::Var(v) | Kind::Count(v) = &n.kind {
                if !known(v) {
                    report(v, "outcome", n.span);
                }
            }
        });
    }
    if let Some(c) = &rule.condition {
        c.walk(&mut |n| {
            if let Kind::Var(v) | Kind::Count(v) = &n.kind {
                if !known(v) {
                    report(v, "condition", n.span);
                }
            }
        });
    }
    for st in &rule.events {
        st.walk(&mut |n| {
            if let Kind::Var(v) = &n.kind {
                if !known(v) {
                    report(v, "events", n.span);
                }
            }
        });
    }
    out
}
