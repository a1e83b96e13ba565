//! The Sigma condition grammar: a hand-written lexer and a recursive-descent parser with
//! precedence `not` > `and` > `or`.
//!
//! ```text
//! or     := and ("or" and)*
//! and    := unary ("and" unary)*
//! unary  := "not" unary | atom
//! atom   := "(" or ")" | quant "of" (pattern | "them") | identifier
//! quant  := "1" | "any" | "all"
//! ```
//! A `|` ends the boolean part: what follows is a Sigma v1 aggregation (`count() by x > 5`),
//! returned as text.

/// A parsed condition. Offsets are character offsets into the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Ident {
        name: String,
        at: usize,
    },
    /// `1 of pattern`, `all of them`; `pattern` is `None` for `them`.
    Of {
        all: bool,
        pattern: Option<String>,
        at: usize,
    },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub cond: Cond,
    /// The text after `|` (a v1 aggregation), trimmed.
    pub aggregation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    /// Character offset of the offending token in the condition text.
    pub at: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    End,
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
    /// Text after a top-level `|`, with its offset.
    tail: Option<(String, usize)>,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '.' | '?')
}

fn lex(text: &str) -> Result<Lexer, CondError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut tail = None;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            toks.push((Tok::LParen, i));
            i += 1;
        } else if c == ')' {
            toks.push((Tok::RParen, i));
            i += 1;
        } else if c == '|' {
            let rest: String = chars[i + 1..].iter().collect();
            tail = Some((rest.trim().to_string(), i));
            break;
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            toks.push((Tok::Word(chars[start..i].iter().collect()), start));
        } else {
            return Err(CondError {
                at: i,
                message: format!("unexpected character `{c}` in condition"),
            });
        }
    }
    toks.push((Tok::End, chars.len()));
    Ok(Lexer { toks, tail })
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

fn keyword(w: &str) -> Option<&'static str> {
    const KW: [&str; 8] = ["and", "or", "not", "of", "them", "all", "any", "near"];
    KW.into_iter().find(|k| w.eq_ignore_ascii_case(k))
}

impl Parser {
    fn peek(&self) -> &(Tok, usize) {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn peek_kw(&self) -> Option<&'static str> {
        match &self.peek().0 {
            Tok::Word(w) => keyword(w),
            _ => None,
        }
    }
    fn bump(&mut self) -> (Tok, usize) {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, CondError> {
        Err(CondError {
            at,
            message: message.into(),
        })
    }

    fn or(&mut self) -> Result<Cond, CondError> {
        let mut items = vec![self.and()?];
        while self.peek_kw() == Some("or") {
            self.bump();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Cond::Or(Vec::new()))
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond, CondError> {
        let mut items = vec![self.unary()?];
        while self.peek_kw() == Some("and") {
            self.bump();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Cond::And(Vec::new()))
        } else {
            Cond::And(items)
        })
    }

    fn unary(&mut self) -> Result<Cond, CondError> {
        if self.peek_kw() == Some("not") {
            self.bump();
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Cond, CondError> {
        let (tok, at) = self.bump();
        match tok {
            Tok::LParen => {
                let inner = self.or()?;
                match self.bump() {
                    (Tok::RParen, _) => Ok(inner),
                    (t, at2) => self.err(
                        at2,
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            at + 1,
                            describe(&t)
                        ),
                    ),
                }
            }
            Tok::RParen => self.err(at, "unexpected `)`"),
            Tok::End => self.err(at, "condition ends where an identifier was expected"),
            Tok::Word(w) => {
                let kw = keyword(&w);
                let quant = match kw {
                    Some("all") => Some(true),
                    Some("any") => Some(false),
                    None if w.bytes().all(|b| b.is_ascii_digit()) => {
                        if w != "1" {
                            return self.err(
                                at,
                                format!("`{w} of` is not Sigma: only `1 of`, `any of` and `all of` exist"),
                            );
                        }
                        Some(false)
                    }
                    _ => None,
                };
                if let Some(all) = quant {
                    if self.peek_kw() != Some("of") {
                        let (t, at2) = self.peek().clone();
                        return self.err(
                            at2,
                            format!("expected `of` after `{w}`, found {}", describe(&t)),
                        );
                    }
                    self.bump();
                    let (t, at2) = self.bump();
                    return match t {
                        Tok::Word(p) if keyword(&p) == Some("them") => Ok(Cond::Of {
                            all,
                            pattern: None,
                            at,
                        }),
                        Tok::Word(p) if keyword(&p).is_none() => Ok(Cond::Of {
                            all,
                            pattern: Some(p),
                            at,
                        }),
                        t => self.err(
                            at2,
                            format!(
                                "expected a selection pattern or `them` after `of`, found {}",
                                describe(&t)
                            ),
                        ),
                    };
                }
                match kw {
                    Some("near") => self.err(at, "`near` (Sigma v1) is not supported"),
                    Some(k) => self.err(
                        at,
                        format!("unexpected `{k}` where an identifier was expected"),
                    ),
                    None if w.contains('*') || w.contains('?') => self.err(
                        at,
                        format!("`{w}` has a wildcard: patterns only follow `1 of` / `all of`"),
                    ),
                    None => Ok(Cond::Ident { name: w, at }),
                }
            }
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Word(w) => format!("`{w}`"),
        Tok::End => "the end of the condition".into(),
    }
}

/// Parses one condition expression.
pub fn parse(text: &str) -> Result<Parsed, CondError> {
    let lexer = lex(text)?;
    if lexer.toks.len() == 1 {
        return Err(CondError {
            at: lexer.tail.as_ref().map(|t| t.1).unwrap_or(0),
            message: "the condition is empty".into(),
        });
    }
    let mut p = Parser {
        toks: lexer.toks,
        pos: 0,
    };
    let cond = p.or()?;
    let (t, at) = p.peek().clone();
    if t != Tok::End {
        return Err(CondError {
            at,
            message: format!("expected `and`, `or` or the end, found {}", describe(&t)),
        });
    }
    if let Some((tail, at)) = &lexer.tail {
        if tail.is_empty() {
            return Err(CondError {
                at: *at,
                message: "nothing after `|`".into(),
            });
        }
    }
    Ok(Parsed {
        cond,
        aggregation: lexer.tail.map(|t| t.0),
    })
}

/// Does a selection name match a `1 of` / `all of` pattern (`*` any run)?
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    crate::verify::matcher::glob_match(&pattern.replace('?', "\\?"), name)
}
