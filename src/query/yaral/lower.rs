//! Lowers one parsed YARA-L rule to the `Detection` IR (see the module doc of `yaral`).

use super::ast::*;
use super::condition::{unbound, CondInfo};
use super::filter::Ctx;
use crate::model::{Detection, Expr, Op, OutputField, Predicate};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// A variable used where nothing binds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unbound {
    pub name: String,
    /// Where it is used: `match`, `outcome`, `condition` or `events`.
    pub section: &'static str,
    pub span: Span,
}

/// A placeholder assignment in the events section: `$user = $e.principal.user.userid`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub placeholder: String,
    pub var: String,
    /// The bound expression as written (`$e.principal.user.userid`).
    pub text: String,
}

/// The IR of one rule plus what the page shows about its correlation.
#[derive(Debug, Clone, Default)]
pub struct Lowered {
    pub detection: Detection,
    /// Event (and entity graph) variables in order of first use, without `$`.
    pub event_vars: Vec<String>,
    pub bindings: Vec<Binding>,
    /// Join conditions as written: explicit ones (`$e1.x = $e2.y`, timestamp order) and
    /// those implied by a placeholder bound in two event variables.
    pub joins: Vec<String>,
    /// Reference lists named by the rule (without `%`), sorted.
    pub lists: Vec<String>,
    /// Lists named by the rule that were not found.
    pub unresolved_lists: Vec<String>,
    pub unbound: Vec<Unbound>,
    /// String constants of outcome variables about ATT&CK (`$mitre_attack_technique`).
    pub attack_strings: Vec<String>,
    /// `$risk_score` when it is a constant (`max(35)`).
    pub risk_score: Option<String>,
    /// Where the rule uses syntax kept opaque (not counting external lists and tables).
    pub unsupported: Vec<(Span, String)>,
}

/// Lowers `rule`; `src` is the file text the spans point into; `lists` resolves a
/// reference list name to its values (or `None` when the list is not in the root).
pub fn lower(rule: &RuleAst, src: &str, lists: &dyn Fn(&str) -> Option<Vec<String>>) -> Lowered {
    let text = |s: Span| -> String { squash(src.get(s.start..s.end).unwrap_or("")) };
    let mut out = Lowered::default();

    // Event variables: every `$v.path` root in the events section.
    let mut event_vars: Vec<String> = Vec::new();
    for st in &rule.events {
        st.walk(&mut |n| {
            if let Kind::Field { var, .. } = &n.kind {
                if !event_vars.contains(var) {
                    event_vars.push(var.clone());
                }
            }
        });
    }
    let is_event = |v: &str| event_vars.iter().any(|e| e == v);

    // Top-level conjuncts of the events section.
    let mut conjuncts: Vec<&Ast> = Vec::new();
    for st in &rule.events {
        flatten_and(st, &mut conjuncts);
    }

    // Pass 1: placeholder bindings.
    let mut bindings: Vec<(String, String, Ast)> = Vec::new();
    let mut binding_idx: BTreeSet<usize> = BTreeSet::new();
    for (i, c) in conjuncts.iter().enumerate() {
        if let Some((p, var, side)) = as_binding(c, &is_event) {
            out.bindings.push(Binding {
                placeholder: p.clone(),
                var: var.clone(),
                text: text(side.span),
            });
            bindings.push((p, var, side.clone()));
            binding_idx.insert(i);
        }
    }
    let mut subst: BTreeMap<String, Ast> = BTreeMap::new();
    for (p, _, side) in &bindings {
        subst.entry(p.clone()).or_insert_with(|| side.clone());
    }

    // Joins implied by placeholders bound in several event variables.
    let mut by_ph: BTreeMap<&str, Vec<&Binding>> = BTreeMap::new();
    for b in &out.bindings {
        by_ph.entry(b.placeholder.as_str()).or_default().push(b);
    }
    for (p, bs) in &by_ph {
        let vars: BTreeSet<&str> = bs.iter().map(|b| b.var.as_str()).collect();
        if vars.len() > 1 {
            let sides: Vec<String> = bs.iter().map(|b| b.text.clone()).collect();
            out.joins.push(format!("{} (via ${p})", sides.join(" = ")));
        }
    }

    // Pass 2: filters per event variable, explicit joins, leftovers.
    let lower_ctx = Ctx {
        src,
        lists,
        is_event: &is_event,
        unsupported: RefCell::new(Vec::new()),
    };
    let mut per_var: BTreeMap<String, Vec<Expr>> = BTreeMap::new();
    let mut extras: Vec<(Option<String>, Expr)> = Vec::new();
    for (i, c) in conjuncts.iter().enumerate() {
        if binding_idx.contains(&i) {
            continue;
        }
        let (sub, unresolved) = substitute(c, &subst);
        let vars = vars_of(&sub, &is_event);
        if vars.len() >= 2 {
            if matches!(c.kind, Kind::Cmp { .. }) {
                out.joins.push(text(c.span));
            } else {
                let reason = "a condition across several event variables";
                lower_ctx.note(c.span, reason);
                extras.push((None, Expr::opaque(text(c.span), reason)));
            }
            continue;
        }
        let owner = vars.into_iter().next().or_else(|| {
            // A constraint on placeholders only belongs to the variable binding them.
            unresolved
                .iter()
                .find_map(|p| bindings.iter().find(|b| &b.0 == p).map(|b| b.1.clone()))
        });
        let expr = if unresolved.is_empty() {
            lower_ctx.filter(&sub)
        } else {
            let reason = format!(
                "compares placeholder {} that no event field binds",
                unresolved
                    .iter()
                    .map(|p| format!("`${p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            lower_ctx.note(c.span, &reason);
            Expr::opaque(text(c.span), reason)
        };
        match owner {
            Some(v) => per_var.entry(v).or_default().push(expr),
            None => extras.push((None, expr)),
        }
    }

    // Match variables never take their zero value unless `allow_zero_values = true`:
    // a field bound to one must be non-empty.
    let allow_zero = rule
        .options
        .iter()
        .any(|o| o.key.eq_ignore_ascii_case("allow_zero_values") && o.value == "true");
    if let (Some(m), false) = (&rule.match_section, allow_zero) {
        for (p, var, side) in &bindings {
            if !m.vars.iter().any(|(v, _)| v == p) {
                continue;
            }
            if let Kind::Field { path, .. } = &side.kind {
                let pred = Predicate::field(path_text(path), Op::IsEmpty, Vec::new()).cased(true);
                let not_empty = Expr::not(Expr::Pred(pred));
                let filters = per_var.entry(var.clone()).or_default();
                if !filters.iter().any(|f| same_pred(f, &not_empty)) {
                    filters.push(not_empty);
                }
            }
        }
    }

    // Reference lists.
    let mut named_lists = BTreeSet::new();
    let mut all_nodes: Vec<&Ast> = rule.events.iter().collect();
    all_nodes.extend(rule.outcome.iter().map(|o| &o.expr));
    for n in &all_nodes {
        n.walk(&mut |x| {
            if let Kind::In { list, column, .. } = &x.kind {
                named_lists.insert((list.clone(), column.is_some()));
            }
        });
    }
    for (l, is_table) in named_lists {
        if !out.lists.contains(&l) {
            out.lists.push(l.clone());
        }
        if !is_table && lists(&l).is_none() && !out.unresolved_lists.contains(&l) {
            out.unresolved_lists.push(l);
        }
    }

    // Condition.
    let outcome_vars: BTreeSet<&str> = rule.outcome.iter().map(|o| o.var.as_str()).collect();
    let cond = CondInfo::of(rule.condition.as_ref(), &is_event, &text);
    let match_vars: Vec<String> = rule
        .match_section
        .as_ref()
        .map(|m| m.vars.iter().map(|(v, _)| format!("${v}")).collect())
        .unwrap_or_default();
    let window = rule.match_section.as_ref().and_then(|m| {
        m.window.as_ref().map(|w| match &m.pivot {
            Some(p) => format!("{w} {p}"),
            None => w.clone(),
        })
    });
    let scope = match (&window, match_vars.is_empty()) {
        (Some(w), false) => format!(" over {w} by {}", match_vars.join(", ")),
        (Some(w), true) => format!(" over {w}"),
        (None, false) => format!(" by {}", match_vars.join(", ")),
        (None, true) => String::new(),
    };

    let step = |v: &str, per_var: &mut BTreeMap<String, Vec<Expr>>| -> Expr {
        let items = per_var.remove(v).unwrap_or_default();
        Expr::named(format!("${v}"), Expr::all(items))
    };
    if event_vars.is_empty() {
        if let Some(first) = rule.events.first() {
            lower_ctx.note(first.span, "the events section names no event variable");
        }
    }
    let mut expr = match event_vars.len() {
        0 => Expr::opaque(
            squash(
                &rule
                    .events
                    .iter()
                    .map(|e| text(e.span))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            "the events section names no event variable",
        ),
        1 => {
            let v = &event_vars[0];
            let mut item = step(v, &mut per_var);
            let mut extra_items: Vec<Expr> = extras.drain(..).map(|(_, e)| e).collect();
            if !extra_items.is_empty() {
                if let Expr::Named { item: inner, .. } = &mut item {
                    let mut items = match std::mem::take(inner.as_mut()) {
                        Expr::All { items } => items,
                        other => vec![other],
                    };
                    items.append(&mut extra_items);
                    **inner = Expr::all(items);
                }
            }
            let mut parts: Vec<String> = cond.counts.values().cloned().collect();
            parts.extend(cond.other.iter().cloned());
            if parts.is_empty() {
                item
            } else {
                Expr::Aggregate {
                    description: format!("{}{scope}", parts.join(" and ")),
                    item: Box::new(item),
                }
            }
        }
        _ => {
            let steps = event_vars
                .iter()
                .map(|v| {
                    let s = step(v, &mut per_var);
                    if let Some(c) = cond.counts.get(v) {
                        Expr::Aggregate {
                            description: c.clone(),
                            item: Box::new(s),
                        }
                    } else if cond.absent.contains(v) {
                        Expr::Aggregate {
                            description: format!("no `${v}` event{scope}"),
                            item: Box::new(s),
                        }
                    } else {
                        s
                    }
                })
                .collect();
            let seq = Expr::Sequence {
                ordered: false,
                by: match_vars.clone(),
                window: window.clone(),
                steps,
            };
            if cond.other.is_empty() {
                seq
            } else {
                Expr::Aggregate {
                    description: format!("{}{scope}", cond.other.join(" and ")),
                    item: Box::new(seq),
                }
            }
        }
    };
    if !extras.is_empty() {
        let mut items = vec![expr];
        items.extend(extras.into_iter().map(|(_, e)| e));
        expr = Expr::all(items);
    }

    // Outcome variables are the output fields.
    let mut output_fields = Vec::new();
    for o in &rule.outcome {
        output_fields.push(OutputField {
            name: format!("${}", o.var),
            source: Some(text(o.expr.span)),
            note: (o.var == "risk_score").then(|| "risk score".to_string()),
        });
        let lname = o.var.to_ascii_lowercase();
        if lname.contains("mitre") || lname.contains("technique") || lname.contains("tactic") {
            o.expr.walk(&mut |n| {
                if let Kind::Str(s) = &n.kind {
                    out.attack_strings.push(s.clone());
                }
            });
        }
        if o.var == "risk_score" {
            out.risk_score = constant_number(&o.expr);
        }
    }

    out.unbound = unbound(rule, &event_vars, &outcome_vars);
    out.unsupported = lower_ctx.unsupported.into_inner();
    out.event_vars = event_vars;
    out.detection = Detection {
        expr,
        output_fields,
    };
    out
}

fn same_pred(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Not { item: x }, Expr::Not { item: y }) => same_pred(x, y),
        (Expr::Pred(p), Expr::Pred(q)) => p == q,
        _ => false,
    }
}

/// Collapses runs of whitespace so multi-line snippets read on one line.
pub(super) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn flatten_and<'a>(a: &'a Ast, out: &mut Vec<&'a Ast>) {
    match &a.kind {
        Kind::And(items) => items.iter().for_each(|i| flatten_and(i, out)),
        _ => out.push(a),
    }
}

/// `$p = <expr of one event variable>` (either side): the placeholder, the variable and the
/// bound expression.
fn as_binding(c: &Ast, is_event: &dyn Fn(&str) -> bool) -> Option<(String, String, Ast)> {
    let Kind::Cmp {
        op: CmpOp::Eq,
        lhs,
        rhs,
        ..
    } = &c.kind
    else {
        return None;
    };
    let try_side = |ph: &Ast, other: &Ast| -> Option<(String, String, Ast)> {
        let Kind::Var(p) = &ph.kind else { return None };
        if is_event(p) {
            return None;
        }
        let vars = vars_of(other, is_event);
        let mut phs = Vec::new();
        placeholders_of(other, is_event, &mut phs);
        if vars.len() == 1 && phs.is_empty() {
            Some((p.clone(), vars.into_iter().next()?, other.clone()))
        } else {
            None
        }
    };
    try_side(lhs, rhs).or_else(|| try_side(rhs, lhs))
}

/// Event variables an expression reads, sorted.
fn vars_of(a: &Ast, is_event: &dyn Fn(&str) -> bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    a.walk(&mut |n| match &n.kind {
        Kind::Field { var, .. } => {
            out.insert(var.clone());
        }
        Kind::Var(v) if is_event(v) => {
            out.insert(v.clone());
        }
        _ => {}
    });
    out
}

fn placeholders_of(a: &Ast, is_event: &dyn Fn(&str) -> bool, out: &mut Vec<String>) {
    a.walk(&mut |n| {
        if let Kind::Var(v) = &n.kind {
            if !is_event(v) && !out.contains(v) {
                out.push(v.clone());
            }
        }
    });
}

/// Replaces placeholders by the expression that binds them; returns the placeholders left
/// (bound by nothing).
fn substitute(a: &Ast, subst: &BTreeMap<String, Ast>) -> (Ast, Vec<String>) {
    fn go(a: &Ast, subst: &BTreeMap<String, Ast>, left: &mut Vec<String>, depth: usize) -> Ast {
        let sub = |x: &Ast, left: &mut Vec<String>| Box::new(go(x, subst, left, depth + 1));
        let kind = match &a.kind {
            Kind::Var(v) => match subst.get(v) {
                Some(b) if depth < 50 => {
                    return Ast {
                        kind: b.kind.clone(),
                        span: a.span,
                    }
                }
                _ => {
                    if !subst.contains_key(v) && !left.contains(v) {
                        left.push(v.clone());
                    }
                    a.kind.clone()
                }
            },
            Kind::Or(items) => Kind::Or(
                items
                    .iter()
                    .map(|i| go(i, subst, left, depth + 1))
                    .collect(),
            ),
            Kind::And(items) => Kind::And(
                items
                    .iter()
                    .map(|i| go(i, subst, left, depth + 1))
                    .collect(),
            ),
            Kind::Not(i) => Kind::Not(sub(i, left)),
            Kind::Neg(i) => Kind::Neg(sub(i, left)),
            Kind::Quant { all, item } => Kind::Quant {
                all: *all,
                item: sub(item, left),
            },
            Kind::Cmp {
                op,
                lhs,
                rhs,
                nocase,
            } => Kind::Cmp {
                op: *op,
                lhs: sub(lhs, left),
                rhs: sub(rhs, left),
                nocase: *nocase,
            },
            Kind::Arith { op, lhs, rhs } => Kind::Arith {
                op: *op,
                lhs: sub(lhs, left),
                rhs: sub(rhs, left),
            },
            Kind::In {
                item,
                list,
                column,
                mode,
                nocase,
            } => Kind::In {
                item: sub(item, left),
                list: list.clone(),
                column: column.clone(),
                mode: *mode,
                nocase: *nocase,
            },
            Kind::Call { name, args, nocase } => Kind::Call {
                name: name.clone(),
                args: args.iter().map(|x| go(x, subst, left, depth + 1)).collect(),
                nocase: *nocase,
            },
            other => other.clone(),
        };
        Ast { kind, span: a.span }
    }
    let mut left = Vec::new();
    let out = go(a, subst, &mut left, 0);
    (out, left)
}

fn constant_number(a: &Ast) -> Option<String> {
    match &a.kind {
        Kind::Num(n) => Some(n.clone()),
        Kind::Call { name, args, .. }
            if args.len() == 1 && matches!(name.as_str(), "max" | "min" | "sum") =>
        {
            constant_number(&args[0])
        }
        _ => None,
    }
}
