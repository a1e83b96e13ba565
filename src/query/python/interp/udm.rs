//! `event.udm(key)`: the data model of the event's log type, else `p_udm.<key>`, else the
//! key itself.

use super::Interp;
use crate::model::{Expr, Op, Predicate, Value};
use crate::query::python::sym::{self, cond, opaque, truthy, Field, Hint, Sym};
use crate::query::python::value::Py;
use crate::query::python::{EventKind, Mapping};

impl<'a> Interp<'a> {
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
