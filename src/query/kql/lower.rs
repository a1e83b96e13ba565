//! From the syntax tree to what the catalog needs: the tables a query reads, the functions
//! it calls, its per-event filter as IR and its output columns.
//!
//! A pipeline is followed stage by stage as a [`Flow`]: the `where` filters met before any
//! aggregation are the per-event filter; `summarize`/`make-series` (and what follows them)
//! wrap it in an `Aggregate`; an inner `join` makes a two-step `Sequence`; computed columns
//! (`extend`, `project x = ...`, `parse`) are remembered so a later filter on them is either
//! rewritten onto the source field (`tolower(x)`, `parse_json(x).a`) or kept opaque.

use super::ast::*;
use super::Functions;
use crate::model::{Expr, OutputField, Transform, Value};
use std::collections::{BTreeSet, HashMap};

/// A column computed by the query.
#[derive(Debug, Clone)]
pub(super) enum Computed {
    /// Another field of the event, maybe transformed (`tolower(x)`, `parse_json(x).a`).
    Alias {
        field: String,
        transform: Option<Transform>,
    },
    /// Anything else: the definition as written.
    Opaque(String),
}

#[derive(Debug, Clone)]
pub(super) struct OutCol {
    pub name: String,
    pub source: Option<String>,
}

/// The state of a pipeline after some stages.
#[derive(Debug, Clone, Default)]
pub(super) struct Flow {
    /// Per-event conditions, all of which must hold.
    pub filter: Vec<Expr>,
    /// Stages after the per-event part (aggregations, post-aggregation filters), as written.
    pub post: Vec<String>,
    pub aggregated: bool,
    /// After an inner join: later filters see joined rows.
    pub joined: bool,
    pub computed: HashMap<String, Computed>,
    /// The exact output columns, when known.
    pub columns: Option<Vec<OutCol>>,
    /// Columns added to a schema that is not known (the table's own columns).
    pub extra: Vec<OutCol>,
}

impl Flow {
    pub fn expr(&self) -> Expr {
        let item = Expr::all(self.filter.clone());
        if self.aggregated || !self.post.is_empty() {
            Expr::Aggregate {
                description: self.post.join(" | "),
                item: Box::new(item),
            }
        } else {
            item
        }
    }
    fn named(mut self, name: &str) -> Flow {
        if !self.filter.is_empty() {
            self.filter = vec![Expr::named(
                name,
                Expr::all(std::mem::take(&mut self.filter)),
            )];
        }
        self
    }
    /// A flow whose per-event filter is `e` and whose state is otherwise fresh.
    fn of(e: Expr) -> Flow {
        Flow {
            filter: vec![e],
            ..Flow::default()
        }
    }
    fn multi(&self) -> bool {
        self.aggregated || self.joined
    }
    fn add_column(&mut self, col: OutCol) {
        let list = match &mut self.columns {
            Some(c) => c,
            None => &mut self.extra,
        };
        if let Some(existing) = list.iter_mut().find(|c| c.name == col.name) {
            *existing = col;
        } else {
            list.push(col);
        }
    }
    pub fn output_fields(&self) -> Vec<OutputField> {
        let cols = self.columns.as_ref().unwrap_or(&self.extra);
        cols.iter()
            .map(|c| OutputField {
                name: c.name.clone(),
                source: c.source.clone(),
                note: None,
            })
            .collect()
    }
}

/// What a `let` name stands for.
#[derive(Debug, Clone)]
pub(super) enum Binding {
    Scalar(Scalar),
    /// A query; `values` holds the first column of a `datatable` (usable in `in (x)`).
    Tabular {
        flow: Flow,
        values: Option<Vec<Value>>,
    },
    /// A user function: its body lowered once with the parameters unknown, and the
    /// definition itself, lowered again for a call with arguments.
    Function(Box<FunctionDef>),
}

#[derive(Debug, Clone)]
pub(super) struct FunctionDef {
    pub flow: Flow,
    pub params: Vec<String>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone)]
pub(super) enum Scalar {
    Values(Vec<Value>),
    /// A point or span of time (`ago(1d)`, `14d`): comparisons with it are time windows.
    Time,
    Opaque,
}

pub(super) struct Lowerer<'a> {
    pub src: &'a str,
    pub funcs: &'a Functions,
    pub scopes: Vec<HashMap<String, Binding>>,
    pub tables: BTreeSet<String>,
    pub functions: BTreeSet<String>,
    pub unresolved: BTreeSet<String>,
    /// `union *`, `search` without `in`: the query reads every table.
    pub every_table: bool,
    depth: usize,
}

const MAX_DEPTH: usize = 100;

/// ASIM function names (`_Im_Dns`, `imProcessCreate`, `ASimDnsActivityLogs`, `vimDns`).
pub(super) fn looks_like_asim(name: &str) -> bool {
    let upper_after = |p: &str| {
        name.strip_prefix(p)
            .and_then(|r| r.chars().next())
            .is_some_and(|c| c.is_ascii_uppercase())
    };
    name.starts_with("_Im_")
        || name.starts_with("_ASim_")
        || name.starts_with("_im_")
        || upper_after("im")
        || upper_after("ASim")
        || upper_after("vim")
}

impl<'a> Lowerer<'a> {
    pub fn new(src: &'a str, funcs: &'a Functions) -> Self {
        Lowerer {
            src,
            funcs,
            scopes: vec![HashMap::new()],
            tables: BTreeSet::new(),
            functions: BTreeSet::new(),
            unresolved: BTreeSet::new(),
            every_table: false,
            depth: 0,
        }
    }

    pub fn text(&self, span: Span) -> String {
        let (a, b) = (span.0.min(self.src.len()), span.1.min(self.src.len()));
        let t = self.src.get(a..b.max(a)).unwrap_or("");
        // One line per page row: collapse runs of whitespace.
        t.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    /// Lowers the statements; returns the flows of the query statements.
    pub fn statements(&mut self, stmts: &[Stmt]) -> Vec<Flow> {
        let mut out = Vec::new();
        for s in stmts {
            match s {
                Stmt::Let { name, value, .. } => {
                    let b = self.binding(value);
                    self.scopes
                        .last_mut()
                        .expect("a scope")
                        .insert(name.clone(), b);
                }
                Stmt::Query(ex) => out.push(self.tabular(ex)),
                Stmt::Other { .. } => {}
                Stmt::Broken { name, source, span } => {
                    let mut flow = match source {
                        Some(src) if self.lookup(src).is_none() => self.table(src),
                        _ => Flow::default(),
                    };
                    flow.filter
                        .push(Expr::opaque(self.text(*span), "statement not understood"));
                    match name {
                        Some(n) => {
                            self.scopes
                                .last_mut()
                                .expect("a scope")
                                .insert(n.clone(), Binding::Tabular { flow, values: None });
                        }
                        None => out.push(flow),
                    }
                }
            }
        }
        out
    }

    fn binding(&mut self, value: &Ex) -> Binding {
        match &value.kind {
            ExKind::Function { params, body } => Binding::Function(Box::new(FunctionDef {
                flow: self.function(params, body),
                params: params.clone(),
                body: body.clone(),
            })),
            ExKind::Datatable { columns, values } => {
                let n = columns.len().max(1);
                let firsts: Vec<Value> = values.iter().step_by(n).filter_map(literal).collect();
                Binding::Tabular {
                    flow: Flow::default(),
                    values: Some(firsts),
                }
            }
            _ if self.is_tabular(value) => Binding::Tabular {
                flow: self.tabular(value),
                values: None,
            },
            _ => {
                self.scan_subqueries(value);
                Binding::Scalar(self.scalar(value))
            }
        }
    }

    fn function(&mut self, params: &[String], body: &[Stmt]) -> Flow {
        let scope = params
            .iter()
            .map(|p| (p.clone(), Binding::Scalar(Scalar::Opaque)))
            .collect();
        self.function_with(scope, body)
    }

    fn function_with(&mut self, scope: HashMap<String, Binding>, body: &[Stmt]) -> Flow {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Flow::default();
        }
        self.scopes.push(scope);
        let flows = self.statements(body);
        self.scopes.pop();
        self.depth -= 1;
        flows.into_iter().last().unwrap_or_default()
    }

    /// A call of a user function: the body lowered with the arguments bound.
    fn call_function(&mut self, def: &FunctionDef, args: &[Ex]) -> Flow {
        if args.is_empty() {
            return def.flow.clone();
        }
        let mut scope: HashMap<String, Binding> = def
            .params
            .iter()
            .map(|p| (p.clone(), Binding::Scalar(Scalar::Opaque)))
            .collect();
        for (i, a) in args.iter().enumerate() {
            let (name, value) = match &a.kind {
                ExKind::Named { name, value } => (Some(name.clone()), value.as_ref()),
                _ => (def.params.get(i).cloned(), a),
            };
            let Some(name) = name else { continue };
            let b = if self.is_tabular(value) {
                Binding::Tabular {
                    flow: self.tabular(value),
                    values: None,
                }
            } else {
                Binding::Scalar(self.scalar(value))
            };
            scope.insert(name, b);
        }
        self.function_with(scope, &def.body)
    }

    /// Whether a `let` value is a query rather than a scalar.
    fn is_tabular(&self, ex: &Ex) -> bool {
        match &ex.kind {
            ExKind::Pipe { .. }
            | ExKind::Union(_)
            | ExKind::Datatable { .. }
            | ExKind::External
            | ExKind::Generated
            | ExKind::Search { .. } => true,
            ExKind::Ident(n) => match self.lookup(n) {
                Some(Binding::Scalar(_)) => false,
                Some(_) => true,
                None => !is_scalar_keyword(n),
            },
            ExKind::Call { name, args } => {
                let lower = name.to_ascii_lowercase();
                match lower.as_str() {
                    "materialize" | "view" | "table" => true,
                    "toscalar" => false,
                    _ => {
                        matches!(self.lookup(name), Some(Binding::Function(_)))
                            || self.funcs.get(name).is_some()
                            || looks_like_asim(name)
                            || (name.ends_with("()")
                                && args.first().is_some_and(|a| self.is_tabular(a)))
                    }
                }
            }
            ExKind::Member { base, .. } => matches!(
                &base.kind,
                ExKind::Call { name, .. } if is_scope_call(name)
            ),
            _ => false,
        }
    }

    fn scalar(&self, ex: &Ex) -> Scalar {
        if super::pred::is_time(self, ex) {
            return Scalar::Time;
        }
        match super::pred::values_of(self, ex) {
            Some(vs) => Scalar::Values(vs),
            None => Scalar::Opaque,
        }
    }

    /// Lowers every query nested in a scalar expression (`toscalar(T | ...)`,
    /// `in (T | project x)`), for the tables they read.
    pub fn scan_subqueries(&mut self, ex: &Ex) {
        let mut nested = Vec::new();
        collect_nested_queries(ex, &mut nested);
        for q in nested {
            self.tabular(q);
        }
    }

    /// Lowers a tabular expression.
    pub fn tabular(&mut self, ex: &Ex) -> Flow {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Flow::of(Expr::opaque(self.text(ex.span), "query nested too deeply"));
        }
        let f = match &ex.kind {
            ExKind::Pipe { source, ops } => {
                let mut flow = self.source(source);
                for op in ops {
                    flow = self.op(flow, op);
                }
                flow
            }
            _ => self.source(ex),
        };
        self.depth -= 1;
        f
    }

    fn table(&mut self, name: &str) -> Flow {
        self.tables.insert(name.to_string());
        Flow::default()
    }

    /// A stored function or parser called as a source.
    fn stored_function(&mut self, name: &str) -> Flow {
        self.functions.insert(name.to_string());
        match self.funcs.get(name) {
            Some(info) => {
                for t in &info.tables {
                    self.tables.insert(t.clone());
                }
            }
            None => {
                self.unresolved.insert(name.to_string());
            }
        }
        Flow::default()
    }

    fn source(&mut self, ex: &Ex) -> Flow {
        match &ex.kind {
            ExKind::Ident(name) => match self.lookup(name).cloned() {
                Some(Binding::Tabular { flow, .. }) => flow.named(name),
                Some(Binding::Function(def)) => def.flow.named(name),
                Some(Binding::Scalar(_)) => Flow::of(Expr::opaque(
                    self.text(ex.span),
                    format!("`{name}` is a scalar, not a table"),
                )),
                None if self.funcs.get(name).is_some() || looks_like_asim(name) => {
                    self.stored_function(name)
                }
                None => self.table(name),
            },
            ExKind::Call { name, args } => {
                let lower = name.to_ascii_lowercase();
                for a in args {
                    self.scan_subqueries(a);
                }
                match lower.as_str() {
                    "materialize" | "toscalar" => match args.first() {
                        Some(a) => self.tabular(a),
                        None => Flow::default(),
                    },
                    "table" => {
                        let names = args.first().and_then(|a| super::pred::values_of(self, a));
                        match names.as_deref() {
                            Some([Value::Str(t)]) => self.table(t),
                            _ => Flow::default(),
                        }
                    }
                    "_getwatchlist" => {
                        self.functions.insert(name.clone());
                        self.table("Watchlist")
                    }
                    _ if self.lookup(name).is_none() && is_scalar_function(&lower) => {
                        Flow::default()
                    }
                    _ => match self.lookup(name).cloned() {
                        Some(Binding::Function(def)) => self.call_function(&def, args).named(name),
                        Some(Binding::Tabular { flow, .. }) => flow.named(name),
                        _ if name.ends_with("()") => {
                            // `workspace("x").T()`: the member call form.
                            match args.first() {
                                Some(a) => self.source(a),
                                None => Flow::default(),
                            }
                        }
                        _ => self.stored_function(name),
                    },
                }
            }
            ExKind::Member { base, name } => match &base.kind {
                ExKind::Call { name: f, .. } if is_scope_call(f) => self.table(name),
                _ => Flow::of(Expr::opaque(self.text(ex.span), "source not understood")),
            },
            ExKind::Pipe { .. } => self.tabular(ex),
            ExKind::Union(items) | ExKind::List(items) => self.union(items),
            ExKind::Datatable { .. } | ExKind::External | ExKind::Generated => Flow::default(),
            ExKind::Function { params, body } => self.function(params, body),
            ExKind::Search { tables, pred } => {
                if tables.is_empty() || tables.iter().any(|t| matches!(t.kind, ExKind::Star)) {
                    self.every_table = true;
                }
                for t in tables {
                    self.source(t);
                }
                let mut flow = Flow::default();
                if let Some(e) = super::pred::search(self, pred, &flow) {
                    flow.filter.push(e);
                }
                flow
            }
            ExKind::Opaque(reason) => Flow::of(Expr::opaque(self.text(ex.span), reason.clone())),
            _ => Flow::of(Expr::opaque(self.text(ex.span), "not a table or query")),
        }
    }

    fn union(&mut self, items: &[Ex]) -> Flow {
        let mut exprs = Vec::new();
        let mut constrained = false;
        for it in items {
            let f = match &it.kind {
                ExKind::Star => {
                    self.every_table = true;
                    Flow::default()
                }
                ExKind::Ident(n) if n.contains('*') => self.table(n),
                _ => self.source(it),
            };
            let e = f.expr();
            constrained |= !matches!(&e, Expr::All { items } if items.is_empty());
            exprs.push(e);
        }
        if constrained {
            Flow::of(Expr::any(exprs))
        } else {
            Flow::default()
        }
    }

    fn op(&mut self, mut flow: Flow, op: &Op) -> Flow {
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
                                if let Some(e) = super::pred::pred(self, c, &flow) {
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
                } else if let Some(e) = super::pred::search(self, ex, &flow) {
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
        match super::pred::field_of(self, ex, flow) {
            Some(super::pred::FieldRes::Field { path, transform }) => Computed::Alias {
                field: path,
                transform,
            },
            Some(super::pred::FieldRes::Computed(t)) => Computed::Opaque(t),
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

fn is_true(e: &Expr) -> bool {
    matches!(e, Expr::All { items } if items.is_empty())
}

/// `workspace("x")`, `app("x")`, `database("x")`, `cluster("x")`, `arg("")`: their member is
/// a table.
fn is_scope_call(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "workspace" | "app" | "database" | "cluster" | "arg" | "adx"
    ) || name.ends_with("()")
}

/// Built-in scalar and aggregation functions: never tables or stored functions.
fn is_scalar_function(n: &str) -> bool {
    const F: &[&str] = &[
        "ago",
        "now",
        "datetime",
        "todatetime",
        "pack",
        "pack_array",
        "pack_all",
        "bag_pack",
        "case",
        "iff",
        "iif",
        "array_length",
        "array_concat",
        "array_slice",
        "array_sort_asc",
        "array_sort_desc",
        "array_index_of",
        "array_strcat",
        "strcat",
        "strcat_array",
        "strcat_delim",
        "strlen",
        "string_size",
        "tostring",
        "toint",
        "tolong",
        "todouble",
        "toreal",
        "tobool",
        "toguid",
        "totimespan",
        "todecimal",
        "tolower",
        "toupper",
        "dynamic",
        "parse_json",
        "parsejson",
        "todynamic",
        "split",
        "extract",
        "extract_all",
        "extractjson",
        "replace",
        "replace_string",
        "replace_regex",
        "trim",
        "trim_start",
        "trim_end",
        "substring",
        "indexof",
        "countof",
        "bin",
        "floor",
        "format_datetime",
        "format_timespan",
        "datetime_diff",
        "datetime_add",
        "datetime_part",
        "coalesce",
        "isempty",
        "isnotempty",
        "isnull",
        "isnotnull",
        "hash",
        "hash_sha256",
        "hash_md5",
        "hash_sha1",
        "base64_decode_tostring",
        "base64_encode_tostring",
        "base64_decodestring",
        "base64_encodestring",
        "url_decode",
        "url_encode",
        "parse_url",
        "parse_path",
        "parse_ipv4",
        "parse_user_agent",
        "parse_command_line",
        "geo_info_from_ip_address",
        "ipv4_is_private",
        "ipv4_is_match",
        "ipv4_is_in_range",
        "set_union",
        "set_intersect",
        "set_difference",
        "set_has_element",
        "zip",
        "repeat",
        "unixtime_seconds_todatetime",
        "unixtime_milliseconds_todatetime",
        "not",
        "bag_keys",
        "bag_merge",
        "bag_remove_keys",
        "column_ifexists",
        "columnifexists",
        "startofday",
        "startofweek",
        "startofmonth",
        "startofyear",
        "endofday",
        "endofweek",
        "endofmonth",
        "endofyear",
        "make_datetime",
        "make_timespan",
        "dayofweek",
        "dayofmonth",
        "hourofday",
        "getmonth",
        "getyear",
        "round",
        "abs",
        "log",
        "log10",
        "exp",
        "pow",
        "sqrt",
        "rand",
        "min_of",
        "max_of",
        "tohex",
        "reverse",
        "translate",
        "new_guid",
        "gettype",
        "typeof",
        "row_number",
        "prev",
        "next",
        "series_decompose_anomalies",
        "series_fir",
        "series_stats",
        "series_fill_linear",
        "range",
        "toscalar",
        "count",
        "dcount",
        "sum",
        "avg",
        "min",
        "max",
        "make_set",
        "make_list",
        "make_bag",
        "arg_max",
        "arg_min",
        "take_any",
        "any",
        "percentile",
        "stdev",
        "variance",
        "countif",
        "dcountif",
        "sumif",
    ];
    F.contains(&n)
}

/// Identifiers that are scalar values even when not bound (`true`, time keywords).
fn is_scalar_keyword(n: &str) -> bool {
    matches!(n.to_ascii_lowercase().as_str(), "true" | "false" | "null")
}

/// A literal's value.
pub(super) fn literal(ex: &Ex) -> Option<Value> {
    match &ex.kind {
        ExKind::Str(s) => Some(Value::Str(s.clone())),
        ExKind::Num(n) => Some(Value::Num(*n)),
        ExKind::Bool(b) => Some(Value::Bool(*b)),
        ExKind::Null => Some(Value::Null),
        ExKind::Unary { op: "-", expr } => match expr.kind {
            ExKind::Num(n) => Some(Value::Num(-n)),
            _ => None,
        },
        _ => None,
    }
}

/// Queries nested in a scalar expression.
fn collect_nested_queries<'e>(ex: &'e Ex, out: &mut Vec<&'e Ex>) {
    match &ex.kind {
        ExKind::Pipe { .. } | ExKind::Union(_) | ExKind::Search { .. } => out.push(ex),
        ExKind::Call { name, args } => {
            let n = name.to_ascii_lowercase();
            if (n == "toscalar" || n == "materialize") && !args.is_empty() {
                out.push(&args[0]);
                return;
            }
            args.iter().for_each(|a| collect_nested_queries(a, out));
        }
        ExKind::Named { value, .. } => collect_nested_queries(value, out),
        ExKind::Member { base, .. } => collect_nested_queries(base, out),
        ExKind::Index { base, index } => {
            collect_nested_queries(base, out);
            collect_nested_queries(index, out);
        }
        ExKind::Binary { lhs, rhs, .. } => {
            collect_nested_queries(lhs, out);
            collect_nested_queries(rhs, out);
        }
        ExKind::Unary { expr, .. } => collect_nested_queries(expr, out),
        ExKind::List(items) => items.iter().for_each(|a| collect_nested_queries(a, out)),
        ExKind::Bag(items) => items
            .iter()
            .for_each(|(_, a)| collect_nested_queries(a, out)),
        ExKind::Range { lo, hi } => {
            collect_nested_queries(lo, out);
            collect_nested_queries(hi, out);
        }
        _ => {}
    }
}

/// The column name KQL gives an unnamed expression (`count()` → `count_`,
/// `make_set(x)` → `set_x`, `bin(TimeGenerated, 1h)` → `TimeGenerated`).
pub(super) fn default_name(ex: &Ex) -> String {
    match &ex.kind {
        ExKind::Ident(n) => n.clone(),
        ExKind::Member { base, name } => format!("{}_{name}", default_name(base)),
        ExKind::Index { base, index } => match &index.kind {
            ExKind::Str(k) => format!("{}_{k}", default_name(base)),
            _ => default_name(base),
        },
        ExKind::Call { name, args } => {
            let first = args.first().map(default_name).unwrap_or_default();
            let n = name.to_ascii_lowercase();
            match n.as_str() {
                "count" => "count_".into(),
                "countif" => "countif_".into(),
                "make_set" | "make_set_if" | "makeset" => format!("set_{first}"),
                "make_list" | "make_list_if" | "makelist" => format!("list_{first}"),
                "make_bag" | "make_bag_if" => format!("bag_{first}"),
                "dcount" | "dcountif" | "min" | "max" | "sum" | "sumif" | "avg" | "avgif"
                | "stdev" | "variance" | "any" | "minif" | "maxif" => {
                    format!("{n}_{first}")
                }
                "arg_max" | "arg_min" | "take_any" => first,
                "percentile" => {
                    let p = args.get(1).map(default_name).unwrap_or_default();
                    format!("percentile_{first}_{p}")
                }
                _ if !first.is_empty() => first,
                _ => "Column1".into(),
            }
        }
        ExKind::Num(n) => format!("{n}"),
        ExKind::Str(s) => s.clone(),
        _ => "Column1".into(),
    }
}

/// `*` wildcard match of a column name (`project-away *_s`).
fn wildcard(pattern: &str, name: &str) -> bool {
    crate::verify::matcher::glob_match(pattern, name)
}
