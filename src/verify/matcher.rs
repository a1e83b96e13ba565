//! The bundled matcher: evaluates the IR on a JSON event, three-valued.
//!
//! Field lookup is generic: the literal key first (`process.name` as one key), then the
//! dotted path through nested objects; arrays match when any element does. Vendor
//! conventions (Sigma's Windows event layout, Chronicle's camelCase) are applied by the
//! format when it prepares a test event, not here.

use super::{Outcome, TestResult, Verdict};
use crate::model::{Expect, Expr, Op, Predicate, Rule, Transform, Value};
use serde_json::Value as J;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Evaluates `expr` on one event.
pub fn eval(expr: &Expr, event: &J) -> Verdict {
    match tri(expr, event) {
        Tri::True => Verdict::Match,
        Tri::False => Verdict::NoMatch,
        Tri::Unknown(r) => Verdict::Unknown(r),
    }
}

/// Runs every bundled test of a rule.
pub fn run_tests(rule: &Rule) -> Vec<TestResult> {
    rule.tests
        .iter()
        .map(|t| {
            let result = |outcome, detail: String| TestResult {
                name: t.name.clone(),
                outcome,
                detail,
            };
            if let Some(reason) = &t.unsupported {
                return result(Outcome::Unsupported, reason.clone());
            }
            let Some(det) = &rule.detection else {
                return result(
                    Outcome::Unsupported,
                    "the rule has no detection logic the matcher can run".into(),
                );
            };
            let mut matched = 0usize;
            let mut unknown: Option<String> = None;
            for ev in &t.events {
                match eval(&det.expr, ev) {
                    Verdict::Match => matched += 1,
                    Verdict::NoMatch => {}
                    Verdict::Unknown(r) => {
                        unknown.get_or_insert(r);
                    }
                }
            }
            let (want, want_text) = match t.expect {
                Expect::Match => (t.events.len().max(1), "a match".to_string()),
                Expect::NoMatch => (0, "no match".to_string()),
                Expect::Count(n) => (n, format!("{n} matching events")),
                Expect::AtLeast(n) => (n, format!("at least {n} matching events")),
            };
            let exact = match t.expect {
                Expect::Match => matched == t.events.len() && !t.events.is_empty(),
                Expect::AtLeast(n) => matched >= n && !t.events.is_empty(),
                _ => matched == want,
            };
            if let (Expect::AtLeast(_), true) = (t.expect, exact) {
                // Enough known matches: the unknown events cannot undo them.
                return result(Outcome::Pass, String::new());
            }
            if let Some(reason) = unknown {
                // Known matches beyond the expectation already decide a failure.
                if matched > want && !matches!(t.expect, Expect::AtLeast(_)) {
                    return result(
                        Outcome::Fail,
                        format!("expected {want_text}, got {matched} matching events"),
                    );
                }
                return result(Outcome::Unsupported, reason);
            }
            if exact {
                result(Outcome::Pass, String::new())
            } else {
                let got = if t.events.len() == 1 {
                    if matched == 1 {
                        "a match".to_string()
                    } else {
                        "no match".to_string()
                    }
                } else {
                    format!("{matched} of {} events matching", t.events.len())
                };
                result(Outcome::Fail, format!("expected {want_text}, got {got}"))
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Tri {
    True,
    False,
    Unknown(String),
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

fn tri(expr: &Expr, ev: &J) -> Tri {
    match expr {
        Expr::All { items } => {
            let mut unknown = None;
            for i in items {
                match tri(i, ev) {
                    Tri::False => return Tri::False,
                    Tri::Unknown(r) => {
                        unknown.get_or_insert(r);
                    }
                    Tri::True => {}
                }
            }
            unknown.map(Tri::Unknown).unwrap_or(Tri::True)
        }
        Expr::Any { items } => {
            let mut unknown = None;
            for i in items {
                match tri(i, ev) {
                    Tri::True => return Tri::True,
                    Tri::Unknown(r) => {
                        unknown.get_or_insert(r);
                    }
                    Tri::False => {}
                }
            }
            unknown.map(Tri::Unknown).unwrap_or(Tri::False)
        }
        Expr::Not { item } => match tri(item, ev) {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            u => u,
        },
        Expr::Named { item, .. } => tri(item, ev),
        Expr::Const { value } => Tri::from_bool(*value),
        Expr::Pred(p) => pred(p, ev),
        Expr::Opaque { reason, .. } => Tri::Unknown(format!("opaque logic: {reason}")),
        Expr::Sequence { steps, .. } => {
            // One event cannot satisfy a multi-event sequence; if no step matches, it is a no.
            if steps.iter().all(|s| tri(s, ev) == Tri::False) {
                Tri::False
            } else {
                Tri::Unknown("multi-event sequence".into())
            }
        }
        Expr::AnyElement { field, item } => any_element(field, item, ev),
        Expr::Aggregate { description, item } => match tri(item, ev) {
            Tri::False => Tri::False,
            _ => Tri::Unknown(format!("stateful aggregation: {description}")),
        },
    }
}

/// Some element of the arrays at `field` satisfies `item`, evaluated on the event with that
/// one element in place of the array.
fn any_element(field: &str, item: &Expr, ev: &J) -> Tri {
    let segments: Vec<&str> = field.split('.').collect();
    let Some(list) = plain_path(ev, &segments) else {
        return if lookup(ev, field).is_empty() {
            Tri::False
        } else {
            Tri::Unknown(format!("`{field}` is not a plain path to one list"))
        };
    };
    let J::Array(elements) = list else {
        return Tri::False;
    };
    let mut unknown = None;
    for el in elements {
        let mut one = ev.clone();
        if let Some(slot) = plain_path_mut(&mut one, &segments) {
            *slot = el.clone();
        }
        match tri(item, &one) {
            Tri::True => return Tri::True,
            Tri::Unknown(r) => {
                unknown.get_or_insert(r);
            }
            Tri::False => {}
        }
    }
    unknown.map(Tri::Unknown).unwrap_or(Tri::False)
}

/// The value at a path of object keys (no arrays on the way).
fn plain_path<'a>(v: &'a J, segments: &[&str]) -> Option<&'a J> {
    segments
        .iter()
        .try_fold(v, |cur, s| cur.as_object().and_then(|m| m.get(*s)))
}

fn plain_path_mut<'a>(v: &'a mut J, segments: &[&str]) -> Option<&'a mut J> {
    segments
        .iter()
        .try_fold(v, |cur, s| cur.as_object_mut().and_then(|m| m.get_mut(*s)))
}

/// Looks a field up: the literal key first, then the dotted path. Returns every value
/// reached (arrays flattened), empty when absent.
pub fn lookup<'a>(ev: &'a J, field: &str) -> Vec<&'a J> {
    lookup_with(ev, field, true)
}

/// `lookup`, optionally keeping the values reached whole (a list stays one value).
fn lookup_with<'a>(ev: &'a J, field: &str, flat: bool) -> Vec<&'a J> {
    let mut out = Vec::new();
    if let J::Object(m) = ev {
        if let Some(v) = m.get(field) {
            reached(v, &mut out, flat);
            return out;
        }
    }
    walk_path(ev, field, &mut out, flat);
    out
}

fn reached<'a>(v: &'a J, out: &mut Vec<&'a J>, flat: bool) {
    if flat {
        flatten(v, out)
    } else {
        out.push(v)
    }
}

/// The JSON type of a value, as `Op::IsType` names it.
fn json_type(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n) if n.is_f64() => "float",
        J::Number(_) => "integer",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

/// Python truthiness of a JSON value.
fn py_truthy(v: &J) -> bool {
    match v {
        J::Null => false,
        J::Bool(b) => *b,
        J::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        J::String(s) => !s.is_empty(),
        J::Array(a) => !a.is_empty(),
        J::Object(m) => !m.is_empty(),
    }
}

fn flatten<'a>(v: &'a J, out: &mut Vec<&'a J>) {
    match v {
        J::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        other => out.push(other),
    }
}

fn walk_path<'a>(v: &'a J, path: &str, out: &mut Vec<&'a J>, flat: bool) {
    match v {
        J::Array(a) => {
            // A numeric segment is a position in the list (negative: from its end).
            let (seg, rest) = path.split_once('.').unwrap_or((path, ""));
            if let Ok(i) = seg.parse::<i64>() {
                let idx = if i < 0 { a.len() as i64 + i } else { i };
                if let Some(el) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                    if rest.is_empty() {
                        reached(el, out, flat);
                    } else {
                        walk_path(el, rest, out, flat);
                    }
                }
                return;
            }
            a.iter().for_each(|x| walk_path(x, path, out, flat))
        }
        J::Object(m) => {
            // Try every split point so keys that themselves contain dots are found.
            for (i, _) in path.match_indices('.') {
                if let Some(child) = m.get(&path[..i]) {
                    walk_path(child, &path[i + 1..], out, flat);
                }
            }
            if let Some(v) = m.get(path) {
                reached(v, out, flat);
            }
        }
        _ => {}
    }
}

fn pred(p: &Predicate, ev: &J) -> Tri {
    let Some(field) = &p.field else {
        return keyword(p, ev);
    };
    if p.op == Op::Truthy {
        return Tri::from_bool(lookup_with(ev, field, false).into_iter().any(py_truthy));
    }
    if p.op == Op::IsType {
        let types: Vec<String> = p.values.iter().map(|v| v.to_string()).collect();
        return Tri::from_bool(
            lookup_with(ev, field, false)
                .into_iter()
                .any(|v| types.iter().any(|t| t == json_type(v))),
        );
    }
    let found = lookup(ev, field);
    match p.op {
        Op::Exists => return Tri::from_bool(!found.is_empty()),
        Op::IsNull => return Tri::from_bool(found.is_empty() || found.iter().all(|v| v.is_null())),
        Op::IsEmpty => {
            return Tri::from_bool(
                found.is_empty() || found.iter().all(|v| v.is_null() || v.as_str() == Some("")),
            )
        }
        _ => {}
    }
    let targets: Vec<Value> = found
        .iter()
        .filter(|v| !v.is_null())
        .map(|v| Value::from_json(v))
        .collect();
    if targets.is_empty() {
        // A missing field matches nothing; a null value only matches an explicit null.
        let null_wanted = found.iter().any(|v| v.is_null())
            && p.op == Op::Eq
            && p.values.iter().any(|v| matches!(v, Value::Null));
        return Tri::from_bool(null_wanted);
    }
    let values: Vec<Value> = if p.field_ref {
        let mut vs = Vec::new();
        for v in &p.values {
            let name = v.to_string();
            let got = lookup(ev, &name);
            if got.is_empty() {
                if p.all {
                    return Tri::False;
                }
                continue;
            }
            vs.extend(got.into_iter().map(Value::from_json));
        }
        vs
    } else {
        p.values.clone()
    };
    let check = |want: &Value| -> Result<bool, String> {
        for t in &targets {
            let t = match p.transform {
                Some(tr) => match transform(tr, t) {
                    Some(v) => v,
                    None => continue,
                },
                None => t.clone(),
            };
            if compare(p.op, &t, want, p.case_sensitive)? {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let mut any = false;
    let mut all = true;
    for want in &values {
        match check(want) {
            Ok(true) => any = true,
            Ok(false) => all = false,
            Err(e) => return Tri::Unknown(e),
        }
    }
    if values.is_empty() {
        return Tri::False;
    }
    Tri::from_bool(if p.all { all } else { any })
}

/// A field-less search: any string leaf of the event contains (or globs) the value.
fn keyword(p: &Predicate, ev: &J) -> Tri {
    let mut leaves = Vec::new();
    collect_leaves(ev, &mut leaves);
    let mut any = false;
    let mut all = true;
    for want in &p.values {
        let mut hit = false;
        for leaf in &leaves {
            match compare(p.op, leaf, want, p.case_sensitive) {
                Ok(true) => {
                    hit = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => return Tri::Unknown(e),
            }
        }
        any |= hit;
        all &= hit;
    }
    Tri::from_bool(if p.all {
        all && !p.values.is_empty()
    } else {
        any
    })
}

fn collect_leaves(v: &J, out: &mut Vec<Value>) {
    match v {
        J::Array(a) => a.iter().for_each(|x| collect_leaves(x, out)),
        J::Object(m) => m.values().for_each(|x| collect_leaves(x, out)),
        J::Null => {}
        other => out.push(Value::from_json(other)),
    }
}

fn transform(tr: Transform, v: &Value) -> Option<Value> {
    let s = v.to_string();
    match tr {
        Transform::Lower => Some(Value::Str(s.to_lowercase())),
        Transform::Upper => Some(Value::Str(s.to_uppercase())),
        Transform::Length => Some(Value::Num(s.chars().count() as f64)),
        Transform::Minute
        | Transform::Hour
        | Transform::Day
        | Transform::Week
        | Transform::Month
        | Transform::Year => date_part(tr, &s).map(|n| Value::Num(n as f64)),
    }
}

/// Date part of an ISO-8601 timestamp (`2024-05-01T13:45:00Z`).
fn date_part(tr: Transform, s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    if b.len() < 10 {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    match tr {
        Transform::Year => Some(y),
        Transform::Month => Some(m),
        Transform::Day => Some(d),
        Transform::Hour => num(11..13),
        Transform::Minute => num(14..16),
        Transform::Week => {
            // ISO week number.
            let days_before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let ordinal = days_before[(m as usize).clamp(1, 12) - 1] + d + u32::from(leap && m > 2);
            // Day of week, Monday = 1 (Zeller-like via days since 1970-01-01, a Thursday).
            let days = days_from_civil(y as i64, m, d);
            let wd = ((days + 3).rem_euclid(7) + 1) as u32;
            let w = (ordinal + 10 - wd) / 7;
            Some(w.max(1))
        }
        _ => None,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn as_num(v: &Value) -> Option<f64> {
    match v {
        Value::Num(n) => Some(*n),
        Value::Str(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(_) | Value::Null => None,
    }
}

/// Compares one event value with one rule value.
fn compare(op: Op, have: &Value, want: &Value, cased: bool) -> Result<bool, String> {
    match op {
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let (Some(a), Some(b)) = (as_num(have), as_num(want)) else {
                // Strings compare lexically (timestamps, versions).
                let (a, b) = (have.to_string(), want.to_string());
                return Ok(match op {
                    Op::Gt => a > b,
                    Op::Gte => a >= b,
                    Op::Lt => a < b,
                    _ => a <= b,
                });
            };
            return Ok(match op {
                Op::Gt => a > b,
                Op::Gte => a >= b,
                Op::Lt => a < b,
                _ => a <= b,
            });
        }
        Op::Cidr => return Ok(cidr_contains(&want.to_string(), &have.to_string())),
        Op::Regex => {
            let re = cached_regex(&want.to_string(), cased)?;
            return Ok(re.is_match(&have.to_string()));
        }
        _ => {}
    }
    if op == Op::Eq {
        if let (Some(a), Some(b)) = (numeric(have), numeric(want)) {
            return Ok(a == b);
        }
        if let (Value::Bool(a), Value::Bool(b)) = (have, want) {
            return Ok(a == b);
        }
    }
    let h = have.to_string();
    let w = want.to_string();
    let (h, w) = if cased {
        (h, w)
    } else {
        (h.to_lowercase(), w.to_lowercase())
    };
    Ok(match op {
        Op::Eq => h == w,
        Op::Contains => h.contains(&w),
        Op::StartsWith => h.starts_with(&w),
        Op::EndsWith => h.ends_with(&w),
        Op::Glob => glob_match(&w, &h),
        Op::HasTerm => has_term(&h, &w),
        _ => false,
    })
}

/// Numbers compare numerically when both sides are numbers or numeric strings with one side
/// a real number (so `EventID: 4688` matches `"4688"`).
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Num(n) => Some(*n),
        Value::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() < 16 => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// `*` any run, `?` one char, `\` escapes the next wildcard or backslash.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        Lit(char),
        Star,
        One,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    toks.push(T::Lit(n));
                    chars.next();
                }
                _ => toks.push(T::Lit('\\')),
            },
            '*' => toks.push(T::Star),
            '?' => toks.push(T::One),
            c => toks.push(T::Lit(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Iterative wildcard matching with backtracking to the last star: linear-ish, no regex.
    let (mut p, mut t) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while t < text.len() {
        if p < toks.len() && (toks[p] == T::One || toks[p] == T::Lit(text[t])) {
            p += 1;
            t += 1;
        } else if p < toks.len() && toks[p] == T::Star {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == T::Star {
        p += 1;
    }
    p == toks.len()
}

/// KQL `has`: `want` occurs in `have` bounded by non-alphanumeric characters.
fn has_term(have: &str, want: &str) -> bool {
    if want.is_empty() {
        return true;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut start = 0;
    while let Some(pos) = have[start..].find(want) {
        let i = start + pos;
        let before = have[..i].chars().next_back();
        let after = have[i + want.len()..].chars().next();
        let left_ok = before.is_none_or(|c| !is_word(c) || !want.starts_with(is_word));
        let right_ok = after.is_none_or(|c| !is_word(c) || !want.ends_with(is_word));
        if left_ok && right_ok {
            return true;
        }
        start = i + want.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    false
}

fn cidr_contains(net: &str, ip: &str) -> bool {
    let Ok(ip) = ip.trim().parse::<std::net::IpAddr>() else {
        return false;
    };
    if let Ok(n) = net.trim().parse::<ipnet::IpNet>() {
        return n.contains(&ip);
    }
    net.trim()
        .parse::<std::net::IpAddr>()
        .map(|a| a == ip)
        .unwrap_or(false)
}

type RegexCache = Mutex<HashMap<(String, bool), Result<regex::Regex, String>>>;

/// Compiled regexes, shared across tests (rules repeat patterns on many events).
fn cached_regex(pattern: &str, cased: bool) -> Result<regex::Regex, String> {
    static CACHE: OnceLock<RegexCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (pattern.to_string(), cased);
    if let Some(r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return r.clone();
    }
    let built = regex::RegexBuilder::new(pattern)
        .case_insensitive(!cased)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| {
            format!(
                "regex not supported by the matcher: {}",
                e.to_string().lines().last().unwrap_or("")
            )
        });
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, built.clone());
    built
}

#[cfg(test)]
mod tests;
