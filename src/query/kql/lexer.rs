//! KQL tokens: identifiers (with the `!has`, `in~` and `project-away` spellings glued into
//! one token), string literals in every quoting, numbers, timespans and punctuation.
//! Lexing never fails: what it cannot read becomes `Tok::Unknown` and a `LexError`.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Identifiers, keywords and word operators (`has`, `!contains_cs`, `in~`, `mv-expand`).
    Ident(String),
    /// A string literal, decoded.
    Str(String),
    Num(f64),
    /// A timespan literal as written (`1d`, `30m`, `100ms`).
    Timespan(String),
    Punct(&'static str),
    Unknown(char),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    /// Byte range in the query text.
    pub start: usize,
    pub end: usize,
    /// First token of its line.
    pub line_start: bool,
}

impl Token {
    pub fn is_ident(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if *q == p)
    }
    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub pos: usize,
    pub message: String,
}

/// Operators spelled with a hyphen, read as one identifier.
const HYPHENATED: &[&str] = &[
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "project-smart",
    "mv-expand",
    "mv-apply",
    "make-series",
    "parse-where",
    "parse-kv",
    "top-nested",
    "top-hitters",
    "sample-distinct",
    "make-graph",
    "graph-match",
    "graph-merge",
    "graph-to-table",
];

const PUNCTS: &[&str] = &[
    "..", "==", "=~", "!=", "!~", "<>", "<=", ">=", "=>", "|", "(", ")", "[", "]", "{", "}", ",",
    ";", ":", ".", "=", "<", ">", "+", "-", "*", "/", "%", "!", "~", "?", "@", "#", "&", "^",
];

const TIMESPAN_UNITS: &[&str] = &[
    "d",
    "h",
    "m",
    "s",
    "ms",
    "microsecond",
    "microseconds",
    "tick",
    "ticks",
    "min",
    "minute",
    "minutes",
    "sec",
    "second",
    "seconds",
    "hr",
    "hrs",
    "hour",
    "hours",
    "day",
    "days",
    "millisecond",
    "milliseconds",
];

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads `text` into tokens. Comments and whitespace (Unicode spaces and zero-width
/// characters included) are skipped.
pub fn lex(text: &str) -> (Vec<Token>, Vec<LexError>) {
    let mut lx = Lexer {
        src: text,
        pos: 0,
        out: Vec::new(),
        errors: Vec::new(),
        line_start: true,
    };
    lx.run();
    (lx.out, lx.errors)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
    errors: Vec<LexError>,
    line_start: bool,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }
    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token {
            tok,
            start,
            end: self.pos,
            line_start: self.line_start,
        });
        self.line_start = false;
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                self.line_start = true;
                self.pos += 1;
                continue;
            }
            if c.is_whitespace() || matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}') {
                self.pos += c.len_utf8();
                continue;
            }
            if self.rest().starts_with("//") {
                let end = self.rest().find('\n').map(|i| self.pos + i);
                self.pos = end.unwrap_or(self.src.len());
                continue;
            }
            let start = self.pos;
            if c == '"' || c == '\'' {
                self.pos += 1;
                let s = self.quoted(c, start);
                self.push(Tok::Str(s), start);
                continue;
            }
            if self.rest().starts_with("```") {
                self.pos += 3;
                let s = match self.rest().find("```") {
                    Some(i) => {
                        let s = self.rest()[..i].to_string();
                        self.pos += i + 3;
                        s
                    }
                    None => {
                        self.error(start, "unterminated ``` string");
                        let s = self.rest().to_string();
                        self.pos = self.src.len();
                        s
                    }
                };
                self.push(Tok::Str(s), start);
                continue;
            }
            // @"verbatim", h"hidden", H@'...'
            if let Some((q, verbatim)) = self.prefixed_string_quote() {
                let s = if verbatim {
                    self.verbatim(q, start)
                } else {
                    self.quoted(q, start)
                };
                self.push(Tok::Str(s), start);
                continue;
            }
            if c.is_ascii_digit()
                || (c == '.'
                    && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())
                    && !self.prev_is_value())
            {
                self.number(start);
                continue;
            }
            if is_ident_start(c) {
                self.ident(start);
                continue;
            }
            if c == '!' && self.peek_at(1).is_some_and(|n| n.is_ascii_alphabetic()) {
                // `!has`, `!in~`, `!contains_cs`, `!between`
                self.pos += 1;
                let word = self.word();
                let mut w = format!("!{word}");
                if self.peek() == Some('~') && word.eq_ignore_ascii_case("in") {
                    self.pos += 1;
                    w.push('~');
                }
                self.push(Tok::Ident(w), start);
                continue;
            }
            if let Some(p) = PUNCTS.iter().find(|p| self.rest().starts_with(**p)) {
                self.pos += p.len();
                self.push(Tok::Punct(p), start);
                continue;
            }
            self.pos += c.len_utf8();
            self.error(start, &format!("unexpected character `{c}`"));
            self.push(Tok::Unknown(c), start);
        }
    }

    fn error(&mut self, pos: usize, msg: &str) {
        self.errors.push(LexError {
            pos,
            message: msg.to_string(),
        });
    }

    /// The last token is a value (so `.5` after it is member access, not a number).
    fn prev_is_value(&self) -> bool {
        matches!(
            self.out.last().map(|t| &t.tok),
            Some(Tok::Ident(_) | Tok::Str(_) | Tok::Num(_) | Tok::Punct(")" | "]"))
        )
    }

    /// After an optional `h`/`H` and `@` prefix, the opening quote of a string and whether
    /// it is verbatim. Consumes the prefix and the quote.
    fn prefixed_string_quote(&mut self) -> Option<(char, bool)> {
        let r = self.rest();
        let c0 = r.chars().next()?;
        let (skip, verbatim) = match c0 {
            'h' | 'H' => match r[1..].chars().next()? {
                '@' => (2, true),
                '"' | '\'' => (1, false),
                _ => return None,
            },
            '@' => (1, true),
            _ => return None,
        };
        let q = r[skip..].chars().next()?;
        if q != '"' && q != '\'' {
            return None;
        }
        self.pos += skip + 1;
        Some((q, verbatim))
    }

    /// A verbatim string: no escapes, a doubled quote is one quote.
    fn verbatim(&mut self, q: char, start: usize) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            if c == q {
                if self.peek() == Some(q) {
                    self.pos += 1;
                    s.push(q);
                    continue;
                }
                return s;
            }
            if c == '\n' {
                self.error(start, "unterminated string");
                return s;
            }
            s.push(c);
        }
        self.error(start, "unterminated string");
        s
    }

    /// A regular string with backslash escapes; the opening quote is consumed.
    fn quoted(&mut self, q: char, start: usize) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            if c == q {
                return s;
            }
            if c == '\n' {
                self.error(start, "unterminated string");
                return s;
            }
            if c == '\\' {
                let Some(n) = self.peek() else { break };
                self.pos += n.len_utf8();
                match n {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    '0' => s.push('\0'),
                    '\\' | '"' | '\'' => s.push(n),
                    other => {
                        // Unknown escapes keep the backslash (regexes written in plain strings).
                        s.push('\\');
                        s.push(other);
                    }
                }
                continue;
            }
            s.push(c);
        }
        self.error(start, "unterminated string");
        s
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_ident_char(c) || (c == '$' && self.pos == start) {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        self.src[start..self.pos].to_string()
    }

    fn ident(&mut self, start: usize) {
        let mut w = self.word();
        // `in~`, `has_any~`? only `in~` exists.
        if self.peek() == Some('~') && w.eq_ignore_ascii_case("in") {
            self.pos += 1;
            w.push('~');
        }
        // Hyphenated operator names.
        if self.peek() == Some('-') {
            let save = self.pos;
            self.pos += 1;
            let tail = self.word();
            let joined = format!("{w}-{tail}");
            if HYPHENATED.iter().any(|h| h.eq_ignore_ascii_case(&joined)) {
                w = joined;
            } else {
                self.pos = save;
            }
        }
        self.push(Tok::Ident(w), start);
    }

    fn number(&mut self, start: usize) {
        let r = self.rest();
        let b = r.as_bytes();
        let mut i = 0;
        if r.starts_with("0x") || r.starts_with("0X") {
            i = 2;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            let v = i64::from_str_radix(&r[2..i], 16)
                .map(|v| v as f64)
                .unwrap_or(0.0);
            self.pos += i;
            self.push(Tok::Num(v), start);
            return;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        let num_text = &r[..i];
        // A unit glued to the number makes a timespan; other letters make a word (GUID
        // fragments, `1a2b`), read as an identifier.
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        let suffix = &r[i..j];
        if suffix.is_empty() {
            let v = num_text.parse::<f64>().unwrap_or(0.0);
            self.pos += i;
            self.push(Tok::Num(v), start);
        } else if TIMESPAN_UNITS
            .iter()
            .any(|u| u.eq_ignore_ascii_case(suffix))
        {
            let t = r[..j].to_string();
            self.pos += j;
            self.push(Tok::Timespan(t), start);
        } else {
            let t = r[..j].to_string();
            self.pos += j;
            self.push(Tok::Ident(t), start);
        }
    }
}
