//! Known Python values and the bits of Python semantics the reader evaluates at read time:
//! equality across numeric types, truthiness, `in`, ordering, `str()` and the common
//! string methods.

use crate::model::Value;
use std::cmp::Ordering;

/// A Python value known while reading the rule (a literal, a module constant, a default).
#[derive(Debug, Clone, PartialEq)]
pub enum Py {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Py>),
    Tuple(Vec<Py>),
    /// Kept in insertion order without duplicates.
    Set(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Py {
    pub fn str(s: impl Into<String>) -> Py {
        Py::Str(s.into())
    }

    pub fn set(items: Vec<Py>) -> Py {
        let mut out: Vec<Py> = Vec::new();
        for i in items {
            if !out.iter().any(|o| o.py_eq(&i)) {
                out.push(i);
            }
        }
        Py::Set(out)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Py::None => "NoneType",
            Py::Bool(_) => "bool",
            Py::Int(_) => "int",
            Py::Float(_) => "float",
            Py::Str(_) => "str",
            Py::List(_) => "list",
            Py::Tuple(_) => "tuple",
            Py::Set(_) => "set",
            Py::Dict(_) => "dict",
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Py::None => false,
            Py::Bool(b) => *b,
            Py::Int(i) => *i != 0,
            Py::Float(f) => *f != 0.0,
            Py::Str(s) => !s.is_empty(),
            Py::List(v) | Py::Tuple(v) | Py::Set(v) => !v.is_empty(),
            Py::Dict(d) => !d.is_empty(),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Py::Bool(b) => Some(f64::from(u8::from(*b))),
            Py::Int(i) => Some(*i as f64),
            Py::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Python `==`.
    pub fn py_eq(&self, other: &Py) -> bool {
        match (self, other) {
            (Py::None, Py::None) => true,
            (Py::Str(a), Py::Str(b)) => a == b,
            (Py::List(a), Py::List(b)) | (Py::Tuple(a), Py::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Py::Set(a), Py::Set(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| x.py_eq(y)))
            }
            (Py::Dict(a), Py::Dict(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k.py_eq(k2) && v.py_eq(v2)))
            }
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }

    /// Python `item in self`; `None` when Python raises a TypeError.
    pub fn contains(&self, item: &Py) -> Option<bool> {
        match self {
            Py::Str(s) => match item {
                Py::Str(i) => Some(s.contains(i.as_str())),
                _ => None,
            },
            Py::List(v) | Py::Tuple(v) | Py::Set(v) => Some(v.iter().any(|x| x.py_eq(item))),
            Py::Dict(d) => Some(d.iter().any(|(k, _)| k.py_eq(item))),
            _ => None,
        }
    }

    /// Python ordering (`<` and friends); `None` when the types do not compare.
    pub fn py_cmp(&self, other: &Py) -> Option<Ordering> {
        match (self, other) {
            (Py::Str(a), Py::Str(b)) => Some(a.cmp(b)),
            (Py::List(a), Py::List(b)) | (Py::Tuple(a), Py::Tuple(b)) => {
                for (x, y) in a.iter().zip(b) {
                    if !x.py_eq(y) {
                        return x.py_cmp(y);
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => None,
            },
        }
    }

    /// Elements when iterating (`for x in self`); dicts give their keys, strings their chars.
    pub fn iter_items(&self) -> Option<Vec<Py>> {
        match self {
            Py::List(v) | Py::Tuple(v) | Py::Set(v) => Some(v.clone()),
            Py::Dict(d) => Some(d.iter().map(|(k, _)| k.clone()).collect()),
            Py::Str(s) => Some(s.chars().map(|c| Py::Str(c.to_string())).collect()),
            _ => None,
        }
    }

    /// `self[key]` / `self.get(key)` on a dict.
    pub fn dict_get(&self, key: &Py) -> Option<&Py> {
        match self {
            Py::Dict(d) => d.iter().find(|(k, _)| k.py_eq(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python `str(self)`.
    pub fn py_str(&self) -> String {
        match self {
            Py::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    /// Python `repr(self)`.
    pub fn repr(&self) -> String {
        fn seq(items: &[Py], open: &str, close: &str) -> String {
            let inner: Vec<String> = items.iter().map(Py::repr).collect();
            format!("{open}{}{close}", inner.join(", "))
        }
        match self {
            Py::None => "None".into(),
            Py::Bool(true) => "True".into(),
            Py::Bool(false) => "False".into(),
            Py::Int(i) => i.to_string(),
            Py::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            }
            Py::Str(s) => {
                let q = if s.contains('\'') && !s.contains('"') {
                    '"'
                } else {
                    '\''
                };
                let mut out = String::new();
                out.push(q);
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        c if c == q => {
                            out.push('\\');
                            out.push(c)
                        }
                        c => out.push(c),
                    }
                }
                out.push(q);
                out
            }
            Py::List(v) => seq(v, "[", "]"),
            Py::Tuple(v) if v.len() == 1 => format!("({},)", v[0].repr()),
            Py::Tuple(v) => seq(v, "(", ")"),
            Py::Set(v) if v.is_empty() => "set()".into(),
            Py::Set(v) => seq(v, "{", "}"),
            Py::Dict(d) => {
                let inner: Vec<String> = d
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.repr(), v.repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }

    /// The IR value of a scalar (`None` for containers).
    pub fn to_value(&self) -> Option<Value> {
        match self {
            Py::None => Some(Value::Null),
            Py::Bool(b) => Some(Value::Bool(*b)),
            Py::Int(i) => Some(Value::Num(*i as f64)),
            Py::Float(f) => Some(Value::Num(*f)),
            Py::Str(s) => Some(Value::Str(s.clone())),
            _ => None,
        }
    }

    /// A JSON (YAML) value as Python sees it after `json.loads` / YAML loading.
    pub fn from_json(v: &serde_json::Value) -> Py {
        use serde_json::Value as J;
        match v {
            J::Null => Py::None,
            J::Bool(b) => Py::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Py::Int(i),
                None => Py::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Py::Str(s.clone()),
            J::Array(a) => Py::List(a.iter().map(Py::from_json).collect()),
            J::Object(m) => Py::Dict(
                m.iter()
                    .map(|(k, v)| (Py::Str(k.clone()), Py::from_json(v)))
                    .collect(),
            ),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Py::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The strings of a string or a tuple/list of strings (`startswith` arguments).
    pub fn str_alternatives(&self) -> Option<Vec<String>> {
        match self {
            Py::Str(s) => Some(vec![s.clone()]),
            Py::Tuple(v) | Py::List(v) => v.iter().map(|x| x.as_str().map(String::from)).collect(),
            _ => None,
        }
    }
}

/// A string method on a known string; `None` when not modelled (or Python would raise).
pub fn str_method(s: &str, name: &str, args: &[Py]) -> Option<Py> {
    let arg_str = |i: usize| args.get(i).and_then(Py::as_str);
    Some(match (name, args.len()) {
        ("lower" | "casefold", 0) => Py::Str(s.to_lowercase()),
        ("upper", 0) => Py::Str(s.to_uppercase()),
        ("strip", 0) => Py::Str(s.trim().to_string()),
        ("lstrip", 0) => Py::Str(s.trim_start().to_string()),
        ("rstrip", 0) => Py::Str(s.trim_end().to_string()),
        ("strip", 1) => {
            let chars: Vec<char> = arg_str(0)?.chars().collect();
            Py::Str(s.trim_matches(|c| chars.contains(&c)).to_string())
        }
        ("startswith", 1) => {
            let alts = args[0].str_alternatives()?;
            Py::Bool(alts.iter().any(|a| s.starts_with(a.as_str())))
        }
        ("endswith", 1) => {
            let alts = args[0].str_alternatives()?;
            Py::Bool(alts.iter().any(|a| s.ends_with(a.as_str())))
        }
        ("split", 0) => Py::List(
            s.split_whitespace()
                .map(|p| Py::Str(p.to_string()))
                .collect(),
        ),
        ("split", 1) => {
            let sep = arg_str(0)?;
            if sep.is_empty() {
                return None;
            }
            Py::List(s.split(sep).map(|p| Py::Str(p.to_string())).collect())
        }
        ("replace", 2) => Py::Str(s.replace(arg_str(0)?, arg_str(1)?)),
        ("removeprefix", 1) => Py::Str(s.strip_prefix(arg_str(0)?).unwrap_or(s).to_string()),
        ("removesuffix", 1) => Py::Str(s.strip_suffix(arg_str(0)?).unwrap_or(s).to_string()),
        ("join", 1) => {
            let items = args[0].iter_items()?;
            let parts: Option<Vec<String>> =
                items.iter().map(|i| i.as_str().map(String::from)).collect();
            Py::Str(parts?.join(s))
        }
        ("isdigit" | "isnumeric" | "isdecimal", 0) => {
            Py::Bool(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        }
        ("find", 1) => Py::Int(
            s.find(arg_str(0)?)
                .map(|b| s[..b].chars().count() as i64)
                .unwrap_or(-1),
        ),
        ("count", 1) => {
            let sub = arg_str(0)?;
            if sub.is_empty() {
                return None;
            }
            Py::Int(s.matches(sub).count() as i64)
        }
        ("title", 0) | ("capitalize", 0) => return None,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_follows_python() {
        assert!(Py::Int(1).py_eq(&Py::Float(1.0)));
        assert!(Py::Bool(true).py_eq(&Py::Int(1)));
        assert!(!Py::str("1").py_eq(&Py::Int(1)));
        assert!(!Py::List(vec![]).py_eq(&Py::Tuple(vec![])));
        assert!(Py::None.py_eq(&Py::None));
    }

    #[test]
    fn membership_and_truthiness() {
        assert_eq!(Py::str("abc").contains(&Py::str("b")), Some(true));
        assert_eq!(Py::str("abc").contains(&Py::Int(1)), None);
        assert_eq!(
            Py::set(vec![Py::str("a"), Py::str("a")])
                .iter_items()
                .map(|v| v.len()),
            Some(1)
        );
        assert!(!Py::str("").truthy());
        assert!(Py::str("False").truthy());
        assert!(!Py::Dict(vec![]).truthy());
    }

    #[test]
    fn string_methods() {
        assert_eq!(str_method("AbC", "lower", &[]), Some(Py::str("abc")));
        assert_eq!(
            str_method(
                "abc",
                "startswith",
                &[Py::Tuple(vec![Py::str("x"), Py::str("a")])]
            ),
            Some(Py::Bool(true))
        );
        assert_eq!(Py::str("it's").repr(), "\"it's\"");
        assert_eq!(Py::Float(2.0).repr(), "2.0");
    }
}
