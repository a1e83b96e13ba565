//! Pipeline operators applied to a [`Flow`]: filters, column changes, aggregations,
//! joins and unions.

use super::{is_true, Binding, Computed, Flow, Lowerer, OutCol};
use crate::model::Expr;
use crate::query::kql::ast::*;
use crate::query::kql::names::default_name;

impl Lowerer<'_> {
    pub(super) fn op(&mut self, mut flow: Flow, op: &Op) -> Flow {
        let text = self.text(op.span);
        match &op.kind {
            OpKind::Where(ex) => {
                if flow.multi() {
                    self.scan_subqueries(ex);
                    flow.post.push(self.post_label(&flow, &text));
                } else {
                    // `x in (query)` conjuncts are semi-joins with that query.
                    let mut conjuncts = Vec::new();
                    split_and(ex, &mut conjuncts);
                    let mut joins = Vec::new();
                    for c in conjuncts {
                        match self.membership(c) {
                            Some(m) => joins.push((c, m)),
                            None => {
                                if let Some(e) = crate::query::kql::pred::pred(self, c, &flow) {
                                    flow.filter.push(e);
                                }
                            }
                        }
                    }
                    for (c, (negated, sub)) in joins {
                        let label = self.text(c.span);
                        if negated {
                            flow.post.push(format!("rows without a match: {label}"));
                        } else {
                            flow = Flow {
                                filter: vec![Expr::Sequence {
                                    ordered: false,
                                    by: vec![label],
                                    window: None,
                                    steps: vec![flow.expr(), sub.expr()],
                                }],
                                joined: true,
                                computed: flow.computed,
                                columns: flow.columns,
                                extra: flow.extra,
                                ..Flow::default()
                            };
                        }
                    }
                }
            }
            OpKind::Search(ex) => {
                if flow.multi() {
                    flow.post.push(self.post_label(&flow, &text));
                } else if let Some(e) = crate::query::kql::pred::search(self, ex, &flow) {
                    flow.filter.push(e);
                }
            }
            OpKind::Extend(assigns) => {
                for a in assigns {
                    self.scan_subqueries(&a.value);
                    let name = a.name.clone().unwrap_or_else(|| default_name(&a.value));
                    let def = self.computed(&a.value, &flow);
                    flow.computed.insert(name.clone(), def);
                    flow.add_column(OutCol {
                        name,
                        source: Some(self.text(a.value.span)),
                    });
                }
            }
            OpKind::Project(assigns) => {
                let mut cols = Vec::new();
                for a in assigns {
                    let name = a.name.clone().unwrap_or_else(|| default_name(&a.value));
                    let source = match (&a.name, a.value.ident()) {
                        (None, Some(_)) => None,
                        (Some(n), Some(id)) if n == id => None,
                        _ => Some(self.text(a.value.span)),
                    };
                    if a.name.is_some() {
                        let def = self.computed(&a.value, &flow);
                        flow.computed.insert(name.clone(), def);
                    }
                    cols.push(OutCol { name, source });
                }
                flow.columns = Some(cols);
                flow.extra.clear();
            }
            OpKind::ProjectAway(names) => {
                let gone = |c: &OutCol| names.iter().any(|n| wildcard(n, &c.name));
                if let Some(cols) = &mut flow.columns {
                    cols.retain(|c| !gone(c));
                }
                flow.extra.retain(|c| !gone(c));
            }
            OpKind::ProjectKeep(names) => {
                let keep = |c: &OutCol| names.iter().any(|n| wildcard(n, &c.name));
                if let Some(cols) = &mut flow.columns {
                    cols.retain(keep);
                } else {
                    flow.columns = Some(
                        names
                            .iter()
                            .filter(|n| !n.contains('*'))
                            .map(|n| OutCol {
                                name: n.clone(),
                                source: None,
                            })
                            .collect(),
                    );
                    flow.extra.clear();
                }
            }
            OpKind::ProjectRename(assigns) => {
                for a in assigns {
                    let Some(new) = a.name.clone() else { continue };
                    let old = a.value.ident().unwrap_or_default().to_string();
                    let def = self.computed(&a.value, &flow);
                    flow.computed.insert(new.clone(), def);
                    let renamed = OutCol {
                        name: new.clone(),
                        source: Some(old.clone()),
                    };
                    let list = match &mut flow.columns {
                        Some(c) => c,
                        None => &mut flow.extra,
                    };
                    match list.iter_mut().find(|c| c.name == old) {
                        Some(c) => *c = renamed,
                        None => list.push(renamed),
                    }
                }
            }
            OpKind::Summarize { aggs, by } => {
                for a in aggs.iter().chain(by) {
                    self.scan_subqueries(&a.value);
                }
                let mut cols = Vec::new();
                let mut open = false;
                for a in by.iter().chain(aggs) {
                    if let ExKind::Call { name, args } = &a.value.kind {
                        let n = name.to_ascii_lowercase();
                        if (n == "arg_max" || n == "arg_min" || n == "take_any" || n == "any")
                            && args.iter().any(|x| matches!(x.kind, ExKind::Star))
                        {
                            open = true;
                        }
                    }
                    let name = a.name.clone().unwrap_or_else(|| default_name(&a.value));
                    let source = match a.value.ident() {
                        Some(id) if id == name => None,
                        _ => Some(self.text(a.value.span)),
                    };
                    cols.push(OutCol { name, source });
                }
                if open {
                    flow.columns = None;
                    flow.extra = cols;
                } else {
                    flow.columns = Some(cols);
                    flow.extra.clear();
                }
                flow.aggregated = true;
                flow.post.push(text);
            }
            OpKind::Distinct(cols) => {
                if !cols.is_empty() {
                    flow.columns = Some(
                        cols.iter()
                            .map(|a| OutCol {
                                name: a.name.clone().unwrap_or_else(|| default_name(&a.value)),
                                source: None,
                            })
                            .collect(),
                    );
                    flow.extra.clear();
                }
            }
            OpKind::Join {
                kind, right, on, ..
            } => flow = self.join(flow, kind.as_deref(), right, on, &text, op),
            OpKind::Union(items) => {
                let other = self.union(items);
                let mut f = Flow::of(Expr::any(vec![flow.expr(), other.expr()]));
                if matches!(f.filter.first(), Some(Expr::Any { items }) if items.iter().all(is_true))
                {
                    f.filter.clear();
                }
                flow = f;
            }
            OpKind::MvExpand(assigns) => {
                for a in assigns {
                    if let Some(name) = &a.name {
                        let def = self.computed(&a.value, &flow);
                        flow.computed.insert(name.clone(), def);
                        flow.add_column(OutCol {
                            name: name.clone(),
                            source: Some(self.text(a.value.span)),
                        });
                    }
                }
            }
            OpKind::MvApply { items, ops } => {
                // Each element in turn: conditions on `x.field` become conditions on
                // `array.field`, which the matcher tests on every element.
                for a in items {
                    let name = a.name.clone().unwrap_or_else(|| default_name(&a.value));
                    let def = self.computed(&a.value, &flow);
                    flow.computed.insert(name, def);
                }
                for o in ops {
                    match &o.kind {
                        OpKind::Where(_)
                        | OpKind::Extend(_)
                        | OpKind::Parse { .. }
                        | OpKind::MvExpand(_)
                        | OpKind::Passthrough(_) => flow = self.op(flow, o),
                        OpKind::Project(_) | OpKind::ProjectRename(_) => {
                            let cols = flow.columns.clone();
                            let extra = flow.extra.clone();
                            flow = self.op(flow, o);
                            flow.columns = cols;
                            flow.extra = extra;
                        }
                        OpKind::Summarize { .. } | OpKind::Aggregate(_) => {}
                        _ => {
                            if !flow.multi() {
                                flow.filter.push(Expr::opaque(
                                    self.text(o.span),
                                    "operator inside `mv-apply` not understood",
                                ));
                            }
                        }
                    }
                }
            }
            OpKind::Parse { source, columns } => {
                let from = self.text(source.span);
                for c in columns {
                    flow.computed
                        .insert(c.clone(), Computed::Opaque(format!("parsed out of {from}")));
                    flow.add_column(OutCol {
                        name: c.clone(),
                        source: Some(format!("parse {from}")),
                    });
                }
            }
            OpKind::Passthrough(name) => {
                if name.starts_with("evaluate") {
                    flow.columns = None;
                }
            }
            OpKind::Aggregate(_) => {
                flow.aggregated = true;
                flow.columns = None;
                flow.extra.clear();
                flow.post.push(text);
            }
            OpKind::Other(name) => {
                if flow.multi() {
                    flow.post.push(self.post_label(&flow, &text));
                } else {
                    flow.filter.push(Expr::opaque(
                        text,
                        format!("query operator `{name}` not understood"),
                    ));
                }
                flow.columns = None;
            }
        }
        flow
    }

    /// `x in (query)` / `x !in (query)` where the query filters its own events: whether it
    /// is negated, and the query's flow.
    fn membership(&mut self, c: &Ex) -> Option<(bool, Flow)> {
        let ExKind::Binary { op, rhs, .. } = &c.kind else {
            return None;
        };
        let negated = match op.as_str() {
            "in" | "in~" | "has_any" | "has_all" => false,
            "!in" | "!in~" => true,
            _ => return None,
        };
        let target = match &rhs.kind {
            ExKind::List(items) if items.len() == 1 => &items[0],
            _ => rhs.as_ref(),
        };
        let sub = match &target.kind {
            ExKind::Ident(n) => match self.lookup(n)? {
                Binding::Tabular { flow, values: None } => flow.clone().named(n),
                Binding::Function(def) => def.flow.clone().named(n),
                _ => return None,
            },
            ExKind::Pipe { .. } => self.tabular(target),
            _ => return None,
        };
        if sub.filter.is_empty() {
            return None;
        }
        Some((negated, sub))
    }

    fn post_label(&self, flow: &Flow, text: &str) -> String {
        if flow.joined && !flow.aggregated {
            format!("after the join: {text}")
        } else {
            text.to_string()
        }
    }

    fn join(
        &mut self,
        left: Flow,
        kind: Option<&str>,
        right: &Ex,
        on: &[Ex],
        text: &str,
        op: &Op,
    ) -> Flow {
        let right_flow = match &right.kind {
            ExKind::Pipe { .. } => self.tabular(right),
            _ => self.source(right),
        };
        let keys: Vec<String> = on.iter().map(|k| self.text(k.span)).collect();
        let is_lookup = matches!(&op.kind, OpKind::Join { lookup: true, .. });
        let kind = kind.unwrap_or(if is_lookup {
            "leftouter"
        } else {
            "innerunique"
        });
        let merged_cols = |mut f: Flow, r: &Flow| {
            match (&mut f.columns, &r.columns) {
                (Some(l), Some(rc)) => {
                    for c in rc {
                        let mut c = c.clone();
                        if l.iter().any(|x| x.name == c.name) {
                            if keys.contains(&c.name) {
                                continue;
                            }
                            c.name.push('1');
                        }
                        l.push(c);
                    }
                }
                _ => {
                    f.columns = None;
                    let extra: Vec<OutCol> = r.columns.clone().unwrap_or_else(|| r.extra.clone());
                    for c in extra {
                        if !f.extra.iter().any(|x| x.name == c.name) {
                            f.extra.push(c);
                        }
                    }
                }
            }
            f
        };
        match kind {
            "leftouter" => merged_cols(left, &right_flow),
            "leftanti" | "anti" | "leftantisemi" => {
                let mut f = left;
                f.post.push(format!(
                    "rows without a match in {} ({})",
                    self.text(right.span),
                    text
                ));
                f
            }
            _ => {
                let steps = vec![left.expr(), right_flow.expr()];
                let mut f = merged_cols(
                    Flow {
                        columns: left.columns.clone(),
                        extra: left.extra.clone(),
                        ..Flow::default()
                    },
                    &right_flow,
                );
                f.filter = vec![Expr::Sequence {
                    ordered: false,
                    by: keys.clone(),
                    window: None,
                    steps,
                }];
                f.joined = true;
                f
            }
        }
    }

    /// What a computed column is, in terms of the event's fields.
    fn computed(&self, ex: &Ex, flow: &Flow) -> Computed {
        match crate::query::kql::pred::field_of(self, ex, flow) {
            Some(crate::query::kql::pred::FieldRes::Field { path, transform }) => Computed::Alias {
                field: path,
                transform,
            },
            Some(crate::query::kql::pred::FieldRes::Computed(t)) => Computed::Opaque(t),
            None => Computed::Opaque(self.text(ex.span)),
        }
    }
}

/// The conjuncts of `a and b and c`.
fn split_and<'e>(ex: &'e Ex, out: &mut Vec<&'e Ex>) {
    match &ex.kind {
        ExKind::Binary { op, lhs, rhs } if op == "and" => {
            split_and(lhs, out);
            split_and(rhs, out);
        }
        _ => out.push(ex),
    }
}

/// `*` wildcard match of a column name (`project-away *_s`).
fn wildcard(pattern: &str, name: &str) -> bool {
    crate::verify::matcher::glob_match(pattern, name)
}
