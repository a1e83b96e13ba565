//! Distinctive values of a rule, normalised so that the same value written by two vendors
//! compares equal (`'\\certutil.exe'`, `*certutil.exe`, `/certutil\.exe$/` → `certutil`).

use crate::model::{Expr, Op, Rule};
use std::collections::BTreeMap;

/// Where a token of a rule comes from, as written (shown beside shared values).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Origin {
    /// Field name as written; `*` for a keyword search; `test event` or `query text` for the
    /// fallbacks.
    pub field: String,
    pub value: String,
}

/// How a rule's tokens were found, from strongest to weakest evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Positive predicates of the parsed detection, plus literals of its opaque parts.
    Detection,
    /// String literals of the query text (the detection gave none).
    QueryText,
    /// Values shared by every positive test event (the rule has no readable logic).
    TestEvents,
}

/// A token of a rule: how much it counts and where it is written.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Weight factor (1 for a value as written; less for a word of a longer value or a
    /// value seen in some test events only). The best occurrence wins.
    pub factor: f64,
    pub origins: Vec<Origin>,
}

/// Factor of a word taken out of a longer value (`set` out of `bcdedit /set`).
pub const WORD: f64 = 0.5;
/// Factor of a cloud service name (`iam.amazonaws.com`): the service is the data source, not
/// the action.
pub const SERVICE: f64 = 0.3;
/// Factor of a value found in every positive test event.
pub const TEST_ALL: f64 = 0.7;
/// Factor of a value found in some positive test events.
pub const TEST_SOME: f64 = 0.5;

/// Fields whose values say which log the event is from, not what happened in it; the
/// canonical data source covers them.
const SOURCE_FIELDS: &[&str] = &[
    "event.category",
    "event.type",
    "event.kind",
    "event.dataset",
    "event.module",
    "data_stream.dataset",
    "data_stream.namespace",
    "host.os.type",
    "host.os.family",
    "host.os.name",
    "host.os.platform",
    "os.type",
    "metadata.log_type",
    "metadata.product_name",
    "metadata.vendor_name",
    "metadata.event_type",
    "event.provider",
    "eventsource",
    "workload",
    "recordtype",
    "sourcetype",
    "index",
    "_index",
    "p_log_type",
];

/// Values too common in every log to tell actions apart (beyond what rarity weighting does).
const STOP: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "yes",
    "success",
    "succeeded",
    "successful",
    "failure",
    "failed",
    "fail",
    "allow",
    "allowed",
    "deny",
    "denied",
    "block",
    "blocked",
    "unknown",
    "information",
    "informational",
    "error",
    "warning",
    "info",
    "low",
    "medium",
    "high",
    "critical",
    "and",
    "not",
    "the",
    "any",
    "all",
    "with",
    "from",
    "for",
    "this",
    "that",
    "into",
    "via",
    "are",
    "was",
    "has",
    "have",
    "been",
    "its",
];

/// Tokens of a rule with their factors and origins, and how they were found.
pub fn of_rule(rule: &Rule) -> (BTreeMap<String, Found>, Evidence) {
    let mut out: BTreeMap<String, Found> = BTreeMap::new();
    if let Some(det) = &rule.detection {
        for (p, negated) in det.expr.predicates() {
            if negated || p.field_ref {
                continue;
            }
            let field = p.field.clone().unwrap_or_else(|| "*".to_string());
            if SOURCE_FIELDS.contains(&normalise_field(&field).as_str()) {
                continue;
            }
            for v in &p.values {
                let written = v.to_string();
                for (t, f) in normalise_weighted(&written, p.op) {
                    push(&mut out, t, f, &field, &written);
                }
            }
        }
        let mut opaque = Vec::new();
        det.expr.walk(&mut |e| {
            if let Expr::Opaque { text, .. } = e {
                opaque.push(text.as_str());
            }
        });
        for text in opaque {
            add_literals(&mut out, text, "query text");
        }
    }
    if !out.is_empty() {
        return (out, Evidence::Detection);
    }
    if let Some(q) = &rule.query {
        add_literals(&mut out, &q.text, "query text");
        if !out.is_empty() {
            return (out, Evidence::QueryText);
        }
    }
    for (t, f, written) in test_values(rule) {
        push(&mut out, t, f, "test event", &written);
    }
    (out, Evidence::TestEvents)
}

fn push(out: &mut BTreeMap<String, Found>, token: String, factor: f64, field: &str, value: &str) {
    let o = Origin {
        field: field.to_string(),
        value: value.to_string(),
    };
    let found = out.entry(token).or_default();
    found.factor = found.factor.max(factor);
    if !found.origins.contains(&o) && found.origins.len() < 8 {
        found.origins.push(o);
    }
}

/// Lower-cased field path without a YARA-L event variable (`$e.metadata.x` → `metadata.x`).
pub fn normalise_field(field: &str) -> String {
    let f = field.trim();
    let f = match f.strip_prefix('$') {
        Some(rest) => rest.split_once('.').map(|(_, r)| r).unwrap_or(rest),
        None => f,
    };
    f.to_lowercase()
}

/// The comparable forms of one value: lower-cased; wildcards split the value; a regex gives
/// its literal runs; path separators are unified to `/` and trimmed with quotes, dashes and
/// spaces; `.exe` is dropped; a path also gives its last component and a value with spaces its
/// words. Forms shorter than three characters and stop words are dropped.
pub fn normalise(value: &str, op: Op) -> Vec<String> {
    normalise_weighted(value, op)
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// `normalise` with a factor per form: words of a longer value count `WORD`, the rest 1.
pub fn normalise_weighted(value: &str, op: Op) -> Vec<(String, f64)> {
    let v = value.trim().to_lowercase();
    if matches!(op, Op::Exists | Op::IsNull | Op::IsEmpty | Op::Cidr) {
        return Vec::new();
    }
    let segments: Vec<String> = if op == Op::Regex {
        regex_literals(&v)
    } else {
        v.split(['*', '?']).map(str::to_string).collect()
    };
    let mut out = Vec::new();
    for seg in segments {
        let Some(t) = clean(&seg) else { continue };
        if looks_like_path(&seg) {
            if let Some((_, last)) = t.rsplit_once('/') {
                if let Some(base) = clean(last) {
                    if base != t {
                        add_unique(&mut out, base, 1.0);
                    }
                }
            }
        }
        if t.contains(char::is_whitespace) {
            // A command line matches another rule's separate arguments word by word.
            for w in t.split_whitespace() {
                if let Some(w) = clean(w) {
                    add_unique(&mut out, w, WORD);
                }
            }
        }
        let factor = if is_service(&t) { SERVICE } else { 1.0 };
        add_unique(&mut out, t, factor);
    }
    out
}

/// A file path (`C:\x\y.exe`, `\y.exe`, `/etc/x`, `~/x`), not an API name with slashes.
fn looks_like_path(seg: &str) -> bool {
    let s = seg.trim_start_matches([' ', '*', '"', '\'']);
    seg.contains('\\')
        || s.starts_with('/')
        || s.starts_with("~/")
        || (s.len() > 2 && s.as_bytes()[1] == b':' && s.as_bytes()[0].is_ascii_alphabetic())
}

fn is_service(t: &str) -> bool {
    t.ends_with(".amazonaws.com") || t.ends_with(".googleapis.com")
}

fn add_unique(out: &mut Vec<(String, f64)>, t: String, factor: f64) {
    match out.iter_mut().find(|(x, _)| *x == t) {
        Some(e) => e.1 = e.1.max(factor),
        None => out.push((t, factor)),
    }
}

fn clean(seg: &str) -> Option<String> {
    let mut s = seg.replace('\\', "/");
    while s.contains("//") && !s.contains("://") {
        s = s.replace("//", "/");
    }
    let s = s.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '/' | '-' | ',' | ';' | '(' | ')' | '=' | ':' | '|' | '^' | '$'
            )
    });
    let s = s.strip_suffix(".exe").unwrap_or(s);
    if s.chars().count() < 3 || STOP.contains(&s) {
        return None;
    }
    Some(s.to_string())
}

/// Literal runs of a regular expression (`^c:\\windows\\.*\.exe$` → `c:\windows\`, `.exe`).
pub fn regex_literals(re: &str) -> Vec<String> {
    let re = re.strip_prefix("(?i)").unwrap_or(re);
    let mut runs = Vec::new();
    let mut cur = String::new();
    let mut chars = re.chars().peekable();
    let flush = |cur: &mut String, runs: &mut Vec<String>| {
        if !cur.is_empty() {
            runs.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_alphanumeric() => {
                    // \d, \w, \s, \b ... are classes, not literals.
                    flush(&mut cur, &mut runs);
                }
                Some(e) => cur.push(e),
                None => {}
            },
            '[' => {
                flush(&mut cur, &mut runs);
                let mut escaped = false;
                for d in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == ']' {
                        break;
                    }
                }
            }
            '{' => {
                flush(&mut cur, &mut runs);
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
            }
            '?' | '*' | '+' => {
                // The last character is optional or repeated: it is not part of the run.
                cur.pop();
                flush(&mut cur, &mut runs);
            }
            '.' | '(' | ')' | '|' | '^' | '$' => flush(&mut cur, &mut runs),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut runs);
    runs
}

/// String literals of a query text (`"..."`, `'...'`, `` `...` ``), normalised.
fn add_literals(out: &mut BTreeMap<String, Found>, text: &str, field: &str) {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(c, '"' | '\'' | '`') {
            continue;
        }
        let mut end = None;
        let mut escaped = false;
        for (j, d) in chars.by_ref() {
            if d == '\n' {
                break;
            }
            if escaped {
                escaped = false;
            } else if d == '\\' && c != '`' {
                escaped = true;
            } else if d == c {
                end = Some(j);
                break;
            }
        }
        if let Some(j) = end {
            let lit = &text[i + 1..j];
            let op = if c == '`' { Op::Regex } else { Op::Glob };
            for (t, f) in normalise_weighted(lit, op) {
                push(out, t, f, field, lit);
            }
        }
    }
}

/// Key names whose values identify one event rather than an action (ids, addresses, times).
fn incidental_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let last = k.rsplit(['.', '/']).next().unwrap_or(&k);
    last.starts_with("p_")
        || last.ends_with("id")
        || last.ends_with("ip")
        || last.ends_with("ips")
        || last.ends_with("address")
        || last.ends_with("time")
        || last.ends_with("timestamp")
        || last.ends_with("date")
        || last.ends_with("at")
        || last.contains("arn")
        || last.contains("email")
        || last.contains("agent")
        || last.contains("uuid")
        || last.contains("hash")
        || last.contains("token")
        || last.contains("session")
        || last.contains("login")
        || last.contains("user")
        || last.contains("actor")
        || last.contains("displayname")
        || last.contains("host")
        || last.contains("account")
}

/// A value that looks like an identifier of one event (address, number, date, hex id).
fn incidental_value(v: &str) -> bool {
    let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
    v.len() > 80
        || v.contains('@')
        || digits * 3 >= v.len()
        || v.chars().filter(|c| c.is_ascii_hexdigit()).count() >= 16
}

/// Tokens of the string values of positive test events (a rule fires on each of them):
/// `TEST_ALL` for a value every positive event holds under the same key, `TEST_SOME` for the
/// others.
fn test_values(rule: &Rule) -> Vec<(String, f64, String)> {
    use crate::model::Expect;
    let positives: Vec<&serde_json::Value> = rule
        .tests
        .iter()
        .filter(|t| !matches!(t.expect, Expect::NoMatch | Expect::Count(0)))
        .flat_map(|t| t.events.iter())
        .collect();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for ev in &positives {
        let mut leaves = Vec::new();
        string_leaves(ev, String::new(), &mut leaves, 0);
        leaves.sort();
        leaves.dedup();
        for l in leaves {
            *seen.entry(l).or_insert(0) += 1;
        }
    }
    let mut out = Vec::new();
    for ((key, value), n) in seen {
        if incidental_key(&key) || incidental_value(&value) {
            continue;
        }
        let factor = if n == positives.len() {
            TEST_ALL
        } else {
            TEST_SOME
        };
        for (t, f) in normalise_weighted(&value, Op::Eq) {
            out.push((t, factor * f, value.clone()));
        }
    }
    out
}

fn string_leaves(
    v: &serde_json::Value,
    path: String,
    out: &mut Vec<(String, String)>,
    depth: usize,
) {
    if depth > 8 || out.len() > 500 {
        return;
    }
    match v {
        serde_json::Value::String(s) => out.push((path, s.clone())),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                string_leaves(v, p, out, depth + 1);
            }
        }
        serde_json::Value::Array(a) => {
            for v in a {
                string_leaves(v, path.clone(), out, depth + 1);
            }
        }
        _ => {}
    }
}
