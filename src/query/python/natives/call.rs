//! Calls of the functions the reader models (builtins, `re`, `json`, helpers).

use super::*;

pub fn call(ip: &Interp, name: &str, args: &[Sym], kwargs: &[(String, Sym)], text: &str) -> Sym {
    if name.starts_with("kv.") {
        return opaque(text, "state kept between events (Panther KV store)");
    }
    match name {
        "deep_get" => {
            let Some(base) = args.first() else {
                return opaque(text, "deep_get() without arguments");
            };
            match default_arg(&[], 0, kwargs) {
                Some(d) => deep_get(base, &args[1..], &d, text),
                None => opaque(text, "a computed default"),
            }
        }
        "deep_walk" => match args.first() {
            Some(base) => deep_walk(base, &args[1..], kwargs, text),
            None => opaque(text, "deep_walk() without arguments"),
        },
        "pattern_match" | "fnmatch.fnmatch" | "fnmatch.fnmatchcase" => match args {
            [s, Sym::Const(Py::Str(p))] => fnmatch_test(s, p, text),
            _ => propagate(text, args).unwrap_or_else(|| opaque(text, "a computed pattern")),
        },
        "pattern_match_list" => match args {
            [s, Sym::Const(list)] => {
                let Some(items) = list.iter_items().filter(|_| !matches!(list, Py::Str(_))) else {
                    return opaque(text, "a computed pattern list");
                };
                let mut parts = Vec::new();
                for p in items {
                    let Py::Str(p) = p else {
                        return opaque(text, "a non-string pattern");
                    };
                    match fnmatch_test(s, &p, text) {
                        Sym::Opaque { reason, .. } => return opaque(text, reason),
                        r => parts.push(truthy(&r)),
                    }
                }
                bool_sym(sym::or(parts))
            }
            _ => propagate(text, args).unwrap_or_else(|| opaque(text, "a computed pattern list")),
        },
        "is_ip_in_network" => match args {
            [Sym::Field(f), Sym::Const(nets)] if f.is_plain() => {
                let Some(items) = nets.iter_items().filter(|_| !matches!(nets, Py::Str(_))) else {
                    return opaque(text, "a computed network list");
                };
                let vals: Option<Vec<Value>> =
                    items.iter().map(|n| n.as_str().map(Value::str)).collect();
                let Some(vals) = vals else {
                    return opaque(text, "a non-string network");
                };
                if vals.is_empty() {
                    return Sym::Const(Py::Bool(false));
                }
                Sym::Bool(Expr::Pred(
                    Predicate::field(f.name(), Op::Cidr, vals).cased(true),
                ))
            }
            _ => propagate(text, args).unwrap_or_else(|| opaque(text, "an IP network test")),
        },
        "get_val_from_list" => match args {
            // {item[ret] for item in list if item.get(key) == value}
            [Sym::Field(f), Sym::Const(Py::Str(ret)), Sym::Const(Py::Str(key)), Sym::Const(val)]
                if f.is_plain() && !matches!(f.hint, Hint::Str | Hint::Dict) =>
            {
                let marker = ip.fresh_loop();
                let mut path = f.path.clone();
                path.push(marker.clone());
                let elem = Sym::Field(Field {
                    path,
                    missing: None,
                    null: Some(Py::None),
                    transform: None,
                    conv: None,
                    hint: Hint::Dict,
                });
                let get = |k: &str| child(&elem, &Py::str(k), Access::Get, &Py::None, text);
                let cond_e = match sym::compare(&get(key), Cmp::Eq, &Sym::Const(val.clone()), text)
                {
                    Sym::Bool(e) => e,
                    Sym::Const(p) => sym::t(p.truthy()),
                    _ => {
                        return opaque(
                            text,
                            "get_val_from_list() with a value the reader does not model",
                        )
                    }
                };
                Sym::Filtered(Box::new(sym::Filtered {
                    list: f.clone(),
                    marker,
                    cond: cond_e,
                    elem: get(ret),
                }))
            }
            _ => propagate(text, args).unwrap_or_else(|| {
                opaque(
                    text,
                    "get_val_from_list() of a value the reader does not model",
                )
            }),
        },
        "re.search" | "re.match" | "re.fullmatch" | "re.findall" => {
            let kind = name.trim_start_matches("re.");
            let flags = match args.get(2).or_else(|| kw(kwargs, "flags")) {
                None => 0,
                Some(Sym::Const(Py::Int(f))) => *f,
                Some(_) => return opaque(text, "computed regex flags"),
            };
            match args {
                [Sym::Const(Py::Str(p)), s, ..] => regex_test(p, kind, flags, s, text),
                [Sym::Pattern {
                    pattern,
                    ignore_case,
                }, s, ..] => {
                    let f = flags | if *ignore_case { 2 } else { 0 };
                    regex_test(pattern, kind, f, s, text)
                }
                _ => propagate(text, args).unwrap_or_else(|| opaque(text, "a computed regex")),
            }
        }
        "re.compile" => {
            let flags = match args.get(1).or_else(|| kw(kwargs, "flags")) {
                None => 0,
                Some(Sym::Const(Py::Int(f))) => *f,
                Some(_) => return opaque(text, "computed regex flags"),
            };
            match (args.first(), regex_flags(flags)) {
                (Some(Sym::Const(Py::Str(p))), Some((prefix, cased))) => Sym::Pattern {
                    pattern: format!("{prefix}{p}"),
                    ignore_case: !cased,
                },
                _ => opaque(text, "a computed regex"),
            }
        }
        "re.escape" => match args {
            [Sym::Const(Py::Str(s))] => Sym::Const(Py::Str(regex::escape(s))),
            _ => opaque(text, "re.escape of the event's data"),
        },
        "json.loads" => json_loads(ip, args.first(), text),
        "json.dumps" => match args.first() {
            Some(Sym::Opaque { reason, .. }) => opaque(text, reason.clone()),
            _ => opaque(text, "JSON encoding of the event's data"),
        },
        "print" => Sym::Const(Py::None),
        "enumerate" | "reversed" => match args {
            [Sym::Const(c)] if !matches!(c, Py::Str(_)) => match c.iter_items() {
                Some(items) => Sym::Const(Py::List(if name == "reversed" {
                    items.into_iter().rev().collect()
                } else {
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| Py::Tuple(vec![Py::Int(i as i64), v]))
                        .collect()
                })),
                None => raises(text),
            },
            _ => propagate(text, args)
                .unwrap_or_else(|| opaque(text, format!("{name}() of the event's data"))),
        },
        "zip" => {
            let lists: Option<Vec<Vec<Py>>> = args
                .iter()
                .map(|a| match a {
                    Sym::Const(c) if !matches!(c, Py::Str(_)) => c.iter_items(),
                    _ => None,
                })
                .collect();
            match lists {
                Some(lists) if !lists.is_empty() => {
                    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
                    Sym::Const(Py::List(
                        (0..n)
                            .map(|i| Py::Tuple(lists.iter().map(|l| l[i].clone()).collect()))
                            .collect(),
                    ))
                }
                _ => propagate(text, args)
                    .unwrap_or_else(|| opaque(text, "zip() of the event's data")),
            }
        }
        "hasattr" => match args {
            [Sym::Ip(_), Sym::Const(Py::Str(a))] => Sym::Const(Py::Bool(matches!(
                a.as_str(),
                "is_private"
                    | "is_global"
                    | "is_loopback"
                    | "is_link_local"
                    | "is_multicast"
                    | "is_unspecified"
                    | "is_reserved"
                    | "version"
            ))),
            [Sym::Const(c), Sym::Const(Py::Str(a))] => Sym::Const(Py::Bool(
                crate::query::python::value::str_method("", a, &[]).is_some()
                    && matches!(c, Py::Str(_))
                    || (matches!(c, Py::Dict(_))
                        && matches!(a.as_str(), "get" | "keys" | "items" | "values")),
            )),
            [Sym::Field(f), Sym::Const(Py::Str(a))] if f.is_plain() => {
                // An attribute of the event's value: by its type.
                let policy = ip.kind() == EventKind::Policy;
                let types: &[&str] = match a.as_str() {
                    "get" | "keys" | "items" | "values" => &["object"],
                    "lower" | "upper" | "strip" | "split" | "startswith" | "endswith"
                    | "replace" => &["string"],
                    "append" | "extend" | "pop" if policy => &["array"],
                    "index" | "count" => &["array", "string"],
                    _ => return opaque(text, format!("hasattr() `{a}` of the event's data")),
                };
                let present = Expr::Pred(
                    Predicate::field(
                        f.name(),
                        Op::IsType,
                        types.iter().map(|t| Value::str(*t)).collect(),
                    )
                    .cased(true),
                );
                let chk = |d: &Py| {
                    Some(match d {
                        Py::Dict(_) => matches!(a.as_str(), "get" | "keys" | "items" | "values"),
                        Py::Str(_) => {
                            str_method("", a, &[]).is_some() || a == "startswith" || a == "endswith"
                        }
                        Py::List(_) => {
                            matches!(a.as_str(), "append" | "extend" | "pop" | "index" | "count")
                        }
                        _ => false,
                    })
                };
                bool_sym(sym::with_fallbacks(f, present, &chk))
            }
            [Sym::Cond(c, a, b), n] => cond(
                (**c).clone(),
                call(ip, "hasattr", &[(**a).clone(), n.clone()], kwargs, text),
                call(ip, "hasattr", &[(**b).clone(), n.clone()], kwargs, text),
            ),
            _ => propagate(text, args)
                .unwrap_or_else(|| opaque(text, "hasattr() of the event's data")),
        },
        "bool" => match args {
            [x] => bool_sym(truthy(x)),
            [] => Sym::Const(Py::Bool(false)),
            _ => opaque(text, "bool()"),
        },
        "any" | "all" => match args {
            [Sym::Const(c)] => match c.iter_items() {
                Some(items) => Sym::Const(Py::Bool(if name == "any" {
                    items.iter().any(Py::truthy)
                } else {
                    items.iter().all(Py::truthy)
                })),
                None => opaque(text, "any()/all() of a non-iterable"),
            },
            [Sym::Seq(items)] => {
                let parts: Vec<Expr> = items.iter().map(truthy).collect();
                bool_sym(if name == "any" {
                    sym::or(parts)
                } else {
                    sym::and(parts)
                })
            }
            [Sym::Field(f)] if f.is_plain() && !matches!(f.hint, Hint::Str | Hint::Dict) => {
                // any(list) / all(list) of the event's list: some element is (not) truthy.
                let marker = ip.fresh_loop();
                let mut path = f.path.clone();
                path.push(marker.clone());
                let elem =
                    Expr::Pred(Predicate::field(path.join("."), Op::Truthy, vec![]).cased(true));
                let some = |e: Expr| sym::exists(&e, &marker, &f.name());
                let out = if name == "any" {
                    some(elem)
                } else {
                    sym::not(some(sym::not(elem)))
                };
                // Absent or null lists: any/all of the default (None raises).
                let chk = |d: &Py| {
                    d.iter_items().map(|items| {
                        if name == "any" {
                            items.iter().any(Py::truthy)
                        } else {
                            items.iter().all(Py::truthy)
                        }
                    })
                };
                bool_sym(sym::with_fallbacks(f, out, &chk))
            }
            [Sym::Guarded(items)] => {
                let parts: Vec<Expr> = items
                    .iter()
                    .map(|(g, v)| {
                        if name == "any" {
                            sym::and(vec![g.clone(), truthy(v)])
                        } else {
                            sym::or(vec![sym::not(g.clone()), truthy(v)])
                        }
                    })
                    .collect();
                bool_sym(if name == "any" {
                    sym::or(parts)
                } else {
                    sym::and(parts)
                })
            }
            [Sym::Filtered(f)] => {
                let t = truthy(&f.elem);
                bool_sym(if name == "any" {
                    f.some(t)
                } else {
                    sym::not(f.some(sym::not(t)))
                })
            }
            [Sym::Opaque { reason, .. }] => opaque(text, reason.clone()),
            _ => opaque(text, "any()/all() over the event's data"),
        },
        "len" => match args {
            [Sym::Const(c)] => match c {
                Py::Str(s) => Sym::Const(Py::Int(s.chars().count() as i64)),
                other => match other.iter_items() {
                    Some(v) => Sym::Const(Py::Int(v.len() as i64)),
                    None => raises(text),
                },
            },
            [Sym::Seq(items)] => Sym::Const(Py::Int(items.len() as i64)),
            [Sym::Dict(items)] => Sym::Const(Py::Int(items.len() as i64)),
            [Sym::Field(f)] if f.is_plain() && f.hint == Hint::Str => {
                // The length of a string.
                let len = |p: &Py| match p {
                    Py::Str(s) => Some(Py::Int(s.chars().count() as i64)),
                    other => other.iter_items().map(|v| Py::Int(v.len() as i64)),
                };
                let mut g = f.clone();
                g.transform = Some(Transform::Length);
                g.missing = f.missing.as_ref().and_then(len);
                g.null = None;
                g.hint = Hint::Unknown;
                Sym::Field(g)
            }
            [Sym::Field(f)] if f.is_plain() => Sym::Len(f.clone()),
            [Sym::Filtered(f)] => Sym::FilteredLen(f.clone()),
            [Sym::Guarded(items)] => {
                // Only emptiness is expressible: the count as a conditional value.
                if items.len() == 1 {
                    cond(
                        items[0].0.clone(),
                        Sym::Const(Py::Int(1)),
                        Sym::Const(Py::Int(0)),
                    )
                } else {
                    opaque(text, "the length of a filtered list")
                }
            }
            [Sym::Cond(c, a, b)] => cond(
                (**c).clone(),
                call(ip, "len", std::slice::from_ref(a), kwargs, text),
                call(ip, "len", std::slice::from_ref(b), kwargs, text),
            ),
            [Sym::Derived(d)] => match d.len() {
                Some(c) => Sym::Derived(c),
                None => opaque(text, "the length of a derived string"),
            },
            _ => propagate(text, args)
                .unwrap_or_else(|| opaque(text, "the length of the event's data")),
        },
        "str" | "int" | "float" => {
            if let [x] = args {
                ip.each_field(x, &mut |f| may_raise_converting(ip, name, f));
            }
            convert(name, args, text)
        }
        "ipaddress.ip_address" | "ipaddress.IPv4Address" | "ipaddress.IPv6Address" => {
            ip_address(ip, name, args, text)
        }
        "ipaddress.ip_network" | "ipaddress.IPv4Network" | "ipaddress.IPv6Network" => {
            ip_network(ip, args, text)
        }
        "set" | "list" | "tuple" | "frozenset" | "sorted" => match args {
            [] => Sym::Const(match name {
                "tuple" => Py::Tuple(vec![]),
                "set" | "frozenset" => Py::Set(vec![]),
                _ => Py::List(vec![]),
            }),
            [Sym::Const(c)] => match c.iter_items() {
                Some(mut items) => Sym::Const(match name {
                    "tuple" => Py::Tuple(items),
                    "set" | "frozenset" => Py::set(items),
                    "sorted" => {
                        items.sort_by(|a, b| a.py_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                        Py::List(items)
                    }
                    _ => Py::List(items),
                }),
                None => raises(text),
            },
            [Sym::Seq(items)] if name != "sorted" => Sym::Seq(items.clone()),
            [Sym::Field(f)] if f.is_plain() && matches!(f.hint, Hint::List) && name != "sorted" => {
                Sym::Field(f.clone())
            }
            _ => propagate(text, args)
                .unwrap_or_else(|| opaque(text, format!("{name}() of the event's data"))),
        },
        "isinstance" => match args {
            [x, t] => match type_names(t) {
                Some(names) => {
                    // Policies see plain dicts and lists; so does JSON decoded by the rule.
                    let plain = ip.kind() == EventKind::Policy
                        || matches!(x, Sym::Field(f) if f.path.iter().any(|p| p.ends_with(JSON_SUFFIX)));
                    isinstance(x, &names, plain, text)
                }
                None => propagate(text, args)
                    .unwrap_or_else(|| opaque(text, "isinstance() with an unknown type")),
            },
            _ => opaque(text, "isinstance() with other arguments"),
        },
        "min" | "max" | "sum" | "abs" | "repr" | "range" | "dict" => {
            let consts: Option<Vec<Py>> = args
                .iter()
                .map(|a| match a {
                    Sym::Const(c) => Some(c.clone()),
                    _ => None,
                })
                .collect();
            match (name, consts.as_deref()) {
                ("repr", Some([c])) => Sym::Const(Py::Str(c.repr())),
                ("abs", Some([Py::Int(i)])) => Sym::Const(Py::Int(i.abs())),
                ("range", Some([Py::Int(n)])) if *n <= 10_000 => {
                    Sym::Const(Py::List((0..*n).map(Py::Int).collect()))
                }
                ("dict", Some([])) if kwargs.is_empty() => Sym::Const(Py::Dict(vec![])),
                ("min" | "max", Some([c])) => {
                    let items = c.iter_items().unwrap_or_default();
                    let pick = items.into_iter().reduce(|a, b| {
                        let o = a.py_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
                        if (name == "min") == o.is_le() {
                            a
                        } else {
                            b
                        }
                    });
                    pick.map(Sym::Const).unwrap_or_else(|| raises(text))
                }
                _ => propagate(text, args)
                    .unwrap_or_else(|| opaque(text, format!("{name}() of the event's data"))),
            }
        }
        _ => propagate(text, args)
            .unwrap_or_else(|| opaque(text, format!("`{name}`, which the reader does not model"))),
    }
}
