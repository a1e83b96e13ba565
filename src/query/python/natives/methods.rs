//! Methods, attributes and subscripts of symbolic values.

use super::*;

pub fn method(
    ip: &Interp,
    recv: &Sym,
    name: &str,
    args: &[Sym],
    kwargs: &[(String, Sym)],
    text: &str,
) -> Sym {
    match recv {
        Sym::Module(m) => {
            let f = ip.module_attr(m, name);
            ip.call(&f, args.to_vec(), kwargs.to_vec(), text)
        }
        Sym::Event => event_method(ip, name, args, kwargs, text),
        Sym::Field(f) => field_method(f, name, args, kwargs, text),
        Sym::Derived(d) => derived_method(d, name, args, text),
        Sym::Joined { list, sep, .. } if name == "lower" && args.is_empty() => Sym::Joined {
            list: list.clone(),
            sep: sep.clone(),
            fold: true,
        },
        // None has no methods: AttributeError.
        Sym::Const(Py::None) => raises(text),
        Sym::Const(c) => const_method(ip, c, name, args, kwargs, text),
        Sym::Dict(items) => match (name, args) {
            ("get", [Sym::Const(k)] | [Sym::Const(k), _]) => {
                let d = match args.get(1) {
                    Some(Sym::Const(d)) => d.clone(),
                    None => Py::None,
                    Some(_) => return opaque(text, "a computed default"),
                };
                child(recv, k, Access::Get, &d, text)
            }
            ("keys", []) => Sym::Const(Py::List(items.iter().map(|(k, _)| k.clone()).collect())),
            ("values", []) => seq_or_const(items.iter().map(|(_, v)| v.clone()).collect()),
            ("items", []) => Sym::Seq(
                items
                    .iter()
                    .map(|(k, v)| Sym::Seq(vec![Sym::Const(k.clone()), v.clone()]))
                    .collect(),
            ),
            _ => opaque(text, format!("dict method `{name}`")),
        },
        Sym::Pattern {
            pattern,
            ignore_case,
        } => match (name, args) {
            ("search" | "match" | "fullmatch" | "findall", [s]) => {
                regex_test(pattern, name, if *ignore_case { 2 } else { 0 }, s, text)
            }
            _ => opaque(text, format!("regex method `{name}`")),
        },
        Sym::Cond(c, a, b) => {
            let l = method(ip, a, name, args, kwargs, text);
            let r = method(ip, b, name, args, kwargs, text);
            cond((**c).clone(), l, r)
        }
        Sym::Seq(items) => match (name, args) {
            ("count", [x]) if items.iter().all(|i| matches!(i, Sym::Const(_))) => {
                let n = items
                    .iter()
                    .filter(|i| matches!((i, x), (Sym::Const(a), Sym::Const(b)) if a.py_eq(b)))
                    .count();
                Sym::Const(Py::Int(n as i64))
            }
            _ => opaque(text, format!("list method `{name}`")),
        },
        Sym::Bool(_) | Sym::Match(_) => opaque(text, format!("method `{name}` of a match result")),
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => opaque(
            text,
            format!("method `{name}` of a value the reader does not model"),
        ),
    }
}

pub(super) fn derived_method(d: &Derived, name: &str, args: &[Sym], text: &str) -> Sym {
    match (name, args) {
        ("lower" | "casefold", []) => match d.lowered() {
            Some(l) => Sym::Derived(l),
            None => opaque(text, "case conversion of a list"),
        },
        ("startswith" | "endswith", [Sym::Const(arg)]) if d.is_str() => {
            let Some(alts) = arg.str_alternatives() else {
                return opaque(text, "a non-string prefix");
            };
            let op = if name == "startswith" {
                Op::StartsWith
            } else {
                Op::EndsWith
            };
            let vals: Vec<Py> = alts.into_iter().map(Py::Str).collect();
            match d.test(op, &vals) {
                Some(e) => bool_sym(e),
                None => opaque(text, format!("`.{name}()` of a derived string")),
            }
        }
        _ => opaque(
            text,
            format!("`.{name}()` of a string derived from the event's data"),
        ),
    }
}

pub(super) fn field_method(
    f: &Field,
    name: &str,
    args: &[Sym],
    kwargs: &[(String, Sym)],
    text: &str,
) -> Sym {
    match name {
        "get" => {
            let Some(Sym::Const(k)) = args.first() else {
                return opaque(text, "a computed key");
            };
            match default_arg(args, 1, kwargs) {
                Some(d) => child(&Sym::Field(f.clone()), k, Access::Get, &d, text),
                None => opaque(text, "a computed default"),
            }
        }
        "lower" | "upper" | "casefold" if args.is_empty() => {
            if f.transform.is_some() || !matches!(f.conv, None | Some(Conv::Str)) {
                return opaque(text, "case conversion of a converted value");
            }
            let m = if name == "upper" { "upper" } else { "lower" };
            let mut g = f.clone();
            g.transform = Some(if name == "upper" {
                Transform::Upper
            } else {
                Transform::Lower
            });
            g.missing = f
                .missing
                .as_ref()
                .and_then(|p| p.as_str().and_then(|s| str_method(s, m, &[])));
            g.null = None;
            g.hint = Hint::Str;
            Sym::Field(g)
        }
        "startswith" | "endswith" => {
            if let [Sym::Concat {
                prefix,
                field,
                suffix,
            }] = args
            {
                let op = if name == "startswith" {
                    Op::StartsWith
                } else {
                    Op::EndsWith
                };
                return match sym::field_vs_concat(f, op, prefix, field, suffix) {
                    Some(e) => bool_sym(e),
                    None => opaque(text, "a computed prefix"),
                };
            }
            if let [Sym::Field(g)] = args {
                if f.is_plain() && g.is_plain() {
                    return match sym::field_vs_concat(
                        f,
                        if name == "startswith" {
                            Op::StartsWith
                        } else {
                            Op::EndsWith
                        },
                        "",
                        g,
                        "",
                    ) {
                        Some(e) => bool_sym(e),
                        None => opaque(text, "a computed prefix"),
                    };
                }
            }
            let Some(Sym::Const(arg)) = args.first() else {
                return opaque(text, "a computed prefix");
            };
            let Some(alts) = arg.str_alternatives() else {
                return opaque(text, "a non-string prefix");
            };
            if args.len() > 1 {
                return opaque(text, "startswith()/endswith() with positions");
            }
            let op = if name == "startswith" {
                Op::StartsWith
            } else {
                Op::EndsWith
            };
            let vals: Vec<Py> = alts.iter().map(|a| Py::Str(a.clone())).collect();
            str_test(&Sym::Field(f.clone()), op, &vals, true, text, &|s| {
                Some(if op == Op::StartsWith {
                    alts.iter().any(|a| s.starts_with(a.as_str()))
                } else {
                    alts.iter().any(|a| s.ends_with(a.as_str()))
                })
            })
        }
        "strip" | "lstrip" | "rstrip" | "split" | "rsplit" => {
            let consts: Option<Vec<Py>> = args
                .iter()
                .map(|a| match a {
                    Sym::Const(c) => Some(c.clone()),
                    _ => None,
                })
                .chain(kwargs.iter().map(|(k, v)| match (k.as_str(), v) {
                    ("maxsplit", Sym::Const(c)) => Some(c.clone()),
                    _ => None,
                }))
                .collect();
            match consts.and_then(|c| Derived::from_method(f, name, &c)) {
                Some(d) => Sym::Derived(d),
                None => opaque(text, format!("`.{name}()` on the event's data")),
            }
        }
        "keys" if args.is_empty() && f.is_plain() => {
            let mut g = f.clone();
            g.hint = Hint::Dict;
            Sym::Field(g)
        }
        _ => opaque(text, format!("`.{name}()` on the event's data")),
    }
}

/// The elements of a list of the event that are in a known collection, as a filtered list.
pub(super) fn intersect(ip: &Interp, c: &Py, f: &Field) -> Option<Sym> {
    let items = c.iter_items().filter(|_| !matches!(c, Py::Str(_)))?;
    if !f.is_plain() || matches!(f.hint, Hint::Str | Hint::Dict) {
        return None;
    }
    let marker = ip.fresh_loop();
    let mut path = f.path.clone();
    path.push(marker.clone());
    let elem = Field {
        path,
        missing: None,
        null: Some(Py::None),
        transform: None,
        conv: None,
        hint: Hint::Unknown,
    };
    let cond_in = sym::field_eq(&elem, &items)?;
    Some(Sym::Filtered(Box::new(sym::Filtered {
        list: f.clone(),
        marker,
        cond: cond_in,
        elem: Sym::Field(elem),
    })))
}

pub(super) fn const_method(
    ip: &Interp,
    c: &Py,
    name: &str,
    args: &[Sym],
    kwargs: &[(String, Sym)],
    text: &str,
) -> Sym {
    if name == "intersection" {
        if let [Sym::Field(f)] = args {
            if let Some(s) = intersect(ip, c, f) {
                return s;
            }
        }
    }
    let consts: Option<Vec<Py>> = args
        .iter()
        .map(|a| match a {
            Sym::Const(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    if let (Py::Str(s), Some(cargs)) = (c, &consts) {
        if kwargs.is_empty() {
            if let Some(v) = str_method(s, name, cargs) {
                return Sym::Const(v);
            }
        }
    }
    match (c, name) {
        (Py::Str(sep), "join") => match args {
            [Sym::Field(f)] if f.is_plain() && !matches!(f.hint, Hint::Str | Hint::Dict) => {
                Sym::Joined {
                    list: f.clone(),
                    sep: sep.clone(),
                    fold: false,
                }
            }
            [Sym::Cond(cd, a, b)] => cond(
                (**cd).clone(),
                const_method(ip, c, name, std::slice::from_ref(a), kwargs, text),
                const_method(ip, c, name, std::slice::from_ref(b), kwargs, text),
            ),
            _ => propagate(text, args)
                .unwrap_or_else(|| opaque(text, "a string joined from the event's data")),
        },
        (Py::Dict(d), "get") => {
            let default = match args.get(1).or_else(|| kw(kwargs, "default")) {
                None => Py::None,
                Some(Sym::Const(x)) => x.clone(),
                Some(_) => return opaque(text, "a computed default"),
            };
            match args.first() {
                Some(Sym::Const(k)) => Sym::Const(c.dict_get(k).cloned().unwrap_or(default)),
                Some(Sym::Field(f)) if d.len() <= 300 => {
                    // A lookup table keyed by an event field.
                    let mut out = Sym::Const(default);
                    for (k, v) in d.iter().rev() {
                        match sym::field_eq(f, std::slice::from_ref(k)) {
                            Some(e) => out = cond(e, Sym::Const(v.clone()), out),
                            None => return opaque(text, "a lookup keyed by the event's data"),
                        }
                    }
                    out
                }
                Some(Sym::Derived(dv)) if d.len() <= 300 && dv.is_str() => {
                    let mut out = Sym::Const(default);
                    for (k, v) in d.iter().rev() {
                        match dv.test(Op::Eq, std::slice::from_ref(k)) {
                            Some(e) => out = cond(e, Sym::Const(v.clone()), out),
                            None => return opaque(text, "a lookup keyed by the event's data"),
                        }
                    }
                    out
                }
                Some(Sym::Cond(cd, a, b)) => {
                    let mut wa = args.to_vec();
                    wa[0] = (**a).clone();
                    let mut wb = args.to_vec();
                    wb[0] = (**b).clone();
                    cond(
                        (**cd).clone(),
                        const_method(ip, c, name, &wa, kwargs, text),
                        const_method(ip, c, name, &wb, kwargs, text),
                    )
                }
                Some(Sym::Opaque { reason, .. }) => opaque(text, reason.clone()),
                _ => opaque(text, "a lookup keyed by the event's data"),
            }
        }
        (Py::Dict(d), "keys") => Sym::Const(Py::List(d.iter().map(|(k, _)| k.clone()).collect())),
        (Py::Dict(d), "values") => Sym::Const(Py::List(d.iter().map(|(_, v)| v.clone()).collect())),
        (Py::Dict(d), "items") => Sym::Const(Py::List(
            d.iter()
                .map(|(k, v)| Py::Tuple(vec![k.clone(), v.clone()]))
                .collect(),
        )),
        (Py::Str(_), "startswith" | "endswith") => {
            opaque(text, "a constant tested against the event's data")
        }
        (Py::Str(_), "format") => opaque(text, "a string built from the event's data"),
        (
            Py::Set(v) | Py::List(v) | Py::Tuple(v),
            "intersection" | "issubset" | "issuperset" | "isdisjoint" | "union" | "difference",
        ) if consts.is_some() => {
            let other = consts
                .as_ref()
                .and_then(|c| c.first())
                .and_then(Py::iter_items)
                .unwrap_or_default();
            let has = |x: &Py| other.iter().any(|o| o.py_eq(x));
            Sym::Const(match name {
                "intersection" => Py::set(v.iter().filter(|x| has(x)).cloned().collect()),
                "difference" => Py::set(v.iter().filter(|x| !has(x)).cloned().collect()),
                "union" => Py::set(v.iter().chain(other.iter()).cloned().collect()),
                "issubset" => Py::Bool(v.iter().all(has)),
                "issuperset" => Py::Bool(other.iter().all(|o| v.iter().any(|x| x.py_eq(o)))),
                _ => Py::Bool(!v.iter().any(has)),
            })
        }
        _ => propagate(text, args)
            .unwrap_or_else(|| opaque(text, format!("`.{name}()` on a {}", c.type_name()))),
    }
}

pub fn attribute(ip: &Interp, recv: &Sym, attr: &str, text: &str) -> Sym {
    match recv {
        Sym::Ip(f) => ip_property(f, attr, text),
        Sym::Net(nets) if nets.len() == 1 => match net_property(&nets[0], attr) {
            Some(b) => Sym::Const(Py::Bool(b)),
            None => opaque(text, format!("network attribute `{attr}`")),
        },
        Sym::Cond(c, a, b) => cond(
            (**c).clone(),
            attribute(ip, a, attr, text),
            attribute(ip, b, attr, text),
        ),
        Sym::Module(m) => ip.module_attr(m, attr),
        Sym::Pattern { pattern, .. } if attr == "pattern" => Sym::Const(Py::Str(pattern.clone())),
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => opaque(text, format!("attribute `{attr}`")),
    }
}

pub fn subscript(_ip: &Interp, base: &Sym, key: &Sym, text: &str) -> Sym {
    if let (Sym::Derived(d), Sym::Const(k)) = (base, key) {
        return match d.index(k) {
            Some(seg) => Sym::Derived(seg),
            None => opaque(text, "a part of a split string the reader does not model"),
        };
    }
    match key {
        Sym::Const(k) => child(base, k, Access::Index, &Py::None, text),
        Sym::Field(f) => match base {
            // A lookup table keyed by an event field (a missing key raises).
            Sym::Const(Py::Dict(d)) if d.len() <= 300 => {
                let mut out = raises(text);
                for (k, v) in d.iter().rev() {
                    match sym::field_eq(f, std::slice::from_ref(k)) {
                        Some(e) => out = cond(e, Sym::Const(v.clone()), out),
                        None => return opaque(text, "a lookup keyed by the event's data"),
                    }
                }
                out
            }
            Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
            _ => opaque(text, "a computed key"),
        },
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => match base {
            Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
            _ => opaque(text, "a computed key"),
        },
    }
}
