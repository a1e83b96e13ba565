//! What the reader knows without reading Python: builtins, `re`, `fnmatch`, the event's
//! methods (`get`, `deep_get`, `udm`...), string and dict methods, and the few
//! `panther_base_helpers` functions it models directly (`deep_get`, `pattern_match`...).

use super::interp::{bool_sym, seq_or_const, Interp};
use super::derived::Derived;
use super::sym::{self, cond, opaque, truthy, Cmp, Conv, Field, Func, Hint, Sym};
use super::value::{str_method, Py};
use super::EventKind;
use crate::model::{Expr, Op, Predicate, Transform, Value};
use rustpython_parser::ast;

/// Builtin names the reader models.
pub fn builtin(name: &str) -> Option<Sym> {
    const NAMES: &[&str] = &[
        "any", "all", "len", "str", "int", "float", "bool", "isinstance", "set", "list", "tuple",
        "sorted", "min", "max", "abs", "print", "range", "dict", "sum", "repr", "frozenset",
        "enumerate", "zip", "hasattr", "next", "reversed",
    ];
    if NAMES.contains(&name) {
        return Some(Sym::Func(Func::Native(name.to_string())));
    }
    match name {
        "True" => Some(Sym::Const(Py::Bool(true))),
        "False" => Some(Sym::Const(Py::Bool(false))),
        "None" => Some(Sym::Const(Py::None)),
        _ => None,
    }
}

/// Helper-module functions modelled natively instead of being read.
pub fn helper_override(module: &str, name: &str) -> Option<Sym> {
    let native = match (module, name) {
        ("panther_base_helpers", "deep_get") => "deep_get",
        ("panther_base_helpers", "deep_walk") => "deep_walk",
        ("panther_base_helpers", "pattern_match") => "pattern_match",
        ("panther_base_helpers", "pattern_match_list") => "pattern_match_list",
        ("panther_base_helpers", "is_ip_in_network") => "is_ip_in_network",
        ("panther_base_helpers", "get_val_from_list") => "get_val_from_list",
        _ => return None,
    };
    Some(Sym::Func(Func::Native(native.to_string())))
}

/// `module.name` for a module that is not one of the rule repository's helpers.
pub fn module_attr(module: &str, name: &str) -> Sym {
    let known_fn = |n: &str| Sym::Func(Func::Native(format!("{module}.{n}")));
    match (module, name) {
        ("re", "IGNORECASE" | "I") => Sym::Const(Py::Int(2)),
        ("re", "MULTILINE" | "M") => Sym::Const(Py::Int(8)),
        ("re", "DOTALL" | "S") => Sym::Const(Py::Int(16)),
        ("re", "VERBOSE" | "X") => Sym::Const(Py::Int(64)),
        ("re", "search" | "match" | "fullmatch" | "findall" | "compile" | "escape") => {
            known_fn(name)
        }
        ("fnmatch", "fnmatch" | "fnmatchcase") => known_fn(name),
        ("ipaddress", "ip_address" | "ip_network" | "IPv4Address" | "IPv6Address" | "IPv4Network" | "IPv6Network") => known_fn(name),
        ("json", "loads" | "dumps") => known_fn(name),
        ("panther_detection_helpers.caching" | "panther_oss_helpers", _) => {
            Sym::Func(Func::Native(format!("kv.{name}")))
        }
        ("collections.abc" | "collections" | "typing", "Mapping" | "MutableMapping" | "Sequence" | "MutableSequence" | "Iterable" | "Collection") => {
            Sym::Func(Func::Native(format!("abc.{name}")))
        }
        ("unittest.mock" | "mock", "MagicMock" | "Mock") => Sym::Func(Func::Native("MagicMock".into())),
        ("panther_core.immutable" | "panther_core", "ImmutableList") => {
            Sym::Func(Func::Native("abc.ImmutableList".into()))
        }
        ("panther_core.immutable" | "panther_core", "ImmutableCaseInsensitiveDict") => {
            Sym::Func(Func::Native("abc.ImmutableDict".into()))
        }
        ("typing" | "panther_core" | "panther_core.enriched_event", _) => {
            opaque(name, "a type annotation")
        }
        _ => opaque(
            &format!("{module}.{name}"),
            format!("`{module}.{name}` from a module the reader does not know"),
        ),
    }
}

fn kw<'s>(kwargs: &'s [(String, Sym)], name: &str) -> Option<&'s Sym> {
    kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn propagate(text: &str, args: &[Sym]) -> Option<Sym> {
    args.iter().find_map(|a| match a {
        Sym::Opaque { reason, .. } => Some(opaque(text, reason.clone())),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------
// Reading the event.

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
fn const_child(c: &Py, key: &Py, mode: Access, default: &Py) -> Option<Py> {
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

fn raises(text: &str) -> Sym {
    Sym::Opaque {
        text: sym::RAISES.into(),
        reason: format!("raises an exception: {text}"),
    }
}

fn field_child(f: &Field, key: &Py, mode: Access, default: &Py, text: &str) -> Sym {
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
    for v in [&key_absent, &parent_absent, &parent_null].into_iter().flatten() {
        if !alts.iter().any(|a| a.py_eq(v) && a.type_name() == v.type_name()) {
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
            return opaque(text, "a key whose default depends on how its parent is missing")
        }
        (Some(a), _) => Some(a.clone()),
        (None, b) => b.clone(),
    };
    cond(parent_present, make(key_absent), make(parent_gone))
}

/// `deep_get(base, *keys, default=d)`.
fn deep_get(base: &Sym, keys: &[Sym], default: &Py, text: &str) -> Sym {
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

fn default_arg(args: &[Sym], pos: usize, kwargs: &[(String, Sym)]) -> Result<Py, Sym> {
    match args.get(pos).or_else(|| kw(kwargs, "default")) {
        None => Ok(Py::None),
        Some(Sym::Const(c)) => Ok(c.clone()),
        Some(other) => Err(other.clone()),
    }
}

fn event_method(ip: &Interp, name: &str, args: &[Sym], kwargs: &[(String, Sym)], text: &str) -> Sym {
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
                Ok(d) => child(&Sym::Event, k, Access::Get, &d, text),
                Err(_) => opaque(text, "a computed default"),
            }
        }
        "deep_get" if !policy => match default_arg(&[], 0, kwargs) {
            Ok(d) => deep_get(&Sym::Event, args, &d, text),
            Err(_) => opaque(text, "a computed default"),
        },
        "deep_walk" if !policy => deep_walk(&Sym::Event, args, kwargs, text),
        "udm" if !policy => {
            let [Sym::Const(Py::Str(k))] = args else {
                return opaque(text, "udm() with several keys");
            };
            match default_arg(&[], 0, kwargs) {
                Ok(d) => ip.udm(k, d, text),
                Err(_) => opaque(text, "a computed default"),
            }
        }
        "lookup" => opaque(text, "a lookup-table enrichment"),
        _ => opaque(text, format!("event method `{name}`")),
    }
}

fn deep_walk(base: &Sym, keys: &[Sym], kwargs: &[(String, Sym)], text: &str) -> Sym {
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

// ---------------------------------------------------------------------------------------
// String tests.

/// A test of a string value: `op` with `values` on a field; `check` on a known string.
fn str_test(
    subject: &Sym,
    op: Op,
    values: &[Py],
    cased: bool,
    text: &str,
    check: &dyn Fn(&str) -> Option<bool>,
) -> Sym {
    match subject {
        Sym::Const(Py::Str(s)) => match check(s) {
            Some(b) => Sym::Const(Py::Bool(b)),
            None => opaque(text, "a test the reader cannot evaluate"),
        },
        Sym::Const(_) => raises(text),
        Sym::Field(f) => {
            let chk = |s: &str| check(s).unwrap_or(false);
            match sym::field_str_op(f, op, values, cased, &chk) {
                Some(e) => bool_sym(e),
                None => opaque(text, "a test the reader cannot express"),
            }
        }
        Sym::Cond(c, a, b) => {
            let l = str_test(a, op, values, cased, text, check);
            let r = str_test(b, op, values, cased, text, check);
            sym::bool_ite((**c).clone(), l, r)
        }
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => opaque(text, "a string test on a value the reader does not model"),
    }
}

fn regex_flags(flags: i64) -> Option<(String, bool)> {
    let mut inline = String::new();
    if flags & !(2 | 8 | 16 | 64 | 32) != 0 {
        return None;
    }
    if flags & 8 != 0 {
        inline.push('m');
    }
    if flags & 16 != 0 {
        inline.push('s');
    }
    if flags & 64 != 0 {
        inline.push('x');
    }
    let prefix = if inline.is_empty() {
        String::new()
    } else {
        format!("(?{inline})")
    };
    Some((prefix, flags & 2 == 0))
}

/// A Python regular expression as the matcher's regex (unanchored search).
fn python_regex(pattern: &str, kind: &str, flags: i64) -> Result<(String, bool), String> {
    let (prefix, cased) = regex_flags(flags).ok_or("regex flags the reader does not model")?;
    let body = pattern.replace("\\Z", "\\z");
    let full = match kind {
        "match" => format!("{prefix}\\A(?:{body})"),
        "fullmatch" => format!("{prefix}\\A(?:{body})\\z"),
        _ => format!("{prefix}{body}"),
    };
    regex::RegexBuilder::new(&full)
        .case_insensitive(!cased)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| {
            format!(
                "a regular expression the matcher cannot run ({})",
                e.to_string().lines().last().unwrap_or("").trim()
            )
        })?;
    Ok((full, cased))
}

fn regex_test(pattern: &str, kind: &str, flags: i64, subject: &Sym, text: &str) -> Sym {
    let r = regex_bool(pattern, kind, flags, subject, text);
    match (kind, r) {
        ("findall", r) => r,
        (_, Sym::Bool(e)) => Sym::Match(e),
        (_, Sym::Const(Py::Bool(b))) => Sym::Match(sym::t(b)),
        (_, r) => r,
    }
}

fn regex_bool(pattern: &str, kind: &str, flags: i64, subject: &Sym, text: &str) -> Sym {
    match python_regex(pattern, kind, flags) {
        Ok((re, cased)) => {
            let compiled = regex::RegexBuilder::new(&re)
                .case_insensitive(!cased)
                .build()
                .ok();
            str_test(
                subject,
                Op::Regex,
                &[Py::Str(re.clone())],
                cased,
                text,
                &|s| compiled.as_ref().map(|r| r.is_match(s)),
            )
        }
        Err(why) => opaque(text, why),
    }
}

/// fnmatch pattern → regex (`fnmatch.translate`), or a glob when only `*`/`?` are used.
fn fnmatch_test(subject: &Sym, pattern: &str, text: &str) -> Sym {
    let simple = !pattern.contains('[') && !pattern.contains('\\');
    let mut re = String::from("\\A(?s:");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut j = i + 1;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    re.push_str("\\[");
                } else {
                    let mut set: String = chars[i + 1..j].iter().collect();
                    set = set.replace('\\', "\\\\");
                    if let Some(rest) = set.strip_prefix('!') {
                        set = format!("^{rest}");
                    } else if set.starts_with('^') {
                        set = format!("\\{set}");
                    }
                    re.push('[');
                    re.push_str(&set);
                    re.push(']');
                    i = j;
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push_str(")\\z");
    let compiled = regex::Regex::new(&re).ok();
    if simple {
        let glob = pattern.to_string();
        str_test(subject, Op::Glob, &[Py::Str(glob)], true, text, &|s| {
            compiled.as_ref().map(|r| r.is_match(s))
        })
    } else {
        str_test(subject, Op::Regex, &[Py::Str(re.clone())], true, text, &|s| {
            compiled.as_ref().map(|r| r.is_match(s))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Calls of native functions.

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
                Ok(d) => deep_get(base, &args[1..], &d, text),
                Err(_) => opaque(text, "a computed default"),
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
                let vals: Option<Vec<Value>> = items
                    .iter()
                    .map(|n| n.as_str().map(Value::str))
                    .collect();
                let Some(vals) = vals else {
                    return opaque(text, "a non-string network");
                };
                if vals.is_empty() {
                    return Sym::Const(Py::Bool(false));
                }
                Sym::Bool(Expr::Pred(Predicate::field(f.name(), Op::Cidr, vals).cased(true)))
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
                let cond_e = match sym::compare(&get(key), Cmp::Eq, &Sym::Const(val.clone()), text) {
                    Sym::Bool(e) => e,
                    Sym::Const(p) => sym::t(p.truthy()),
                    _ => return opaque(text, "get_val_from_list() with a value the reader does not model"),
                };
                Sym::Filtered(Box::new(sym::Filtered {
                    list: f.clone(),
                    marker,
                    cond: cond_e,
                    elem: get(ret),
                }))
            }
            _ => propagate(text, args)
                .unwrap_or_else(|| opaque(text, "get_val_from_list() of a value the reader does not model")),
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
                [Sym::Pattern { pattern, ignore_case }, s, ..] => {
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
        "json.loads" | "json.dumps" => match args.first() {
            Some(Sym::Opaque { reason, .. }) => opaque(text, reason.clone()),
            _ => opaque(text, "JSON decoding of the event's data"),
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
                "is_private" | "is_global" | "is_loopback" | "is_link_local" | "is_multicast"
                    | "is_unspecified" | "is_reserved" | "version"
            ))),
            [Sym::Const(c), Sym::Const(Py::Str(a))] => Sym::Const(Py::Bool(
                crate::query::python::value::str_method("", a, &[]).is_some()
                    && matches!(c, Py::Str(_))
                    || (matches!(c, Py::Dict(_)) && matches!(a.as_str(), "get" | "keys" | "items" | "values")),
            )),
            [Sym::Field(f), Sym::Const(Py::Str(a))] if f.is_plain() => {
                // An attribute of the event's value: by its type.
                let policy = ip.kind() == EventKind::Policy;
                let types: &[&str] = match a.as_str() {
                    "get" | "keys" | "items" | "values" => &["object"],
                    "lower" | "upper" | "strip" | "split" | "startswith" | "endswith" | "replace" => &["string"],
                    "append" | "extend" | "pop" if policy => &["array"],
                    "index" | "count" => &["array", "string"],
                    _ => return opaque(text, format!("hasattr() `{a}` of the event's data")),
                };
                let present = Expr::Pred(
                    Predicate::field(f.name(), Op::IsType, types.iter().map(|t| Value::str(*t)).collect())
                        .cased(true),
                );
                let chk = |d: &Py| {
                    Some(match d {
                        Py::Dict(_) => matches!(a.as_str(), "get" | "keys" | "items" | "values"),
                        Py::Str(_) => str_method("", a, &[]).is_some() || a == "startswith" || a == "endswith",
                        Py::List(_) => matches!(a.as_str(), "append" | "extend" | "pop" | "index" | "count"),
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
            _ => propagate(text, args).unwrap_or_else(|| opaque(text, "hasattr() of the event's data")),
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
                let elem = Expr::Pred(
                    Predicate::field(path.join("."), Op::Truthy, vec![]).cased(true),
                );
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
                    cond(items[0].0.clone(), Sym::Const(Py::Int(1)), Sym::Const(Py::Int(0)))
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
            _ => propagate(text, args).unwrap_or_else(|| opaque(text, "the length of the event's data")),
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
            _ => propagate(text, args).unwrap_or_else(|| opaque(text, format!("{name}() of the event's data"))),
        },
        "isinstance" => match args {
            [x, t] => match type_names(t) {
                Some(names) => isinstance(x, &names, ip.kind() == EventKind::Policy, text),
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

/// The type names of the second argument of `isinstance` (a type or a tuple of types).
fn type_names(t: &Sym) -> Option<Vec<String>> {
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
fn py_isinstance(c: &Py, names: &[String]) -> bool {
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
fn isinstance(x: &Sym, names: &[String], policy: bool, text: &str) -> Sym {
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
            matches!(n.as_str(), "list" | "abc.Sequence" | "abc.MutableSequence" | "abc.Iterable" | "abc.Collection")
        }))),
        Sym::Dict(_) => Sym::Const(Py::Bool(names.iter().any(|n| {
            matches!(n.as_str(), "dict" | "abc.Mapping" | "abc.MutableMapping" | "abc.Iterable" | "abc.Collection")
        }))),
        Sym::Opaque { reason, .. } => opaque(text, reason.clone()),
        _ => opaque(text, "a type test of a value the reader does not model"),
    }
}

/// Python's private networks (`ipaddress`, 3.11): `is_private`; `is_global` is "not
/// private" (and, for IPv4, not in 100.64.0.0/10).
pub const PY_PRIVATE_NETS: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "2001:10::/28",
    "fc00::/7",
    "fe80::/10",
];

fn cidr(f: &Field, nets: &[&str]) -> Expr {
    Expr::Pred(
        Predicate::field(f.name(), Op::Cidr, nets.iter().map(|n| Value::str(*n)).collect())
            .cased(true),
    )
}

/// `ip_address(x)`: raises (ValueError) unless `x` is an IP address.
fn ip_address(ip: &Interp, name: &str, args: &[Sym], text: &str) -> Sym {
    let any: &[&str] = match name {
        "ipaddress.IPv4Address" => &["0.0.0.0/0"],
        "ipaddress.IPv6Address" => &["::/0"],
        _ => &["0.0.0.0/0", "::/0"],
    };
    match args {
        [Sym::Field(f)] if f.is_plain() => {
            let valid = |d: &Py| {
                Some(d.as_str().and_then(|s| s.parse::<std::net::IpAddr>().ok()).is_some_and(|a| {
                    any.iter().any(|n| n.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&a)))
                }))
            };
            ip.may_raise(sym::not(sym::with_fallbacks(f, cidr(f, any), &valid)));
            Sym::Ip(f.clone())
        }
        [Sym::Const(Py::Str(s))] => match s.parse::<std::net::IpAddr>() {
            Ok(_) => opaque(text, "an IP address constant"),
            Err(_) => raises(text),
        },
        [Sym::Cond(c, a, b)] => {
            let l = ip.under((**c).clone(), || ip_address(ip, name, std::slice::from_ref(a), text));
            let r = ip.under(sym::not((**c).clone()), || {
                ip_address(ip, name, std::slice::from_ref(b), text)
            });
            cond((**c).clone(), l, r)
        }
        _ => propagate(text, args)
            .unwrap_or_else(|| opaque(text, "an IP address of a value the reader does not model")),
    }
}

/// `ip_network(x)`: a known network, or a single address of the event.
fn ip_network(ip: &Interp, args: &[Sym], text: &str) -> Sym {
    match args.first() {
        Some(Sym::Const(Py::Str(n))) => match n.trim().parse::<ipnet::IpNet>() {
            Ok(_) => Sym::Net(vec![n.trim().to_string()]),
            Err(_) => match n.trim().parse::<std::net::IpAddr>() {
                Ok(a) => Sym::Net(vec![ipnet::IpNet::from(a).to_string()]),
                Err(_) => raises(text),
            },
        },
        Some(Sym::Opaque { reason, .. }) => opaque(text, reason.clone()),
        Some(Sym::Field(f)) if f.is_plain() => {
            // A single address is a network of one; a CIDR in the event is not modelled.
            let single = cidr(f, &["0.0.0.0/0", "::/0"]);
            ip.may_raise(sym::and(vec![
                sym::not(single.clone()),
                Expr::opaque(text, "whether the event's value is a valid network"),
            ]));
            cond(
                single,
                Sym::Ip(f.clone()),
                opaque(text, "a network read from the event's data"),
            )
        }
        Some(Sym::Cond(c, a, b)) => {
            let l = ip.under((**c).clone(), || ip_network(ip, std::slice::from_ref(a), text));
            let r = ip.under(sym::not((**c).clone()), || {
                ip_network(ip, std::slice::from_ref(b), text)
            });
            cond((**c).clone(), l, r)
        }
        _ => opaque(text, "a network read from the event's data"),
    }
}

/// A property of a known network, as Python's `ipaddress` computes it (both ends of the
/// network must be in one of the listed networks).
fn net_property(net: &str, attr: &str) -> Option<bool> {
    let n: ipnet::IpNet = net.parse().ok()?;
    let within = |list: &[&str]| {
        list.iter().any(|l| {
            l.parse::<ipnet::IpNet>()
                .is_ok_and(|p| p.contains(&n.network()) && p.contains(&n.broadcast()))
        })
    };
    Some(match attr {
        "is_private" => within(PY_PRIVATE_NETS),
        "is_global" => !within(PY_PRIVATE_NETS) && !within(&["100.64.0.0/10"]),
        "is_loopback" => within(&["127.0.0.0/8", "::1/128"]),
        "is_link_local" => within(&["169.254.0.0/16", "fe80::/10"]),
        "is_multicast" => within(&["224.0.0.0/4", "ff00::/8"]),
        _ => return None,
    })
}

/// Properties of `ip_address(field)`.
fn ip_property(f: &Field, attr: &str, text: &str) -> Sym {
    let v4 = cidr(f, &["0.0.0.0/0"]);
    let e = match attr {
        "is_private" => cidr(f, PY_PRIVATE_NETS),
        "is_global" => sym::and(vec![
            sym::not(cidr(f, PY_PRIVATE_NETS)),
            sym::not(cidr(f, &["100.64.0.0/10"])),
        ]),
        "is_loopback" => cidr(f, &["127.0.0.0/8", "::1/128"]),
        "is_link_local" => cidr(f, &["169.254.0.0/16", "fe80::/10"]),
        "is_multicast" => cidr(f, &["224.0.0.0/4", "ff00::/8"]),
        "is_unspecified" => cidr(f, &["0.0.0.0/32", "::/128"]),
        "is_reserved" => cidr(f, &["240.0.0.0/4"]),
        "version" => {
            return cond(v4, Sym::Const(Py::Int(4)), Sym::Const(Py::Int(6)));
        }
        _ => return opaque(text, format!("IP address attribute `{attr}`")),
    };
    bool_sym(e)
}

/// Inside a `try:`: `int(x)` raises unless `x` holds an integer (or a number, or a bool).
fn may_raise_converting(ip: &Interp, name: &str, f: &Field) {
    if !ip.in_try() || name == "str" || !f.is_plain() {
        return;
    }
    let pattern = match name {
        "int" => r"\A\s*[-+]?[0-9]+(?:_[0-9]+)*\s*\z",
        _ => r"(?i)\A\s*[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?|inf(?:inity)?|nan)\s*\z",
    };
    let numeric = Expr::Pred(
        Predicate::field(
            f.name(),
            Op::IsType,
            vec![Value::str("integer"), Value::str("float"), Value::str("boolean")],
        )
        .cased(true),
    );
    let text_ok = Expr::Pred(
        Predicate::field(f.name(), Op::Regex, vec![Value::str(pattern)]).cased(true),
    );
    let present_ok = sym::or(vec![numeric, sym::and(vec![
        Expr::Pred(Predicate::field(f.name(), Op::IsType, vec![Value::str("string")]).cased(true)),
        text_ok,
    ])]);
    let present = sym::and(vec![
        Expr::Pred(Predicate::field(f.name(), Op::Exists, vec![]).cased(true)),
        sym::not(Expr::Pred(Predicate::field(f.name(), Op::IsNull, vec![]).cased(true))),
    ]);
    ip.may_raise(sym::and(vec![present, sym::not(present_ok)]));
    // Absent or null values convert their default, which the caller checks.
}

/// `str(x)`, `int(x)`, `float(x)`.
fn convert(name: &str, args: &[Sym], text: &str) -> Sym {
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
        _ => propagate(text, args)
            .unwrap_or_else(|| opaque(text, format!("{name}() of a value the reader does not model"))),
    }
}

// ---------------------------------------------------------------------------------------
// Methods and attributes.

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
        _ => opaque(text, format!("method `{name}` of a value the reader does not model")),
    }
}

fn derived_method(d: &Derived, name: &str, args: &[Sym], text: &str) -> Sym {
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
        _ => opaque(text, format!("`.{name}()` of a string derived from the event's data")),
    }
}

fn field_method(f: &Field, name: &str, args: &[Sym], kwargs: &[(String, Sym)], text: &str) -> Sym {
    match name {
        "get" => {
            let Some(Sym::Const(k)) = args.first() else {
                return opaque(text, "a computed key");
            };
            match default_arg(args, 1, kwargs) {
                Ok(d) => child(&Sym::Field(f.clone()), k, Access::Get, &d, text),
                Err(_) => opaque(text, "a computed default"),
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
fn intersect(ip: &Interp, c: &Py, f: &Field) -> Option<Sym> {
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

fn const_method(
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
        (Py::Set(v) | Py::List(v) | Py::Tuple(v), "intersection" | "issubset" | "issuperset" | "isdisjoint" | "union" | "difference")
            if consts.is_some() =>
        {
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
        _ => propagate(text, args).unwrap_or_else(|| {
            opaque(text, format!("`.{name}()` on a {}", c.type_name()))
        }),
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

pub fn binop(ip: &Interp, l: &Sym, op: ast::Operator, r: &Sym, text: &str) -> Sym {
    use ast::Operator as O;
    // CONSTANTS & set(list): the elements of the event's list that are constants.
    if op == O::BitAnd {
        if let (Sym::Const(c), Sym::Field(f)) | (Sym::Field(f), Sym::Const(c)) = (l, r) {
            if let Some(s) = intersect(ip, c, f) {
                return s;
            }
        }
    }
    if let (Sym::Const(a), Sym::Const(b)) = (l, r) {
        let v = match (op, a, b) {
            (O::Add, Py::Int(x), Py::Int(y)) => x.checked_add(*y).map(Py::Int),
            (O::Sub, Py::Int(x), Py::Int(y)) => x.checked_sub(*y).map(Py::Int),
            (O::Mult, Py::Int(x), Py::Int(y)) => x.checked_mul(*y).map(Py::Int),
            (O::BitOr, Py::Int(x), Py::Int(y)) => Some(Py::Int(x | y)),
            (O::BitAnd, Py::Int(x), Py::Int(y)) => Some(Py::Int(x & y)),
            (O::Mod, Py::Int(x), Py::Int(y)) if *y != 0 => Some(Py::Int(x.rem_euclid(*y))),
            (O::FloorDiv, Py::Int(x), Py::Int(y)) if *y != 0 => Some(Py::Int(x.div_euclid(*y))),
            (O::Add, Py::Str(x), Py::Str(y)) => Some(Py::Str(format!("{x}{y}"))),
            (O::Add, Py::List(x), Py::List(y)) => Some(Py::List([x.clone(), y.clone()].concat())),
            (O::Add, Py::Tuple(x), Py::Tuple(y)) => {
                Some(Py::Tuple([x.clone(), y.clone()].concat()))
            }
            (O::BitOr, Py::Set(x), Py::Set(y)) => Some(Py::set([x.clone(), y.clone()].concat())),
            (O::BitAnd, Py::Set(x), Py::Set(y)) => Some(Py::set(
                x.iter().filter(|i| y.iter().any(|j| j.py_eq(i))).cloned().collect(),
            )),
            (O::Sub, Py::Set(x), Py::Set(y)) => Some(Py::set(
                x.iter().filter(|i| !y.iter().any(|j| j.py_eq(i))).cloned().collect(),
            )),
            (O::BitOr, Py::Dict(x), Py::Dict(y)) => {
                let mut out = x.clone();
                for (k, v) in y {
                    out.retain(|(a, _)| !a.py_eq(k));
                    out.push((k.clone(), v.clone()));
                }
                Some(Py::Dict(out))
            }
            (_, Py::Float(_) | Py::Int(_), Py::Float(_) | Py::Int(_)) => {
                let (x, y) = (num(a), num(b));
                match op {
                    O::Add => Some(Py::Float(x + y)),
                    O::Sub => Some(Py::Float(x - y)),
                    O::Mult => Some(Py::Float(x * y)),
                    O::Div if y != 0.0 => Some(Py::Float(x / y)),
                    _ => None,
                }
            }
            _ => None,
        };
        return match v {
            Some(v) => Sym::Const(v),
            None => opaque(text, "arithmetic the reader does not model"),
        };
    }
    match (op, l, r) {
        (O::Add, Sym::Seq(a), Sym::Seq(b)) => Sym::Seq([a.clone(), b.clone()].concat()),
        (O::Add, Sym::Seq(a), Sym::Const(Py::List(b))) => {
            Sym::Seq([a.clone(), b.iter().cloned().map(Sym::Const).collect()].concat())
        }
        (O::Add, Sym::Const(Py::List(a)), Sym::Seq(b)) => {
            Sym::Seq([a.iter().cloned().map(Sym::Const).collect(), b.clone()].concat())
        }
        _ => propagate(text, &[l.clone(), r.clone()])
            .unwrap_or_else(|| opaque(text, "arithmetic on the event's data")),
    }
}

fn num(p: &Py) -> f64 {
    match p {
        Py::Int(i) => *i as f64,
        Py::Float(f) => *f,
        _ => 0.0,
    }
}

/// `len(field) <op> n`: a list has at least k elements when position k-1 exists; a string
/// is compared by its length; the length of an object is not modelled.
fn length_compare(f: &Field, cmp: Cmp, n: i64, text: &str) -> Sym {
    let name = f.name();
    let pred = |field: String, op: Op, values: Vec<Value>| {
        Expr::Pred(Predicate::field(field, op, values).cased(true))
    };
    let at_least = |k: i64| -> Expr {
        if k <= 0 {
            return sym::t(true);
        }
        sym::or(vec![
            sym::and(vec![
                pred(name.clone(), Op::IsType, vec![Value::str("array")]),
                pred(format!("{name}.{}", k - 1), Op::Exists, vec![]),
            ]),
            sym::and(vec![
                pred(name.clone(), Op::IsType, vec![Value::str("string")]),
                Expr::Pred(Predicate {
                    transform: Some(Transform::Length),
                    ..Predicate::field(name.clone(), Op::Gte, vec![Value::Num(k as f64)]).cased(true)
                }),
            ]),
            sym::and(vec![
                pred(name.clone(), Op::IsType, vec![Value::str("object")]),
                Expr::opaque(text, "the number of keys of an object"),
            ]),
        ])
    };
    let present = match cmp {
        Cmp::Ge => at_least(n),
        Cmp::Gt => at_least(n + 1),
        Cmp::Lt => sym::not(at_least(n)),
        Cmp::Le => sym::not(at_least(n + 1)),
        Cmp::Eq => sym::and(vec![at_least(n), sym::not(at_least(n + 1))]),
        Cmp::Ne => sym::not(sym::and(vec![at_least(n), sym::not(at_least(n + 1))])),
        _ => return opaque(text, "the length of the event's data"),
    };
    let chk = |d: &Py| {
        let len = match d {
            Py::Str(s) => s.chars().count() as i64,
            other => other.iter_items()?.len() as i64,
        };
        Some(match cmp {
            Cmp::Ge => len >= n,
            Cmp::Gt => len > n,
            Cmp::Lt => len < n,
            Cmp::Le => len <= n,
            Cmp::Eq => len == n,
            _ => len != n,
        })
    };
    bool_sym(sym::with_fallbacks(f, present, &chk))
}

/// Comparisons with a special meaning: `len(field) > 0` and friends.
pub fn compare_special(left: &Sym, cmp: Cmp, right: &Sym, text: &str) -> Option<Sym> {
    if let Sym::Cond(c, a, b) = left {
        let l = compare_special(a, cmp, right, text);
        let r = compare_special(b, cmp, right, text);
        if l.is_some() || r.is_some() {
            let l = l.unwrap_or_else(|| sym::compare(a, cmp, right, text));
            let r = r.unwrap_or_else(|| sym::compare(b, cmp, right, text));
            return Some(sym::bool_ite((**c).clone(), l, r));
        }
    }
    let len_of = |s: &Sym| match s {
        Sym::Len(f) => Some(Sym::Field(f.clone())),
        Sym::FilteredLen(f) => Some(Sym::Filtered(f.clone())),
        Sym::Const(Py::Int(_)) => None,
        _ => None,
    };
    let (f, n, flipped) = match (len_of(left), len_of(right), left, right) {
        (Some(f), None, _, Sym::Const(Py::Int(n))) => (f, *n, false),
        (None, Some(f), Sym::Const(Py::Int(n)), _) => (f, *n, true),
        (Some(_), _, _, _) | (_, Some(_), _, _) => {
            return Some(opaque(text, "the length of the event's data"))
        }
        _ => return None,
    };
    let cmp = if flipped {
        match cmp {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            o => o,
        }
    } else {
        cmp
    };
    // "Empty or not": len(x) > 0, >= 1, == 0, != 0, < 1, <= 0.
    let nonempty = match (cmp, n) {
        (Cmp::Gt, 0) | (Cmp::Ge, 1) | (Cmp::Ne, 0) => true,
        (Cmp::Eq, 0) | (Cmp::Lt, 1) | (Cmp::Le, 0) => false,
        _ => {
            if let Sym::Field(field) = &f {
                return Some(length_compare(field, cmp, n, text));
            }
            return Some(opaque(text, "the length of the event's data"));
        }
    };
    // len() of a missing value raises unless a default was given; truthiness of the
    // value is its non-emptiness for strings, lists and dicts.
    let t = truthy(&f);
    Some(bool_sym(if nonempty { t } else { sym::not(t) }))
}
