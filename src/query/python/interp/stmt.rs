//! Statements: assignments, `if`, `for` (unrolled over known lists, quantified over the
//! event's lists), `try`, and the in-place changes of local lists and dicts.

use super::{
    branch, collect_leaves, has_next, map_leaves, same_out, seq_or_const, Env, Interp, Out,
    MAX_UNROLL, RAISES,
};
use crate::model::Expr;
use crate::query::python::natives;
use crate::query::python::sym::{self, cond, const_of, not, opaque, or, Field, Hint, Sym};
use crate::query::python::value::Py;
use rustpython_parser::ast;
use std::collections::{BTreeMap, BTreeSet};

impl<'a> Interp<'a> {
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

    pub(super) fn exec_stmt(&self, s: &ast::Stmt, mut env: Env, m: usize) -> Out {
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
    pub(super) fn exec_try(&self, t: &ast::StmtTry, env: Env, m: usize) -> Out {
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

    pub(super) fn assign(&self, target: &ast::Expr, v: Sym, env: &mut Env, m: usize) {
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
    pub(super) fn side_effect(&self, e: &ast::Expr, env: &mut Env, m: usize) {
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

    pub(super) fn exec_for(&self, f: &ast::StmtFor, mut env: Env, m: usize) -> Out {
        let iter = self.eval(&f.iter, &mut env, m);
        let text = self.text(m, f);
        self.for_over(f, iter, env, m, &text)
    }

    pub(super) fn for_over(
        &self,
        f: &ast::StmtFor,
        iter: Sym,
        env: Env,
        m: usize,
        text: &str,
    ) -> Out {
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
    pub(super) fn loop_over_field(
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
