//! String tests: `startswith`/`endswith`, `re`, `fnmatch`, as predicates on fields.

use super::*;

/// A test of a string value: `op` with `values` on a field; `check` on a known string.
pub(super) fn str_test(
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

pub(super) fn regex_flags(flags: i64) -> Option<(String, bool)> {
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
pub(super) fn python_regex(
    pattern: &str,
    kind: &str,
    flags: i64,
) -> Result<(String, bool), String> {
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

pub(super) fn regex_test(pattern: &str, kind: &str, flags: i64, subject: &Sym, text: &str) -> Sym {
    let r = regex_bool(pattern, kind, flags, subject, text);
    match (kind, r) {
        ("findall", r) => r,
        (_, Sym::Bool(e)) => Sym::Match(e),
        (_, Sym::Const(Py::Bool(b))) => Sym::Match(sym::t(b)),
        (_, r) => r,
    }
}

pub(super) fn regex_bool(pattern: &str, kind: &str, flags: i64, subject: &Sym, text: &str) -> Sym {
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
pub(super) fn fnmatch_test(subject: &Sym, pattern: &str, text: &str) -> Sym {
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
        str_test(
            subject,
            Op::Regex,
            &[Py::Str(re.clone())],
            true,
            text,
            &|s| compiled.as_ref().map(|r| r.is_match(s)),
        )
    }
}
