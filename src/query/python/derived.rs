//! Strings derived from an event field by `strip()`, `split()` and indexing: comparisons on
//! them become regular expressions on the field itself.
//!
//! `x.split("@")[-1] == "corp.com"` holds exactly when `x` matches `(?:\A|@)corp\.com\z`;
//! `x.rstrip(".").endswith(".xyz")` when `x` matches `\.xyz\.*\z`. Only one derivation step
//! (after an optional case fold) is modelled, with single-character separators.

use super::sym::{self, Field};
use super::value::{str_method, Py};
use crate::model::{Expr, Op, Predicate, Transform, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum DKind {
    /// `strip()` / `lstrip()` / `rstrip()`, with the characters removed (`None`: whitespace).
    Strip {
        chars: Option<String>,
        left: bool,
        right: bool,
    },
    /// The list `split(sep)` returns (`keep`: with a maxsplit of 1, the one index whose
    /// part is a plain segment: 0 for `split`, -1 for `rsplit`).
    Parts { sep: char, keep: Option<i64> },
    /// `split(sep)[index]`.
    Segment { sep: char, index: i64 },
    /// `len(split(sep))`.
    Count { sep: char },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// A field read without conversion (its case fold, if any, is in `fold`).
    pub base: Field,
    pub kind: DKind,
    /// Compared after `.lower()`.
    pub fold: bool,
}

fn esc(c: char) -> String {
    regex::escape(&c.to_string())
}

/// A character class of the characters `strip` removes.
fn strip_class(chars: &Option<String>) -> String {
    match chars {
        None => "\\s".into(),
        Some(cs) => {
            let inner: String = cs
                .chars()
                .map(|c| match c {
                    '\\' | ']' | '[' | '^' | '-' | '&' | '~' => format!("\\{c}"),
                    c => c.to_string(),
                })
                .collect();
            format!("[{inner}]")
        }
    }
}

fn is_strip_char(chars: &Option<String>, c: char) -> bool {
    match chars {
        None => c.is_whitespace(),
        Some(cs) => cs.contains(c),
    }
}

impl Derived {
    /// Python's result of the derivation on a known string (`None` when Python raises).
    pub fn apply(&self, p: &Py) -> Option<Py> {
        let s = p.as_str()?;
        let s = if self.fold {
            s.to_lowercase()
        } else {
            s.to_string()
        };
        match &self.kind {
            DKind::Strip { chars, left, right } => {
                let is = |c: char| is_strip_char(chars, c);
                let mut out: &str = &s;
                if *left {
                    out = out.trim_start_matches(is);
                }
                if *right {
                    out = out.trim_end_matches(is);
                }
                Some(Py::Str(out.to_string()))
            }
            DKind::Parts { sep, keep: None } => {
                str_method(&s, "split", &[Py::Str(sep.to_string())])
            }
            DKind::Parts { .. } => None,
            DKind::Segment { sep, index } => {
                let parts: Vec<&str> = s.split(*sep).collect();
                let n = parts.len() as i64;
                let i = if *index < 0 { n + index } else { *index };
                parts
                    .get(usize::try_from(i).ok()?)
                    .map(|x| Py::Str(x.to_string()))
            }
            DKind::Count { sep } => Some(Py::Int(s.matches(*sep).count() as i64 + 1)),
        }
    }

    fn pred(&self, pattern: String) -> Expr {
        Expr::Pred(
            Predicate::field(self.base.name(), Op::Regex, vec![Value::str(pattern)])
                .cased(!self.fold),
        )
    }

    /// The present-value test wrapped with the absent and null cases.
    fn finish(&self, present: Expr, check: &dyn Fn(&Py) -> Option<bool>) -> Expr {
        let f = &self.base;
        sym::with_fallbacks(f, present, &|d| self.apply(d).as_ref().and_then(check))
    }

    /// `derived <op> value` for `op` in Eq (several values: any), StartsWith, EndsWith,
    /// Contains. `None` when not expressible.
    pub fn test(&self, op: Op, values: &[Py]) -> Option<Expr> {
        let mut strs: Vec<String> = Vec::new();
        for v in values {
            match v {
                Py::Str(s) => {
                    // A folded value never equals a string with capitals.
                    if !self.fold || s.to_lowercase() == *s {
                        strs.push(s.clone());
                    }
                }
                Py::None => {}
                // A string never equals a number.
                _ if op == Op::Eq => {}
                _ => return None,
            }
        }
        let check = |d: &Py| -> Option<bool> {
            let s = d.as_str()?;
            Some(strs.iter().any(|v| match op {
                Op::Eq => s == v,
                Op::StartsWith => s.starts_with(v.as_str()),
                Op::EndsWith => s.ends_with(v.as_str()),
                _ => s.contains(v.as_str()),
            }))
        };
        if strs.is_empty() {
            return Some(self.finish(sym::t(false), &check));
        }
        let present = match &self.kind {
            DKind::Segment { sep, index } => {
                // Values holding the separator never fit in one segment.
                let vals: Vec<&String> = strs.iter().filter(|v| !v.contains(*sep)).collect();
                if vals.is_empty() {
                    sym::t(false)
                } else {
                    let alt = format!(
                        "(?:{})",
                        vals.iter()
                            .map(|v| regex::escape(v))
                            .collect::<Vec<_>>()
                            .join("|")
                    );
                    let c = esc(*sep);
                    let seg = format!("[^{c}]*");
                    let body = match op {
                        Op::Eq => alt,
                        Op::StartsWith => format!("{alt}{seg}"),
                        Op::EndsWith => format!("{seg}{alt}"),
                        _ => format!("{seg}{alt}{seg}"),
                    };
                    let pattern = if *index >= 0 {
                        format!("\\A(?:{seg}{c}){{{index}}}{body}(?:{c}|\\z)")
                    } else {
                        let k = -index - 1;
                        format!("(?:\\A|{c}){body}(?:{c}{seg}){{{k}}}\\z")
                    };
                    self.pred(pattern)
                }
            }
            DKind::Strip { chars, left, right } => {
                let class = strip_class(chars);
                let mut alts = Vec::new();
                for v in &strs {
                    let first = v.chars().next();
                    let last = v.chars().last();
                    let edge_left = *left && first.is_some_and(|c| is_strip_char(chars, c));
                    let edge_right = *right && last.is_some_and(|c| is_strip_char(chars, c));
                    if v.is_empty() {
                        // Every string starts with, ends with and contains "".
                        if op != Op::Eq {
                            return Some(sym::t(true));
                        }
                        alts.push(format!("\\A{class}*\\z"));
                        continue;
                    }
                    let ev = regex::escape(v);
                    let lead = if *left {
                        format!("{class}*")
                    } else {
                        String::new()
                    };
                    let trail = if *right {
                        format!("{class}*")
                    } else {
                        String::new()
                    };
                    let pat = match op {
                        Op::Eq if edge_left || edge_right => continue,
                        Op::Eq => format!("\\A{lead}{ev}{trail}\\z"),
                        Op::StartsWith if edge_left || edge_right => return None,
                        Op::StartsWith => format!("\\A{lead}{ev}"),
                        Op::EndsWith if edge_left || edge_right => return None,
                        Op::EndsWith => format!("{ev}{trail}\\z"),
                        _ if edge_left || edge_right => return None,
                        _ => ev,
                    };
                    alts.push(pat);
                }
                if alts.is_empty() {
                    sym::t(false)
                } else {
                    self.pred(alts.join("|"))
                }
            }
            DKind::Parts { .. } | DKind::Count { .. } => return None,
        };
        Some(self.finish(present, &check))
    }

    /// Python truthiness of the derived value.
    pub fn truthy(&self) -> Expr {
        let present = match &self.kind {
            DKind::Strip { chars, .. } => {
                let class = strip_class(chars);
                let not_class = if chars.is_none() {
                    "\\S".to_string()
                } else {
                    format!("[^{}", &class[1..])
                };
                self.pred(not_class)
            }
            DKind::Segment { sep, index } => {
                let c = esc(*sep);
                let seg = format!("[^{c}]");
                if *index >= 0 {
                    self.pred(format!("\\A(?:{seg}*{c}){{{index}}}{seg}"))
                } else {
                    let k = -index - 1;
                    self.pred(format!("{seg}(?:{c}{seg}*){{{k}}}\\z"))
                }
            }
            // A split always returns at least one part.
            DKind::Parts { .. } | DKind::Count { .. } => sym::t(true),
        };
        self.finish(present, &|d| Some(d.truthy()))
    }

    /// `len(x.split(sep)) <op> n`.
    pub fn count(&self, op: Op, n: &Py) -> Option<Expr> {
        let DKind::Count { sep } = &self.kind else {
            return None;
        };
        let n = match n {
            Py::Int(n) => *n,
            _ => return None,
        };
        let c = esc(*sep);
        // At least `k` parts: at least k-1 separators.
        let at_least = |k: i64| -> Expr {
            if k <= 1 {
                sym::t(true)
            } else {
                self.pred(format!("(?:[^{c}]*{c}){{{}}}", k - 1))
            }
        };
        let exactly = |k: i64| -> Expr {
            if k < 1 {
                sym::t(false)
            } else {
                self.pred(format!("\\A(?:[^{c}]*{c}){{{}}}[^{c}]*\\z", k - 1))
            }
        };
        let present = match op {
            Op::Gte => at_least(n),
            Op::Gt => at_least(n + 1),
            Op::Lt => sym::not(at_least(n)),
            Op::Lte => sym::not(at_least(n + 1)),
            Op::Eq => exactly(n),
            _ => return None,
        };
        let check = |d: &Py| -> Option<bool> {
            let Py::Int(have) = d else { return None };
            Some(match op {
                Op::Gte => *have >= n,
                Op::Gt => *have > n,
                Op::Lt => *have < n,
                Op::Lte => *have <= n,
                _ => *have == n,
            })
        };
        Some(self.finish(present, &check))
    }

    /// A derived value from a field and a method: `strip`, `lstrip`, `rstrip`, `split`.
    pub fn from_method(f: &Field, name: &str, args: &[Py]) -> Option<Derived> {
        if f.conv.is_some() || !matches!(f.transform, None | Some(Transform::Lower)) {
            return None;
        }
        let fold = f.transform == Some(Transform::Lower);
        let mut base = f.clone();
        base.transform = None;
        let chars = match args {
            [] => None,
            [Py::Str(s)] => Some(s.clone()),
            [Py::None] => None,
            _ if name.ends_with("strip") => return None,
            _ => None,
        };
        let kind = match name {
            "strip" => DKind::Strip {
                chars,
                left: true,
                right: true,
            },
            "lstrip" => DKind::Strip {
                chars,
                left: true,
                right: false,
            },
            "rstrip" => DKind::Strip {
                chars,
                left: false,
                right: true,
            },
            "split" | "rsplit" => {
                let sep = match args.first() {
                    Some(Py::Str(s)) if s.chars().count() == 1 => s.chars().next()?,
                    _ => return None,
                };
                // A maxsplit of 1 keeps the first (split) or last (rsplit) part a segment.
                match (name, args.get(1)) {
                    (_, None) | (_, Some(Py::Int(-1))) => DKind::Parts { sep, keep: None },
                    ("split", Some(Py::Int(1))) => DKind::Parts { sep, keep: Some(0) },
                    ("rsplit", Some(Py::Int(1))) => DKind::Parts {
                        sep,
                        keep: Some(-1),
                    },
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(Derived { base, kind, fold })
    }

    /// `parts[i]`.
    pub fn index(&self, i: &Py) -> Option<Derived> {
        let i = match (&self.kind, i) {
            (DKind::Parts { keep: None, .. }, Py::Int(i)) => *i,
            // rsplit(sep, 1)[1] is the last part whenever it exists.
            (DKind::Parts { keep: Some(-1), .. }, Py::Int(1 | -1)) => -1,
            (DKind::Parts { keep: Some(0), .. }, Py::Int(0)) => 0,
            _ => return None,
        };
        match (&self.kind, i) {
            (DKind::Parts { sep, .. }, i) => Some(Derived {
                base: self.base.clone(),
                kind: DKind::Segment {
                    sep: *sep,
                    index: i,
                },
                fold: self.fold,
            }),
            _ => None,
        }
    }

    /// `len(parts)`.
    pub fn len(&self) -> Option<Derived> {
        match &self.kind {
            DKind::Parts { sep, keep: None } => Some(Derived {
                base: self.base.clone(),
                kind: DKind::Count { sep: *sep },
                fold: self.fold,
            }),
            _ => None,
        }
    }

    /// `.lower()` of a derived string.
    pub fn lowered(&self) -> Option<Derived> {
        match self.kind {
            DKind::Strip { .. } | DKind::Segment { .. } => Some(Derived {
                fold: true,
                ..self.clone()
            }),
            _ => None,
        }
    }

    /// True for a derived string (not a list or a count).
    pub fn is_str(&self) -> bool {
        matches!(self.kind, DKind::Strip { .. } | DKind::Segment { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::python::sym::Hint;
    use crate::verify::matcher::eval;
    use crate::verify::Verdict;
    use serde_json::json;

    fn field(name: &str) -> Field {
        Field {
            path: vec![name.into()],
            missing: Some(Py::str("")),
            null: Some(Py::None),
            transform: None,
            conv: None,
            hint: Hint::Str,
        }
    }

    fn check(e: &Expr, v: &str, want: bool) {
        let got = eval(e, &json!({ "x": v }));
        let want = if want {
            Verdict::Match
        } else {
            Verdict::NoMatch
        };
        assert_eq!(got, want, "{v}");
    }

    #[test]
    fn segments_become_regexes() {
        let parts = Derived::from_method(&field("x"), "split", &[Py::str("@")]).unwrap();
        let last = parts.index(&Py::Int(-1)).unwrap();
        let e = last.test(Op::Eq, &[Py::str("corp.com")]).unwrap();
        check(&e, "a@corp.com", true);
        check(&e, "corp.com", true);
        check(&e, "a@corp.com.evil", false);
        check(&e, "a@b@corp.com", true);
        let second = parts.index(&Py::Int(1)).unwrap();
        let e = second.test(Op::StartsWith, &[Py::str("co")]).unwrap();
        check(&e, "a@corp@x", true);
        check(&e, "corp@a", false);
        let count = parts.len().unwrap();
        let e = count.count(Op::Gte, &Py::Int(3)).unwrap();
        check(&e, "a@b@c", true);
        check(&e, "a@b", false);
    }

    #[test]
    fn strips_become_regexes() {
        let d = Derived::from_method(&field("x"), "rstrip", &[Py::str(".")]).unwrap();
        let e = d.test(Op::EndsWith, &[Py::str(".xyz")]).unwrap();
        check(&e, "pool.xyz.", true);
        check(&e, "pool.xyz", true);
        check(&e, "pool.xyzw", false);
        let e = d.test(Op::Eq, &[Py::str("a.b")]).unwrap();
        check(&e, "a.b..", true);
        check(&e, "a.bc", false);
        let t = Derived::from_method(&field("x"), "strip", &[])
            .unwrap()
            .truthy();
        check(&t, "   ", false);
        check(&t, " a ", true);
    }
}
