//! Cross-rule work once every rule of a root is loaded: correlation rules over the rules
//! they name, links between filters and their rules, regression tests to their rule.

use super::{Pending, PendingKind};
use crate::diag::Diagnostic;
use crate::discover::Root;
use crate::formats::Loaded;
use crate::model::{Detection, Expr, RelatedRule, Rule};
use crate::verify::checks::Check;
use std::collections::HashMap;

/// Rules by Sigma id and by Sigma name.
struct Index {
    by_key: HashMap<(String, usize), usize>,
    by_ref: HashMap<String, usize>,
}

impl Index {
    fn new(rules: &[Rule]) -> Index {
        let mut by_key = HashMap::new();
        let mut by_ref = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            by_key.insert((r.source.path.clone(), r.source.line), i);
            by_ref.entry(r.id.clone()).or_insert(i);
        }
        for (i, r) in rules.iter().enumerate() {
            for (k, v) in &r.metadata {
                if k == "Name" {
                    by_ref.entry(v.clone()).or_insert(i);
                }
            }
        }
        Index { by_key, by_ref }
    }
}

fn link(rule: &mut Rule, id: &str, relation: &str) {
    if !rule
        .related
        .iter()
        .any(|r| r.id == id && r.relation == relation)
    {
        rule.related.push(RelatedRule {
            id: id.to_string(),
            relation: relation.to_string(),
        });
    }
}

pub(super) fn resolve(_root: &Root, loaded: &mut Loaded, mut pending: Vec<Pending>) {
    pending.sort_by(|a, b| a.key.cmp(&b.key));
    let index = Index::new(&loaded.rules);
    let rules = &mut loaded.rules;
    let diags = &mut loaded.diagnostics;
    let mut correlations = Vec::new();
    for p in pending {
        let Some(&me) = index.by_key.get(&p.key) else {
            continue;
        };
        match p.what {
            PendingKind::Regression(reg) => {
                let mut targets: Vec<usize> = reg
                    .rule_ids
                    .iter()
                    .filter_map(|id| index.by_ref.get(id).copied())
                    .collect();
                targets.sort_unstable();
                targets.dedup();
                if targets.is_empty() {
                    if !reg.rule_ids.is_empty() {
                        diags.push(
                            Diagnostic::new(
                                Check::BrokenReference,
                                p.file_display.clone(),
                                p.key.1,
                                format!(
                                    "the regression data names rule {}, which is not loaded; its tests are attached to this rule",
                                    reg.rule_ids.join(", ")
                                ),
                            )
                            .for_rule(rules[me].id.clone()),
                        );
                    }
                    targets.push(me);
                }
                for t in targets {
                    rules[t].tests.extend(reg.tests.iter().cloned());
                }
            }
            PendingKind::Filter(refs) => {
                let me_id = rules[me].id.clone();
                for (r, line) in &refs {
                    match index.by_ref.get(r) {
                        Some(&t) => {
                            let tid = rules[t].id.clone();
                            link(&mut rules[me], &tid, "filters");
                            link(&mut rules[t], &me_id, "filtered-by");
                        }
                        None => {
                            diags.push(
                                Diagnostic::new(
                                    Check::BrokenReference,
                                    p.file_display.clone(),
                                    *line,
                                    format!("the filter names rule `{r}`, which is not loaded"),
                                )
                                .for_rule(me_id.clone()),
                            );
                            link(&mut rules[me], r, "filters");
                        }
                    }
                }
            }
            PendingKind::Correlation(c) => correlations.push((me, c, p.file_display)),
        }
    }
    // Correlations may name correlations: build those whose rules are built first.
    let mut done = vec![false; correlations.len()];
    let is_corr: HashMap<usize, usize> = correlations
        .iter()
        .enumerate()
        .map(|(k, (me, ..))| (*me, k))
        .collect();
    loop {
        let mut progress = false;
        for k in 0..correlations.len() {
            if done[k] {
                continue;
            }
            let (_, c, ..) = &correlations[k];
            let ready = c.rules.iter().all(|(r, _)| match index.by_ref.get(r) {
                Some(t) => is_corr.get(t).is_none_or(|&j| done[j] || j == k),
                None => true,
            });
            if ready {
                build_correlation(rules, diags, &index, &correlations[k]);
                done[k] = true;
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    // Cycles: build the rest with whatever their rules hold.
    for k in 0..correlations.len() {
        if !done[k] {
            build_correlation(rules, diags, &index, &correlations[k]);
        }
    }
}

fn build_correlation(
    rules: &mut [Rule],
    diags: &mut Vec<Diagnostic>,
    index: &Index,
    (me, c, display): &(usize, super::rule::Correlation, String),
) {
    let me = *me;
    let me_id = rules[me].id.clone();
    let mut steps = Vec::new();
    for (r, line) in &c.rules {
        match index.by_ref.get(r) {
            Some(&t) if t != me => {
                let expr = rules[t]
                    .detection
                    .as_ref()
                    .map(|d| d.expr.clone())
                    .unwrap_or_else(|| Expr::opaque(r.clone(), "the named rule has no detection"));
                steps.push(Expr::named(r.clone(), expr));
                let tid = rules[t].id.clone();
                link(&mut rules[me], &tid, "correlates");
                link(&mut rules[t], &me_id, "correlated-by");
            }
            _ => {
                diags.push(
                    Diagnostic::new(
                        Check::BrokenReference,
                        display.clone(),
                        *line,
                        format!("the correlation names rule `{r}`, which is not loaded"),
                    )
                    .for_rule(me_id.clone()),
                );
                link(&mut rules[me], r, "correlates");
                steps.push(Expr::opaque(
                    r.clone(),
                    format!("correlated rule `{r}` is not loaded"),
                ));
            }
        }
    }
    let by = c.group_by.clone();
    let window = c.timespan.clone();
    let mut description = match &c.field {
        Some(f) => format!("{}({f})", c.kind),
        None => c.kind.clone(),
    };
    if !by.is_empty() {
        description.push_str(&format!(" by {}", by.join(", ")));
    }
    if let Some(w) = &window {
        description.push_str(&format!(" within {w}"));
    }
    if let Some(cond) = &c.condition {
        description.push_str(&format!(" where {cond}"));
    }
    let expr = match c.kind.as_str() {
        "temporal" | "temporal_ordered" => {
            let seq = Expr::Sequence {
                ordered: c.kind == "temporal_ordered",
                by,
                window,
                steps,
            };
            match &c.condition {
                Some(_) => Expr::Aggregate {
                    description,
                    item: Box::new(seq),
                },
                None => seq,
            }
        }
        "event_count" | "value_count" | "value_sum" | "value_avg" | "value_percentile"
        | "value_median" => Expr::Aggregate {
            description,
            item: Box::new(Expr::any(steps)),
        },
        other => Expr::opaque(
            description.clone(),
            format!("correlation type `{other}` is not defined"),
        ),
    };
    let output_fields = rules[me]
        .detection
        .take()
        .map(|d| d.output_fields)
        .unwrap_or_default();
    rules[me].detection = Some(Detection {
        expr,
        output_fields,
    });
}
