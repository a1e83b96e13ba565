//! Scanners of the rule file formats: YAML, TOML, JSON and Python.

use super::{embed, Class, Spans};

/// Keys whose string value is the rule's query.
fn is_query_key(key: &str) -> bool {
    let k = key.trim_matches(|c| c == '"' || c == '\'');
    k.eq_ignore_ascii_case("query") || k.eq_ignore_ascii_case("search")
}

fn is_num(w: &str) -> bool {
    let w = w.strip_prefix(['-', '+']).unwrap_or(w);
    let radix = w.starts_with("0x") || w.starts_with("0o") || w.starts_with("0b");
    let mut digits = false;
    for c in w.chars() {
        match c {
            '0'..='9' => digits = true,
            '.' | '_' | '-' | '+' | ':' | 'e' | 'E' => {}
            'a'..='f' | 'A'..='F' | 'x' | 'o' if radix => {}
            _ => return false,
        }
    }
    digits && w.starts_with(|c: char| c.is_ascii_digit() || c == '.')
}

/// The end of a quoted string starting at `i` (the quote): after the closing quote, or the
/// end of the line when it is not closed there. `backslash`: `\` escapes the next char;
/// otherwise a doubled quote is one quote (YAML single quotes).
fn quoted_end(b: &[u8], i: usize, backslash: bool) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() && b[j] != b'\n' {
        if backslash && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if !backslash && b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    j.min(b.len())
}

fn line_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

// --- YAML ---------------------------------------------------------------------------------

/// Line by line: comments, keys, quoted and plain scalars, block scalars (`|`, `>`) whose
/// lines are the string, document markers, anchors, aliases and tags.
pub fn yaml(text: &str, emb: Option<&str>, s: &mut Spans) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let end = line_end(b, i);
        let indent = b[i..end].iter().take_while(|&&c| c == b' ').count();
        let mut j = i + indent;
        if j == end {
            i = end + 1;
            continue;
        }
        if b[j] == b'#' {
            s.mark(j, end, Class::Comment);
            i = end + 1;
            continue;
        }
        if indent == 0 && (b[i..end].starts_with(b"---") || b[i..end].starts_with(b"...")) {
            s.mark(i, i + 3, Class::Meta);
            j = i + 3;
        }
        // Sequence entries: `- `, possibly nested (`- - x`).
        let mut col = indent;
        while j < end && b[j] == b'-' && (j + 1 == end || b[j + 1] == b' ') {
            j += 1;
            while j < end && b[j] == b' ' {
                j += 1;
            }
            col = j - i;
        }
        // A key: plain or quoted text up to `: ` (or `:` at the end of the line).
        let mut key = None;
        if j < end && b[j] != b'[' && b[j] != b'{' {
            let kend = if b[j] == b'"' || b[j] == b'\'' {
                let q = quoted_end(b, j, b[j] == b'"');
                (q < end && b[q] == b':').then_some(q)
            } else {
                let mut k = j;
                let mut found = None;
                while k < end {
                    if b[k] == b':' && (k + 1 == end || b[k + 1] == b' ' || b[k + 1] == b'\t') {
                        found = Some(k);
                        break;
                    }
                    if b[k] == b'#' && k > j && b[k - 1] == b' ' {
                        break;
                    }
                    k += 1;
                }
                found
            };
            if let Some(k) = kend {
                s.mark(j, k, Class::Key);
                key = Some(&text[j..k]);
                j = k + 1;
            }
        }
        while j < end && b[j] == b' ' {
            j += 1;
        }
        let query = key.is_some_and(is_query_key);
        let lang = emb.filter(|_| query);
        // A block scalar: its lines are those indented deeper than the key.
        if j < end && (b[j] == b'|' || b[j] == b'>') {
            let head = &text[j..end];
            let rest = head[1..]
                .trim_start_matches(['-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
            if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
                if let Some(c) = rest.find('#') {
                    s.mark(end - rest.len() + c, end, Class::Comment);
                }
                let parent = if key.is_some() { col } else { indent };
                let start = (end + 1).min(b.len());
                let mut k = start;
                let mut last = start;
                while k < b.len() {
                    let e = line_end(b, k);
                    let ind = b[k..e].iter().take_while(|&&c| c == b' ').count();
                    let blank = k + ind == e;
                    if !blank && ind <= parent {
                        break;
                    }
                    if !blank {
                        last = e;
                    }
                    k = e + 1;
                }
                match lang {
                    Some(l) => embed(text, start, last, l, s),
                    None => s.mark(start, last, Class::Str),
                }
                i = last.max(end) + 1;
                continue;
            }
        }
        yaml_value(text, j, end, lang, s);
        i = end + 1;
    }
}

/// A value from `j` to the end of its line: quoted, flow collection or plain scalar.
fn yaml_value(text: &str, mut j: usize, end: usize, lang: Option<&str>, s: &mut Spans) {
    let b = text.as_bytes();
    let mut flow = false;
    while j < end {
        match b[j] {
            b'[' | b'{' => {
                flow = true;
                j += 1;
            }
            b' ' | b'\t' | b',' | b']' | b'}' => j += 1,
            b'#' if j == 0 || b[j - 1] == b' ' || b[j - 1] == b'\t' => {
                s.mark(j, end, Class::Comment);
                return;
            }
            b'"' | b'\'' => {
                let q = quoted_end(b, j, b[j] == b'"');
                match lang {
                    Some(l) if q > j + 1 => {
                        s.mark(j, j + 1, Class::Str);
                        let close = if b[q - 1] == b[j] { q - 1 } else { q };
                        embed(text, j + 1, close, l, s);
                        s.mark(close, q, Class::Str);
                    }
                    _ => s.mark(j, q, Class::Str),
                }
                j = q;
            }
            b'&' | b'*' | b'!' => {
                let e = (j..end)
                    .find(|&k| b[k] == b' ' || b[k] == b',')
                    .unwrap_or(end);
                s.mark(
                    j,
                    e,
                    if b[j] == b'!' {
                        Class::Meta
                    } else {
                        Class::Var
                    },
                );
                j = e;
            }
            _ => {
                // A plain scalar: to a comment, or in a flow collection to `,` `]` `}`.
                let mut e = j;
                while e < end {
                    if b[e] == b'#' && e > j && b[e - 1] == b' ' {
                        break;
                    }
                    if flow && matches!(b[e], b',' | b']' | b'}') {
                        break;
                    }
                    if flow && b[e] == b':' && (e + 1 == end || b[e + 1] == b' ') {
                        break;
                    }
                    e += 1;
                }
                let word = text[j..e].trim_end();
                let we = j + word.len();
                if flow && b.get(e) == Some(&b':') {
                    s.mark(j, we, Class::Key);
                    e += 1;
                } else if let Some(l) = lang {
                    embed(text, j, we, l, s);
                } else {
                    s.mark(j, we, scalar_class(word));
                }
                j = e;
            }
        }
    }
}

fn scalar_class(w: &str) -> Class {
    match w {
        "true" | "false" | "True" | "False" | "TRUE" | "FALSE" | "null" | "Null" | "NULL" | "~"
        | "yes" | "no" => Class::Lit,
        _ if is_num(w) => Class::Num,
        _ => Class::Str,
    }
}

// --- TOML ---------------------------------------------------------------------------------

/// Tables, keys, strings of the four quotings (multi-line ones across lines), numbers,
/// dates, booleans, comments; the string under a query key is the query.
pub fn toml(text: &str, emb: Option<&str>, s: &mut Spans) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut depth = 0usize; // open [ and { of a value
    let mut line_start = true;
    let mut query = false;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c == b' ' || c == b'\t' || c == b'\r' {
            i += 1;
            continue;
        }
        if c == b'#' {
            let e = line_end(b, i);
            s.mark(i, e, Class::Comment);
            i = e;
            continue;
        }
        let at_line = std::mem::take(&mut line_start);
        if at_line && depth == 0 && c == b'[' {
            let e = line_end(b, i);
            let close = text[i..e].rfind(']').map_or(e, |p| i + p + 1);
            s.mark(i, close, Class::Meta);
            i = close;
            continue;
        }
        // A key (at the start of a line, or inside an inline table): up to `=`.
        if (at_line && depth == 0) || (depth > 0 && (c.is_ascii_alphabetic() || c == b'"')) {
            let e = line_end(b, i);
            if let Some(eq) = toml_key_end(b, i, e) {
                let key = text[i..eq].trim_end();
                s.mark(i, i + key.len(), Class::Key);
                query = depth == 0 && is_query_key(key);
                i = eq + 1;
                continue;
            }
        }
        match c {
            b'"' | b'\'' => {
                let triple = b[i..].starts_with(if c == b'"' { b"\"\"\"" } else { b"'''" });
                let (open, e) = if triple {
                    let delim = &b[i..i + 3];
                    let mut k = i + 3;
                    while k + 3 <= b.len() && &b[k..k + 3] != delim {
                        k += if c == b'"' && b[k] == b'\\' { 2 } else { 1 };
                    }
                    (3, (k + 3).min(b.len()))
                } else {
                    (1, quoted_end(b, i, c == b'"'))
                };
                match emb.filter(|_| query && depth == 0) {
                    Some(l) if e >= i + 2 * open => {
                        s.mark(i, i + open, Class::Str);
                        embed(text, i + open, e - open, l, s);
                        s.mark(e - open, e, Class::Str);
                    }
                    _ => s.mark(i, e, Class::Str),
                }
                i = e;
            }
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ if c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'_' => {
                let mut e = i;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b"+-_.:".contains(&b[e])) {
                    e += 1;
                }
                let w = &text[i..e];
                let class = match w {
                    "true" | "false" => Some(Class::Lit),
                    "inf" | "nan" | "+inf" | "-inf" => Some(Class::Num),
                    _ if is_num(w) => Some(Class::Num),
                    _ => None,
                };
                if let Some(cl) = class {
                    s.mark(i, e, cl);
                }
                i = e.max(i + 1);
            }
            _ => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
}

/// The `=` after a (bare, quoted or dotted) key starting at `i`, before `end`.
fn toml_key_end(b: &[u8], mut i: usize, end: usize) -> Option<usize> {
    while i < end {
        match b[i] {
            b'=' => return Some(i),
            b'"' | b'\'' => i = quoted_end(b, i, b[i] == b'"'),
            c if c.is_ascii_alphanumeric() || b"_-. \t".contains(&c) => i += 1,
            _ => return None,
        }
    }
    None
}

// --- JSON ---------------------------------------------------------------------------------

pub fn json(text: &str, s: &mut Spans) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let e = quoted_end(b, i, true);
                let next = b[e..].iter().find(|c| !c.is_ascii_whitespace());
                s.mark(
                    i,
                    e,
                    if next == Some(&b':') {
                        Class::Key
                    } else {
                        Class::Str
                    },
                );
                i = e;
            }
            b'-' | b'0'..=b'9' => {
                let mut e = i + 1;
                while e < b.len() && (b[e].is_ascii_digit() || b".eE+-".contains(&b[e])) {
                    e += 1;
                }
                s.mark(i, e, Class::Num);
                i = e;
            }
            b't' | b'f' | b'n' => {
                let w = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| b[i..].starts_with(w.as_bytes()));
                let e = i + w.map_or(1, str::len);
                if w.is_some() {
                    s.mark(i, e, Class::Lit);
                }
                i = e;
            }
            _ => i += 1,
        }
    }
}

// --- Python -------------------------------------------------------------------------------

const PY_KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "match", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

pub fn python(text: &str, s: &mut Spans) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut prev_word = "";
    while i < b.len() {
        let c = b[i];
        match c {
            b'#' => {
                let e = line_end(b, i);
                s.mark(i, e, Class::Comment);
                i = e;
            }
            b'"' | b'\'' => {
                let e = py_string_end(b, i);
                s.mark(i, e, Class::Str);
                i = e;
            }
            b'@' if text[..i].trim_end_matches([' ', '\t']).ends_with('\n') || i == 0 => {
                let mut e = i + 1;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_' || b[e] == b'.')
                {
                    e += 1;
                }
                s.mark(i, e, Class::Meta);
                i = e;
            }
            b'0'..=b'9' => {
                let mut e = i;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_' || b[e] == b'.')
                {
                    e += 1;
                }
                s.mark(i, e, Class::Num);
                i = e;
                prev_word = "";
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let mut e = i;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_' || b[e] >= 0x80)
                {
                    e += 1;
                }
                let w = &text[i..e];
                // String prefixes: r"", b'', f"""...
                if e < b.len()
                    && (b[e] == b'"' || b[e] == b'\'')
                    && w.len() <= 2
                    && w.chars().all(|c| "rRbBfFuU".contains(c))
                {
                    let se = py_string_end(b, e);
                    s.mark(i, se, Class::Str);
                    i = se;
                    continue;
                }
                let class = if PY_KEYWORDS.contains(&w) {
                    Some(Class::Kw)
                } else if matches!(w, "True" | "False" | "None") {
                    Some(Class::Lit)
                } else if matches!(prev_word, "def" | "class") || b.get(e) == Some(&b'(') {
                    Some(Class::Func)
                } else if w == "self" {
                    Some(Class::Var)
                } else {
                    None
                };
                if let Some(cl) = class {
                    s.mark(i, e, cl);
                }
                prev_word = w;
                i = e;
            }
            _ => {
                if !c.is_ascii_whitespace() {
                    prev_word = "";
                }
                i += 1;
            }
        }
    }
}

/// The end of a Python string at `i` (its opening quote), triple-quoted or not.
fn py_string_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    if b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q {
        let mut k = i + 3;
        while k < b.len() {
            if b[k] == b'\\' {
                k += 2;
                continue;
            }
            if k + 3 <= b.len() && b[k] == q && b[k + 1] == q && b[k + 2] == q {
                return k + 3;
            }
            k += 1;
        }
        return b.len();
    }
    quoted_end(b, i, true)
}
