//! The reader proper: walks a rule's Python statements with symbolic values, inlining the
//! functions it calls (local helpers and `global_helpers` modules), and folds the paths
//! through the code into one condition.
//!
//! Control flow is kept as an outcome tree: a statement either falls through with an
//! environment, returns a value, breaks or continues, or splits on a condition. Guards
//! (`if c: return False`) become conjunctions, `if` chains become alternatives, and
//! variables assigned in both branches of an `if` become conditional values.

use super::natives;
use super::sym::{self, and, cond, const_of, not, opaque, or, truthy, Cmp, Field, Func, Hint, Sym};
use super::value::Py;
use super::{Context, EventKind, Global, Mapping, Source};
use crate::model::{Expr, Op, Predicate, Value};
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

    /// Runs `f` with `c` added to the path condition.
    pub fn under<T>(&self, c: Expr, f: impl FnOnce() -> T) -> T {
        self.path.borrow_mut().push(c);
        let out = f();
        self.path.borrow_mut().pop();
        out
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
                let a = self.under(c.clone(), || self.cont(*a, k));
                let b = self.under(not(c.clone()), || self.cont(*b, k));
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

    // -----------------------------------------------------------------------------------
    // Statements.

    pub fn exec_block(&self, stmts: &[ast::Stmt], env: Env, m: usize) -> Out {
        let mut out = Out::Next(env);
        for s in stmts {
            if !has_next(&out) {
                break;
            }
            out = self.cont(out, &mut |env| self.exec_stmt(s, env, m));
        }
        out
    }

    fn exec_stmt(&self, s: &ast::Stmt, mut env: Env, m: usize) -> Out {
        if !self.tick() {
            return Out::Ret(opaque(&self.text(m, s), "the rule is too large to read"));
        }
        use ast::Stmt as S;
        match s {
            S::Return(r) => Out::Ret(match &r.value {
                Some(v) => self.eval(v, &mut env, m),
                None => Sym::Const(Py::None),
            }),
            S::Assign(a) => {
                let v = self.eval(&a.value, &mut env, m);
                for t in &a.targets {
                    self.assign(t, v.clone(), &mut env, m);
                }
                Out::Next(env)
            }
            S::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    let v = self.eval(v, &mut env, m);
                    self.assign(&a.target, v, &mut env, m);
                }
                Out::Next(env)
            }
            S::AugAssign(a) => {
                let cur = self.eval(&a.target, &mut env, m);
                let rhs = self.eval(&a.value, &mut env, m);
                let text = self.text(m, s);
                let v = natives::binop(self, &cur, a.op, &rhs, &text);
                self.assign(&a.target, v, &mut env, m);
                Out::Next(env)
            }
            S::If(i) => {
                let c = self.cond(&i.test, &mut env, m);
                match const_of(&c) {
                    Some(true) => self.exec_block(&i.body, env, m),
                    Some(false) => self.exec_block(&i.orelse, env, m),
                    None => {
                        let a = self.under(c.clone(), || self.exec_block(&i.body, env.clone(), m));
                        let b = self.under(not(c.clone()), || self.exec_block(&i.orelse, env, m));
                        branch(c, a, b)
                    }
                }
            }
            S::For(f) => self.exec_for(f, env, m),
            S::Expr(e) => {
                self.side_effect(&e.value, &mut env, m);
                Out::Next(env)
            }
            S::Pass(_) | S::Assert(_) | S::Global(_) | S::Nonlocal(_) | S::Delete(_) => {
                Out::Next(env)
            }
            S::Break(_) => Out::Break(env),
            S::Continue(_) => Out::Continue(env),
            S::Raise(_) => Out::Ret(Sym::Opaque {
                text: RAISES.into(),
                reason: "raises an exception".into(),
            }),
            S::Import(i) => {
                for a in &i.names {
                    let full = a.name.to_string();
                    let bind = a
                        .asname
                        .as_ref()
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| full.split('.').next().unwrap_or(&full).to_string());
                    env.insert(bind, Sym::Module(full));
                }
                Out::Next(env)
            }
            S::ImportFrom(i) => {
                let module = i.module.as_ref().map(|x| x.to_string()).unwrap_or_default();
                for a in &i.names {
                    let bind = a.asname.as_ref().unwrap_or(&a.name).to_string();
                    env.insert(bind, self.import_from(&module, a.name.as_str()));
                }
                Out::Next(env)
            }
            S::Try(t) => self.exec_try(t, env, m),
            S::FunctionDef(d) => {
                env.insert(
                    d.name.to_string(),
                    opaque(d.name.as_str(), "a function defined inside a function"),
                );
                Out::Next(env)
            }
            _ => Out::Ret(opaque(
                &self.text(m, s),
                "a statement the reader does not follow (while, with, match...)",
            )),
        }
    }

    /// `try:` blocks: the body, or the handler under the conditions the body raises on
    /// (each operation of the body that can raise says when it does: an invalid IP address,
    /// a missing key read with `[]`, a conversion of a non-number...).
    fn exec_try(&self, t: &ast::StmtTry, env: Env, m: usize) -> Out {
        let saved = self.raises.replace(Some(Vec::new()));
        let saved_base = self.try_base.replace(self.path.borrow().len());
        let saved_loops = self.try_loops.replace(self.loop_depth.get());
        let body = self.exec_block(&t.body, env.clone(), m);
        let body = if t.orelse.is_empty() {
            body
        } else {
            self.cont(body, &mut |e| self.exec_block(&t.orelse, e, m))
        };
        let recorded = self.raises.replace(saved).unwrap_or_default();
        self.try_base.set(saved_base);
        self.try_loops.set(saved_loops);
        let raised = or(recorded);
        let mut out = body;
        if !t.handlers.is_empty() && const_of(&raised) != Some(false) {
            let mut handler_out: Option<Out> = None;
            for h in t.handlers.iter().rev() {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                let o = self.under(raised.clone(), || self.exec_block(&h.body, env.clone(), m));
                handler_out = Some(match handler_out {
                    None => o,
                    Some(prev) if same_out(&o, &prev) => prev,
                    Some(prev) => Out::Branch(
                        Expr::opaque("which exception", "which exception handler runs"),
                        Box::new(o),
                        Box::new(prev),
                    ),
                });
            }
            if let Some(h) = handler_out {
                out = branch(raised, h, out);
            }
        }
        if t.finalbody.is_empty() {
            out
        } else {
            self.cont(out, &mut |e| self.exec_block(&t.finalbody, e, m))
        }
    }

    fn assign(&self, target: &ast::Expr, v: Sym, env: &mut Env, m: usize) {
        use ast::Expr as E;
        match target {
            E::Name(n) => {
                env.insert(n.id.to_string(), v);
            }
            E::Tuple(ast::ExprTuple { elts, .. }) | E::List(ast::ExprList { elts, .. }) => {
                let items: Option<Vec<Sym>> = unpack(&v, elts.len());
                match items {
                    Some(items) => {
                        for (t, i) in elts.iter().zip(items) {
                            self.assign(t, i, env, m);
                        }
                    }
                    None => {
                        for t in elts {
                            let text = self.text(m, t);
                            self.assign(
                                t,
                                opaque(&text, "unpacking the reader does not follow"),
                                env,
                                m,
                            );
                        }
                    }
                }
            }
            E::Subscript(s) => {
                // d[k] = v on a local dict.
                if let E::Name(n) = &*s.value {
                    let key = self.eval(&s.slice, env, m);
                    let name = n.id.to_string();
                    let cur = env.get(&name).cloned();
                    let updated = match (cur, key) {
                        (Some(Sym::Dict(mut items)), Sym::Const(k)) => {
                            items.retain(|(x, _)| !x.py_eq(&k));
                            items.push((k, v));
                            Sym::Dict(items)
                        }
                        (Some(Sym::Const(Py::Dict(items))), Sym::Const(k)) => {
                            let mut items: Vec<(Py, Sym)> =
                                items.into_iter().map(|(a, b)| (a, Sym::Const(b))).collect();
                            items.retain(|(x, _)| !x.py_eq(&k));
                            items.push((k, v));
                            Sym::Dict(items)
                        }
                        _ => opaque(&name, "a value changed in place"),
                    };
                    env.insert(name, updated);
                }
            }
            _ => {}
        }
    }

    /// Expression statements: in-place changes of local lists, sets and dicts.
    fn side_effect(&self, e: &ast::Expr, env: &mut Env, m: usize) {
        let ast::Expr::Call(c) = e else {
            return;
        };
        let ast::Expr::Attribute(a) = &*c.func else {
            let _ = self.eval(e, env, m);
            return;
        };
        let ast::Expr::Name(n) = &*a.value else {
            return;
        };
        let name = n.id.to_string();
        let Some(cur) = env.get(&name).cloned() else {
            return;
        };
        let args: Vec<Sym> = c.args.iter().map(|x| self.eval(x, env, m)).collect();
        let mut items = match cur {
            Sym::Seq(items) => items,
            Sym::Const(Py::List(v) | Py::Set(v)) => v.into_iter().map(Sym::Const).collect(),
            Sym::Dict(_) | Sym::Const(Py::Dict(_)) if a.attr.as_str() == "update" => {
                env.insert(name.clone(), opaque(&name, "a dict changed in place"));
                return;
            }
            _ => return,
        };
        match (a.attr.as_str(), args.as_slice()) {
            ("append" | "add", [x]) => items.push(x.clone()),
            ("extend" | "update", [Sym::Const(c)]) => match c.iter_items() {
                Some(v) => items.extend(v.into_iter().map(Sym::Const)),
                None => {
                    env.insert(name.clone(), opaque(&name, "a list changed in place"));
                    return;
                }
            },
            ("extend" | "update", [Sym::Seq(v)]) => items.extend(v.iter().cloned()),
            _ => {
                env.insert(name.clone(), opaque(&name, "a list changed in place"));
                return;
            }
        }
        env.insert(name, seq_or_const(items));
    }

    fn exec_for(&self, f: &ast::StmtFor, mut env: Env, m: usize) -> Out {
        let iter = self.eval(&f.iter, &mut env, m);
        let text = self.text(m, f);
        self.for_over(f, iter, env, m, &text)
    }

    fn for_over(&self, f: &ast::StmtFor, iter: Sym, env: Env, m: usize, text: &str) -> Out {
        if let Sym::Cond(c, a, b) = iter {
            // The list is read once: split the loop on which list it is.
            let oa = self.for_over(f, *a, env.clone(), m, text);
            let ob = self.for_over(f, *b, env, m, text);
            return branch(*c, oa, ob);
        }
        if let Sym::Guarded(items) = iter {
            // Each element is in the list only under its condition.
            let mut out = Out::Next(env);
            self.loop_depth.set(self.loop_depth.get() + 1);
            for (g, item) in items {
                if !has_next(&out) {
                    break;
                }
                out = self.cont(out, &mut |mut e| {
                    let skip = Out::Next(e.clone());
                    self.assign(&f.target, item.clone(), &mut e, m);
                    let o = self.under(g.clone(), || self.exec_block(&f.body, e, m));
                    let o = map_leaves(o, &mut |l| match l {
                        Out::Continue(e) => Out::Next(e),
                        other => other,
                    });
                    branch(g.clone(), o, skip)
                });
            }
            self.loop_depth.set(self.loop_depth.get() - 1);
            return map_leaves(out, &mut |l| match l {
                Out::Break(e) => Out::Next(e),
                Out::Next(e) => self.exec_block(&f.orelse, e, m),
                other => other,
            });
        }
        if let Sym::Const(Py::None) = iter {
            return Out::Ret(Sym::Opaque {
                text: RAISES.into(),
                reason: "iterates over None".into(),
            });
        }
        let items: Option<Vec<Sym>> = match &iter {
            Sym::Const(c) => c
                .iter_items()
                .map(|v| v.into_iter().map(Sym::Const).collect()),
            Sym::Seq(items) => Some(items.clone()),
            Sym::Dict(items) => Some(items.iter().map(|(k, _)| Sym::Const(k.clone())).collect()),
            _ => None,
        };
        if let Some(items) = items {
            if items.len() > MAX_UNROLL {
                return Out::Ret(opaque(text, "a loop over a very long list"));
            }
            let mut out = Out::Next(env);
            self.loop_depth.set(self.loop_depth.get() + 1);
            for item in items {
                if !has_next(&out) {
                    break;
                }
                out = self.cont(out, &mut |mut e| {
                    self.assign(&f.target, item.clone(), &mut e, m);
                    let o = self.exec_block(&f.body, e, m);
                    map_leaves(o, &mut |l| match l {
                        Out::Continue(e) => Out::Next(e),
                        other => other,
                    })
                });
            }
            self.loop_depth.set(self.loop_depth.get() - 1);
            return map_leaves(out, &mut |l| match l {
                Out::Break(e) => Out::Next(e),
                Out::Next(e) => self.exec_block(&f.orelse, e, m),
                other => other,
            });
        }
        match iter {
            Sym::Field(list) => self.loop_over_field(f, list, env, m, text),
            Sym::Opaque { reason, .. } => Out::Ret(opaque(text, reason)),
            _ => Out::Ret(opaque(
                text,
                "a loop over a value the reader does not model",
            )),
        }
    }

    /// `for x in event.get("list"): ...`: only the shapes "return R when some element
    /// satisfies a condition" and "set a flag when some element does" are followed.
    fn loop_over_field(
        &self,
        f: &ast::StmtFor,
        list: Field,
        env: Env,
        m: usize,
        text: &str,
    ) -> Out {
        let give_up = |why: &str| Out::Ret(opaque(text, why.to_string()));
        if list.hint == Hint::Dict {
            return give_up("a loop over the keys of an object of the event");
        }
        if !list.is_plain() || list.hint == Hint::Str || !f.orelse.is_empty() {
            return give_up("a loop over the event's data");
        }
        let ast::Expr::Name(target) = &*f.target else {
            return give_up("a loop over the event's data with unpacking");
        };
        let marker = self.fresh_loop();
        let list_name = list.name();
        let mut path = list.path.clone();
        path.push(marker.clone());
        let elem = Field {
            path,
            missing: None,
            null: Some(Py::None),
            transform: None,
            conv: None,
            hint: Hint::Unknown,
        };
        let mut benv = env.clone();
        benv.insert(target.id.to_string(), Sym::Field(elem));
        self.loop_depth.set(self.loop_depth.get() + 1);
        let body = self.exec_block(&f.body, benv, m);
        self.loop_depth.set(self.loop_depth.get() - 1);
        let mut leaves = Vec::new();
        collect_leaves(&body, sym::t(true), &mut leaves);
        let self_updated = self_updates(&f.body);
        let mut loop_locals: BTreeSet<String> = BTreeSet::new();
        loop_locals.insert(target.id.to_string());
        let mut ret: Option<(Sym, Vec<Expr>)> = None;
        let mut flags: BTreeMap<String, (Sym, Vec<Expr>)> = BTreeMap::new();
        for (path_cond, leaf) in &leaves {
            match leaf {
                Out::Ret(v) => {
                    if sym::sym_has_marker(v) {
                        return give_up("a loop that returns an element of the event's list");
                    }
                    match &mut ret {
                        None => ret = Some((v.clone(), vec![path_cond.clone()])),
                        Some((r, conds)) => {
                            if !sym::same(r, v) {
                                return give_up("a loop with several different results");
                            }
                            conds.push(path_cond.clone());
                        }
                    }
                }
                Out::Next(e) | Out::Continue(e) | Out::Break(e) => {
                    if matches!(leaf, Out::Break(_)) && ret.is_some() {
                        return give_up("a loop that both returns and breaks");
                    }
                    for (k, v) in e {
                        let Some(old) = env.get(k) else {
                            // A variable of the loop body: it keeps the last element's value.
                            loop_locals.insert(k.clone());
                            continue;
                        };
                        if sym::same(old, v) {
                            continue;
                        }
                        if sym::sym_has_marker(v) || self_updated.contains(k) {
                            return give_up("a loop that accumulates values");
                        }
                        let entry = flags.entry(k.clone()).or_insert((v.clone(), Vec::new()));
                        if !sym::same(&entry.0, v) {
                            return give_up("a loop that sets a variable to several values");
                        }
                        entry.1.push(path_cond.clone());
                    }
                }
                Out::Branch(..) => unreachable!("leaves only"),
            }
        }
        let mut after = env.clone();
        for k in loop_locals {
            let v = opaque(
                &k,
                format!("`{k}` keeps the value of the last element of a loop"),
            );
            after.insert(k, v);
        }
        for (k, (v, conds)) in flags {
            let some = sym::exists(&or(conds), &marker, &list_name);
            let old = env.get(&k).cloned().unwrap_or(Sym::Const(Py::None));
            after.insert(k, cond(some, v, old));
        }
        match ret {
            None => Out::Next(after),
            Some((v, conds)) => {
                let some = sym::exists(&or(conds), &marker, &list_name);
                branch(some, Out::Ret(v), Out::Next(after))
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Expressions.

    /// The truth of an expression in a test position (`if`, `and`, `not`).
    pub fn cond(&self, e: &ast::Expr, env: &mut Env, m: usize) -> Expr {
        match e {
            ast::Expr::BoolOp(b) => {
                // Later operands run only when the earlier ones did not decide.
                let mut parts: Vec<Expr> = Vec::new();
                for v in &b.values {
                    let before = match b.op {
                        ast::BoolOp::And => and(parts.clone()),
                        ast::BoolOp::Or => not(or(parts.clone())),
                    };
                    if const_of(&before) == Some(false) {
                        break;
                    }
                    parts.push(self.under(before, || self.cond(v, env, m)));
                }
                match b.op {
                    ast::BoolOp::And => and(parts),
                    ast::BoolOp::Or => or(parts),
                }
            }
            ast::Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => {
                not(self.cond(&u.operand, env, m))
            }
            _ => truthy(&self.eval(e, env, m)),
        }
    }

    pub fn eval(&self, e: &ast::Expr, env: &mut Env, m: usize) -> Sym {
        let v = self.eval_inner(e, env, m);
        if let Sym::Field(f) = &v {
            self.record_read(f);
        }
        if self.in_try() && !matches!(e, ast::Expr::Name(_) | ast::Expr::Constant(_)) {
            self.record_raises(&v);
        }
        v
    }

    /// Calls `k` on each field a (conditional) value may be, under the conditions leading
    /// to it.
    pub fn each_field(&self, v: &Sym, k: &mut dyn FnMut(&Field)) {
        match v {
            Sym::Field(f) => k(f),
            Sym::Cond(c, a, b) => {
                self.under((**c).clone(), || self.each_field(a, k));
                self.under(not((**c).clone()), || self.each_field(b, k));
            }
            _ => {}
        }
    }

    /// Inside a `try:` body: what a value just computed says about exceptions (a read that
    /// raises when the key is absent, an opaque computation that might raise).
    fn record_raises(&self, v: &Sym) {
        match v {
            Sym::Field(f) if !f.path.iter().any(|p| p.contains(sym::ELEM)) => {
                if f.missing.is_none() {
                    self.may_raise(sym::missing_guard(f));
                }
                if f.null.is_none() {
                    self.may_raise(sym::null_guard(f));
                }
            }
            Sym::Cond(c, a, b) => {
                self.under((**c).clone(), || self.record_raises(a));
                self.under(not((**c).clone()), || self.record_raises(b));
            }
            Sym::Opaque { text, .. } if text == sym::RAISES => self.may_raise(sym::t(true)),
            Sym::Opaque { text, .. } => self.may_raise(Expr::opaque(
                format!("an exception in: {text}"),
                "whether the try block raises",
            )),
            _ => {}
        }
    }

    fn eval_inner(&self, e: &ast::Expr, env: &mut Env, m: usize) -> Sym {
        if !self.tick() {
            return opaque(&self.text(m, e), "the rule is too large to read");
        }
        use ast::Expr as E;
        match e {
            E::Constant(c) => const_sym(&c.value, &self.text(m, e)),
            E::Name(n) => self.lookup(n.id.as_str(), env, m),
            E::BoolOp(b) => {
                let mut vals: Vec<Sym> = Vec::new();
                for v in &b.values {
                    let truths: Vec<Expr> = vals.iter().map(truthy).collect();
                    let before = match b.op {
                        ast::BoolOp::And => and(truths),
                        ast::BoolOp::Or => not(or(truths)),
                    };
                    vals.push(self.under(before, || self.eval(v, env, m)));
                }
                bool_op(b.op, vals)
            }
            E::UnaryOp(u) => {
                let v = self.eval(&u.operand, env, m);
                match (u.op, &v) {
                    (ast::UnaryOp::Not, _) => sym::negate(v),
                    (ast::UnaryOp::USub, Sym::Const(Py::Int(i))) => Sym::Const(Py::Int(-i)),
                    (ast::UnaryOp::USub, Sym::Const(Py::Float(f))) => Sym::Const(Py::Float(-f)),
                    (ast::UnaryOp::UAdd, Sym::Const(_)) => v,
                    _ => opaque(&self.text(m, e), "arithmetic on the event's data"),
                }
            }
            E::Compare(c) => {
                let text = self.text(m, e);
                let mut left = self.eval(&c.left, env, m);
                let mut parts = Vec::new();
                for (op, right) in c.ops.iter().zip(&c.comparators) {
                    let r = self.eval(right, env, m);
                    let cmp = match op {
                        ast::CmpOp::Eq => Cmp::Eq,
                        ast::CmpOp::NotEq => Cmp::Ne,
                        ast::CmpOp::Lt => Cmp::Lt,
                        ast::CmpOp::LtE => Cmp::Le,
                        ast::CmpOp::Gt => Cmp::Gt,
                        ast::CmpOp::GtE => Cmp::Ge,
                        ast::CmpOp::Is => Cmp::Is,
                        ast::CmpOp::IsNot => Cmp::IsNot,
                        ast::CmpOp::In => Cmp::In,
                        ast::CmpOp::NotIn => Cmp::NotIn,
                    };
                    let r2 = natives::compare_special(&left, cmp, &r, &text)
                        .unwrap_or_else(|| sym::compare(&left, cmp, &r, &text));
                    parts.push(r2);
                    left = r;
                }
                if parts.len() == 1 {
                    return parts.pop().expect("one part");
                }
                if let Some(Sym::Opaque { reason, .. }) =
                    parts.iter().find(|p| matches!(p, Sym::Opaque { .. }))
                {
                    return opaque(&text, reason.clone());
                }
                bool_sym(and(parts.iter().map(truthy).collect()))
            }
            E::Call(c) => self.eval_call(c, env, m),
            E::Attribute(a) => {
                let recv = self.eval(&a.value, env, m);
                let text = self.text(m, e);
                natives::attribute(self, &recv, a.attr.as_str(), &text)
            }
            E::Subscript(s) => {
                let base = self.eval(&s.value, env, m);
                let text = self.text(m, e);
                if let E::Slice(_) = &*s.slice {
                    return match base {
                        Sym::Opaque { reason, .. } => opaque(&text, reason),
                        _ => opaque(&text, "slicing"),
                    };
                }
                let key = self.eval(&s.slice, env, m);
                natives::subscript(self, &base, &key, &text)
            }
            E::IfExp(i) => {
                let c = self.cond(&i.test, env, m);
                match const_of(&c) {
                    Some(true) => self.eval(&i.body, env, m),
                    Some(false) => self.eval(&i.orelse, env, m),
                    None => {
                        let a = self.under(c.clone(), || self.eval(&i.body, env, m));
                        let b = self.under(not(c.clone()), || self.eval(&i.orelse, env, m));
                        cond(c, a, b)
                    }
                }
            }
            E::List(ast::ExprList { elts, .. }) | E::Tuple(ast::ExprTuple { elts, .. }) => {
                let tuple = matches!(e, E::Tuple(_));
                let mut items = Vec::new();
                for x in elts {
                    if let E::Starred(s) = x {
                        let v = self.eval(&s.value, env, m);
                        match v {
                            Sym::Const(c)
                                if c.iter_items().is_some() && !matches!(c, Py::Str(_)) =>
                            {
                                items.extend(
                                    c.iter_items()
                                        .unwrap_or_default()
                                        .into_iter()
                                        .map(Sym::Const),
                                )
                            }
                            Sym::Seq(v) => items.extend(v),
                            _ => {
                                return opaque(
                                    &self.text(m, e),
                                    "unpacking the reader does not follow",
                                )
                            }
                        }
                        continue;
                    }
                    items.push(self.eval(x, env, m));
                }
                if items.iter().all(|i| matches!(i, Sym::Const(_))) {
                    let c: Vec<Py> = items
                        .into_iter()
                        .map(|i| match i {
                            Sym::Const(c) => c,
                            _ => Py::None,
                        })
                        .collect();
                    Sym::Const(if tuple { Py::Tuple(c) } else { Py::List(c) })
                } else {
                    Sym::Seq(items)
                }
            }
            E::Set(s) => {
                let items: Vec<Sym> = s.elts.iter().map(|x| self.eval(x, env, m)).collect();
                if items.iter().all(|i| matches!(i, Sym::Const(_))) {
                    Sym::Const(Py::set(
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
            E::Dict(d) => {
                let mut items: Vec<(Py, Sym)> = Vec::new();
                for (k, v) in d.keys.iter().zip(&d.values) {
                    let val = self.eval(v, env, m);
                    match k {
                        Some(k) => match self.eval(k, env, m) {
                            Sym::Const(k) => {
                                items.retain(|(x, _)| !x.py_eq(&k));
                                items.push((k, val));
                            }
                            _ => return opaque(&self.text(m, e), "a dict with computed keys"),
                        },
                        None => match val {
                            Sym::Dict(more) => items.extend(more),
                            Sym::Const(Py::Dict(more)) => {
                                items.extend(more.into_iter().map(|(a, b)| (a, Sym::Const(b))))
                            }
                            _ => {
                                return opaque(&self.text(m, e), "a dict built from another value")
                            }
                        },
                    }
                }
                if items.iter().all(|(_, v)| matches!(v, Sym::Const(_))) {
                    Sym::Const(Py::Dict(
                        items
                            .into_iter()
                            .map(|(k, v)| match v {
                                Sym::Const(c) => (k, c),
                                _ => (k, Py::None),
                            })
                            .collect(),
                    ))
                } else {
                    Sym::Dict(items)
                }
            }
            E::JoinedStr(j) => {
                let mut s = String::new();
                let mut known = true;
                for part in &j.values {
                    match self.eval(part, env, m) {
                        Sym::Const(c) => s.push_str(&c.py_str()),
                        _ => known = false,
                    }
                }
                if known {
                    Sym::Const(Py::Str(s))
                } else {
                    opaque(&self.text(m, e), "a string built from the event's data")
                }
            }
            E::FormattedValue(f) => {
                let v = self.eval(&f.value, env, m);
                if f.format_spec.is_some() {
                    return opaque(&self.text(m, e), "formatted value");
                }
                match v {
                    Sym::Const(c) => Sym::Const(Py::Str(c.py_str())),
                    other => other,
                }
            }
            E::BinOp(b) => {
                let l = self.eval(&b.left, env, m);
                let r = self.eval(&b.right, env, m);
                natives::binop(self, &l, b.op, &r, &self.text(m, e))
            }
            E::NamedExpr(n) => {
                let v = self.eval(&n.value, env, m);
                self.assign(&n.target, v.clone(), env, m);
                v
            }
            E::ListComp(c) => self.comprehension(&c.elt, &c.generators, Comp::List, env, m, e),
            E::SetComp(c) => self.comprehension(&c.elt, &c.generators, Comp::List, env, m, e),
            E::GeneratorExp(c) => self.comprehension(&c.elt, &c.generators, Comp::List, env, m, e),
            _ => opaque(&self.text(m, e), "an expression the reader does not follow"),
        }
    }

    fn eval_call(&self, c: &ast::ExprCall, env: &mut Env, m: usize) -> Sym {
        let text = self.text(m, c);
        // any()/all() over a generator: quantifiers.
        if let ast::Expr::Name(n) = &*c.func {
            let fname = n.id.as_str();
            if (fname == "any" || fname == "all") && c.args.len() == 1 && !env.contains_key(fname) {
                let builtin = matches!(self.modules[m].globals.get(fname), None);
                if builtin {
                    let q = if fname == "any" { Comp::Any } else { Comp::All };
                    match &c.args[0] {
                        ast::Expr::GeneratorExp(g) => {
                            return self.comprehension(&g.elt, &g.generators, q, env, m, &c.args[0])
                        }
                        ast::Expr::ListComp(g) => {
                            return self.comprehension(&g.elt, &g.generators, q, env, m, &c.args[0])
                        }
                        _ => {}
                    }
                }
            }
        }
        let (f, recv_method) = match &*c.func {
            ast::Expr::Attribute(a) => {
                let recv = self.eval(&a.value, env, m);
                (None, Some((recv, a.attr.to_string())))
            }
            other => (Some(self.eval(other, env, m)), None),
        };
        let mut args = Vec::new();
        for a in &c.args {
            if let ast::Expr::Starred(s) = a {
                match self.eval(&s.value, env, m) {
                    Sym::Const(v) if v.iter_items().is_some() => args.extend(
                        v.iter_items()
                            .unwrap_or_default()
                            .into_iter()
                            .map(Sym::Const),
                    ),
                    Sym::Seq(v) => args.extend(v),
                    _ => return opaque(&text, "a call with unpacked arguments"),
                }
                continue;
            }
            args.push(self.eval(a, env, m));
        }
        let mut kwargs = Vec::new();
        for k in &c.keywords {
            let v = self.eval(&k.value, env, m);
            match &k.arg {
                Some(name) => kwargs.push((name.to_string(), v)),
                None => match v {
                    Sym::Const(Py::Dict(d)) => {
                        for (k, v) in d {
                            match k {
                                Py::Str(s) => kwargs.push((s, Sym::Const(v))),
                                _ => return opaque(&text, "a call with unpacked arguments"),
                            }
                        }
                    }
                    _ => return opaque(&text, "a call with unpacked arguments"),
                },
            }
        }
        match (f, recv_method) {
            (_, Some((recv, name))) => natives::method(self, &recv, &name, &args, &kwargs, &text),
            (Some(f), None) => self.call(&f, args, kwargs, &text),
            (None, None) => opaque(&text, "call"),
        }
    }

    /// Comprehensions: unrolled over known lists; over the event's lists only as the
    /// argument of `any()` / `all()` (some element / every element).
    fn comprehension(
        &self,
        elt: &ast::Expr,
        gens: &[ast::Comprehension],
        kind: Comp,
        env: &mut Env,
        m: usize,
        whole: &ast::Expr,
    ) -> Sym {
        let text = self.text(m, whole);
        let [g] = gens else {
            return opaque(&text, "a comprehension with several `for`");
        };
        let iter = self.eval(&g.iter, env, m);
        self.comp_over(elt, g, iter, kind, env, m, &text)
    }

    #[allow(clippy::too_many_arguments)]
    fn comp_over(
        &self,
        elt: &ast::Expr,
        g: &ast::Comprehension,
        iter: Sym,
        kind: Comp,
        env: &mut Env,
        m: usize,
        text: &str,
    ) -> Sym {
        if let Sym::Cond(c, a, b) = iter {
            let l = self.comp_over(elt, g, *a, kind, &mut env.clone(), m, text);
            let r = self.comp_over(elt, g, *b, kind, env, m, text);
            return match kind {
                Comp::List => cond(*c, l, r),
                _ => sym::bool_ite(*c, l, r),
            };
        }
        let text = text.to_string();
        let items: Option<Vec<Sym>> = match &iter {
            Sym::Const(c) => c
                .iter_items()
                .map(|v| v.into_iter().map(Sym::Const).collect()),
            Sym::Seq(items) => Some(items.clone()),
            Sym::Dict(items) => Some(items.iter().map(|(k, _)| Sym::Const(k.clone())).collect()),
            _ => None,
        };
        if let Some(items) = items {
            if items.len() > MAX_UNROLL {
                return opaque(&text, "a comprehension over a very long list");
            }
            let mut guarded: Vec<(Expr, Sym)> = Vec::new();
            for item in items {
                let mut e2 = env.clone();
                self.assign(&g.target, item, &mut e2, m);
                let guard = and(g.ifs.iter().map(|c| self.cond(c, &mut e2, m)).collect());
                if const_of(&guard) == Some(false) {
                    continue;
                }
                let v = self.eval(elt, &mut e2, m);
                guarded.push((guard, v));
            }
            return match kind {
                Comp::Any => bool_sym(or(guarded
                    .iter()
                    .map(|(g, v)| and(vec![g.clone(), truthy(v)]))
                    .collect())),
                Comp::All => bool_sym(and(guarded
                    .iter()
                    .map(|(g, v)| or(vec![not(g.clone()), truthy(v)]))
                    .collect())),
                Comp::List => {
                    if guarded.iter().all(|(g, _)| const_of(g) == Some(true)) {
                        seq_or_const(guarded.into_iter().map(|(_, v)| v).collect())
                    } else {
                        Sym::Guarded(guarded)
                    }
                }
            };
        }
        let list = match iter {
            Sym::Field(f) if f.is_plain() && !matches!(f.hint, Hint::Str | Hint::Dict) => f,
            Sym::Opaque { reason, .. } => return opaque(&text, reason),
            _ => {
                return opaque(
                    &text,
                    "a comprehension over a value the reader does not model",
                )
            }
        };
        let ast::Expr::Name(target) = &g.target else {
            return opaque(&text, "a comprehension with unpacking");
        };
        if kind == Comp::List && g.ifs.is_empty() && is_identity(elt, target.id.as_str()) {
            // [x for x in list] and [str(x) for x in list] are the list itself.
            let mut f = list.clone();
            f.hint = Hint::List;
            return Sym::Field(f);
        }
        let marker = self.fresh_loop();
        let mut path = list.path.clone();
        path.push(marker.clone());
        let elem = Field {
            path,
            missing: None,
            null: Some(Py::None),
            transform: None,
            conv: None,
            hint: Hint::Unknown,
        };
        let mut e2 = env.clone();
        e2.insert(target.id.to_string(), Sym::Field(elem));
        let guard = and(g.ifs.iter().map(|c| self.cond(c, &mut e2, m)).collect());
        let value = self.eval(elt, &mut e2, m);
        if kind == Comp::List {
            return Sym::Filtered(Box::new(sym::Filtered {
                list,
                marker,
                cond: guard,
                elem: value,
            }));
        }
        let v = truthy(&value);
        let q = match kind {
            Comp::Any => sym::exists(&and(vec![guard, v]), &marker, &list.name()),
            _ => not(sym::exists(
                &and(vec![guard, not(v)]),
                &marker,
                &list.name(),
            )),
        };
        if sym::has_this_marker(&q, &marker) {
            return opaque(&text, "a condition on the elements of a list");
        }
        bool_sym(q)
    }

    // -----------------------------------------------------------------------------------
    // Data models.

    /// `event.udm(key)` as Panther resolves it: the data model of the event's log type
    /// (selected by `p_log_type`), else `p_udm.<key>`, else the key itself.
    pub fn udm(&self, key: &str, default: Py, text: &str) -> Sym {
        let fallback = {
            let a = Field {
                path: vec!["p_udm".into(), key.into()],
                missing: Some(Py::None),
                null: Some(Py::None),
                transform: None,
                conv: None,
                hint: Hint::Unknown,
            };
            let b = Field {
                path: vec![key.into()],
                missing: Some(Py::None),
                null: Some(Py::None),
                transform: None,
                conv: None,
                hint: Hint::Unknown,
            };
            let ta = truthy(&Sym::Field(a.clone()));
            let tb = truthy(&Sym::Field(b.clone()));
            cond(
                ta,
                Sym::Field(a),
                cond(tb, Sym::Field(b), Sym::Const(default.clone())),
            )
        };
        if self.ctx.kind != EventKind::Rule {
            return fallback;
        }
        let lt_pred = |lts: &[String]| {
            Expr::Pred(
                Predicate::field(
                    "p_log_type",
                    Op::Eq,
                    lts.iter().map(|l| Value::str(l.clone())).collect(),
                )
                .cased(true),
            )
        };
        // Branches per log type with a data model that maps the key.
        let mut branches: Vec<(Vec<String>, Sym)> = Vec::new();
        for lt in self.ctx.log_types {
            let Some(model) = self.ctx.data_models.get(lt.as_str()) else {
                continue;
            };
            let Some((_, mapping)) = model.iter().find(|(n, _)| n == key) else {
                continue;
            };
            let v = match mapping {
                Mapping::Path(p) => Sym::Field(Field {
                    path: p.clone(),
                    missing: Some(default.clone()),
                    null: Some(Py::None),
                    transform: None,
                    conv: None,
                    hint: Hint::Unknown,
                }),
                Mapping::Method { module, name } => {
                    match module.as_deref().and_then(|m| self.by_name.get(m)) {
                        Some(&i) => {
                            let call = format!("{name}(event)");
                            let only = lt_pred(std::slice::from_ref(lt));
                            self.under(only, || {
                                self.call_user(i, name, vec![Sym::Event], Vec::new(), &call)
                            })
                        }
                        None => opaque(text, format!("data model method `{name}` for {lt}")),
                    }
                }
                Mapping::Unsupported(p) => opaque(text, format!("data model path `{p}`")),
            };
            match branches.iter_mut().find(|(_, s)| sym::same(s, &v)) {
                Some((lts, _)) => lts.push(lt.clone()),
                None => branches.push((vec![lt.clone()], v)),
            }
        }
        if branches.is_empty() {
            return fallback;
        }
        // p_log_type picks the data model; any other log type falls back.
        let mut out = fallback;
        for (lts, v) in branches.into_iter().rev() {
            out = cond(lt_pred(&lts), v, out);
        }
        out
    }
}

/// The `n` parts of a value unpacked into `n` names (`a, b = value`); a conditional value
/// unpacks into conditional parts.
fn unpack(v: &Sym, n: usize) -> Option<Vec<Sym>> {
    match v {
        Sym::Const(c) if !matches!(c, Py::Str(_)) => c
            .iter_items()
            .filter(|i| i.len() == n)
            .map(|i| i.into_iter().map(Sym::Const).collect()),
        Sym::Seq(items) if items.len() == n => Some(items.clone()),
        Sym::Cond(c, a, b) => {
            // A side that cannot be unpacked gives unknown parts (or raises).
            let parts = |s: &Sym| {
                unpack(s, n).unwrap_or_else(|| {
                    let unknown = match s {
                        Sym::Opaque { .. } => s.clone(),
                        _ => opaque("<unpacking>", "unpacking the reader does not follow"),
                    };
                    vec![unknown; n]
                })
            };
            if unpack(a, n).is_none() && unpack(b, n).is_none() {
                return None;
            }
            Some(
                parts(a)
                    .into_iter()
                    .zip(parts(b))
                    .map(|(x, y)| cond((**c).clone(), x, y))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// `x` or `str(x)` for the comprehension variable `x`.
fn is_identity(elt: &ast::Expr, target: &str) -> bool {
    match elt {
        ast::Expr::Name(n) => n.id.as_str() == target,
        ast::Expr::Call(c) => {
            matches!(&*c.func, ast::Expr::Name(f) if f.id.as_str() == "str")
                && c.args.len() == 1
                && c.keywords.is_empty()
                && matches!(&c.args[0], ast::Expr::Name(n) if n.id.as_str() == target)
        }
        _ => false,
    }
}

/// Names a block updates from their own value (`n += 1`, `seen = seen + [x]`).
fn self_updates(body: &[ast::Stmt]) -> BTreeSet<String> {
    fn mentions(e: &ast::Expr, name: &str) -> bool {
        let text = format!("{e:?}");
        text.contains(&format!("id: Identifier(\"{name}\")"))
    }
    fn go(body: &[ast::Stmt], out: &mut BTreeSet<String>) {
        for s in body {
            match s {
                ast::Stmt::AugAssign(a) => {
                    if let ast::Expr::Name(n) = &*a.target {
                        out.insert(n.id.to_string());
                    }
                }
                ast::Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let ast::Expr::Name(n) = t {
                            if mentions(&a.value, n.id.as_str()) {
                                out.insert(n.id.to_string());
                            }
                        }
                    }
                }
                ast::Stmt::If(i) => {
                    go(&i.body, out);
                    go(&i.orelse, out);
                }
                ast::Stmt::For(f) => go(&f.body, out),
                ast::Stmt::Try(t) => {
                    go(&t.body, out);
                    go(&t.orelse, out);
                    go(&t.finalbody, out);
                }
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    go(body, &mut out);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comp {
    Any,
    All,
    List,
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

/// `a and b` / `a or b` with Python's value semantics (`x or "default"`).
fn bool_op(op: ast::BoolOp, vals: Vec<Sym>) -> Sym {
    let boolish = |s: &Sym| matches!(s, Sym::Bool(_) | Sym::Const(Py::Bool(_)));
    if vals.iter().all(boolish) {
        let parts: Vec<Expr> = vals.iter().map(truthy).collect();
        return bool_sym(match op {
            ast::BoolOp::And => and(parts),
            ast::BoolOp::Or => or(parts),
        });
    }
    let mut it = vals.into_iter().rev();
    let mut acc = it.next().unwrap_or(Sym::Const(Py::None));
    for v in it {
        if let Sym::Opaque { .. } = v {
            // An unknown first operand hides which value results.
            acc = match (&acc, op) {
                (Sym::Bool(_) | Sym::Const(Py::Bool(_)), ast::BoolOp::And) => {
                    bool_sym(and(vec![truthy(&v), truthy(&acc)]))
                }
                (Sym::Bool(_) | Sym::Const(Py::Bool(_)), ast::BoolOp::Or) => {
                    bool_sym(or(vec![truthy(&v), truthy(&acc)]))
                }
                _ => v,
            };
            continue;
        }
        let c = truthy(&v);
        acc = match op {
            ast::BoolOp::And => cond(c, acc, v),
            ast::BoolOp::Or => cond(c, v, acc),
        };
    }
    acc
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
