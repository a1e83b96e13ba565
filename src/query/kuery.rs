//! Kibana Query Language (KQL, `language = "kuery"`) front end.
//!
//! ```text
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | clause
//! clause  := "(" or ")" | field ":" "{" or "}" | field ":" values | field (< <= > >=) literal
//!          | value                                        (free text: any field)
//! values  := "(" vor ")" | value
//! vor     := vand ("or" vand)* ;  vand := vnot ("and" vnot)* ;  vnot := "not" vnot | values
//! ```
//!
//! Keywords are case-insensitive. Unquoted values take `*` wildcards and `\` escapes;
//! quoted values are literal phrases. `field:*` tests that the field exists; a nested
//! `field:{ ... }` prefixes the inner field names. Matching follows Elasticsearch field
//! types: keyword fields compare the whole value case-sensitively, `.caseless` fields
//! ignore case, and text fields ([`is_text_field`]) match words inside the value, ignoring
//! case. A CIDR value on an address field is a network match.

use crate::model::{Expr, Op, Predicate, Value};
use crate::query::eql::SyntaxError;

/// Fields mapped as analysed text in ECS and the integrations the prebuilt rules read.
const TEXT_FIELDS: &[&str] = &[
    "message",
    "error.message",
    "error.stack_trace",
    "powershell.file.script_block_text",
    "gen_ai.prompt",
    "gen_ai.completion",
];

/// True for analysed text fields, where a value matches words of the field's text.
pub fn is_text_field(field: &str) -> bool {
    field.ends_with(".text") || TEXT_FIELDS.contains(&field)
}

/// True for keyword fields with a lower-casing normaliser (`file.path.caseless`).
pub fn is_caseless_field(field: &str) -> bool {
    field.ends_with(".caseless")
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Star,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Colon,
    Range(&'static str),
    And,
    Or,
    Not,
    Quoted(String),
    Unquoted(Vec<Piece>),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const SPECIAL: &[char] = &['\\', '(', ')', ':', '<', '>', '"', '*', '{', '}'];

fn lex(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            ':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(tok) = single {
            it.next();
            out.push(Token {
                tok,
                start: i,
                end: i + 1,
            });
            continue;
        }
        if c == '<' || c == '>' {
            it.next();
            let eq = it.peek().is_some_and(|&(_, n)| n == '=');
            if eq {
                it.next();
            }
            let op = match (c, eq) {
                ('<', false) => "<",
                ('<', true) => "<=",
                ('>', false) => ">",
                _ => ">=",
            };
            out.push(Token {
                tok: Tok::Range(op),
                start: i,
                end: i + op.len(),
            });
            continue;
        }
        if c == '"' {
            it.next();
            let mut s = String::new();
            let mut end = None;
            while let Some((j, ch)) = it.next() {
                match ch {
                    '"' => {
                        end = Some(j + 1);
                        break;
                    }
                    '\\' => match it.next() {
                        Some((_, 't')) => s.push('\t'),
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 'r')) => s.push('\r'),
                        Some((_, other)) => s.push(other),
                        None => break,
                    },
                    other => s.push(other),
                }
            }
            let Some(end) = end else {
                return Err(SyntaxError::at(text, i, "unterminated quoted string"));
            };
            out.push(Token {
                tok: Tok::Quoted(s),
                start: i,
                end,
            });
            continue;
        }
        // Unquoted literal.
        let mut pieces: Vec<Piece> = Vec::new();
        let mut escaped_any = false;
        let mut end = i;
        while let Some(&(j, ch)) = it.peek() {
            if ch.is_whitespace() || (SPECIAL.contains(&ch) && ch != '\\' && ch != '*') {
                break;
            }
            it.next();
            end = j + ch.len_utf8();
            match ch {
                '*' => pieces.push(Piece::Star),
                '\\' => {
                    let Some((k, n)) = it.next() else {
                        return Err(SyntaxError::at(text, j, "a `\\` at the end of the query"));
                    };
                    end = k + n.len_utf8();
                    escaped_any = true;
                    let lit = match n {
                        't' => '\t',
                        'n' => '\n',
                        'r' => '\r',
                        other => other,
                    };
                    push_lit(&mut pieces, lit);
                }
                other => push_lit(&mut pieces, other),
            }
        }
        let word = &text[i..end];
        let tok = if escaped_any {
            Tok::Unquoted(pieces)
        } else if word.eq_ignore_ascii_case("and") {
            Tok::And
        } else if word.eq_ignore_ascii_case("or") {
            Tok::Or
        } else if word.eq_ignore_ascii_case("not") {
            Tok::Not
        } else {
            Tok::Unquoted(pieces)
        };
        out.push(Token { tok, start: i, end });
    }
    Ok(out)
}

fn push_lit(pieces: &mut Vec<Piece>, c: char) {
    if let Some(Piece::Lit(s)) = pieces.last_mut() {
        s.push(c);
    } else {
        pieces.push(Piece::Lit(c.to_string()));
    }
}

/// A value as written: its pieces and whether it was quoted.
#[derive(Debug, Clone)]
struct Val {
    pieces: Vec<Piece>,
    quoted: bool,
}

impl Val {
    fn plain(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => s.as_str(),
                Piece::Star => "*",
            })
            .collect()
    }
    fn has_star(&self) -> bool {
        self.pieces.contains(&Piece::Star)
    }
    /// The matcher's glob syntax: literal `*`, `?` and `\` escaped.
    fn glob(&self) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Star => out.push('*'),
                Piece::Lit(s) => {
                    for c in s.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                }
            }
        }
        out
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    /// Nested-query field prefixes.
    prefix: Vec<String>,
    /// Current nesting, bounded by [`MAX_DEPTH`] so a hostile query cannot exhaust the stack.
    depth: usize,
}

/// Deepest nesting of parentheses, `not`s and nested queries a query may have.
pub const MAX_DEPTH: usize = 100;

/// Parses a KQL query into the IR (an empty query matches everything).
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Ok(Expr::Const { value: true });
    }
    let mut p = Parser {
        src: text,
        toks,
        pos: 0,
        prefix: Vec::new(),
        depth: 0,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(p.err("unexpected text"));
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1).map(|t| &t.tok)
    }
    fn here(&self) -> usize {
        match self.toks.get(self.pos) {
            Some(t) => t.start,
            None => self.toks.last().map(|t| t.end).unwrap_or(0),
        }
    }
    fn err(&self, msg: &str) -> SyntaxError {
        let found = match self.toks.get(self.pos) {
            Some(t) => format!(", found `{}`", &self.src[t.start..t.end]),
            None => ", found the end of the query".to_string(),
        };
        SyntaxError::at(self.src, self.here(), format!("{msg}{found}"))
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), SyntaxError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {what}")))
        }
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.and()?];
        while self.eat(&Tok::Or) {
            items.push(self.and()?);
        }
        Ok(Expr::any(items))
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.not()?];
        while self.eat(&Tok::And) {
            items.push(self.not()?);
        }
        Ok(Expr::all(items))
    }

    /// Runs `f` one nesting level deeper.
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        self.nested(Self::not_inner)
    }

    fn not_inner(&mut self) -> Result<Expr, SyntaxError> {
        if self.eat(&Tok::Not) {
            return Ok(Expr::not(self.not()?));
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Expr, SyntaxError> {
        if self.eat(&Tok::LParen) {
            let e = self.or()?;
            self.expect(&Tok::RParen, "`)`")?;
            return Ok(e);
        }
        let start = self.here();
        let Some(first) = self.literal() else {
            return Err(self.err("expected a field or a value"));
        };
        match self.peek() {
            Some(Tok::Colon) => {
                self.pos += 1;
                let field = self.field_name(&first, start)?;
                if self.eat(&Tok::LBrace) {
                    let Some(field) = field else {
                        return Err(self.err("a nested query needs a plain field name"));
                    };
                    let outer = std::mem::replace(&mut self.prefix, vec![field]);
                    let e = self.or();
                    self.prefix = outer;
                    let e = e?;
                    self.expect(&Tok::RBrace, "`}`")?;
                    return Ok(e);
                }
                let e = self.values(field.as_deref())?;
                if field.is_none() {
                    let text = &self.src[start..self.toks[self.pos - 1].end];
                    return Ok(Expr::opaque(text, "a field name with a wildcard"));
                }
                Ok(e)
            }
            Some(Tok::Range(op)) => {
                let op = *op;
                self.pos += 1;
                let field = self.field_name(&first, start)?;
                let Some(v) = self.literal() else {
                    return Err(self.err("expected a value after the range operator"));
                };
                let Some(field) = field else {
                    let text = &self.src[start..self.toks[self.pos - 1].end];
                    return Ok(Expr::opaque(text, "a field name with a wildcard"));
                };
                let op = match op {
                    "<" => Op::Lt,
                    "<=" => Op::Lte,
                    ">" => Op::Gt,
                    _ => Op::Gte,
                };
                let plain = v.plain();
                let value = plain
                    .parse::<f64>()
                    .map(Value::Num)
                    .unwrap_or(Value::Str(plain));
                Ok(Expr::Pred(
                    Predicate::field(field, op, vec![value]).cased(true),
                ))
            }
            _ => {
                let v = self.merge_words(first);
                Ok(Expr::Pred(value_pred(None, &v)))
            }
        }
    }

    /// The full field name (prefixed inside nested queries); `None` when it has a wildcard.
    fn field_name(&self, v: &Val, start: usize) -> Result<Option<String>, SyntaxError> {
        if v.has_star() {
            return Ok(None);
        }
        let name = v.plain();
        if name.is_empty() {
            return Err(SyntaxError::at(self.src, start, "empty field name"));
        }
        let mut full = self.prefix.join(".");
        if !full.is_empty() {
            full.push('.');
        }
        full.push_str(&name);
        Ok(Some(full))
    }

    fn literal(&mut self) -> Option<Val> {
        let v = match self.peek()? {
            Tok::Quoted(s) => Val {
                pieces: vec![Piece::Lit(s.clone())],
                quoted: true,
            },
            Tok::Unquoted(p) => Val {
                pieces: p.clone(),
                quoted: false,
            },
            _ => return None,
        };
        self.pos += 1;
        Some(v)
    }

    /// Unquoted words in a row form one value (`S3 Browser*`), as written.
    fn merge_words(&mut self, mut v: Val) -> Val {
        if v.quoted {
            return v;
        }
        while let (Some(Tok::Unquoted(next)), false) = (
            self.peek().cloned(),
            matches!(self.peek2(), Some(Tok::Colon | Tok::Range(_))),
        ) {
            let gap_start = self.toks[self.pos - 1].end;
            let gap = &self.src[gap_start..self.toks[self.pos].start];
            push_lit_str(&mut v.pieces, gap);
            for p in next {
                match p {
                    Piece::Lit(s) => push_lit_str(&mut v.pieces, &s),
                    Piece::Star => v.pieces.push(Piece::Star),
                }
            }
            self.pos += 1;
        }
        v
    }

    /// The right side of `field:`; `field` is `None` for a wildcard field name (the values
    /// are still read, to find where the clause ends).
    fn values(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        self.nested(|p| p.values_inner(field))
    }

    fn values_inner(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        if self.eat(&Tok::LParen) {
            let e = self.vor(field)?;
            self.expect(&Tok::RParen, "`)`")?;
            return Ok(e);
        }
        if self.eat(&Tok::Not) {
            return Ok(Expr::not(self.values(field)?));
        }
        let Some(v) = self.literal() else {
            return Err(self.err("expected a value"));
        };
        let v = self.merge_words(v);
        Ok(Expr::Pred(value_pred(field, &v)))
    }

    fn vor(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.vand(field)?];
        while self.eat(&Tok::Or) {
            items.push(self.vand(field)?);
        }
        Ok(merge_any(items))
    }

    fn vand(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.vnot(field)?];
        while self.eat(&Tok::And) {
            items.push(self.vnot(field)?);
        }
        Ok(Expr::all(items))
    }

    fn vnot(&mut self, field: Option<&str>) -> Result<Expr, SyntaxError> {
        if self.eat(&Tok::Not) {
            return Ok(Expr::not(self.vnot(field)?));
        }
        self.values(field)
    }
}

fn push_lit_str(pieces: &mut Vec<Piece>, s: &str) {
    for c in s.chars() {
        push_lit(pieces, c);
    }
}

/// `f:(a or b or c)` as one predicate with three values when the alternatives agree.
fn merge_any(items: Vec<Expr>) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for e in items {
        if let (Expr::Pred(p), Some(Expr::Pred(last))) = (&e, out.last_mut()) {
            let same = last.field == p.field
                && last.op == p.op
                && last.case_sensitive == p.case_sensitive
                && last.transform == p.transform
                && !last.all
                && !p.all
                && !matches!(p.op, Op::Exists);
            if same {
                last.values.extend(p.values.iter().cloned());
                continue;
            }
        }
        out.push(e);
    }
    Expr::any(out)
}

/// The predicate of one value on one field (or on any field when `field` is `None`).
fn value_pred(field: Option<&str>, v: &Val) -> Predicate {
    let field = field.map(str::to_string);
    let plain = v.plain();
    let Some(name) = field.as_deref() else {
        // Free text: searched in every field, as words.
        return if v.has_star() {
            Predicate::new(None, Op::Glob, vec![Value::Str(v.glob())])
        } else {
            Predicate::new(None, Op::Contains, vec![Value::Str(plain)])
        };
    };
    if !v.quoted && v.pieces == [Piece::Star] {
        return Predicate::new(field, Op::Exists, vec![]);
    }
    if is_text_field(name) {
        return if v.has_star() {
            let g = v.glob();
            let g = if g.starts_with('*') {
                g
            } else {
                format!("*{g}")
            };
            let g = if g.ends_with('*') { g } else { format!("{g}*") };
            Predicate::new(field, Op::Glob, vec![Value::Str(g)])
        } else {
            Predicate::new(field, Op::Contains, vec![Value::Str(plain)])
        };
    }
    let cased = !is_caseless_field(name);
    if v.has_star() {
        return Predicate::new(field, Op::Glob, vec![Value::Str(v.glob())]).cased(cased);
    }
    if plain.contains('/') && plain.parse::<ipnet::IpNet>().is_ok() {
        return Predicate::new(field, Op::Cidr, vec![Value::Str(plain)]);
    }
    Predicate::new(field, Op::Eq, vec![Value::Str(plain)]).cased(cased)
}

#[cfg(test)]
mod tests;
