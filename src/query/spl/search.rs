//! The search language: the implied first search, `search`, and the `where` clause of
//! `tstats`. Recursive descent with Splunk's precedence: parentheses, then `NOT`, then
//! `OR`, then `AND` (explicit or implied between terms). Operators are upper-case.
//!
//! Values compare case-insensitively; `*` is the only wildcard. `field!=value` needs the
//! field to be present, unlike `NOT field=value`.

use super::lexer::{Tok, Token};
use super::ParseError;
use crate::model::{Expr, Op, Predicate, Value};

/// Time-range modifiers: they select the search window, not events.
const TIME_MODIFIERS: &[&str] = &[
    "earliest",
    "latest",
    "starttime",
    "endtime",
    "starthoursago",
    "endhoursago",
    "startdaysago",
    "enddaysago",
    "startminutesago",
    "endminutesago",
    "startmonthsago",
    "endmonthsago",
    "timeformat",
    "index_earliest",
    "index_latest",
    "_index_earliest",
    "_index_latest",
    "earliest_time",
    "latest_time",
    "searchtimespanhours",
    "searchtimespanminutes",
    "searchtimespandays",
    "daysago",
    "hoursago",
    "minutesago",
];

pub struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    /// The text offsets refer to (for opaque nodes).
    src: &'a str,
    /// Stop at a top-level `by` (the `where` clause of `tstats`).
    stop_at_by: bool,
    /// Current nesting of parentheses and `NOT`s.
    depth: usize,
}

/// Deeper nesting is refused (a hostile search must not exhaust the stack).
pub const MAX_NESTING: usize = 64;

impl<'a> Parser<'a> {
    pub fn new(toks: &'a [Token], src: &'a str) -> Self {
        Parser {
            toks,
            pos: 0,
            src,
            stop_at_by: false,
            depth: 0,
        }
    }
    pub fn stopping_at_by(mut self) -> Self {
        self.stop_at_by = true;
        self
    }
    /// Tokens consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Parses the whole token list (or up to `by`).
    pub fn parse(&mut self) -> Result<Expr, ParseError> {
        let e = self.and_expr()?;
        if let Some(t) = self.peek() {
            if !(self.stop_at_by && t.is_kw("by")) {
                return Err(err(t, format!("unexpected `{}`", self.text(t))));
            }
        }
        Ok(e)
    }

    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }
    fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + n)
    }
    fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }
    fn text(&self, t: &Token) -> &'a str {
        self.src.get(t.start..t.end).unwrap_or("")
    }
    fn at_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(t) => t.is_op(")") || (self.stop_at_by && t.is_kw("by")),
        }
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let pos = self.peek().map(|t| t.start).unwrap_or(0);
            return Err(ParseError {
                pos,
                message: format!("nested more than {MAX_NESTING} levels deep"),
            });
        }
        let e = self.and_items();
        self.depth -= 1;
        e
    }

    fn and_items(&mut self) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        while !self.at_end() {
            if self.peek().and_then(Token::word) == Some("AND") {
                self.pos += 1;
                continue;
            }
            match self.or_expr()? {
                Expr::All { items: inner } => items.extend(inner),
                e => items.push(e),
            }
        }
        items.retain(|e| !matches!(e, Expr::Const { value: true }));
        Ok(Expr::all(items))
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        let mut push = |e: Expr| match e {
            Expr::Any { items: inner } => items.extend(inner),
            e => items.push(e),
        };
        push(self.not_expr()?);
        while self.peek().and_then(Token::word) == Some("OR") {
            self.pos += 1;
            if self.at_end() {
                let t = self.toks.get(self.pos - 1).unwrap_or(&self.toks[0]);
                return Err(err(t, "`OR` needs a term after it".into()));
            }
            push(self.not_expr()?);
        }
        if items
            .iter()
            .any(|e| matches!(e, Expr::Const { value: true }))
        {
            return Ok(Expr::Const { value: true });
        }
        Ok(Expr::any(items))
    }

    fn not_expr(&mut self) -> Result<Expr, ParseError> {
        if self.peek().and_then(Token::word) == Some("NOT") {
            let t = self.next().unwrap_or(&self.toks[0]);
            if self.at_end() {
                return Err(err(t, "`NOT` needs a term after it".into()));
            }
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(err(
                    t,
                    format!("nested more than {MAX_NESTING} levels deep"),
                ));
            }
            let inner = self.not_expr();
            self.depth -= 1;
            return Ok(match inner? {
                Expr::Const { value } => Expr::Const { value: !value },
                other => Expr::not(other),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Some(t) = self.next() else {
            return Err(ParseError {
                pos: self.toks.last().map(|t| t.end).unwrap_or(0),
                message: "unexpected end of search".into(),
            });
        };
        match &t.tok {
            Tok::Op("(") => {
                let e = self.and_expr()?;
                match self.next() {
                    Some(c) if c.is_op(")") => Ok(e),
                    _ => Err(err(t, "unclosed `(`".into())),
                }
            }
            Tok::Sub(_) => Ok(Expr::opaque(
                self.text(t),
                "subsearch: its results depend on other data",
            )),
            Tok::Macro(m) => Ok(Expr::opaque(
                self.text(t),
                format!("macro `{m}` is not defined"),
            )),
            Tok::Word(w) if is_term_fn(w) && self.peek().is_some_and(|n| n.is_op("(")) => {
                self.term_fn(t, w)
            }
            Tok::Word(name) | Tok::Str(name) => {
                let quoted_name = matches!(t.tok, Tok::Str(_));
                match self.peek() {
                    Some(op) if cmp_op(op).is_some() => {
                        self.pos += 1;
                        self.comparison(t, name, cmp_op(op).unwrap_or("="))
                    }
                    Some(kw) if kw.is_kw("in") && self.peek_at(1).is_some_and(|p| p.is_op("(")) => {
                        self.pos += 2;
                        let values = self.in_list(t)?;
                        Ok(in_pred(name, &values))
                    }
                    _ => Ok(keyword(name, quoted_name)),
                }
            }
            Tok::Field(f) => Ok(keyword(f, true)),
            Tok::Op(o) => Err(err(t, format!("unexpected `{o}`"))),
        }
    }

    /// `TERM(x)` and `CASE(x)`: a keyword (case-sensitive for `CASE`).
    fn term_fn(&mut self, t: &Token, w: &str) -> Result<Expr, ParseError> {
        self.pos += 1; // `(`
        let start = self.pos;
        while self.peek().is_some_and(|n| !n.is_op(")")) {
            self.pos += 1;
        }
        if self.next().is_none() {
            return Err(err(t, format!("unclosed `{w}(`")));
        }
        let inner = &self.toks[start..self.pos - 1];
        // `CASE(field=value)` is a case-sensitive comparison; otherwise a keyword.
        let mut sub = Parser::new(inner, self.src);
        let e = sub.parse()?;
        Ok(if w.eq_ignore_ascii_case("case") {
            set_case_sensitive(e)
        } else {
            e
        })
    }

    fn comparison(&mut self, field_tok: &Token, field: &str, op: &str) -> Result<Expr, ParseError> {
        let Some(v) = self.next() else {
            return Err(err(field_tok, format!("`{field}{op}` needs a value")));
        };
        let value = match &v.tok {
            Tok::Word(w) => (w.clone(), false),
            Tok::Str(s) => (s.clone(), true),
            Tok::Macro(m) => {
                let text = self.src.get(field_tok.start..v.end).unwrap_or("");
                return Ok(Expr::opaque(text, format!("macro `{m}` is not defined")));
            }
            Tok::Sub(_) => {
                let text = self.src.get(field_tok.start..v.end).unwrap_or("");
                return Ok(Expr::opaque(text, "compares with a subsearch"));
            }
            _ => return Err(err(v, format!("`{field}{op}` needs a value"))),
        };
        Ok(compare(field, op, &value.0))
    }

    /// The values of `IN ( ... )`, separated by commas or spaces.
    fn in_list(&mut self, t: &Token) -> Result<Vec<String>, ParseError> {
        let mut values = Vec::new();
        loop {
            let Some(v) = self.next() else {
                return Err(err(t, "unclosed `IN (`".into()));
            };
            match &v.tok {
                Tok::Op(")") => break,
                Tok::Op(",") => {}
                Tok::Word(w) | Tok::Str(w) | Tok::Field(w) => values.push(w.clone()),
                _ => {
                    return Err(err(
                        v,
                        format!("unexpected `{}` in `IN` list", self.text(v)),
                    ))
                }
            }
        }
        Ok(values)
    }
}

fn err(t: &Token, message: String) -> ParseError {
    ParseError {
        pos: t.start,
        message,
    }
}

fn is_term_fn(w: &str) -> bool {
    w.eq_ignore_ascii_case("term") || w.eq_ignore_ascii_case("case")
}

fn cmp_op(t: &Token) -> Option<&'static str> {
    match t.tok {
        Tok::Op(o @ ("=" | "==" | "!=" | "<" | "<=" | ">" | ">=")) => Some(o),
        _ => None,
    }
}

fn set_case_sensitive(e: Expr) -> Expr {
    match e {
        Expr::Pred(p) => Expr::Pred(p.cased(true)),
        Expr::All { items } => Expr::All {
            items: items.into_iter().map(set_case_sensitive).collect(),
        },
        Expr::Any { items } => Expr::Any {
            items: items.into_iter().map(set_case_sensitive).collect(),
        },
        Expr::Not { item } => Expr::not(set_case_sensitive(*item)),
        other => other,
    }
}

/// A field name as the matcher looks it up: Splunk's JSON array marker `{}` dropped
/// (`target{}.id` → `target.id`; the matcher walks arrays).
pub fn field_name(raw: &str) -> String {
    raw.replace("{}", "")
}

fn is_time_modifier(field: &str) -> bool {
    TIME_MODIFIERS.iter().any(|m| m.eq_ignore_ascii_case(field))
}

/// `field op value` in search semantics.
pub fn compare(field: &str, op: &str, value: &str) -> Expr {
    if is_time_modifier(field) || field.eq_ignore_ascii_case("nodename") {
        return Expr::Const { value: true };
    }
    let f = field_name(field);
    match op {
        "=" | "==" => eq_or_glob(&f, value),
        "!=" => {
            if value == "*" {
                return Expr::not(exists(&f));
            }
            Expr::all(vec![exists(&f), Expr::not(eq_or_glob(&f, value))])
        }
        _ => {
            let op = match op {
                "<" => Op::Lt,
                "<=" => Op::Lte,
                ">" => Op::Gt,
                _ => Op::Gte,
            };
            Expr::pred(Predicate::field(f, op, vec![number_or_str(value)]))
        }
    }
}

pub fn number_or_str(v: &str) -> Value {
    match v.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Value::Num(n),
        _ => Value::str(v),
    }
}

fn exists(f: &str) -> Expr {
    Expr::pred(Predicate::field(f, Op::Exists, Vec::new()))
}

fn eq_or_glob(f: &str, value: &str) -> Expr {
    if value == "*" {
        return exists(f);
    }
    if value.contains('*') {
        Expr::pred(Predicate::field(f, Op::Glob, vec![Value::str(glob(value))]))
    } else {
        Expr::pred(Predicate::field(f, Op::Eq, vec![Value::str(value)]))
    }
}

/// `field IN (a, b*)`: equality for plain values, a glob for wildcarded ones.
pub fn in_pred(field: &str, values: &[String]) -> Expr {
    let f = field_name(field);
    if values.iter().any(|v| v == "*") {
        return exists(&f);
    }
    let (wild, plain): (Vec<&String>, Vec<&String>) = values.iter().partition(|v| v.contains('*'));
    let mut alts = Vec::new();
    if !plain.is_empty() {
        alts.push(Expr::pred(Predicate::field(
            f.clone(),
            Op::Eq,
            plain.iter().map(|v| Value::str(v.as_str())).collect(),
        )));
    }
    if !wild.is_empty() {
        alts.push(Expr::pred(Predicate::field(
            f,
            Op::Glob,
            wild.iter().map(|v| Value::str(glob(v))).collect(),
        )));
    }
    if alts.is_empty() {
        return Expr::Const { value: false };
    }
    Expr::any(alts)
}

/// An SPL value with `*` wildcards as an IR glob: `?` is literal in SPL, and a backslash
/// before a wildcard or backslash is doubled so it stays a literal backslash.
pub fn glob(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if matches!(chars.peek(), Some('*' | '?' | '\\')) {
                    out.push_str("\\\\");
                } else {
                    out.push('\\');
                }
            }
            '?' => out.push_str("\\?"),
            c => out.push(c),
        }
    }
    out
}

/// A term without a field: the event contains it (anywhere, case-insensitively).
fn keyword(term: &str, quoted: bool) -> Expr {
    if term == "*" && !quoted {
        return Expr::Const { value: true };
    }
    if !quoted && term.contains('*') {
        let mut g = glob(term);
        if !g.starts_with('*') {
            g.insert(0, '*');
        }
        if !g.ends_with('*') {
            g.push('*');
        }
        return Expr::pred(Predicate::new(None, Op::Glob, vec![Value::str(g)]));
    }
    Expr::pred(Predicate::new(None, Op::Contains, vec![Value::str(term)]))
}
