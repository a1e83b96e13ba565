//! What the reader knows without reading Python: builtins, `re`, `fnmatch`, the event's
//! methods (`get`, `deep_get`, `udm`...), string and dict methods, and the few
//! `panther_base_helpers` functions it models directly (`deep_get`, `pattern_match`...).

use super::derived::Derived;
use super::interp::{bool_sym, seq_or_const, Interp};
use super::sym::{self, cond, opaque, truthy, Cmp, Conv, Field, Func, Hint, Sym};
use super::value::{str_method, Py};
use super::EventKind;
use crate::model::{Expr, Op, Predicate, Transform, Value};
use rustpython_parser::ast;

mod call;
pub(crate) mod ip;
mod methods;
mod ops;
mod read;
mod strings;
mod types;

pub use call::call;
use ip::*;
use methods::*;
pub use methods::{attribute, method, subscript};
pub use ops::{binop, compare_special};
pub use read::JSON_SUFFIX;
use read::*;
use strings::*;
use types::*;

/// Builtin names the reader models.
pub fn builtin(name: &str) -> Option<Sym> {
    const NAMES: &[&str] = &[
        "any",
        "all",
        "len",
        "str",
        "int",
        "float",
        "bool",
        "isinstance",
        "set",
        "list",
        "tuple",
        "sorted",
        "min",
        "max",
        "abs",
        "print",
        "range",
        "dict",
        "sum",
        "repr",
        "frozenset",
        "enumerate",
        "zip",
        "hasattr",
        "next",
        "reversed",
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
        (
            "ipaddress",
            "ip_address" | "ip_network" | "IPv4Address" | "IPv6Address" | "IPv4Network"
            | "IPv6Network",
        ) => known_fn(name),
        ("json", "loads" | "dumps") => known_fn(name),
        ("panther_detection_helpers.caching" | "panther_oss_helpers", _) => {
            Sym::Func(Func::Native(format!("kv.{name}")))
        }
        (
            "collections.abc" | "collections" | "typing",
            "Mapping" | "MutableMapping" | "Sequence" | "MutableSequence" | "Iterable"
            | "Collection",
        ) => Sym::Func(Func::Native(format!("abc.{name}"))),
        ("unittest.mock" | "mock", "MagicMock" | "Mock") => {
            Sym::Func(Func::Native("MagicMock".into()))
        }
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

fn raises(text: &str) -> Sym {
    Sym::Opaque {
        text: sym::RAISES.into(),
        reason: format!("raises an exception: {text}"),
    }
}
