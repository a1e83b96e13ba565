//! One event variable's boolean filter to IR predicates: comparisons, regexes, string and
//! network functions, reference lists. What does not map stays `Expr::Opaque`.

use super::ast::*;
use super::lower::squash;
use crate::model::{Expr, Op, Predicate, Transform, Value};
use std::cell::RefCell;

/// What lowering a filter needs: the file text (for opaque snippets), the reference list
/// resolver, which names are event variables, and the opaque syntax found so far.
pub(super) struct Ctx<'a> {
    pub src: &'a str,
    pub lists: &'a dyn Fn(&str) -> Option<Vec<String>>,
    pub is_event: &'a dyn Fn(&str) -> bool,
    pub unsupported: RefCell<Vec<(Span, String)>>,
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

impl Ctx<'_> {
    fn text(&self, s: Span) -> String {
        squash(self.src.get(s.start..s.end).unwrap_or(""))
    }
    pub(super) fn note(&self, span: Span, reason: &str) {
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
    pub(super) fn filter(&self, a: &Ast) -> Expr {
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
