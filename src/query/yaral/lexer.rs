//! YARA-L 2.0 lexer: turns rule text into tokens with byte spans and 1-based line/column.
//!
//! Comments (`//` to end of line, `/* */`) are skipped. A `/` starts a regex literal where a
//! value is expected (after an operator, `(`, `,`, a keyword or at the start), otherwise it
//! is the division operator.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: keyword, section name, function name part, meta key.
    Ident(String),
    /// `$name`
    Var(String),
    /// `#name`
    Count(String),
    /// `%name` (a reference list or data table; `.column` follows as tokens).
    List(String),
    /// `"..."` with escapes processed.
    Str(String),
    /// `` `...` `` kept as written.
    Raw(String),
    /// `/.../` with `\/` turned into `/`.
    Regex(String),
    /// A number as written.
    Num(String),
    /// A number directly followed by a unit letter (`10m`, `1h`, `7d`).
    Duration(String),
    /// Punctuation and operators: `= != < <= > >= + - * / ! ( ) [ ] { } , : .`
    Punct(&'static str),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
}

impl Token {
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if *q == p)
    }
    /// A keyword, compared case-insensitively (`NOT` and `not` are the same keyword).
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Var(s) => format!("`${s}`"),
            Tok::Count(s) => format!("`#{s}`"),
            Tok::List(s) => format!("`%{s}`"),
            Tok::Str(_) | Tok::Raw(_) => "a string".to_string(),
            Tok::Regex(_) => "a regular expression".to_string(),
            Tok::Num(n) | Tok::Duration(n) => format!("`{n}`"),
            Tok::Punct(p) => format!("`{p}`"),
        }
    }
}

const PUNCT2: &[&str] = &["!=", "<=", ">="];
const PUNCT1: &[&str] = &[
    "=", "<", ">", "+", "-", "*", "/", "!", "(", ")", "[", "]", "{", "}", ",", ":", ".",
];

/// Keywords after which a value (and so a regex literal) is expected.
const VALUE_KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "regex", "any", "all", "if", "return",
];

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    /// Byte offset where the current line starts (for columns).
    line_start: usize,
    /// Last column computed: (byte offset, column), so long lines stay linear.
    col_cache: std::cell::Cell<(usize, usize)>,
    out: Vec<Token>,
}

/// Tokenises `src`, or fails at the first malformed token (an unterminated string...).
pub fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        col_cache: std::cell::Cell::new((0, 1)),
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

impl<'a> Lexer<'a> {
    fn col_at(&self, pos: usize) -> usize {
        let (cpos, ccol) = self.col_cache.get();
        let col = if cpos >= self.line_start && cpos <= pos {
            ccol + self.src[cpos..pos].chars().count()
        } else {
            self.src[self.line_start..pos].chars().count() + 1
        };
        self.col_cache.set((pos, col));
        col
    }

    fn err(
        &self,
        pos: usize,
        line: usize,
        line_start: usize,
        msg: impl Into<String>,
    ) -> ParseError {
        ParseError {
            line,
            col: self.src[line_start..pos.min(self.src.len())]
                .chars()
                .count()
                + 1,
            message: msg.into(),
        }
    }

    /// Advances over `n` bytes, keeping line bookkeeping.
    fn bump(&mut self, n: usize) {
        let end = (self.pos + n).min(self.bytes.len());
        while self.pos < end {
            if self.bytes[self.pos] == b'\n' {
                self.line += 1;
                self.line_start = self.pos + 1;
            }
            self.pos += 1;
        }
    }

    fn peek(&self, off: usize) -> Option<u8> {
        self.bytes.get(self.pos + off).copied()
    }

    fn push(&mut self, tok: Tok, start: usize, line: usize, col: usize) {
        self.out.push(Token {
            tok,
            start,
            end: self.pos,
            line,
            col,
        });
    }

    /// True when the previous token ends a value, so `/` is division.
    fn after_value(&self) -> bool {
        match self.out.last().map(|t| &t.tok) {
            None => false,
            Some(Tok::Ident(s)) => !VALUE_KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k)),
            Some(Tok::Punct(p)) => matches!(*p, ")" | "]"),
            Some(_) => true,
        }
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while self.pos < self.bytes.len() {
            let c = self.bytes[self.pos];
            let start = self.pos;
            let line = self.line;
            let col = self.col_at(start);
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0c => self.bump(1),
                b'/' if self.peek(1) == Some(b'/') => {
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    let ls = self.line_start;
                    match self.src[self.pos + 2..].find("*/") {
                        Some(i) => self.bump(i + 4),
                        None => return Err(self.err(start, line, ls, "unterminated `/*` comment")),
                    }
                }
                b'"' => {
                    let s = self.string(start, line)?;
                    self.push(Tok::Str(s), start, line, col);
                }
                b'`' => {
                    let ls = self.line_start;
                    match self.src[self.pos + 1..].find('`') {
                        Some(i) => {
                            let s = self.src[self.pos + 1..self.pos + 1 + i].to_string();
                            self.bump(i + 2);
                            self.push(Tok::Raw(s), start, line, col);
                        }
                        None => {
                            return Err(self.err(start, line, ls, "unterminated `` ` `` string"))
                        }
                    }
                }
                b'/' if !self.after_value() => {
                    let s = self.regex(start, line)?;
                    self.push(Tok::Regex(s), start, line, col);
                }
                b'$' | b'#' | b'%' => {
                    let name_start = self.pos + 1;
                    let mut end = name_start;
                    while end < self.bytes.len() && is_word(self.bytes[end]) {
                        end += 1;
                    }
                    if end == name_start {
                        let ls = self.line_start;
                        return Err(self.err(
                            start,
                            line,
                            ls,
                            format!("`{}` must be followed by a name", c as char),
                        ));
                    }
                    let name = self.src[name_start..end].to_string();
                    self.bump(end - start);
                    let tok = match c {
                        b'$' => Tok::Var(name),
                        b'#' => Tok::Count(name),
                        _ => Tok::List(name),
                    };
                    self.push(tok, start, line, col);
                }
                b'0'..=b'9' => {
                    let mut end = self.pos;
                    while end < self.bytes.len()
                        && (self.bytes[end].is_ascii_digit()
                            || (self.bytes[end] == b'.'
                                && self.bytes.get(end + 1).is_some_and(u8::is_ascii_digit)))
                    {
                        end += 1;
                    }
                    let mut unit_end = end;
                    while unit_end < self.bytes.len() && self.bytes[unit_end].is_ascii_alphabetic()
                    {
                        unit_end += 1;
                    }
                    if unit_end > end {
                        let text = self.src[start..unit_end].to_string();
                        self.bump(unit_end - start);
                        self.push(Tok::Duration(text), start, line, col);
                    } else {
                        let text = self.src[start..end].to_string();
                        self.bump(end - start);
                        self.push(Tok::Num(text), start, line, col);
                    }
                }
                c if is_word(c) => {
                    let mut end = self.pos;
                    while end < self.bytes.len() && is_word(self.bytes[end]) {
                        end += 1;
                    }
                    let text = self.src[start..end].to_string();
                    self.bump(end - start);
                    self.push(Tok::Ident(text), start, line, col);
                }
                _ => {
                    let rest = &self.src[self.pos..];
                    if let Some(p) = PUNCT2.iter().find(|p| rest.starts_with(**p)) {
                        self.bump(2);
                        self.push(Tok::Punct(p), start, line, col);
                    } else if let Some(p) = PUNCT1.iter().find(|p| rest.starts_with(**p)) {
                        self.bump(1);
                        self.push(Tok::Punct(p), start, line, col);
                    } else {
                        let ch = rest.chars().next().unwrap_or('?');
                        let ls = self.line_start;
                        return Err(self.err(
                            start,
                            line,
                            ls,
                            format!("unexpected character {ch:?}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A double-quoted string: `\"`, `\\`, `\n`, `\t` are escapes; other backslashes stay.
    fn string(&mut self, start: usize, line: usize) -> Result<String, ParseError> {
        let ls = self.line_start;
        let mut out = String::new();
        let mut i = self.pos + 1;
        let mut chars = self.src[i..].char_indices();
        while let Some((off, ch)) = chars.next() {
            match ch {
                '"' => {
                    i += off + 1;
                    self.bump(i - self.pos);
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                '\n' => break,
                other => out.push(other),
            }
        }
        Err(self.err(start, line, ls, "unterminated string"))
    }

    /// A regex literal `/.../`: `\/` becomes `/`, other escapes are kept for the regex engine.
    fn regex(&mut self, start: usize, line: usize) -> Result<String, ParseError> {
        let ls = self.line_start;
        let mut out = String::new();
        let mut chars = self.src[self.pos + 1..].char_indices();
        while let Some((off, ch)) = chars.next() {
            match ch {
                '/' => {
                    self.bump(off + 2);
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '/')) => out.push('/'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                '\n' => break,
                other => out.push(other),
            }
        }
        Err(self.err(start, line, ls, "unterminated regular expression `/.../`"))
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
