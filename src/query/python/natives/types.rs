//! `isinstance` as JSON type tests, and `str()` / `int()` / `float()` conversions.

use super::*;

/// The type names of the second argument of `isinstance` (a type or a tuple of types).
pub(super) fn type_names(t: &Sym) -> Option<Vec<String>> {
    match t {
        Sym::Func(Func::Native(n)) => Some(vec![n.clone()]),
        Sym::Seq(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(type_names(i)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Whether a known Python value is an instance of one of the named types.
pub(super) fn py_isinstance(c: &Py, names: &[String]) -> bool {
    let tn = c.type_name();
    names.iter().any(|n| match n.as_str() {
        "int" => tn == "int" || tn == "bool",
        "abc.Mapping" | "abc.MutableMapping" => tn == "dict",
        "abc.Sequence" => matches!(tn, "list" | "tuple" | "str"),
        "abc.MutableSequence" => tn == "list",
        "abc.Iterable" | "abc.Collection" => {
            matches!(tn, "list" | "tuple" | "str" | "set" | "dict")
        }
        other => other == tn,
    })
}

/// `isinstance(x, T)`: for event data, the JSON types Python sees as `T`. Rules receive
/// the event's objects and arrays as Panther's immutable wrappers, which are `Mapping` and
/// `Sequence` but not `dict` or `list`; policies receive plain dicts and lists.
pub(super) fn isinstance(x: &Sym, names: &[String], policy: bool, text: &str) -> Sym {
    match x {
        Sym::Const(c) => Sym::Const(Py::Bool(py_isinstance(c, names))),
        Sym::Field(f) => {
            if f.conv.is_some() || f.transform.is_some() {
                let as_py = match f.conv {
                    Some(Conv::Int) => Py::Int(0),
                    Some(Conv::Float) => Py::Float(0.0),
                    _ => Py::str(""),
                };
                let present = py_isinstance(&as_py, names);
                let chk = |d: &Py| Some(py_isinstance(d, names));
                return bool_sym(sym::with_fallbacks(f, sym::t(present), &chk));
            }
            let mut types: Vec<&str> = Vec::new();
            for n in names {
                let add: &[&str] = match n.as_str() {
                    "str" => &["string"],
                    "int" => &["integer", "boolean"],
                    "float" => &["float"],
                    "bool" => &["boolean"],
                    "dict" if policy => &["object"],
                    "list" if policy => &["array"],
                    "dict" | "list" | "tuple" | "set" | "frozenset" => &[],
                    "abc.Mapping" => &["object"],
                    "abc.MutableMapping" if policy => &["object"],
                    "abc.Sequence" => &["array", "string"],
                    "abc.MutableSequence" if policy => &["array"],
                    "abc.MutableMapping" | "abc.MutableSequence" => &[],
                    "abc.Iterable" | "abc.Collection" => &["array", "string", "object"],
                    "abc.ImmutableList" if !policy => &["array"],
                    "abc.ImmutableDict" if !policy => &["object"],
                    "abc.ImmutableList" | "abc.ImmutableDict" | "MagicMock" => &[],
                    _ => return opaque(text, format!("isinstance() with type `{n}`")),
                };
                for a in add {
                    if !types.contains(a) {
                        types.push(a);
                    }
                }
            }
            let present = if types.is_empty() {
                sym::t(false)
            } else {
                Expr::Pred(
                    Predicate::field(
                        f.name(),
                        Op::IsType,
                        types.iter().map(|t| Value::str(*t)).collect(),
                    )
                    .cased(true),
                )
            };
            let chk = |d: &Py| Some(py_isinstance(d, names));
            bool_sym(sym::with_fallbacks(f, present, &chk))
        }
        Sym::Cond(c, a, b) => sym::bool_ite(
            (**c).clone(),
            isinstance(a, names, policy, text),
            isinstance(b, names, policy, text),
        ),
        Sym::Seq(_) => Sym::Const(Py::Bool(names.iter().any(|n| {
            matches!(
                n.as_str(),
                "list" | "abc.Sequence" | "abc.MutableSequence" | "abc.Iterable" | "abc.Collection"
            )
        }))),
        Sym::Dict(_) => Sym::Const(Py::Bool(names.iter().any(|n| {
            matches!(
                n.as_str(),
                "dict" | "abc.Mapping" | "abc.MutableMapping" | "abc.Iterable" | "abc.Collection"
            )
        }))),
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => opaque(text, "a type test of a value the reader does not model"),
    }
}

/// `str(x)`, `int(x)`, `float(x)`.
pub(super) fn convert(name: &str, args: &[Sym], text: &str) -> Sym {
    let conv = match name {
        "str" => Conv::Str,
        "int" => Conv::Int,
        _ => Conv::Float,
    };
    let apply = |p: &Py| -> Option<Py> {
        match (conv, p) {
            (Conv::Str, p) => Some(Py::Str(p.py_str())),
            (Conv::Int, Py::Int(i)) => Some(Py::Int(*i)),
            (Conv::Int, Py::Bool(b)) => Some(Py::Int(i64::from(*b))),
            (Conv::Int, Py::Float(f)) => Some(Py::Int(f.trunc() as i64)),
            (Conv::Int, Py::Str(s)) => s.trim().parse::<i64>().ok().map(Py::Int),
            (Conv::Float, Py::Int(i)) => Some(Py::Float(*i as f64)),
            (Conv::Float, Py::Float(f)) => Some(Py::Float(*f)),
            (Conv::Float, Py::Str(s)) => s.trim().parse::<f64>().ok().map(Py::Float),
            _ => None,
        }
    };
    match args {
        [] => Sym::Const(match conv {
            Conv::Str => Py::str(""),
            Conv::Int => Py::Int(0),
            Conv::Float => Py::Float(0.0),
        }),
        [Sym::Const(c)] => apply(c).map(Sym::Const).unwrap_or_else(|| raises(text)),
        [Sym::Field(f)] => {
            if f.conv.is_some() || f.transform.is_some() {
                if f.conv == Some(conv) {
                    return Sym::Field(f.clone());
                }
                return opaque(text, "conversions of a converted value");
            }
            let mut g = f.clone();
            g.conv = Some(conv);
            g.missing = f.missing.as_ref().and_then(apply);
            g.null = f.null.as_ref().and_then(apply);
            g.hint = if conv == Conv::Str {
                Hint::Str
            } else {
                Hint::Unknown
            };
            Sym::Field(g)
        }
        [Sym::Cond(c, a, b)] => cond(
            (**c).clone(),
            convert(name, std::slice::from_ref(a), text),
            convert(name, std::slice::from_ref(b), text),
        ),
        _ => propagate(text, args).unwrap_or_else(|| {
            opaque(
                text,
                format!("{name}() of a value the reader does not model"),
            )
        }),
    }
}

/// Inside a `try:`: `int(x)` raises unless `x` holds an integer (or a number, or a bool).
pub(super) fn may_raise_converting(ip: &Interp, name: &str, f: &Field) {
    if !ip.in_try() || name == "str" || !f.is_plain() {
        return;
    }
    let pattern = match name {
        "int" => r"\A\s*[-+]?[0-9]+(?:_[0-9]+)*\s*\z",
        _ => {
            r"(?i)\A\s*[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?|inf(?:inity)?|nan)\s*\z"
        }
    };
    let numeric = Expr::Pred(
        Predicate::field(
            f.name(),
            Op::IsType,
            vec![
                Value::str("integer"),
                Value::str("float"),
                Value::str("boolean"),
            ],
        )
        .cased(true),
    );
    let text_ok =
        Expr::Pred(Predicate::field(f.name(), Op::Regex, vec![Value::str(pattern)]).cased(true));
    let present_ok = sym::or(vec![
        numeric,
        sym::and(vec![
            Expr::Pred(
                Predicate::field(f.name(), Op::IsType, vec![Value::str("string")]).cased(true),
            ),
            text_ok,
        ]),
    ]);
    let present = sym::and(vec![
        Expr::Pred(Predicate::field(f.name(), Op::Exists, vec![]).cased(true)),
        sym::not(Expr::Pred(
            Predicate::field(f.name(), Op::IsNull, vec![]).cased(true),
        )),
    ]);
    ip.may_raise(sym::and(vec![present, sym::not(present_ok)]));
    // Absent or null values convert their default, which the caller checks.
}
