//! Panther Python rules: a static reader of `rule()` / `policy()` that produces the
//! condition IR, and of `alert_context()` / `title()` for the output fields.
//!
//! The reader parses the module with `rustpython-parser` and walks the entry function with
//! symbolic values (`sym`), following module constants, the module's own helper functions
//! and the `global_helpers` modules it imports by inlining them (`interp`). Builtins, `re`,
//! `fnmatch` and the event's methods (`get`, `deep_get`, `udm`...) are modelled directly
//! (`natives`). The semantics are Panther's: exact, case-sensitive comparison unless the
//! code lowers case; a missing key reads as `None` (or the default given); truthiness is
//! Python's. What the reader cannot follow becomes an opaque node with the Python text.

mod derived;
mod interp;
mod natives;
/// Python's `ipaddress` private ranges, shared with Panther simple detections.
pub(crate) use natives::ip::PY_PRIVATE_NETS;
mod sym;
pub mod value;

#[cfg(test)]
mod tests;

use crate::model::{Expr, OutputField};
use rustpython_parser::ast::{self, Ranged};
use rustpython_parser::Parse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use natives::JSON_SUFFIX;
pub use value::Py;

/// A parsed Python module (a rule file or a global helper).
#[derive(Debug)]
pub struct Source {
    /// Module name (`panther_base_helpers`; the file stem for rules).
    pub module: String,
    pub text: String,
    suite: Vec<ast::Stmt>,
    globals: HashMap<String, Global>,
}

/// Where a module-level name is defined.
#[derive(Debug, Clone)]
enum Global {
    /// A top-level `def` (index into the suite).
    Def(usize),
    /// A top-level assignment of a single name (index into the suite).
    Value(usize),
    From {
        module: String,
        name: String,
    },
    Import(String),
    /// Assigned more than once, or inside a block: not followed.
    Ambiguous,
}

/// A syntax error in a Python file.
#[derive(Debug, Clone)]
pub struct ParseFailure {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Source {
    /// Parses a module (on a large stack: the parser recurses on nested code).
    pub fn parse(module: &str, text: &str) -> Result<Source, ParseFailure> {
        with_big_stack(|| Source::parse_here(module, text))
    }

    fn parse_here(module: &str, text: &str) -> Result<Source, ParseFailure> {
        let suite = ast::Suite::parse(text, module).map_err(|e| {
            let off = usize::from(e.offset).min(text.len());
            let line = crate::diag::line_of(text, off);
            let line_start = text[..off].rfind('\n').map(|i| i + 1).unwrap_or(0);
            ParseFailure {
                line,
                column: text[line_start..off].chars().count() + 1,
                message: e.error.to_string(),
            }
        })?;
        let mut globals: HashMap<String, Global> = HashMap::new();
        let mut set = |name: String, g: Global| {
            let g = if globals.contains_key(&name) {
                Global::Ambiguous
            } else {
                g
            };
            globals.insert(name, g);
        };
        for (i, s) in suite.iter().enumerate() {
            match s {
                ast::Stmt::FunctionDef(d) => set(d.name.to_string(), Global::Def(i)),
                ast::Stmt::Assign(a) => match a.targets.as_slice() {
                    [ast::Expr::Name(n)] => set(n.id.to_string(), Global::Value(i)),
                    targets => {
                        for t in targets {
                            for n in names_in(t) {
                                set(n, Global::Ambiguous);
                            }
                        }
                    }
                },
                ast::Stmt::AnnAssign(a) => {
                    if let ast::Expr::Name(n) = &*a.target {
                        set(n.id.to_string(), Global::Value(i));
                    }
                }
                ast::Stmt::AugAssign(a) => {
                    for n in names_in(&a.target) {
                        set(n, Global::Ambiguous);
                    }
                }
                ast::Stmt::Import(imp) => {
                    for a in &imp.names {
                        let full = a.name.to_string();
                        let bind =
                            a.asname.as_ref().map(|x| x.to_string()).unwrap_or_else(|| {
                                full.split('.').next().unwrap_or(&full).to_string()
                            });
                        let module = if a.asname.is_some() {
                            full
                        } else {
                            bind.clone()
                        };
                        set(bind, Global::Import(module));
                    }
                }
                ast::Stmt::ImportFrom(imp) => {
                    let module = imp
                        .module
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    for a in &imp.names {
                        let bind = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        set(
                            bind,
                            Global::From {
                                module: module.clone(),
                                name: a.name.to_string(),
                            },
                        );
                    }
                }
                ast::Stmt::ClassDef(c) => set(c.name.to_string(), Global::Ambiguous),
                other => {
                    for n in assigned_in_block(other) {
                        set(n, Global::Ambiguous);
                    }
                }
            }
        }
        Ok(Source {
            module: module.to_string(),
            text: text.to_string(),
            suite,
            globals,
        })
    }

    /// Names of the module's top-level functions, in source order.
    pub fn functions(&self) -> Vec<String> {
        self.suite
            .iter()
            .filter_map(|s| match s {
                ast::Stmt::FunctionDef(d) => Some(d.name.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The source text of a top-level function, when defined.
    pub fn function_text(&self, name: &str) -> Option<&str> {
        self.suite.iter().find_map(|s| match s {
            ast::Stmt::FunctionDef(d) if d.name.as_str() == name => {
                let r = d.range();
                self.text.get(usize::from(r.start())..usize::from(r.end()))
            }
            _ => None,
        })
    }

    /// 1-based line of a top-level function, when defined.
    pub fn function_line(&self, name: &str) -> Option<usize> {
        self.suite.iter().find_map(|s| match s {
            ast::Stmt::FunctionDef(d) if d.name.as_str() == name => Some(crate::diag::line_of(
                &self.text,
                usize::from(d.range().start()),
            )),
            _ => None,
        })
    }
}

fn names_in(e: &ast::Expr) -> Vec<String> {
    match e {
        ast::Expr::Name(n) => vec![n.id.to_string()],
        ast::Expr::Tuple(t) => t.elts.iter().flat_map(names_in).collect(),
        ast::Expr::List(l) => l.elts.iter().flat_map(names_in).collect(),
        _ => Vec::new(),
    }
}

/// Names bound inside a compound module-level statement (`if`, `try`, `for`, `with`).
fn assigned_in_block(s: &ast::Stmt) -> Vec<String> {
    fn visit(body: &[ast::Stmt], out: &mut Vec<String>) {
        for s in body {
            match s {
                ast::Stmt::Assign(a) => a.targets.iter().for_each(|t| out.extend(names_in(t))),
                ast::Stmt::AnnAssign(a) => out.extend(names_in(&a.target)),
                ast::Stmt::FunctionDef(d) => out.push(d.name.to_string()),
                ast::Stmt::Import(i) => out.extend(
                    i.names
                        .iter()
                        .map(|a| a.asname.as_ref().unwrap_or(&a.name).to_string()),
                ),
                ast::Stmt::ImportFrom(i) => out.extend(
                    i.names
                        .iter()
                        .map(|a| a.asname.as_ref().unwrap_or(&a.name).to_string()),
                ),
                other => out.extend(assigned_in_block(other)),
            }
        }
    }
    let mut out = Vec::new();
    match s {
        ast::Stmt::If(i) => {
            visit(&i.body, &mut out);
            visit(&i.orelse, &mut out);
        }
        ast::Stmt::Try(t) => {
            visit(&t.body, &mut out);
            visit(&t.orelse, &mut out);
            visit(&t.finalbody, &mut out);
            for h in &t.handlers {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                visit(&h.body, &mut out);
            }
        }
        ast::Stmt::For(f) => {
            out.extend(names_in(&f.target));
            visit(&f.body, &mut out);
        }
        ast::Stmt::With(w) => visit(&w.body, &mut out),
        _ => {}
    }
    out
}

/// How the event reaches the rule in Panther.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A streaming rule: a `PantherEvent` with the data model of its `p_log_type`.
    Rule,
    /// A scheduled rule: a `PantherEvent` without data model.
    Scheduled,
    /// A policy: the resource as a plain dict.
    Policy,
}

/// One data model mapping (`Mappings:` of a `datamodel` file).
#[derive(Debug, Clone, PartialEq)]
pub enum Mapping {
    Path(Vec<String>),
    /// A function of the data model's Python module (`module`, when it was read).
    Method {
        module: Option<String>,
        name: String,
    },
    Unsupported(String),
}

impl Mapping {
    /// `Path:` as written: a plain key or a simple JSONPath (`$.a.b`).
    pub fn path(p: &str) -> Mapping {
        let p = p.trim();
        let body = p.strip_prefix("$.").unwrap_or(p);
        let ok = !body.is_empty()
            && body.split('.').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            });
        if ok && (p.starts_with("$.") || !p.contains('.')) {
            Mapping::Path(body.split('.').map(String::from).collect())
        } else {
            Mapping::Unsupported(p.to_string())
        }
    }
}

/// Everything a rule's code may lean on.
pub struct Context<'a> {
    /// `global_helpers` modules by module name.
    pub helpers: &'a BTreeMap<String, Source>,
    /// Data model mappings by log type.
    pub data_models: &'a BTreeMap<String, Vec<(String, Mapping)>>,
    /// The rule's `LogTypes`.
    pub log_types: &'a [String],
    pub kind: EventKind,
}

/// What the reader made of a rule module.
#[derive(Debug)]
pub struct Reading {
    /// The condition of `rule()` / `policy()` (`None` when the module has neither).
    pub expr: Option<Expr>,
    pub output_fields: Vec<OutputField>,
    /// Module-level names of the rule module that the condition depends on (a test that
    /// mocks one of them cannot be run on the condition).
    pub reads_globals: BTreeSet<String>,
    /// The module's top-level functions.
    pub functions: Vec<String>,
    /// The source text of `rule()` / `policy()`.
    pub entry_text: Option<String>,
}

/// Stack for reading one module: the reader recurses along the code and its conditions.
const READER_STACK: usize = 64 << 20;

/// Conditions nested deeper than this become one opaque node (what follows the reader, the
/// matcher and the renderers, walks them recursively).
const MAX_EXPR_DEPTH: usize = 200;

/// Runs `f` on a thread with a large stack (hostile input: deeply nested code).
fn with_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .stack_size(READER_STACK)
            .spawn_scoped(s, f)
            .expect("a reader thread starts");
        match handle.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        }
    })
}

/// Parses and reads a rule (or policy) module from its text, on a large stack; the parsed
/// module is dropped there too.
pub fn read_text(module: &str, text: &str, ctx: &Context) -> Result<Reading, ParseFailure> {
    with_big_stack(|| {
        let src = Source::parse_here(module, text)?;
        Ok(read_here(&src, ctx))
    })
}

fn depth(e: &Expr) -> usize {
    match e {
        Expr::All { items } | Expr::Any { items } => 1 + items.iter().map(depth).max().unwrap_or(0),
        Expr::Sequence { steps, .. } => 1 + steps.iter().map(depth).max().unwrap_or(0),
        Expr::Not { item }
        | Expr::Named { item, .. }
        | Expr::Aggregate { item, .. }
        | Expr::AnyElement { item, .. } => 1 + depth(item),
        _ => 1,
    }
}

/// Reads a rule (or policy) module (on a large stack).
pub fn read(src: &Source, ctx: &Context) -> Reading {
    with_big_stack(|| read_here(src, ctx))
}

fn read_here(src: &Source, ctx: &Context) -> Reading {
    let entry = if ctx.kind == EventKind::Policy {
        "policy"
    } else {
        "rule"
    };
    let ip = interp::Interp::new(ctx, src);
    let expr = if ip.defines(entry) {
        ip.tracking.set(true);
        let result = ip.call_entry(entry);
        ip.tracking.set(false);
        let e = scrub_markers(sym::truthy(&result));
        Some(if depth(&e) > MAX_EXPR_DEPTH {
            Expr::opaque(
                src.function_text(entry).unwrap_or(entry).to_string(),
                "the condition nests too deep to show",
            )
        } else {
            e
        })
    } else {
        None
    };
    let mut outputs = Vec::new();
    if ip.defines("alert_context") {
        let ctx_sym = ip.call_entry("alert_context");
        outputs.extend(context_fields(&ctx_sym));
    }
    if ip.defines("title") {
        ip.reads.borrow_mut().clear();
        let _ = ip.call_entry("title");
        for f in ip.reads.borrow().iter() {
            if !outputs
                .iter()
                .any(|o: &OutputField| o.name == *f && o.note.as_deref() == Some("title"))
            {
                outputs.push(OutputField {
                    name: f.clone(),
                    source: None,
                    note: Some("title".into()),
                });
            }
        }
    }
    let reads_globals = ip.resolved.borrow().clone();
    Reading {
        expr,
        output_fields: outputs,
        reads_globals,
        functions: src.functions(),
        entry_text: src.function_text(entry).map(str::to_string),
    }
}

/// Predicates that still speak of "an element of a list" outside of any quantifier become
/// opaque nodes.
fn scrub_markers(e: Expr) -> Expr {
    match e {
        Expr::Pred(p) if sym::has_marker(&Expr::Pred(p.clone())) => {
            let field = p.field.clone().unwrap_or_default();
            let shown: String = field
                .split('.')
                .map(|s| if s.starts_with(sym::ELEM) { "[*]" } else { s })
                .collect::<Vec<_>>()
                .join(".");
            Expr::opaque(
                format!("{shown} {}", p.op.as_str()),
                "a condition on an element of a list that the reader could not place",
            )
        }
        Expr::All { items } => Expr::All {
            items: items.into_iter().map(scrub_markers).collect(),
        },
        Expr::Any { items } => Expr::Any {
            items: items.into_iter().map(scrub_markers).collect(),
        },
        Expr::Not { item } => Expr::Not {
            item: Box::new(scrub_markers(*item)),
        },
        Expr::Named { name, item } => Expr::Named {
            name,
            item: Box::new(scrub_markers(*item)),
        },
        Expr::AnyElement { field, item: _ } if field.contains(sym::ELEM) => Expr::opaque(
            field.replace(sym::ELEM, "[*]"),
            "a condition on an element of a list that the reader could not place",
        ),
        Expr::AnyElement { field, item } => Expr::AnyElement {
            field,
            item: Box::new(scrub_markers(*item)),
        },
        other => other,
    }
}

/// The keys of an `alert_context()` result with where their values come from.
fn context_fields(s: &sym::Sym) -> Vec<OutputField> {
    let items: Vec<(String, Option<String>)> = match s {
        sym::Sym::Dict(items) => items
            .iter()
            .map(|(k, v)| (k.py_str(), describe(v)))
            .collect(),
        sym::Sym::Const(Py::Dict(items)) => items.iter().map(|(k, _)| (k.py_str(), None)).collect(),
        sym::Sym::Cond(_, a, b) => {
            let mut out = context_fields(a);
            for f in context_fields(b) {
                if !out.iter().any(|o| o.name == f.name) {
                    out.push(f);
                }
            }
            return out;
        }
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|(name, source)| OutputField {
            name,
            source,
            note: Some("alert_context".into()),
        })
        .collect()
}

/// Where a value comes from: field paths, or the Python text when it is computed.
fn describe(s: &sym::Sym) -> Option<String> {
    let mut fields = Vec::new();
    fn go(s: &sym::Sym, out: &mut Vec<String>) -> bool {
        match s {
            sym::Sym::Field(f) | sym::Sym::Len(f) => {
                let n = f.name();
                if n.contains(sym::ELEM) {
                    return false;
                }
                if !out.contains(&n) {
                    out.push(n);
                }
                true
            }
            sym::Sym::Cond(_, a, b) => go(a, out) & go(b, out),
            sym::Sym::Seq(items) => items.iter().all(|i| go(i, out)),
            sym::Sym::Dict(items) => items.iter().all(|(_, v)| go(v, out)),
            sym::Sym::Const(_) => true,
            _ => false,
        }
    }
    if go(s, &mut fields) && !fields.is_empty() {
        return Some(fields.join(", "));
    }
    match s {
        sym::Sym::Opaque { text, .. } => {
            let t: String = text.chars().take(160).collect();
            Some(t)
        }
        _ if !fields.is_empty() => Some(fields.join(", ")),
        _ => None,
    }
}
