//! From the syntax tree to what the catalog needs: the tables a query reads, the functions
//! it calls, its per-event filter as IR and its output columns.
//!
//! A pipeline is followed stage by stage as a [`Flow`]: the `where` filters met before any
//! aggregation are the per-event filter; `summarize`/`make-series` (and what follows them)
//! wrap it in an `Aggregate`; an inner `join` makes a two-step `Sequence`; computed columns
//! (`extend`, `project x = ...`, `parse`) are remembered so a later filter on them is either
//! rewritten onto the source field (`tolower(x)`, `parse_json(x).a`) or kept opaque.

mod ops;

use super::ast::*;
use super::names::{is_scalar_function, looks_like_asim};
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
