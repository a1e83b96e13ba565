//! Tokens of EQL and ES|QL. The two languages share strings (`"..."` with escapes,
//! `"""raw"""`), identifiers (dotted, `@timestamp`, `` `quoted` ``, EQL's `?optional`),
//! comments (`//`, `/* */`) and operators, so one lexer serves both.

use std::fmt;

/// A syntax error at a byte offset of the query text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line within the query text.
    pub line: usize,
    /// 1-based column (in characters) within that line.
    pub column: usize,
    pub message: String,
}

impl SyntaxError {
    pub fn at(text: &str, pos: usize, message: impl Into<String>) -> SyntaxError {
        let (line, column) = line_col(text, pos);
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// 1-based (line, column) of byte offset `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[start..].chars().count() + 1)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name: field, keyword or function. EQL's case-insensitive forms keep their `~`
    /// (`like~`, `startsWith~`); an EQL `?field` drops its `?`.
    Ident(String),
    /// A `` `quoted` `` name: always a field, never a keyword.
    Quoted(String),
    /// A string literal, escapes resolved.
    Str(String),
    /// A number as written, with any unit suffix (`5m`, `30s`).
    Num(String),
    /// Punctuation and operators.
    Punct(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte range in the query text.
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// True for an identifier equal to `kw` ignoring ASCII case.
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if *q == p)
    }
}

const PUNCTS: &[&str] = &[
    "==", "!=", "<=", ">=", "::", "<", ">", ":", "(", ")", "[", "]", ",", "|", "=", "+", "-", "*",
    "/", "%", "{", "}", "!", ".", "~", ";",
];

fn ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@'
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '@'
}

/// Splits a query into tokens, skipping whitespace and comments.
pub fn lex(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map(|n| i + n).unwrap_or(text.len());
            continue;
        }
        if text[i..].starts_with("/*") {
            match text[i + 2..].find("*/") {
                Some(n) => i = i + 2 + n + 2,
                None => return Err(SyntaxError::at(text, i, "unterminated comment")),
            }
            continue;
        }
        let start = i;
        // EQL raw strings `?"..."` and optional fields `?name`.
        if c == '?' {
            let next = text[i + 1..].chars().next();
            if next == Some('"') {
                let (s, end) = string(text, i + 1, true)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    start,
                    end,
                });
                i = end;
                continue;
            }
            if next.is_some_and(|n| ident_start(n) || n == '`') {
                let (tok, end) = name(text, i + 1)?;
                out.push(Token { tok, start, end });
                i = end;
                continue;
            }
        }
        if c == '"' || c == '\'' {
            let (s, end) = string(text, i, false)?;
            out.push(Token {
                tok: Tok::Str(s),
                start,
                end,
            });
            i = end;
            continue;
        }
        if c == '`' {
            let (tok, end) = name(text, i)?;
            out.push(Token { tok, start, end });
            i = end;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < text.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if bytes.get(j) == Some(&b'.') && bytes.get(j + 1).is_some_and(|b| b.is_ascii_digit()) {
                j += 1;
                while j < text.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
            }
            // Unit suffix (`5m`) or exponent.
            while j < text.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Num(text[i..j].to_string()),
                start,
                end: j,
            });
            i = j;
            continue;
        }
        if ident_start(c) {
            let (tok, end) = name(text, i)?;
            out.push(Token { tok, start, end });
            i = end;
            continue;
        }
        if let Some(p) = PUNCTS.iter().find(|p| text[i..].starts_with(**p)) {
            out.push(Token {
                tok: Tok::Punct(p),
                start,
                end: i + p.len(),
            });
            i += p.len();
            continue;
        }
        return Err(SyntaxError::at(
            text,
            i,
            format!("unexpected character `{c}`"),
        ));
    }
    Ok(out)
}

/// A dotted name from `i`, of plain segments and `` `quoted` `` ones
/// (``source.`as`.organization.name``). A `~` right after a plain name belongs to it.
fn name(text: &str, i: usize) -> Result<(Tok, usize), SyntaxError> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut j = i;
    let mut quoted = false;
    loop {
        if bytes.get(j) == Some(&b'`') {
            // A backtick inside is written twice.
            let mut k = j + 1;
            loop {
                match text[k..].find('`') {
                    None => return Err(SyntaxError::at(text, j, "unterminated `quoted` name")),
                    Some(n) => {
                        out.push_str(&text[k..k + n]);
                        k += n + 1;
                        if bytes.get(k) == Some(&b'`') {
                            out.push('`');
                            k += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            j = k;
            quoted = true;
        } else {
            let end = plain_end(text, j);
            if end == j {
                break;
            }
            out.push_str(&text[j..end]);
            j = end;
        }
        let next = text.get(j + 1..).and_then(|r| r.chars().next());
        if bytes.get(j) == Some(&b'.') && next.is_some_and(|n| n == '`' || ident_char(n)) {
            out.push('.');
            j += 1;
        } else {
            break;
        }
    }
    if !quoted && bytes.get(j) == Some(&b'~') {
        out.push('~');
        j += 1;
    }
    Ok((
        if quoted {
            Tok::Quoted(out)
        } else {
            Tok::Ident(out)
        },
        j,
    ))
}

/// End of a run of name characters from `i`, without a trailing dot.
fn plain_end(text: &str, i: usize) -> usize {
    let mut end = i;
    for (k, ch) in text[i..].char_indices() {
        if ident_char(ch) {
            end = i + k + ch.len_utf8();
        } else {
            break;
        }
    }
    while end > i && text.as_bytes()[end - 1] == b'.' {
        end -= 1;
    }
    end
}

/// A string literal starting at `i` (its quote). Returns the value and the end offset.
/// `"""..."""` and `raw` strings keep backslashes as written.
fn string(text: &str, i: usize, raw: bool) -> Result<(String, usize), SyntaxError> {
    if text[i..].starts_with("\"\"\"") {
        return match text[i + 3..].find("\"\"\"") {
            Some(n) => {
                // Extra quotes right before the closing ones belong to the value.
                let mut end = i + 3 + n;
                while text[end + 3..].starts_with('"') {
                    end += 1;
                }
                Ok((text[i + 3..end].to_string(), end + 3))
            }
            None => Err(SyntaxError::at(text, i, "unterminated \"\"\" string")),
        };
    }
    let quote = text[i..].chars().next().unwrap_or('"');
    let mut out = String::new();
    let mut chars = text[i + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let pos = i + 1 + k;
        if c == quote {
            return Ok((out, pos + 1));
        }
        if c == '\n' && !raw {
            return Err(SyntaxError::at(text, i, "string not closed on its line"));
        }
        if c == '\\' && !raw {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, 'u')) => {
                    // \u{XXXX} or \uXXXX
                    let rest = &text[pos + 2..];
                    let (hex, used) = if let Some(r) = rest.strip_prefix('{') {
                        match r.find('}') {
                            Some(close) => (&r[..close], close + 2),
                            None => ("", 0),
                        }
                    } else {
                        let n = rest
                            .char_indices()
                            .take_while(|(j, ch)| *j < 4 && ch.is_ascii_hexdigit())
                            .count();
                        (&rest[..n], n)
                    };
                    match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => {
                            out.push(ch);
                            for _ in 0..rest[..used].chars().count() {
                                chars.next();
                            }
                        }
                        None => out.push_str("\\u"),
                    }
                }
                Some((_, other)) if other == '"' || other == '\'' || other == '\\' => {
                    out.push(other)
                }
                // Unknown escapes keep their backslash.
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            }
            continue;
        }
        out.push(c);
    }
    Err(SyntaxError::at(text, i, "unterminated string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#"a : "C:\\Windows\\*" "#),
            vec![
                Tok::Ident("a".into()),
                Tok::Punct(":"),
                Tok::Str(r"C:\Windows\*".into())
            ]
        );
        assert_eq!(
            toks(r#"""" raw \d "q" """"#),
            vec![Tok::Str(r#" raw \d "q" "#.into())]
        );
        assert_eq!(toks(r#"?"raw\d""#), vec![Tok::Str(r"raw\d".into())]);
        assert_eq!(toks(r#""\u{41}\x""#), vec![Tok::Str(r"A\x".into())]);
        assert_eq!(toks(r#""\u{4""#), vec![Tok::Str(r"\u{4".into())]);
        assert_eq!(toks(r#""\u{zz}é""#), vec![Tok::Str(r"\u{zz}é".into())]);
    }

    #[test]
    fn idents_comments_and_tilde() {
        assert_eq!(
            toks("?process.name like~ /* c */ `a/b` // x\n@timestamp 5m"),
            vec![
                Tok::Ident("process.name".into()),
                Tok::Ident("like~".into()),
                Tok::Quoted("a/b".into()),
                Tok::Ident("@timestamp".into()),
                Tok::Num("5m".into())
            ]
        );
        assert_eq!(
            toks("source.`as`.organization.name a.`no-wait` b.`0`.c x."),
            vec![
                Tok::Quoted("source.as.organization.name".into()),
                Tok::Quoted("a.no-wait".into()),
                Tok::Quoted("b.0.c".into()),
                Tok::Ident("x".into()),
                Tok::Punct(".")
            ]
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = lex("a == \"x\nb").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6));
        let e = lex("a\n  # b").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
    }
}
