//! Reading the event: `get`, `deep_get`, `[]`, `deep_walk`, `udm`, `json.loads`.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `d.get(k, default)`: absent → default, null → None.
    Get,
    /// `deep_get(d, k, default=)`: absent or null → default.
    DeepGet,
    /// `d[k]`: absent raises, null → None.
    Index,
}

/// The value of a known container for key `key` (`None` when Python raises).
pub(super) fn const_child(c: &Py, key: &Py, mode: Access, default: &Py) -> Option<Py> {
    match c {
        Py::Dict(_) => match c.dict_get(key) {
            Some(Py::None) if mode == Access::DeepGet => Some(default.clone()),
            Some(v) => Some(v.clone()),
            None if mode == Access::Index => None,
            None => Some(default.clone()),
        },
        Py::List(v) | Py::Tuple(v) if mode == Access::Index => match key {
            Py::Int(i) => {
                let n = v.len() as i64;
                let idx = if *i < 0 { n + i } else { *i };
                v.get(usize::try_from(idx).ok()?).cloned()
            }
            _ => None,
        },
        Py::Str(s) if mode == Access::Index => match key {
            Py::Int(i) => {
                let chars: Vec<char> = s.chars().collect();
                let n = chars.len() as i64;
                let idx = if *i < 0 { n + i } else { *i };
                chars
                    .get(usize::try_from(idx).ok()?)
                    .map(|c| Py::Str(c.to_string()))
            }
            _ => None,
        },
        _ if mode == Access::DeepGet => Some(default.clone()),
        _ => None,
    }
}

/// Reads key `key` of `base` (the event, a field, a known dict...).
pub fn child(base: &Sym, key: &Py, mode: Access, default: &Py, text: &str) -> Sym {
    match base {
        Sym::Event => {
            let Py::Str(k) = key else {
                return opaque(text, "a non-string key");
            };
            Sym::Field(Field {
                path: vec![k.clone()],
                missing: (mode != Access::Index).then(|| default.clone()),
                null: Some(if mode == Access::DeepGet {
                    default.clone()
                } else {
                    Py::None
                }),
                transform: None,
                conv: None,
                hint: if mode == Access::Index {
                    Hint::Unknown
                } else {
                    Hint::of(default)
                },
            })
        }
        Sym::Field(f) => field_child(f, key, mode, default, text),
        Sym::Const(c) => match const_child(c, key, mode, default) {
            Some(v) => Sym::Const(v),
            None => raises(text),
        },
        Sym::Dict(items) => match items.iter().find(|(k, _)| k.py_eq(key)) {
            Some((_, Sym::Const(Py::None))) if mode == Access::DeepGet => {
                Sym::Const(default.clone())
            }
            Some((_, v)) => v.clone(),
            None if mode == Access::Index => raises(text),
            None => Sym::Const(default.clone()),
        },
        Sym::Seq(items) if mode == Access::Index => match key {
            Py::Int(i) => {
                let n = items.len() as i64;
                let idx = if *i < 0 { n + i } else { *i };
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| items.get(i).cloned())
                    .unwrap_or_else(|| raises(text))
            }
            _ => opaque(text, "indexing a list with a non-integer"),
        },
        Sym::Cond(c, a, b) => cond(
            (**c).clone(),
            child(a, key, mode, default, text),
            child(b, key, mode, default, text),
        ),
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => opaque(text, "reading a key of a value the reader does not model"),
    }
}

pub(super) fn field_child(f: &Field, key: &Py, mode: Access, default: &Py, text: &str) -> Sym {
    if !f.is_plain() {
        return opaque(text, "reading a key of a converted value");
    }
    let k = match (key, mode) {
        (Py::Str(k), _) => k.clone(),
        // A position in a list of the event (IndexError when out of range).
        (Py::Int(i), Access::Index) if f.hint != Hint::Dict => {
            let mut path = f.path.clone();
            path.push(i.to_string());
            return Sym::Field(Field {
                path,
                missing: None,
                null: Some(Py::None),
                transform: None,
                conv: None,
                hint: Hint::Unknown,
            });
        }
        (Py::Int(_), _) => return opaque(text, "indexing a list of the event by position"),
        _ => return opaque(text, "a non-string key"),
    };
    let mut path = f.path.clone();
    path.push(k);
    // When the child path is absent: the key is absent, or the parent is absent or null.
    let key_absent = (mode != Access::Index).then(|| default.clone());
    let parent_absent = f
        .missing
        .as_ref()
        .and_then(|pm| const_child(pm, key, mode, default));
    let parent_null = f
        .null
        .as_ref()
        .and_then(|pn| const_child(pn, key, mode, default));
    let null = Some(if mode == Access::DeepGet {
        default.clone()
    } else {
        Py::None
    });
    let hint = if mode == Access::Index {
        Hint::Unknown
    } else {
        Hint::of(default)
    };
    let make = |missing: Option<Py>| {
        Sym::Field(Field {
            path: path.clone(),
            missing,
            null: null.clone(),
            transform: None,
            conv: None,
            hint,
        })
    };
    let mut alts: Vec<Py> = Vec::new();
    for v in [&key_absent, &parent_absent, &parent_null]
        .into_iter()
        .flatten()
    {
        if !alts
            .iter()
            .any(|a| a.py_eq(v) && a.type_name() == v.type_name())
        {
            alts.push(v.clone());
        }
    }
    if alts.len() <= 1 {
        return make(alts.pop());
    }
    // The outcomes differ: tell the cases apart by the parent's presence.
    let pname = f.name();
    let parent_present = sym::and(vec![
        Expr::Pred(Predicate::field(pname.clone(), Op::Exists, vec![]).cased(true)),
        sym::not(Expr::Pred(
            Predicate::field(pname, Op::IsNull, vec![]).cased(true),
        )),
    ]);
    let parent_gone = match (&parent_absent, &parent_null) {
        (Some(a), Some(b)) if !a.py_eq(b) => {
            return opaque(
                text,
                "a key whose default depends on how its parent is missing",
            )
        }
        (Some(a), _) => Some(a.clone()),
        (None, b) => b.clone(),
    };
    cond(parent_present, make(key_absent), make(parent_gone))
}

/// `deep_get(base, *keys, default=d)`.
pub(super) fn deep_get(base: &Sym, keys: &[Sym], default: &Py, text: &str) -> Sym {
    let mut cur = base.clone();
    for (i, k) in keys.iter().enumerate() {
        match k {
            Sym::Const(k) => cur = child(&cur, k, Access::DeepGet, default, text),
            // A key chosen by a condition: one read per choice.
            Sym::Cond(c, a, b) => {
                let mut with_a = keys.to_vec();
                with_a[i] = (**a).clone();
                let mut with_b = keys.to_vec();
                with_b[i] = (**b).clone();
                return cond(
                    (**c).clone(),
                    deep_get(base, &with_a, default, text),
                    deep_get(base, &with_b, default, text),
                );
            }
            Sym::Opaque { reason, .. } => return opaque(text, reason.clone()),
            _ => return opaque(text, "a computed key"),
        }
    }
    cur
}

/// The default argument (`None` when it is computed from the event).
pub(super) fn default_arg(args: &[Sym], pos: usize, kwargs: &[(String, Sym)]) -> Option<Py> {
    match args.get(pos).or_else(|| kw(kwargs, "default")) {
        None => Some(Py::None),
        Some(Sym::Const(c)) => Some(c.clone()),
        Some(_) => None,
    }
}

pub(super) fn event_method(
    ip: &Interp,
    name: &str,
    args: &[Sym],
    kwargs: &[(String, Sym)],
    text: &str,
) -> Sym {
    let policy = ip.kind() == EventKind::Policy;
    match name {
        "get" => {
            if let Some(Sym::Cond(c, a, b)) = args.first() {
                let mut with_a = args.to_vec();
                with_a[0] = (**a).clone();
                let mut with_b = args.to_vec();
                with_b[0] = (**b).clone();
                return cond(
                    (**c).clone(),
                    event_method(ip, name, &with_a, kwargs, text),
                    event_method(ip, name, &with_b, kwargs, text),
                );
            }
            let Some(Sym::Const(k)) = args.first() else {
                return opaque(text, "a computed key");
            };
            match default_arg(args, 1, kwargs) {
                Some(d) => child(&Sym::Event, k, Access::Get, &d, text),
                None => opaque(text, "a computed default"),
            }
        }
        "deep_get" if !policy => match default_arg(&[], 0, kwargs) {
            Some(d) => deep_get(&Sym::Event, args, &d, text),
            None => opaque(text, "a computed default"),
        },
        "deep_walk" if !policy => deep_walk(&Sym::Event, args, kwargs, text),
        "udm" if !policy => {
            let [Sym::Const(Py::Str(k))] = args else {
                return opaque(text, "udm() with several keys");
            };
            match default_arg(&[], 0, kwargs) {
                Some(d) => ip.udm(k, d, text),
                None => opaque(text, "a computed default"),
            }
        }
        "lookup" => opaque(text, "a lookup-table enrichment"),
        _ => opaque(text, format!("event method `{name}`")),
    }
}

pub(super) fn deep_walk(base: &Sym, keys: &[Sym], kwargs: &[(String, Sym)], text: &str) -> Sym {
    match kw(kwargs, "return_val") {
        None => {}
        Some(Sym::Const(Py::Str(s))) if s == "all" => {}
        Some(_) => return opaque(text, "deep_walk() keeping the first or last value"),
    }
    let default = match kw(kwargs, "default") {
        None => Py::None,
        Some(Sym::Const(c)) => c.clone(),
        Some(_) => return opaque(text, "a computed default"),
    };
    // The matcher's lookup walks through lists like deep_walk does.
    match deep_get(base, keys, &default, text) {
        Sym::Field(mut f) => {
            f.hint = Hint::Unknown;
            Sym::Field(f)
        }
        other => other,
    }
}

/// Suffix of the pseudo-key holding the JSON-decoded value of a string key: the format
/// adds `key@json` beside `key` in test events (see `formats::panther`).
pub const JSON_SUFFIX: &str = "@json";

/// `json.loads(x)`: for a field of the event, its decoded value as the pseudo-key
/// `<field>@json` (raises when the value is not a JSON text).
pub(super) fn json_loads(ip: &Interp, arg: Option<&Sym>, text: &str) -> Sym {
    match arg {
        Some(Sym::Const(Py::Str(s))) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v) => Sym::Const(Py::from_json(&v)),
            Err(_) => raises(text),
        },
        Some(Sym::Field(f)) if f.is_plain() && !f.path.is_empty() => {
            let mut path = f.path.clone();
            let last = path.pop().unwrap_or_default();
            if last.contains(sym::ELEM) {
                return opaque(text, "JSON decoding of an element of a list");
            }
            path.push(format!("{last}{JSON_SUFFIX}"));
            let decoded = Field {
                path,
                missing: None,
                null: Some(Py::None),
                transform: None,
                conv: None,
                hint: Hint::Unknown,
            };
            // Raises unless the value is a JSON text (absent and null included).
            ip.may_raise(sym::missing_guard(&decoded));
            Sym::Field(decoded)
        }
        Some(Sym::Cond(c, a, b)) => {
            let l = ip.under((**c).clone(), || json_loads(ip, Some(a), text));
            let r = ip.under(sym::not((**c).clone()), || json_loads(ip, Some(b), text));
            cond((**c).clone(), l, r)
        }
        Some(Sym::Opaque { reason, .. }) => opaque(text, reason.clone()),
        _ => opaque(text, "JSON decoding of the event's data"),
    }
}
