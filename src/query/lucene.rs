//! Lucene query string front end (`language = "lucene"`, and `query_string` filters).
//!
//! ```text
//! or     := and (("OR" | "||" | <nothing>) and)*     (the default operator is OR)
//! and    := clause (("AND" | "&&") clause)*
//! clause := ("NOT" | "!" | "-" | "+")* primary ["^" boost]
//! primary:= "(" or ")" | field ":" value | value
//! value  := term | "phrase" | /regex/ | [a TO b] | {a TO b} | >=n | "(" or ")"
//! ```
//!
//! A `+` clause is required and a `-`/`NOT` clause forbidden; when a group has required
//! clauses, its optional ones do not decide the match. Terms take `*`/`?` wildcards and
//! `\` escapes; `/regex/` is a Lucene regex on the whole value. Field types decide the
//! case rules as in KQL ([`crate::query::kuery::is_text_field`]). Fuzzy and proximity
//! searches (`~`) stay opaque.

pub mod regex;

use crate::model::{Expr, Op, Predicate, Value};
use crate::query::eql::SyntaxError;
use crate::query::kuery::{is_caseless_field, is_text_field};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Colon,
    And,
    Or,
    Not,
    Plus,
    Minus,
    /// `^2` boost (ignored) or `~2` fuzziness (opaque).
    Suffix(char),
    /// Unquoted term as written (escapes kept) — `\` escapes are resolved later.
    Term(String),
    Phrase(String),
    Regex(String),
    /// `[a TO b]`, `{a TO b}`, `[a TO *]`: inclusive flags and bounds.
    Range(bool, String, String, bool),
    /// `>=5` and friends.
    Cmp(&'static str, String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const SPECIAL: &[char] = &[
    '(', ')', ':', '"', '^', '~', '[', ']', '{', '}', '/', '\\', '+', '!', '&', '|',
];

fn lex(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        let start = i;
        let push = |out: &mut Vec<Token>, tok, end| out.push(Token { tok, start, end });
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        match c {
            '(' => push(&mut out, Tok::LParen, i + 1),
            ')' => push(&mut out, Tok::RParen, i + 1),
            ':' => push(&mut out, Tok::Colon, i + 1),
            '+' => push(&mut out, Tok::Plus, i + 1),
            '-' => push(&mut out, Tok::Minus, i + 1),
            '!' => push(&mut out, Tok::Not, i + 1),
            '&' if b.get(i + 1) == Some(&b'&') => {
                push(&mut out, Tok::And, i + 2);
                i += 2;
                continue;
            }
            '|' if b.get(i + 1) == Some(&b'|') => {
                push(&mut out, Tok::Or, i + 2);
                i += 2;
                continue;
            }
            '^' | '~' => {
                let mut j = i + 1;
                while j < text.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                push(&mut out, Tok::Suffix(c), j);
                i = j;
                continue;
            }
            '"' | '/' => {
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < text.len() {
                    let ch = text[j..].chars().next().unwrap_or(' ');
                    if ch == c {
                        closed = true;
                        j += 1;
                        break;
                    }
                    if ch == '\\' {
                        let n = text[j + 1..].chars().next();
                        match (c, n) {
                            // In a regex, `\/` is a slash and other escapes stay for the
                            // regex; in a phrase, `\x` is x.
                            ('/', Some('/')) => s.push('/'),
                            ('/', Some(n)) => {
                                s.push('\\');
                                s.push(n);
                            }
                            (_, Some(n)) => s.push(n),
                            (_, None) => break,
                        }
                        j += 1 + n.map(char::len_utf8).unwrap_or(0);
                        continue;
                    }
                    s.push(ch);
                    j += ch.len_utf8();
                }
                if !closed {
                    return Err(SyntaxError::at(text, i, format!("unterminated `{c}`")));
                }
                let tok = if c == '"' {
                    Tok::Phrase(s)
                } else {
                    Tok::Regex(s)
                };
                push(&mut out, tok, j);
                i = j;
                continue;
            }
            '[' | '{' => {
                let close = if c == '[' { ']' } else { '}' };
                let Some(n) = text[i + 1..].find([']', '}']) else {
                    return Err(SyntaxError::at(text, i, "unterminated range"));
                };
                let inner = &text[i + 1..i + 1 + n];
                let end_c = text[i + 1 + n..].chars().next().unwrap_or(close);
                let parts: Vec<&str> = inner.split_whitespace().collect();
                if parts.len() != 3 || parts[1] != "TO" {
                    return Err(SyntaxError::at(text, i, "a range is written `[a TO b]`"));
                }
                let unq = |s: &str| s.trim_matches('"').to_string();
                push(
                    &mut out,
                    Tok::Range(c == '[', unq(parts[0]), unq(parts[2]), end_c == ']'),
                    i + n + 2,
                );
                i += n + 2;
                continue;
            }
            '>' | '<' => {
                let eq = b.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    ('>', true) => ">=",
                    ('>', false) => ">",
                    ('<', true) => "<=",
                    _ => "<",
                };
                let mut j = i + op.len();
                let vstart = j;
                while j < text.len() {
                    let ch = text[j..].chars().next().unwrap_or(' ');
                    if ch.is_whitespace() || ch == ')' {
                        break;
                    }
                    j += ch.len_utf8();
                }
                push(&mut out, Tok::Cmp(op, text[vstart..j].to_string()), j);
                i = j;
                continue;
            }
            _ => {
                let mut j = i;
                while j < text.len() {
                    let ch = text[j..].chars().next().unwrap_or(' ');
                    if ch == '\\' {
                        j += 1 + text[j + 1..]
                            .chars()
                            .next()
                            .map(char::len_utf8)
                            .unwrap_or(0);
                        continue;
                    }
                    // `-` and `+` only start a clause; inside a term they are characters.
                    if ch.is_whitespace() || (SPECIAL.contains(&ch) && !matches!(ch, '+' | '!')) {
                        break;
                    }
                    j += ch.len_utf8();
                }
                if j == i {
                    return Err(SyntaxError::at(text, i, format!("unexpected `{c}`")));
                }
                let word = &text[i..j];
                let tok = match word {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => Tok::Term(word.to_string()),
                };
                push(&mut out, tok, j);
                i = j;
                continue;
            }
        }
        i += 1;
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Occur {
    Should,
    Must,
    MustNot,
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    /// Current nesting, bounded by [`MAX_DEPTH`].
    depth: usize,
}

/// Deepest nesting of groups a query may have.
pub const MAX_DEPTH: usize = 100;

/// Parses a Lucene query string (an empty one matches everything).
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Ok(Expr::Const { value: true });
    }
    let mut p = Parser {
        src: text,
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.group(None)?;
    if p.pos < p.toks.len() {
        return Err(p.err("unexpected text"));
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn err(&self, msg: &str) -> SyntaxError {
        let at = match self.toks.get(self.pos) {
            Some(t) => t.start,
            None => self.toks.last().map(|t| t.end).unwrap_or(0),
        };
        SyntaxError::at(self.src, at, msg)
    }

    /// Clauses up to `)` or the end, combined by Lucene's occur rules.
    fn group(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        // OR-separated runs of AND-joined clauses.
        let mut runs: Vec<Vec<(Occur, Expr)>> = vec![Vec::new()];
        let mut joined_by_and = false;
        loop {
            match self.peek() {
                None | Some(Tok::RParen) => break,
                Some(Tok::And) => {
                    self.pos += 1;
                    joined_by_and = true;
                    continue;
                }
                Some(Tok::Or) => {
                    self.pos += 1;
                    runs.push(Vec::new());
                    joined_by_and = false;
                    continue;
                }
                _ => {}
            }
            let clause = self.clause(field)?;
            let last = runs.last_mut().unwrap_or_else(|| unreachable!());
            if !last.is_empty() && !joined_by_and {
                // Implicit operator: OR.
                runs.push(vec![clause]);
            } else {
                last.push(clause);
            }
            joined_by_and = false;
        }
        let runs: Vec<Vec<(Occur, Expr)>> = runs.into_iter().filter(|r| !r.is_empty()).collect();
        if runs.is_empty() {
            return Err(self.err("expected a clause"));
        }
        let any_required = runs.iter().flatten().any(|(o, _)| *o == Occur::Must);
        let mut must = Vec::new();
        let mut should = Vec::new();
        for run in runs {
            if run.len() == 1 && !any_required {
                let (occur, e) = run.into_iter().next().unwrap_or_else(|| unreachable!());
                match occur {
                    Occur::MustNot => must.push(Expr::not(e)),
                    _ => should.push(e),
                }
                continue;
            }
            let mut items = Vec::new();
            for (occur, e) in run {
                match occur {
                    Occur::MustNot => items.push(Expr::not(e)),
                    Occur::Must => must.push(e),
                    Occur::Should if any_required => {}
                    Occur::Should => items.push(e),
                }
            }
            if !items.is_empty() {
                if any_required {
                    must.extend(items);
                } else {
                    should.push(Expr::all(items));
                }
            }
        }
        if !should.is_empty() {
            must.push(Expr::any(should));
        }
        Ok(Expr::all(must))
    }

    fn clause(&mut self, field: Option<&str>) -> Result<(Occur, Expr), SyntaxError> {
        let mut occur = Occur::Should;
        loop {
            match self.peek() {
                Some(Tok::Not) | Some(Tok::Minus) => {
                    occur = if occur == Occur::MustNot {
                        Occur::Should
                    } else {
                        Occur::MustNot
                    };
                }
                Some(Tok::Plus) => occur = Occur::Must,
                _ => break,
            }
            self.pos += 1;
        }
        let start = self.toks.get(self.pos).map(|t| t.start).unwrap_or(0);
        let e = self.primary(field)?;
        let e = match self.peek() {
            Some(Tok::Suffix('^')) => {
                self.pos += 1;
                e
            }
            Some(Tok::Suffix(_)) => {
                self.pos += 1;
                let end = self.toks[self.pos - 1].end;
                Expr::opaque(&self.src[start..end], "a fuzzy or proximity search")
            }
            _ => e,
        };
        Ok((occur, e))
    }

    fn primary(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let r = self.primary_inner(field);
        self.depth -= 1;
        r
    }

    fn primary_inner(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.err("expected a clause"));
        };
        let start = self.toks[self.pos].start;
        self.pos += 1;
        match tok {
            Tok::LParen => {
                let e = self.group(field)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.err("expected `)`"));
                }
                self.pos += 1;
                Ok(e)
            }
            Tok::Term(t) if self.peek() == Some(&Tok::Colon) => {
                self.pos += 1;
                let name = unescape(&t);
                if name == "_exists_" {
                    let Some(Tok::Term(f)) = self.peek().cloned() else {
                        return Err(self.err("expected a field after `_exists_:`"));
                    };
                    self.pos += 1;
                    return Ok(Expr::Pred(Predicate::field(
                        unescape(&f),
                        Op::Exists,
                        vec![],
                    )));
                }
                let e = self.primary(Some(&name))?;
                if t.contains(['*', '?']) {
                    let end = self.toks[self.pos - 1].end;
                    return Ok(Expr::opaque(
                        &self.src[start..end],
                        "a field name with a wildcard",
                    ));
                }
                Ok(e)
            }
            other => Ok(value(field, other)),
        }
    }
}

/// Resolves `\x` escapes of a term.
fn unescape(t: &str) -> String {
    let mut out = String::new();
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A term with wildcards in the matcher's glob syntax: escapes of `*`, `?` and `\\` stay,
/// other escapes are resolved.
fn glob_of(t: &str) -> String {
    let mut out = String::new();
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('*' | '?' | '\\')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) => out.push(n),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn num_or_str(s: &str) -> Value {
    s.parse::<f64>()
        .map(Value::Num)
        .unwrap_or_else(|_| Value::Str(s.to_string()))
}

/// One value token on a field (or on any field).
fn value(field: Option<&str>, tok: Tok) -> Expr {
    let fname = field.map(str::to_string);
    let text = field.is_some_and(is_text_field);
    let cased = field.is_some_and(|f| !is_text_field(f) && !is_caseless_field(f));
    let pred = |op, v: Vec<Value>| Expr::Pred(Predicate::new(fname.clone(), op, v).cased(cased));
    match tok {
        Tok::Term(t) if t == "*" && field.is_some() => pred(Op::Exists, vec![]),
        Tok::Term(t) => {
            // Wildcards stay escaped as written: Lucene and the matcher's glob agree.
            let has_wild = {
                let mut esc = false;
                t.chars().any(|c| {
                    let w = !esc && matches!(c, '*' | '?');
                    esc = !esc && c == '\\';
                    w
                })
            };
            if has_wild {
                let g = glob_of(&t);
                let g = if text || field.is_none() {
                    format!("*{}*", g.trim_matches('*'))
                } else {
                    g
                };
                pred(Op::Glob, vec![Value::Str(g)])
            } else if text || field.is_none() {
                pred(Op::Contains, vec![Value::Str(unescape(&t))])
            } else {
                let s = unescape(&t);
                if s.contains('/') && s.parse::<ipnet::IpNet>().is_ok() {
                    pred(Op::Cidr, vec![Value::Str(s)])
                } else {
                    pred(Op::Eq, vec![Value::Str(s)])
                }
            }
        }
        Tok::Phrase(s) => {
            if text || field.is_none() {
                pred(Op::Contains, vec![Value::Str(s)])
            } else {
                pred(Op::Eq, vec![Value::Str(s)])
            }
        }
        Tok::Regex(r) => match regex::to_rust(&r) {
            Ok(re) => pred(Op::Regex, vec![Value::Str(re)]),
            Err(e) => Expr::opaque(format!("/{r}/"), e),
        },
        Tok::Range(lo_inc, lo, hi, hi_inc) => {
            let mut items = Vec::new();
            if lo != "*" {
                let op = if lo_inc { Op::Gte } else { Op::Gt };
                items.push(pred(op, vec![num_or_str(&lo)]));
            }
            if hi != "*" {
                let op = if hi_inc { Op::Lte } else { Op::Lt };
                items.push(pred(op, vec![num_or_str(&hi)]));
            }
            if items.is_empty() {
                pred(Op::Exists, vec![])
            } else {
                Expr::all(items)
            }
        }
        Tok::Cmp(op, v) => {
            let op = match op {
                ">" => Op::Gt,
                ">=" => Op::Gte,
                "<" => Op::Lt,
                _ => Op::Lte,
            };
            pred(op, vec![num_or_str(&v)])
        }
        other => Expr::opaque(format!("{other:?}"), "not a value"),
    }
}

#[cfg(test)]
mod tests;
