//! Lowers one parsed YARA-L rule to the `Detection` IR (see the module doc of `yaral`).

use super::ast::*;
use crate::model::{Detection, Expr, Op, OutputField, Predicate, Transform, Value};
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
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn flatten_and<'a>(a: &'a Ast, out: &mut Vec<&'a Ast>) {
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

struct Ctx<'a> {
    src: &'a str,
    lists: &'a dyn Fn(&str) -> Option<Vec<String>>,
    is_event: &'a dyn Fn(&str) -> bool,
    unsupported: RefCell<Vec<(Span, String)>>,
}

/// A UDM field with an optional case transform, from `$e.path` or `strings.to_lower($e.path)`.
struct FieldRef {
    var: String,
    path: String,
    transform: Option<Transform>,
}

fn field_of(a: &Ast) -> Option<FieldRef> {
    match &a.kind {
        Kind::Field { var, path } => Some(FieldRef {
            var: var.clone(),
            path: path_text(path),
            transform: None,
        }),
        Kind::Call { name, args, .. } if args.len() == 1 => {
            let tr = match name.to_ascii_lowercase().as_str() {
                "strings.to_lower" => Transform::Lower,
                "strings.to_upper" => Transform::Upper,
                _ => return None,
            };
            let inner = field_of(&args[0])?;
            if inner.transform.is_some() {
                return None;
            }
            Some(FieldRef {
                transform: Some(tr),
                ..inner
            })
        }
        _ => None,
    }
}

fn literal(a: &Ast) -> Option<Value> {
    match &a.kind {
        Kind::Str(s) => Some(Value::Str(s.clone())),
        Kind::Num(n) => Some(
            n.parse::<f64>()
                .map(Value::Num)
                .unwrap_or(Value::Str(n.clone())),
        ),
        Kind::Bool(b) => Some(Value::Bool(*b)),
        Kind::Null => Some(Value::Null),
        Kind::Neg(inner) => match literal(inner)? {
            Value::Num(n) => Some(Value::Num(-n)),
            _ => None,
        },
        _ => None,
    }
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

impl Ctx<'_> {
    fn text(&self, s: Span) -> String {
        squash(self.src.get(s.start..s.end).unwrap_or(""))
    }
    fn note(&self, span: Span, reason: &str) {
        self.unsupported
            .borrow_mut()
            .push((span, reason.to_string()));
    }
    /// Syntax the front end does not map: opaque, and reported.
    fn opaque(&self, a: &Ast, reason: impl Into<String>) -> Expr {
        let reason = reason.into();
        self.note(a.span, &reason);
        Expr::opaque(self.text(a.span), reason)
    }
    /// Data outside the rule (a data table, a list not in the root): opaque, not a finding.
    fn external(&self, a: &Ast, reason: impl Into<String>) -> Expr {
        Expr::opaque(self.text(a.span), reason)
    }

    fn pred(&self, f: &FieldRef, op: Op, values: Vec<Value>, cased: bool) -> Expr {
        let mut p = Predicate::field(f.path.clone(), op, values).cased(cased);
        p.transform = f.transform;
        Expr::Pred(p)
    }

    /// One boolean filter of one event variable.
    fn filter(&self, a: &Ast) -> Expr {
        match &a.kind {
            Kind::And(items) => Expr::all(items.iter().map(|i| self.filter(i)).collect()),
            Kind::Or(items) => Expr::any(merge_alternatives(
                items.iter().map(|i| self.filter(i)).collect(),
            )),
            Kind::Not(i) => Expr::not(self.filter(i)),
            Kind::Quant { all: false, item } => self.filter(item),
            Kind::Quant { all: true, item } => match &item.kind {
                // `all x != v` holds when no element equals v: exactly `not (x = v)`.
                Kind::Cmp { op: CmpOp::Ne, .. } => self.filter(item),
                _ => self.opaque(a, "`all` over a repeated field (every element must match)"),
            },
            Kind::Cmp {
                op,
                lhs,
                rhs,
                nocase,
            } => self.cmp(a, *op, lhs, rhs, *nocase),
            Kind::Call { .. } => self.call(a),
            Kind::In {
                item,
                list,
                column,
                mode,
                nocase,
            } => {
                if column.is_some() {
                    return self.external(a, format!("data table `%{list}` (external data)"));
                }
                let Some(f) = field_of(item) else {
                    return self.opaque(a, "`in %list` on a computed value");
                };
                let Some(values) = (self.lists)(list) else {
                    return self.external(
                        a,
                        format!("reference list `%{list}` is not in the rule root"),
                    );
                };
                let op = match mode {
                    ListMode::Plain => Op::Eq,
                    ListMode::Regex => Op::Regex,
                    ListMode::Cidr => Op::Cidr,
                };
                self.pred(
                    &f,
                    op,
                    values.into_iter().map(Value::Str).collect(),
                    !nocase,
                )
            }
            Kind::Bool(b) => Expr::Const { value: *b },
            _ => self.opaque(a, "not a condition the matcher understands"),
        }
    }

    fn cmp(&self, a: &Ast, op: CmpOp, lhs: &Ast, rhs: &Ast, nocase: bool) -> Expr {
        // A boolean function compared with true/false.
        for (call, other) in [(lhs, rhs), (rhs, lhs)] {
            if let (Kind::Call { .. }, Kind::Bool(b)) = (&call.kind, &other.kind) {
                if matches!(op, CmpOp::Eq | CmpOp::Ne) && field_of(call).is_none() {
                    let e = self.call(call);
                    return if (op == CmpOp::Eq) == *b {
                        e
                    } else {
                        Expr::not(e)
                    };
                }
            }
        }
        let (f, value, op) = match (field_of(lhs), field_of(rhs)) {
            (Some(f), None) => (f, rhs, op),
            (None, Some(f)) => (f, lhs, op.flip()),
            (Some(f), Some(g)) => {
                // Two fields of the same event: a field-to-field comparison.
                if f.var != g.var || f.transform.is_some() || g.transform.is_some() {
                    return self.opaque(a, "compares two computed fields");
                }
                let Some(pop) = ord_op(op) else {
                    return self.opaque(a, "unsupported comparison");
                };
                let mut p =
                    Predicate::field(f.path.clone(), pop, vec![Value::Str(g.path)]).cased(!nocase);
                p.field_ref = true;
                let e = Expr::Pred(p);
                return if op == CmpOp::Ne { Expr::not(e) } else { e };
            }
            (None, None) => {
                return self.opaque(a, "comparison of computed values (functions, arithmetic)")
            }
        };
        let negate = op == CmpOp::Ne;
        let e = match &value.kind {
            Kind::Regex {
                pattern,
                nocase: rn,
            } => {
                if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return self.opaque(a, "ordering comparison with a regular expression");
                }
                self.pred(
                    &f,
                    Op::Regex,
                    vec![Value::Str(pattern.clone())],
                    !(nocase || *rn),
                )
            }
            Kind::Str(s)
                if s.is_empty() && f.transform.is_none() && matches!(op, CmpOp::Eq | CmpOp::Ne) =>
            {
                // UDM fields default to their zero value: `= ""` also holds when absent.
                self.pred(&f, Op::IsEmpty, Vec::new(), true)
            }
            _ => match literal(value) {
                Some(v) => {
                    let Some(pop) = ord_op(op) else {
                        return self.opaque(a, "unsupported comparison");
                    };
                    self.pred(&f, pop, vec![v], !nocase)
                }
                None => {
                    let reason = if (self.is_event)(match &value.kind {
                        Kind::Var(v) => v,
                        _ => "",
                    }) {
                        "compares a field with an event variable"
                    } else {
                        "compares a field with a computed value"
                    };
                    return self.opaque(a, reason);
                }
            },
        };
        if negate {
            Expr::not(e)
        } else {
            e
        }
    }

    /// A function used as a condition (`re.regex`, `strings.contains`, `net.ip_in_range_cidr`).
    fn call(&self, a: &Ast) -> Expr {
        let Kind::Call { name, args, nocase } = &a.kind else {
            return self.opaque(a, "not a function call");
        };
        let lname = name.to_ascii_lowercase();
        let op = match lname.as_str() {
            "re.regex" => Op::Regex,
            "strings.contains" => Op::Contains,
            "strings.starts_with" => Op::StartsWith,
            "strings.ends_with" => Op::EndsWith,
            "net.ip_in_range_cidr" => Op::Cidr,
            _ => return self.opaque(a, format!("function `{name}` is not mapped")),
        };
        if args.len() != 2 {
            return self.opaque(a, format!("`{name}` takes two arguments"));
        }
        let Some(f) = field_of(&args[0]) else {
            return self.opaque(a, format!("`{name}` on a computed value"));
        };
        let value = match &args[1].kind {
            Kind::Str(s) => s.clone(),
            Kind::Regex { pattern, .. } => pattern.clone(),
            _ => return self.opaque(a, format!("`{name}` with a computed pattern")),
        };
        let regex_nocase = matches!(args[1].kind, Kind::Regex { nocase: true, .. });
        self.pred(&f, op, vec![Value::Str(value)], !(*nocase || regex_nocase))
    }
}

/// Folds `f = "a" or f = "b"` into one predicate with two values (same field, operator,
/// case and transform), so pages and indicators read as the rule author meant.
fn merge_alternatives(items: Vec<Expr>) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::with_capacity(items.len());
    for item in items {
        if let Expr::Pred(p) = &item {
            let mergeable = |q: &Predicate| {
                !q.field_ref
                    && !q.all
                    && !q.values.is_empty()
                    && q.field == p.field
                    && q.op == p.op
                    && q.case_sensitive == p.case_sensitive
                    && q.transform == p.transform
            };
            if mergeable(p) {
                if let Some(Expr::Pred(q)) = out
                    .iter_mut()
                    .find(|e| matches!(e, Expr::Pred(q) if mergeable(q)))
                {
                    for v in &p.values {
                        if !q.values.contains(v) {
                            q.values.push(v.clone());
                        }
                    }
                    continue;
                }
            }
        }
        out.push(item);
    }
    out
}

fn ord_op(op: CmpOp) -> Option<Op> {
    Some(match op {
        CmpOp::Eq | CmpOp::Ne => Op::Eq,
        CmpOp::Lt => Op::Lt,
        CmpOp::Le => Op::Lte,
        CmpOp::Gt => Op::Gt,
        CmpOp::Ge => Op::Gte,
    })
}

/// What the condition section asks beyond "an event of each variable exists".
#[derive(Default)]
struct CondInfo {
    /// Event variable -> count threshold as written (`#e > 5`).
    counts: BTreeMap<String, String>,
    /// Event variables required absent (`!$e`).
    absent: BTreeSet<String>,
    /// Other thresholds (outcome variables, distinct placeholder counts, `or`s).
    other: Vec<String>,
}

impl CondInfo {
    fn of(
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
fn unbound(rule: &RuleAst, event_vars: &[String], outcome_vars: &BTreeSet<&str>) -> Vec<Unbound> {
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
