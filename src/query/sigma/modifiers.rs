//! One detection item (`field|mod|mod: value(s)`) into predicates.
//!
//! Modifiers of the spec v2.1 appendix: `contains` `startswith` `endswith` `all`,
//! `base64` `base64offset`, `wide`/`utf16le` `utf16be` `utf16`, `windash`, `re` with `i`
//! `m` `s`, `cidr`, `exists`, `expand`, `fieldref`, `gt` `gte` `lt` `lte`, `cased`, `neq`,
//! `minute` `hour` `day` `week` `month` `year`.

use super::value::{self, SigmaStr, Utf16};
use super::{pred, Anchor, Finding};
use crate::model::{Expr, Op, Predicate, Transform, Value};
use crate::verify::checks::Check;
use serde_json::Value as J;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mod {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Base64,
    Base64Offset,
    Utf16(Utf16),
    Windash,
    Re,
    ReI,
    ReM,
    ReS,
    Cidr,
    Exists,
    Expand,
    FieldRef,
    Cmp(Op),
    Cased,
    Neq,
    Part(Transform),
}

fn parse_mod(s: &str) -> Option<Mod> {
    Some(match s.to_ascii_lowercase().as_str() {
        "contains" => Mod::Contains,
        "startswith" => Mod::StartsWith,
        "endswith" => Mod::EndsWith,
        "all" => Mod::All,
        "base64" => Mod::Base64,
        "base64offset" => Mod::Base64Offset,
        "wide" | "utf16le" => Mod::Utf16(Utf16::Le),
        "utf16be" => Mod::Utf16(Utf16::Be),
        "utf16" => Mod::Utf16(Utf16::Bom),
        "windash" => Mod::Windash,
        "re" => Mod::Re,
        "i" | "ignorecase" => Mod::ReI,
        "m" | "multiline" => Mod::ReM,
        "s" | "dotall" => Mod::ReS,
        "cidr" => Mod::Cidr,
        "exists" => Mod::Exists,
        "expand" => Mod::Expand,
        "fieldref" => Mod::FieldRef,
        "gt" => Mod::Cmp(Op::Gt),
        "gte" => Mod::Cmp(Op::Gte),
        "lt" => Mod::Cmp(Op::Lt),
        "lte" => Mod::Cmp(Op::Lte),
        "cased" => Mod::Cased,
        "neq" => Mod::Neq,
        "minute" => Mod::Part(Transform::Minute),
        "hour" => Mod::Part(Transform::Hour),
        "day" => Mod::Part(Transform::Day),
        "week" => Mod::Part(Transform::Week),
        "month" => Mod::Part(Transform::Month),
        "year" => Mod::Part(Transform::Year),
        _ => return None,
    })
}

/// How a string value is compared with the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Full,
    Contains,
    StartsWith,
    EndsWith,
}

/// Everything an item's modifiers decide, besides the values.
struct Spec<'a> {
    field: Option<&'a str>,
    mods: Vec<Mod>,
    matching: Match,
    all: bool,
    cased: bool,
    transform: Option<Transform>,
}

impl Spec<'_> {
    fn has(&self, m: Mod) -> bool {
        self.mods.contains(&m)
    }
    fn finish(&self, mut p: Predicate) -> Predicate {
        if p.op != Op::Regex {
            p.case_sensitive = self.cased;
        }
        p.transform = self.transform;
        p
    }
}

type Fail = (Check, String);

/// Compiles one item. `key` is the map key as written (empty for keyword lists).
pub(super) fn item(
    selection: &str,
    field: Option<&str>,
    key: &str,
    raw_mods: &[&str],
    value: &J,
    findings: &mut Vec<Finding>,
) -> Expr {
    let anchor = || {
        if key.is_empty() {
            Anchor::Selection(selection.to_string())
        } else {
            Anchor::Item {
                selection: selection.to_string(),
                key: key.to_string(),
            }
        }
    };
    let source = || {
        let v = match value {
            J::String(s) => s.clone(),
            other => other.to_string(),
        };
        if key.is_empty() {
            v
        } else {
            format!("{key}: {v}")
        }
    };
    let mut mods = Vec::new();
    for m in raw_mods {
        match parse_mod(m) {
            Some(x) => mods.push(x),
            None => {
                let msg = format!("unknown modifier `{m}`");
                findings.push(Finding {
                    check: Check::SigmaUnknownModifier,
                    message: format!("{msg} in `{key}`"),
                    anchor: anchor(),
                });
                return Expr::opaque(source(), msg);
            }
        }
    }
    let matching = mods
        .iter()
        .rev()
        .find_map(|m| match m {
            Mod::Contains => Some(Match::Contains),
            Mod::StartsWith => Some(Match::StartsWith),
            Mod::EndsWith => Some(Match::EndsWith),
            _ => None,
        })
        .unwrap_or(Match::Full);
    let spec = Spec {
        field,
        all: mods.contains(&Mod::All),
        cased: mods.contains(&Mod::Cased),
        transform: mods.iter().find_map(|m| match m {
            Mod::Part(t) => Some(*t),
            _ => None,
        }),
        matching,
        mods,
    };
    let compares = spec.mods.iter().any(|m| matches!(m, Mod::Cmp(_)));
    if spec.transform.is_some() && compares {
        findings.push(Finding {
            check: Check::InvalidValue,
            message: format!(
                "`{key}`: pySigma and rsigma compare a date part by equality only; a list of values is portable, `|gt`/`|lt` after it is not"
            ),
            anchor: anchor(),
        });
    }
    let values: Vec<J> = match value {
        J::Array(a) => a.clone(),
        v => vec![v.clone()],
    };
    match build(&spec, &values) {
        Ok(e) if spec.has(Mod::Neq) => Expr::not(e),
        Ok(e) => e,
        Err((check, msg)) => {
            findings.push(Finding {
                check,
                message: format!("`{}`: {msg}", if key.is_empty() { selection } else { key }),
                anchor: anchor(),
            });
            Expr::opaque(source(), msg)
        }
    }
}

fn build(spec: &Spec, values: &[J]) -> Result<Expr, Fail> {
    if values.is_empty() {
        return Err((Check::ParseError, "an empty list of values".into()));
    }
    if spec.has(Mod::Expand) {
        if let Some(ph) = values.iter().find_map(|v| v.as_str().and_then(placeholder)) {
            return Err((
                Check::SigmaPlaceholder,
                format!("placeholder `{ph}` needs a value from a processing pipeline (`expand`)"),
            ));
        }
    }
    if spec.has(Mod::Exists) {
        let want = match values {
            [J::Bool(b)] => *b,
            [J::String(s)] if s.eq_ignore_ascii_case("true") => true,
            [J::String(s)] if s.eq_ignore_ascii_case("false") => false,
            _ => {
                return Err((
                    Check::InvalidValue,
                    "`exists` takes `true` or `false`".into(),
                ))
            }
        };
        let Some(field) = spec.field else {
            return Err((Check::InvalidValue, "`exists` needs a field".into()));
        };
        let e = Expr::Pred(pred(Some(field), Op::Exists, Vec::new()));
        return Ok(if want { e } else { Expr::not(e) });
    }
    let mut alts: Vec<Expr> = Vec::new();
    let nulls = values.iter().filter(|v| v.is_null()).count();
    if nulls > 0 {
        let Some(field) = spec.field else {
            return Err((Check::InvalidValue, "a keyword cannot be `null`".into()));
        };
        alts.push(Expr::Pred(pred(Some(field), Op::IsNull, Vec::new())));
    }
    let rest: Vec<&J> = values.iter().filter(|v| !v.is_null()).collect();
    if !rest.is_empty() {
        alts.push(if spec.has(Mod::FieldRef) {
            fieldref(spec, &rest)?
        } else if spec.has(Mod::Re) {
            regex(spec, &rest)?
        } else if spec.has(Mod::Cidr) {
            cidr(spec, &rest)?
        } else if let Some(op) = spec.mods.iter().find_map(|m| match m {
            Mod::Cmp(op) => Some(*op),
            _ => None,
        }) {
            compare(spec, op, &rest)?
        } else {
            strings(spec, &rest)?
        });
    }
    Ok(if spec.all {
        Expr::all(alts)
    } else {
        Expr::any(alts)
    })
}

/// The first `%name%` placeholder of a value.
fn placeholder(s: &str) -> Option<String> {
    let start = s.find('%')?;
    let len = s[start + 1..].find('%')?;
    (len > 0).then(|| s[start..start + len + 2].to_string())
}

fn text_of(v: &J) -> Result<String, Fail> {
    match v {
        J::String(s) => Ok(s.clone()),
        J::Number(n) => Ok(n.to_string()),
        J::Bool(b) => Ok(b.to_string()),
        _ => Err((
            Check::ParseError,
            "a value cannot be a map or a list".into(),
        )),
    }
}

fn one_pred(spec: &Spec, op: Op, values: Vec<Value>) -> Expr {
    let mut p = pred(spec.field, op, values);
    p.all = spec.all && p.values.len() > 1;
    Expr::Pred(spec.finish(p))
}

fn fieldref(spec: &Spec, values: &[&J]) -> Result<Expr, Fail> {
    if spec.field.is_none() {
        return Err((Check::InvalidValue, "`fieldref` needs a field".into()));
    }
    let op = match spec.matching {
        Match::Full => Op::Eq,
        Match::Contains => Op::Contains,
        Match::StartsWith => Op::StartsWith,
        Match::EndsWith => Op::EndsWith,
    };
    let names = values
        .iter()
        .map(|v| text_of(v).map(Value::Str))
        .collect::<Result<Vec<_>, _>>()?;
    let mut p = pred(spec.field, op, names);
    p.field_ref = true;
    p.all = spec.all && p.values.len() > 1;
    Ok(Expr::Pred(spec.finish(p)))
}

fn regex(spec: &Spec, values: &[&J]) -> Result<Expr, Fail> {
    let insensitive = spec.has(Mod::ReI);
    let mut flags = String::new();
    if spec.has(Mod::ReM) {
        flags.push('m');
    }
    if spec.has(Mod::ReS) {
        flags.push('s');
    }
    let mut pats = Vec::new();
    for v in values {
        let mut pat = text_of(v)?;
        match spec.matching {
            Match::Full | Match::Contains => {}
            Match::StartsWith => pat = format!("^(?:{pat})"),
            Match::EndsWith => pat = format!("(?:{pat})$"),
        }
        if !flags.is_empty() {
            pat = format!("(?{flags}){pat}");
        }
        if let Err(e) = regex::RegexBuilder::new(&pat)
            .case_insensitive(insensitive)
            .size_limit(1 << 24)
            .build()
        {
            let msg = e.to_string();
            let last = msg.lines().last().unwrap_or("").trim().to_string();
            let check = if msg.contains("not supported") || pcre_only(&pat) {
                Check::UnsupportedSyntax
            } else {
                Check::BadRegex
            };
            return Err((check, format!("regex the matcher cannot run: {last}")));
        }
        pats.push(Value::Str(pat));
    }
    let mut p = pred(spec.field, Op::Regex, pats);
    p.all = spec.all && p.values.len() > 1;
    p.case_sensitive = !insensitive;
    Ok(Expr::Pred(spec.finish(p)))
}

/// PCRE constructs the `regex` crate does not have (look-around, backreferences): a valid
/// Sigma regex the matcher cannot run, not a broken one.
fn pcre_only(pat: &str) -> bool {
    ["(?=", "(?!", "(?<=", "(?<!", "(?P=", "\\k<", "(?>", "(?|"]
        .iter()
        .any(|c| pat.contains(c))
        || pat
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'\\' && w[1].is_ascii_digit() && w[1] != b'0')
}

fn cidr(spec: &Spec, values: &[&J]) -> Result<Expr, Fail> {
    let mut nets = Vec::new();
    for v in values {
        let s = text_of(v)?;
        let t = s.trim();
        if t.parse::<ipnet::IpNet>().is_err() && t.parse::<std::net::IpAddr>().is_err() {
            return Err((Check::InvalidValue, format!("`{s}` is not an IP network")));
        }
        nets.push(Value::Str(t.to_string()));
    }
    Ok(one_pred(spec, Op::Cidr, nets))
}

fn compare(spec: &Spec, op: Op, values: &[&J]) -> Result<Expr, Fail> {
    let mut out = Vec::new();
    for v in values {
        out.push(match v {
            J::Number(n) => Value::Num(n.as_f64().unwrap_or(0.0)),
            J::String(s) => match s.trim().parse::<f64>() {
                Ok(n) => Value::Num(n),
                Err(_) => Value::Str(s.clone()),
            },
            _ => {
                return Err((
                    Check::InvalidValue,
                    format!("`{}` needs a number", op.as_str()),
                ))
            }
        });
    }
    Ok(one_pred(spec, op, out))
}

/// Plain, wildcard and encoded string values.
fn strings(spec: &Spec, values: &[&J]) -> Result<Expr, Fail> {
    let encoded = spec.mods.iter().any(|m| {
        matches!(
            m,
            Mod::Base64 | Mod::Base64Offset | Mod::Utf16(_) | Mod::Windash
        )
    });
    // Keywords search inside every value of the event.
    let matching = match (spec.field, spec.matching) {
        (None, Match::Full) => Match::Contains,
        (_, m) => m,
    };
    let mut groups: Vec<Vec<(Op, Value)>> = Vec::new();
    for v in values {
        if !encoded && matching == Match::Full && spec.transform.is_none() {
            match v {
                J::Number(n) => {
                    groups.push(vec![(Op::Eq, Value::Num(n.as_f64().unwrap_or(0.0)))]);
                    continue;
                }
                J::Bool(b) => {
                    groups.push(vec![(Op::Eq, Value::Bool(*b))]);
                    continue;
                }
                _ => {}
            }
        }
        if spec.transform.is_some() {
            if let Some(n) = v.as_f64() {
                groups.push(vec![(Op::Eq, Value::Num(n))]);
                continue;
            }
        }
        let mut variants = vec![match v {
            J::String(s) => SigmaStr::parse(s),
            other => SigmaStr::literal(&text_of(other)?),
        }];
        for m in &spec.mods {
            variants = match m {
                Mod::Windash => {
                    let mut out = Vec::new();
                    for x in &variants {
                        out.extend(value::windash(x).map_err(|e| (Check::UnsupportedSyntax, e))?);
                    }
                    out
                }
                Mod::Utf16(k) => variants.iter().map(|x| value::utf16(x, *k)).collect(),
                Mod::Base64 => variants
                    .iter()
                    .map(value::base64)
                    .collect::<Result<_, _>>()
                    .map_err(|e| (Check::InvalidValue, e))?,
                Mod::Base64Offset => {
                    let mut out = Vec::new();
                    for x in &variants {
                        out.extend(value::base64offset(x).map_err(|e| (Check::InvalidValue, e))?);
                    }
                    out
                }
                _ => variants,
            };
        }
        groups.push(variants.iter().map(|s| op_value(s, matching)).collect());
    }
    Ok(combine(spec, groups))
}

fn op_value(s: &SigmaStr, m: Match) -> (Op, Value) {
    if s.has_wildcards() {
        let g = match m {
            Match::Full => s.clone(),
            Match::Contains => s.wrapped(true, true),
            Match::StartsWith => s.wrapped(false, true),
            Match::EndsWith => s.wrapped(true, false),
        };
        return (Op::Glob, Value::Str(g.glob()));
    }
    let op = match m {
        Match::Full => Op::Eq,
        Match::Contains => Op::Contains,
        Match::StartsWith => Op::StartsWith,
        Match::EndsWith => Op::EndsWith,
    };
    (op, Value::Str(s.plain()))
}

/// Groups `(op, value)` pairs into as few predicates as keep the meaning: one predicate per
/// operator, unless `all` meets a value that expanded into several alternatives.
fn combine(spec: &Spec, groups: Vec<Vec<(Op, Value)>>) -> Expr {
    let by_op = |pairs: Vec<(Op, Value)>, all: bool| -> Vec<Expr> {
        let mut ops: Vec<(Op, Vec<Value>)> = Vec::new();
        for (op, v) in pairs {
            match ops.iter_mut().find(|(o, _)| *o == op) {
                Some((_, vs)) => {
                    if !vs.contains(&v) {
                        vs.push(v)
                    }
                }
                None => ops.push((op, vec![v])),
            }
        }
        ops.into_iter()
            .map(|(op, values)| {
                let mut p = pred(spec.field, op, values);
                p.all = all && p.values.len() > 1;
                Expr::Pred(spec.finish(p))
            })
            .collect()
    };
    if !spec.all || groups.iter().all(|g| g.len() == 1) {
        let preds = by_op(groups.into_iter().flatten().collect(), spec.all);
        if spec.all {
            Expr::all(preds)
        } else {
            Expr::any(preds)
        }
    } else {
        Expr::all(
            groups
                .into_iter()
                .map(|g| Expr::any(by_op(g, false)))
                .collect(),
        )
    }
}
