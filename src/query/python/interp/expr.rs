//! Expressions: names, calls, comparisons, `and`/`or`, literals, f-strings,
//! comprehensions (unrolled over known lists, quantified over the event's lists).

use super::{bool_sym, const_sym, seq_or_const, Env, Interp, MAX_UNROLL};
use crate::model::Expr;
use crate::query::python::natives;
use crate::query::python::sym::{
    self, and, cond, const_of, not, opaque, or, truthy, Cmp, Field, Hint, Sym,
};
use crate::query::python::value::Py;
use rustpython_parser::ast;

impl<'a> Interp<'a> {
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
    pub(super) fn record_raises(&self, v: &Sym) {
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

    pub(super) fn eval_inner(&self, e: &ast::Expr, env: &mut Env, m: usize) -> Sym {
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
                // Constant text around at most one field of the event.
                let mut before = String::new();
                let mut after = String::new();
                let mut field: Option<Field> = None;
                let mut known = true;
                for part in &j.values {
                    let plain = !matches!(part, ast::Expr::FormattedValue(f)
                        if f.format_spec.is_some() || f.conversion != ast::ConversionFlag::None);
                    match self.eval(part, env, m) {
                        Sym::Const(c) if field.is_none() => before.push_str(&c.py_str()),
                        Sym::Const(c) => after.push_str(&c.py_str()),
                        Sym::Field(f) if field.is_none() && plain && f.is_plain() => {
                            field = Some(f)
                        }
                        _ => known = false,
                    }
                }
                match (known, field) {
                    (true, None) => Sym::Const(Py::Str(before)),
                    (true, Some(f)) => Sym::Concat {
                        prefix: before,
                        field: f,
                        suffix: after,
                    },
                    _ => opaque(&self.text(m, e), "a string built from the event's data"),
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

    pub(super) fn eval_call(&self, c: &ast::ExprCall, env: &mut Env, m: usize) -> Sym {
        let text = self.text(m, c);
        // any()/all() over a generator: quantifiers.
        if let ast::Expr::Name(n) = &*c.func {
            let fname = n.id.as_str();
            if (fname == "any" || fname == "all") && c.args.len() == 1 && !env.contains_key(fname) {
                let builtin = !self.modules[m].globals.contains_key(fname);
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
    pub(super) fn comprehension(
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
    pub(super) fn comp_over(
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Comp {
    Any,
    All,
    List,
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
