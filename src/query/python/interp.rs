//! The reader proper: walks a rule's Python statements with symbolic values, inlining the
//! functions it calls (local helpers and `global_helpers` modules), and folds the paths
//! through the code into one condition.
//!
//! Control flow is kept as an outcome tree: a statement either falls through with an
//! environment, returns a value, breaks or continues, or splits on a condition. Guards
//! (`if c: return False`) become conjunctions, `if` chains become alternatives, and
//! variables assigned in both branches of an `if` become conditional values.

mod expr;
mod stmt;
mod udm;

use super::natives;
use super::sym::{self, and, cond, const_of, not, opaque, Field, Func, Sym};
use super::value::Py;
use super::{Context, EventKind, Global, Source};
use crate::model::Expr;
use rustpython_parser::ast::{self, Ranged};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub type Env = BTreeMap<String, Sym>;

/// How a block of statements ends.
#[derive(Debug, Clone)]
pub enum Out {
    Ret(Sym),
    Next(Env),
    Break(Env),
    Continue(Env),
    Branch(Expr, Box<Out>, Box<Out>),
}

/// Limits that keep a hostile or huge rule from exhausting the reader.
const MAX_DEPTH: usize = 24;
const MAX_STEPS: usize = 400_000;
const MAX_UNROLL: usize = 2_000;
/// Iterations of unrolled loops over a whole rule (nested loops multiply).
const MAX_UNROLLED: usize = 2_500;
/// Ways a `try:` body may raise that are kept apart before the rest become opaque.
const MAX_RAISES: usize = 64;

pub struct Interp<'a> {
    ctx: &'a Context<'a>,
    /// Index 0 is the rule's module; then the helper modules, by name.
    modules: Vec<&'a Source>,
    by_name: HashMap<&'a str, usize>,
    memo: RefCell<HashMap<(usize, String), Sym>>,
    /// Module-level names of the rule's own module that the evaluation read.
    pub resolved: RefCell<BTreeSet<String>>,
    pub tracking: Cell<bool>,
    /// Fields read (in order), for the fields `title()` interpolates.
    pub reads: RefCell<Vec<String>>,
    depth: Cell<usize>,
    steps: Cell<usize>,
    next_loop: Cell<u32>,
    /// Conditions under which the code being read runs (innermost last).
    path: RefCell<Vec<Expr>>,
    /// Inside a `try:` body: the conditions under which it raises, and where the body's
    /// path conditions start.
    raises: RefCell<Option<Vec<Expr>>>,
    try_base: Cell<usize>,
    /// Unrolled loops entered, and how many of them were entered before the current `try:`.
    loop_depth: Cell<usize>,
    try_loops: Cell<usize>,
    unrolled: Cell<usize>,
}

impl<'a> Interp<'a> {
    pub fn new(ctx: &'a Context<'a>, rule: &'a Source) -> Interp<'a> {
        let mut modules = vec![rule];
        let mut by_name = HashMap::new();
        for (name, src) in ctx.helpers.iter() {
            by_name.insert(name.as_str(), modules.len());
            modules.push(src);
        }
        Interp {
            ctx,
            modules,
            by_name,
            memo: RefCell::default(),
            resolved: RefCell::default(),
            tracking: Cell::new(false),
            reads: RefCell::default(),
            depth: Cell::new(0),
            steps: Cell::new(0),
            next_loop: Cell::new(0),
            path: RefCell::default(),
            raises: RefCell::default(),
            try_base: Cell::new(0),
            loop_depth: Cell::new(0),
            try_loops: Cell::new(0),
            unrolled: Cell::new(0),
        }
    }

    pub fn kind(&self) -> EventKind {
        self.ctx.kind
    }

    /// True when the rule module defines function `name` at top level.
    pub fn defines(&self, name: &str) -> bool {
        matches!(self.modules[0].globals.get(name), Some(Global::Def(_)))
    }

    /// Calls a top-level function of the rule module with the event as only argument.
    pub fn call_entry(&self, name: &str) -> Sym {
        let text = format!("{name}(event)");
        self.call_user(0, name, vec![Sym::Event], Vec::new(), &text)
    }

    pub fn text(&self, m: usize, node: &impl Ranged) -> String {
        let r = node.range();
        let src = &self.modules[m].text;
        src.get(usize::from(r.start())..usize::from(r.end()))
            .unwrap_or("")
            .to_string()
    }

    fn tick(&self) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        n <= MAX_STEPS
    }

    pub fn record_read(&self, f: &Field) {
        let name = f.name();
        if !name.contains(sym::ELEM) {
            let mut r = self.reads.borrow_mut();
            if !r.contains(&name) {
                r.push(name);
            }
        }
    }

    pub fn fresh_loop(&self) -> String {
        let n = self.next_loop.get() + 1;
        self.next_loop.set(n);
        format!("{0}{n}{0}", sym::ELEM)
    }

    /// Runs `f` with `c` added to the path condition (kept only inside `try:` bodies,
    /// where it qualifies when the body raises).
    pub fn under<T>(&self, c: &Expr, f: impl FnOnce() -> T) -> T {
        if !self.in_try() {
            return f();
        }
        self.path.borrow_mut().push(c.clone());
        let out = f();
        self.path.borrow_mut().pop();
        out
    }

    /// `under` the negation of `c`.
    pub fn under_not<T>(&self, c: &Expr, f: impl FnOnce() -> T) -> T {
        if !self.in_try() {
            return f();
        }
        self.path.borrow_mut().push(not(c.clone()));
        let out = f();
        self.path.borrow_mut().pop();
        out
    }

    pub fn path_len(&self) -> usize {
        self.path.borrow().len()
    }

    pub fn push_path(&self, c: Expr) {
        self.path.borrow_mut().push(c);
    }

    pub fn truncate_path(&self, len: usize) {
        self.path.borrow_mut().truncate(len);
    }

    /// Counts iterations of unrolled loops; false once the rule has used its budget.
    pub fn unroll_one(&self) -> bool {
        let n = self.unrolled.get() + 1;
        self.unrolled.set(n);
        n <= MAX_UNROLLED
    }

    /// Inside a `try:` body: records that the code being read raises when `when` holds.
    pub fn may_raise(&self, when: Expr) {
        if const_of(&when) == Some(false) {
            return;
        }
        let mut raises = self.raises.borrow_mut();
        let Some(list) = raises.as_mut() else {
            return;
        };
        // Each raise keeps the path that leads to it; past a count, one opaque entry
        // stands for the rest (the try block may raise; we cannot say when).
        if list.len() > MAX_RAISES {
            return;
        }
        if list.len() == MAX_RAISES {
            list.push(Expr::opaque(
                "an exception on one of many paths",
                "whether the try block raises",
            ));
            return;
        }
        if self.loop_depth.get() > self.try_loops.get() {
            list.push(Expr::opaque(
                "an exception inside a loop",
                "whether the try block raises",
            ));
            return;
        }
        let path = self.path.borrow();
        let mut parts: Vec<Expr> = path[self.try_base.get().min(path.len())..].to_vec();
        parts.push(when);
        list.push(and(parts));
    }

    /// True while reading a `try:` body.
    pub fn in_try(&self) -> bool {
        self.raises.borrow().is_some()
    }

    /// Continues every fall-through leaf with `k`, under the conditions that lead to it.
    pub fn cont(&self, o: Out, k: &mut dyn FnMut(Env) -> Out) -> Out {
        match o {
            Out::Next(env) => k(env),
            Out::Branch(c, a, b) => {
                let a = self.under(&c, || self.cont(*a, k));
                let b = self.under_not(&c, || self.cont(*b, k));
                branch(c, a, b)
            }
            other => other,
        }
    }

    // -----------------------------------------------------------------------------------
    // Names.

    fn lookup(&self, name: &str, env: &Env, m: usize) -> Sym {
        if let Some(v) = env.get(name) {
            return v.clone();
        }
        self.global(m, name)
    }

    pub fn global(&self, m: usize, name: &str) -> Sym {
        let v = self.global_value(m, name);
        // Names the condition depends on through a modelled value (a constant, a function
        // read and inlined); unknown values are opaque in the condition anyway.
        let modelled = match &v {
            Sym::Opaque { .. } => false,
            Sym::Func(Func::Native(n)) => !n.starts_with("kv."),
            _ => true,
        };
        if m == 0 && self.tracking.get() && modelled {
            self.resolved.borrow_mut().insert(name.to_string());
        }
        v
    }

    fn global_value(&self, m: usize, name: &str) -> Sym {
        let src = self.modules[m];
        match src.globals.get(name) {
            Some(Global::Def(_)) => Sym::Func(Func::User(m, name.to_string())),
            Some(Global::Value(i)) => {
                let key = (m, name.to_string());
                if let Some(v) = self.memo.borrow().get(&key) {
                    return v.clone();
                }
                let v = match &src.suite[*i] {
                    ast::Stmt::Assign(a) => {
                        let mut env = Env::new();
                        self.eval(&a.value, &mut env, m)
                    }
                    ast::Stmt::AnnAssign(a) => match &a.value {
                        Some(v) => self.eval(v, &mut Env::new(), m),
                        None => opaque(name, "module name without a value"),
                    },
                    _ => opaque(name, "module name the reader does not follow"),
                };
                self.memo.borrow_mut().insert(key, v.clone());
                v
            }
            Some(Global::From { module, name: orig }) => self.import_from(module, orig),
            Some(Global::Import(module)) => Sym::Module(module.clone()),
            Some(Global::Ambiguous) => opaque(
                name,
                format!("`{name}` is assigned in several places of the module"),
            ),
            None => match natives::builtin(name) {
                Some(s) => s,
                None => opaque(name, format!("unknown name `{name}`")),
            },
        }
    }

    /// `from module import name`.
    pub fn import_from(&self, module: &str, name: &str) -> Sym {
        if let Some(s) = natives::helper_override(module, name) {
            return s;
        }
        if let Some(&i) = self.by_name.get(module) {
            return self.global(i, name);
        }
        natives::module_attr(module, name)
    }

    /// `module.attr` for a module value.
    pub fn module_attr(&self, module: &str, attr: &str) -> Sym {
        if self.by_name.contains_key(module) {
            return self.import_from(module, attr);
        }
        natives::module_attr(module, attr)
    }

    // -----------------------------------------------------------------------------------
    // Functions.

    pub fn call(&self, f: &Sym, args: Vec<Sym>, kwargs: Vec<(String, Sym)>, text: &str) -> Sym {
        match f {
            Sym::Func(Func::User(m, name)) => self.call_user(*m, name, args, kwargs, text),
            Sym::Func(Func::Native(n)) => natives::call(self, n, &args, &kwargs, text),
            Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
            _ => opaque(text, "calls a value that is not a function"),
        }
    }

    pub fn call_user(
        &self,
        m: usize,
        name: &str,
        args: Vec<Sym>,
        kwargs: Vec<(String, Sym)>,
        text: &str,
    ) -> Sym {
        let src = self.modules[m];
        let Some(Global::Def(i)) = src.globals.get(name) else {
            return opaque(text, format!("`{name}` is not a function of the module"));
        };
        let ast::Stmt::FunctionDef(def) = &src.suite[*i] else {
            return opaque(text, format!("`{name}` is not a plain function"));
        };
        if !def.decorator_list.is_empty() {
            return opaque(text, format!("`{name}` has decorators"));
        }
        if self.depth.get() >= MAX_DEPTH {
            return opaque(text, "calls nest too deep");
        }
        let mut env = Env::new();
        let params: Vec<&ast::ArgWithDefault> =
            def.args.posonlyargs.iter().chain(&def.args.args).collect();
        let mut args = args.into_iter();
        let mut extra = Vec::new();
        for p in &params {
            if let Some(a) = args.next() {
                env.insert(p.def.arg.to_string(), a);
            }
        }
        extra.extend(args);
        if !extra.is_empty() {
            match &def.args.vararg {
                Some(v) => {
                    env.insert(v.arg.to_string(), Sym::Seq(extra));
                }
                None => return opaque(text, format!("too many arguments for `{name}`")),
            }
        } else if let Some(v) = &def.args.vararg {
            env.insert(v.arg.to_string(), Sym::Const(Py::Tuple(vec![])));
        }
        let mut kw_extra = Vec::new();
        for (k, v) in kwargs {
            let known = params.iter().any(|p| p.def.arg.as_str() == k)
                || def.args.kwonlyargs.iter().any(|p| p.def.arg.as_str() == k);
            if known {
                env.insert(k, v);
            } else {
                kw_extra.push((Py::Str(k), v));
            }
        }
        if !kw_extra.is_empty() {
            match &def.args.kwarg {
                Some(k) => {
                    env.insert(k.arg.to_string(), Sym::Dict(kw_extra));
                }
                None => return opaque(text, format!("unknown keyword argument for `{name}`")),
            }
        } else if let Some(k) = &def.args.kwarg {
            env.insert(k.arg.to_string(), Sym::Const(Py::Dict(vec![])));
        }
        for p in params.iter().copied().chain(def.args.kwonlyargs.iter()) {
            let pname = p.def.arg.to_string();
            if env.contains_key(&pname) {
                continue;
            }
            match &p.default {
                Some(d) => {
                    let v = self.eval(d, &mut Env::new(), m);
                    env.insert(pname, v);
                }
                None => return opaque(text, format!("missing argument `{pname}` of `{name}`")),
            }
        }
        self.depth.set(self.depth.get() + 1);
        let out = self.exec_block(&def.body, env, m);
        self.depth.set(self.depth.get() - 1);
        fold(out)
    }
}

pub use sym::RAISES;

pub fn const_sym(c: &ast::Constant, text: &str) -> Sym {
    match py_const(c) {
        Some(p) => Sym::Const(p),
        None => opaque(text, "a literal the reader does not model"),
    }
}

fn py_const(c: &ast::Constant) -> Option<Py> {
    Some(match c {
        ast::Constant::None => Py::None,
        ast::Constant::Bool(b) => Py::Bool(*b),
        ast::Constant::Str(s) => Py::Str(s.clone()),
        ast::Constant::Int(i) => Py::Int(i.to_string().parse().ok()?),
        ast::Constant::Float(f) => Py::Float(*f),
        ast::Constant::Tuple(t) => Py::Tuple(t.iter().map(py_const).collect::<Option<_>>()?),
        _ => return None,
    })
}

pub fn bool_sym(e: Expr) -> Sym {
    match const_of(&e) {
        Some(b) => Sym::Const(Py::Bool(b)),
        None => Sym::Bool(e),
    }
}

pub fn seq_or_const(items: Vec<Sym>) -> Sym {
    if items.iter().all(|i| matches!(i, Sym::Const(_))) {
        Sym::Const(Py::List(
            items
                .into_iter()
                .map(|i| match i {
                    Sym::Const(c) => c,
                    _ => Py::None,
                })
                .collect(),
        ))
    } else {
        Sym::Seq(items)
    }
}

// ---------------------------------------------------------------------------------------
// Outcome trees.

fn has_next(o: &Out) -> bool {
    match o {
        Out::Next(_) => true,
        Out::Branch(_, a, b) => has_next(a) || has_next(b),
        _ => false,
    }
}

fn map_leaves(o: Out, k: &mut dyn FnMut(Out) -> Out) -> Out {
    match o {
        Out::Branch(c, a, b) => {
            let a = map_leaves(*a, k);
            let b = map_leaves(*b, k);
            branch(c, a, b)
        }
        leaf => k(leaf),
    }
}

fn collect_leaves(o: &Out, path: Expr, out: &mut Vec<(Expr, Out)>) {
    match o {
        Out::Branch(c, a, b) => {
            collect_leaves(a, and(vec![path.clone(), c.clone()]), out);
            collect_leaves(b, and(vec![path, not(c.clone())]), out);
        }
        leaf => out.push((path, leaf.clone())),
    }
}

fn is_raise(o: &Out) -> bool {
    matches!(o, Out::Ret(Sym::Opaque { text, .. }) if text == RAISES)
}

fn same_out(a: &Out, b: &Out) -> bool {
    match (a, b) {
        (Out::Ret(x), Out::Ret(y)) => sym::same(x, y),
        (Out::Next(x), Out::Next(y))
        | (Out::Break(x), Out::Break(y))
        | (Out::Continue(x), Out::Continue(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && sym::same(v1, v2))
        }
        (Out::Branch(c1, a1, b1), Out::Branch(c2, a2, b2)) => {
            sym::same_expr(c1, c2) && same_out(a1, a2) && same_out(b1, b2)
        }
        _ => false,
    }
}

/// A split on `c`, simplified: constant conditions, equal sides, paths that raise (Panther
/// reports an error and no alert: the reader follows the other path), and fall-through on
/// both sides (variables merge into conditional values).
pub fn branch(c: Expr, a: Out, b: Out) -> Out {
    match const_of(&c) {
        Some(true) => return a,
        Some(false) => return b,
        None => {}
    }
    if is_raise(&a) {
        return b;
    }
    if is_raise(&b) {
        return a;
    }
    match (a, b) {
        (Out::Next(x), Out::Next(y)) => Out::Next(merge_env(&c, x, y)),
        (Out::Break(x), Out::Break(y)) => Out::Break(merge_env(&c, x, y)),
        (Out::Continue(x), Out::Continue(y)) => Out::Continue(merge_env(&c, x, y)),
        (Out::Ret(x), Out::Ret(y)) if sym::same(&x, &y) => Out::Ret(x),
        (a, b) => Out::Branch(c, Box::new(a), Box::new(b)),
    }
}

fn merge_env(c: &Expr, a: Env, mut b: Env) -> Env {
    let mut out = Env::new();
    for (k, va) in a {
        match b.remove(&k) {
            Some(vb) => {
                out.insert(k, cond(c.clone(), va, vb));
            }
            None => {
                let u = opaque(&k, format!("`{k}` is only set on some paths"));
                out.insert(k, cond(c.clone(), va, u));
            }
        }
    }
    for (k, vb) in b {
        let u = opaque(&k, format!("`{k}` is only set on some paths"));
        out.insert(k, cond(c.clone(), u, vb));
    }
    out
}

/// The value a function's outcome tree returns (`None` when it falls off the end).
pub fn fold(o: Out) -> Sym {
    match o {
        Out::Ret(v) => v,
        Out::Next(_) | Out::Break(_) | Out::Continue(_) => Sym::Const(Py::None),
        Out::Branch(c, a, b) => cond(c, fold(*a), fold(*b)),
    }
}
