//! The SPL lexer: one scanner, two modes.
//!
//! The search language (`search`, the implied first search, `tstats ... where`) and the
//! eval language (`where`, `eval`) split text differently: a search term runs until
//! whitespace or an operator and keeps `*`, `\`, `:` and `-`, while eval has arithmetic and
//! names fields with single quotes. Both share strings, parentheses and comparisons.
//! Offsets are byte positions in the text being lexed.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Search,
    Eval,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare term (search) or a name or number (eval), with SPL escapes resolved.
    Word(String),
    /// `"double quoted"`, escapes resolved.
    Str(String),
    /// `'single quoted'`: a field name in eval.
    Field(String),
    /// `` `name(args)` ``: a macro call left unexpanded (not defined).
    Macro(String),
    /// `[ ... ]`: a subsearch, the text between the brackets.
    Sub(String),
    /// `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `(`, `)`, `,` and, in eval, `+ - * / % .`.
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The word when the token is a bare word.
    pub fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
    /// True for the bare word `kw`, case-insensitively.
    pub fn is_kw(&self, kw: &str) -> bool {
        self.word().is_some_and(|w| w.eq_ignore_ascii_case(kw))
    }
    pub fn is_op(&self, op: &str) -> bool {
        matches!(&self.tok, Tok::Op(o) if *o == op)
    }
}

/// A lexing error: the message and its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub pos: usize,
    pub message: String,
}

/// Splits `text` into tokens. `base` is added to every offset (the text's position in the
/// whole search).
pub fn lex(text: &str, base: usize, mode: Mode) -> Result<Vec<Token>, LexError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            b'"' => {
                let (s, end) = quoted(text, i, b'"').ok_or_else(|| LexError {
                    pos: base + i,
                    message: "unterminated string".into(),
                })?;
                i = end;
                Tok::Str(s)
            }
            b'\'' if mode == Mode::Eval => {
                let (s, end) = quoted(text, i, b'\'').ok_or_else(|| LexError {
                    pos: base + i,
                    message: "unterminated quoted field name".into(),
                })?;
                i = end;
                Tok::Field(s)
            }
            b'`' => match text[i + 1..].find('`') {
                Some(n) => {
                    let inner = text[i + 1..i + 1 + n].to_string();
                    i += n + 2;
                    Tok::Macro(inner)
                }
                None => {
                    return Err(LexError {
                        pos: base + i,
                        message: "unterminated macro call (missing closing backtick)".into(),
                    })
                }
            },
            b'[' => {
                let end = matching_bracket(text, i).ok_or_else(|| LexError {
                    pos: base + i,
                    message: "unterminated subsearch (missing `]`)".into(),
                })?;
                let inner = text[i + 1..end].to_string();
                i = end + 1;
                Tok::Sub(inner)
            }
            b'(' | b')' | b',' | b']' => {
                i += 1;
                Tok::Op(match c {
                    b'(' => "(",
                    b')' => ")",
                    b',' => ",",
                    _ => "]",
                })
            }
            b'=' | b'!' | b'<' | b'>' if op_at(b, i).is_some() => {
                let op = op_at(b, i).unwrap_or("=");
                i += op.len();
                Tok::Op(op)
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'.'
                if mode == Mode::Eval && !(c == b'.' && next_is_name(b, i)) =>
            {
                // `-1` and `.5` after an operator are numbers; a `.` joined to a name is part
                // of it; otherwise these are arithmetic.
                if (c == b'-' || c == b'.')
                    && i + 1 < b.len()
                    && b[i + 1].is_ascii_digit()
                    && prev_is_operator(&out)
                {
                    let end = eval_word_end(b, i + 1);
                    let w = text[i..end].to_string();
                    i = end;
                    Tok::Word(w)
                } else {
                    i += 1;
                    Tok::Op(match c {
                        b'+' => "+",
                        b'-' => "-",
                        b'*' => "*",
                        b'/' => "/",
                        b'%' => "%",
                        _ => ".",
                    })
                }
            }
            _ => {
                let end = match mode {
                    Mode::Search => search_word_end(b, i),
                    Mode::Eval => eval_word_end(b, i),
                };
                if end == i {
                    return Err(LexError {
                        pos: base + i,
                        message: format!("unexpected character `{}`", char_at(text, i)),
                    });
                }
                let raw = &text[i..end];
                i = end;
                Tok::Word(match mode {
                    Mode::Search => unescape(raw),
                    Mode::Eval => raw.to_string(),
                })
            }
        };
        out.push(Token {
            tok,
            start: base + start,
            end: base + i,
        });
    }
    Ok(out)
}

fn char_at(text: &str, i: usize) -> char {
    text[i..].chars().next().unwrap_or(' ')
}

fn op_at(b: &[u8], i: usize) -> Option<&'static str> {
    let next = b.get(i + 1).copied();
    match (b[i], next) {
        (b'=', Some(b'=')) => Some("=="),
        (b'=', _) => Some("="),
        (b'!', Some(b'=')) => Some("!="),
        (b'<', Some(b'=')) => Some("<="),
        (b'<', _) => Some("<"),
        (b'>', Some(b'=')) => Some(">="),
        (b'>', _) => Some(">"),
        _ => None,
    }
}

fn next_is_name(b: &[u8], i: usize) -> bool {
    // `.` inside a field name (`All_Changes.command`): a name character on both sides.
    let before = i > 0 && is_eval_name_byte(b[i - 1]);
    let after = b
        .get(i + 1)
        .is_some_and(|&c| is_eval_name_byte(c) || c == b'*');
    before && after
}

/// True when the previous token cannot end a value, so a `-` or `.` starts a number.
fn prev_is_operator(out: &[Token]) -> bool {
    match out.last() {
        None => true,
        Some(t) => match &t.tok {
            Tok::Op(o) => *o != ")",
            Tok::Word(w) => ["AND", "OR", "NOT", "XOR", "IN", "LIKE"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)),
            _ => false,
        },
    }
}

fn is_eval_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, b'_' | b'{' | b'}' | b'@' | b'$' | b'#' | b':')
        || c >= 0x80
}

/// End of an eval name or number: letters, digits, `_ . { } @ $ # :`, `*` in wildcard
/// names (`tcp.*`).
fn eval_word_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        let c = b[i];
        if is_eval_name_byte(c) || (c == b'.' && next_is_name(b, i)) {
            i += 1;
        } else if c == b'.' && i > 0 && b[i - 1].is_ascii_digit() {
            i += 1; // a decimal point
        } else if c == b'*' && i > 0 && b[i - 1] == b'.' {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// End of a search term: up to whitespace, a quote, parenthesis, comma, bracket, pipe,
/// backtick or comparison operator. A backslash escapes the next character.
fn search_word_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
            i += 2;
            continue;
        }
        if c.is_ascii_whitespace()
            || matches!(
                c,
                b'"' | b'(' | b')' | b',' | b'[' | b']' | b'|' | b'`' | b'=' | b'<' | b'>'
            )
            || (c == b'!' && b.get(i + 1) == Some(&b'='))
        {
            break;
        }
        i += 1;
    }
    i
}

/// Resolves SPL escapes in a search term or string: `\\` is a backslash and `\"` a quote;
/// any other backslash stays as written (so `\d` reaches a regex intact).
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some(&n @ ('\\' | '"')) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A quoted string starting at `i` (the quote): its unescaped content and the offset after
/// the closing quote.
fn quoted(text: &str, i: usize, q: u8) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' && j + 1 < b.len() {
            j += 2;
            continue;
        }
        if b[j] == q {
            return Some((unescape(&text[i + 1..j]), j + 1));
        }
        j += 1;
    }
    None
}

/// The offset of the `]` closing the `[` at `i`, skipping strings and nested brackets.
pub fn matching_bracket(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = quoted(text, j, b'"')?.1;
                continue;
            }
            b'\\' => j += 1,
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}
