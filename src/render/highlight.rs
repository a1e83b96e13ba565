//! Syntax highlighting of rule files, queries and test events, done at build time.
//!
//! Each language is a small hand-written scanner that marks byte ranges of the text with a
//! [`Class`]; the query languages reuse the project's own lexers where they exist (KQL, EQL,
//! YARA-L), so a token is coloured the way ruledex reads it. A YAML or TOML rule file that
//! holds the query under `query:` or `search:` has that string coloured as the query
//! language. Scanners never fail: text they do not recognise stays plain. Every byte of
//! the text is HTML-escaped here ([`escape_into`]), so the output is safe to emit as is.
//!
//! Cost is linear in the text: no regular expressions, one pass per language.

mod data;
mod query;
#[cfg(test)]
mod tests;

/// What a piece of text is; each maps to one CSS class (`static/highlight.css`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Comment,
    Str,
    Num,
    /// Keywords, query commands and word operators.
    Kw,
    Func,
    /// Mapping keys and field names.
    Key,
    /// `true`, `false`, `null` and the like.
    Lit,
    /// Variables, macros, anchors, quoted names.
    Var,
    Regex,
    /// Document markers, table headers, decorators.
    Meta,
}

impl Class {
    pub fn css(self) -> &'static str {
        match self {
            Class::Comment => "hl-c",
            Class::Str => "hl-s",
            Class::Num => "hl-n",
            Class::Kw => "hl-k",
            Class::Func => "hl-f",
            Class::Key => "hl-a",
            Class::Lit => "hl-l",
            Class::Var => "hl-v",
            Class::Regex => "hl-r",
            Class::Meta => "hl-m",
        }
    }
}

/// Marked ranges of one text, in any order; overlaps are resolved when rendering (the
/// range that starts first wins).
#[derive(Default, Debug)]
pub struct Spans(pub Vec<(usize, usize, Class)>);

impl Spans {
    pub fn mark(&mut self, start: usize, end: usize, class: Class) {
        if start < end {
            self.0.push((start, end, class));
        }
    }
}

/// The languages with a scanner (the `hint` of [`lines`]).
pub fn supports(hint: &str) -> bool {
    matches!(
        hint,
        "yaml"
            | "toml"
            | "json"
            | "python"
            | "spl"
            | "kql"
            | "kuery"
            | "lucene"
            | "eql"
            | "esql"
            | "yaral"
    )
}

/// Marks `text` as language `hint`; `embedded` is the language of a query held in a YAML or
/// TOML file under `query:` or `search:`.
pub fn spans(text: &str, hint: &str, embedded: Option<&str>) -> Spans {
    let mut s = Spans::default();
    let embedded = embedded.filter(|e| *e != hint && query::is_query(e));
    match hint {
        "yaml" => data::yaml(text, embedded, &mut s),
        "toml" => data::toml(text, embedded, &mut s),
        "json" => data::json(text, &mut s),
        "python" => data::python(text, &mut s),
        _ => query::query(text, hint, &mut s),
    }
    s
}

/// Marks the query `text[start..end]` of language `lang` (offsets shifted into the text).
fn embed(text: &str, start: usize, end: usize, lang: &str, out: &mut Spans) {
    let Some(part) = text.get(start..end) else {
        return;
    };
    let mut inner = Spans::default();
    query::query(part, lang, &mut inner);
    out.0.extend(
        inner
            .0
            .into_iter()
            .map(|(a, b, c)| (a + start, b + start, c)),
    );
}

/// The text as HTML lines, highlighted as `hint` (plain text for a language without a
/// scanner). Lines are split at `\n` after dropping one final newline, as the page numbers
/// them; a marked range that spans lines is closed and reopened on each line.
pub fn lines(text: &str, hint: &str, embedded: Option<&str>) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let marks = if supports(hint) {
        spans(text, hint, embedded).0
    } else {
        Vec::new()
    };
    render(text, marks)
}

/// Escapes `s` for HTML text and attribute values.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn render(text: &str, mut marks: Vec<(usize, usize, Class)>) -> Vec<String> {
    // Non-overlapping, in order, on char boundaries.
    marks.sort_by_key(|m| (m.0, std::cmp::Reverse(m.1)));
    let mut clean: Vec<(usize, usize, Class)> = Vec::with_capacity(marks.len());
    let mut at = 0;
    for (a, b, c) in marks {
        let a = a.max(at);
        let b = b.min(text.len());
        if a >= b || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        clean.push((a, b, c));
        at = b;
    }
    let mut out = Vec::new();
    let mut line = String::with_capacity(96);
    let mut pos = 0;
    // Plain text up to `end`, then the marked range, splitting both at newlines.
    let emit = |line: &mut String, out: &mut Vec<String>, seg: &str, class: Option<Class>| {
        let mut first = true;
        for part in seg.split('\n') {
            if !first {
                out.push(std::mem::take(line));
            }
            first = false;
            if part.is_empty() {
                continue;
            }
            match class {
                Some(c) => {
                    line.push_str("<span class=\"");
                    line.push_str(c.css());
                    line.push_str("\">");
                    escape_into(line, part);
                    line.push_str("</span>");
                }
                None => escape_into(line, part),
            }
        }
    };
    for &(a, b, c) in &clean {
        emit(&mut line, &mut out, &text[pos..a], None);
        emit(&mut line, &mut out, &text[a..b], Some(c));
        pos = b;
    }
    emit(&mut line, &mut out, &text[pos..], None);
    out.push(line);
    out
}
