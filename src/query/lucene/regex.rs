//! Lucene regular expressions (used by Lucene `/re/`, EQL `regex` and ES|QL `RLIKE`)
//! translated to the `regex` crate's syntax.
//!
//! A Lucene regex always matches the whole value, `^` and `$` are plain characters, `.`
//! matches any character and `@` any string. The optional operators `&` (intersection),
//! `~` (complement), `<n-m>` (numeric interval) and `#` (empty language) have no
//! equivalent and are refused, so the caller keeps the predicate opaque.

/// The translated, anchored pattern, or why it cannot be translated.
pub fn to_rust(pattern: &str) -> Result<String, String> {
    let mut out = String::from("^(?s:");
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '\\' => match chars.next() {
                    Some(n) => push_escaped(&mut out, n),
                    None => return Err("a trailing `\\` in a regex".into()),
                },
                // Set operators and nested classes of the `regex` crate are literals here.
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
            continue;
        }
        match c {
            '\\' => match chars.next() {
                Some(n) => push_escaped(&mut out, n),
                None => return Err("a trailing `\\` in a regex".into()),
            },
            '[' => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                // A `]` first in a class is a literal.
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '@' => out.push_str(".*"),
            '"' => {
                // "literal text"
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(ch) => lit.push(ch),
                        None => return Err("an unclosed `\"` in a regex".into()),
                    }
                }
                out.push_str(&regex::escape(&lit));
            }
            '&' | '~' | '<' | '#' => {
                return Err(format!(
                    "the Lucene regex operator `{c}` has no equivalent in the matcher"
                ))
            }
            '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    if in_class {
        return Err("an unclosed `[` in a regex".into());
    }
    out.push_str(")$");
    Ok(out)
}

/// `\x` in Lucene is the character x, except the classes `\d \s \w` (and negations).
fn push_escaped(out: &mut String, c: char) {
    if matches!(c, 'd' | 'D' | 's' | 'S' | 'w' | 'W') {
        out.push('\\');
        out.push(c);
    } else {
        out.push_str(&regex::escape(&c.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        regex::Regex::new(&to_rust(p).unwrap()).unwrap().is_match(s)
    }

    #[test]
    fn anchored_and_literal_anchors() {
        assert!(m("ab.*", "abc"));
        assert!(!m("b", "abc"));
        assert!(m("a^b$", "a^b$"));
        assert!(m("2[0-9]{3}", "2755"));
        assert!(m("@x", "yyx"));
        assert!(m("\"a.b\"c", "a.bc"));
        assert!(!m("\"a.b\"c", "axbc"));
        assert!(m(r"C:\\Windows\\.+\.exe", r"C:\Windows\x.exe"));
        assert!(m(r"\d+\.\d", "12.3"));
        assert!(m("[a&b]+", "a&b"));
    }

    #[test]
    fn refuses_operators_without_equivalent() {
        assert!(to_rust("a<1-5>").is_err());
        assert!(to_rust("~a").is_err());
        assert!(to_rust("[ab").is_err());
    }
}
