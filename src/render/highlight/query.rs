//! Scanners of the query languages. KQL, EQL, ES|QL and YARA-L use ruledex's own lexers
//! (the tokens the parsers read), with a keyword list per language; SPL, Kibana KQL and
//! Lucene, whose lexers depend on parse state, use one table-driven scanner. A lexer that
//! rejects the text (a syntax error) hands it to that scanner, so highlighting never fails.

use super::{Class, Spans};
use crate::query::{eql, kql, yaral};

pub fn is_query(hint: &str) -> bool {
    matches!(
        hint,
        "spl" | "kql" | "kuery" | "lucene" | "eql" | "esql" | "yaral"
    )
}

pub fn query(text: &str, hint: &str, s: &mut Spans) {
    match hint {
        "kql" => kusto(text, s),
        "eql" | "esql" => {
            if let Ok(toks) = eql::lexer::lex(text) {
                eql_like(text, &toks, hint == "esql", s);
            } else {
                generic(text, &EQL_FALLBACK, s);
            }
        }
        "yaral" => match yaral::lexer::lex(text) {
            Ok(toks) => yara_l(text, &toks, s),
            Err(_) => generic(text, &YARAL_FALLBACK, s),
        },
        "spl" => generic(text, &SPL, s),
        "kuery" => generic(text, &KUERY, s),
        "lucene" => generic(text, &LUCENE, s),
        _ => {}
    }
}

/// Comments are what the lexers skip: a gap between two tokens that is not blank.
fn gap(text: &str, from: usize, to: usize, s: &mut Spans) {
    if let Some(g) = text.get(from..to) {
        let t = g.trim_start();
        if t.starts_with("//") || t.starts_with("/*") || t.starts_with('#') {
            let start = from + (g.len() - t.len());
            s.mark(start, from + g.trim_end().len(), Class::Comment);
        }
    }
}

fn word_in(list: &[&str], w: &str) -> bool {
    let w = w.trim_start_matches('!').trim_end_matches('~');
    list.iter().any(|k| k.eq_ignore_ascii_case(w))
}

// --- KQL (Kusto) --------------------------------------------------------------------------

const KQL_WORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "by",
    "on",
    "kind",
    "let",
    "has",
    "has_any",
    "has_all",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "contains",
    "contains_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "matches",
    "regex",
    "in",
    "between",
    "asc",
    "desc",
    "with",
    "to",
    "of",
    "like",
    "as",
    "nulls",
    "first",
    "last",
    "step",
    "from",
    "inner",
    "leftouter",
    "rightouter",
    "fullouter",
    "leftanti",
    "rightanti",
    "leftsemi",
    "rightsemi",
    "innerunique",
    "anti",
    "semi",
];

fn kusto(text: &str, s: &mut Spans) {
    let (toks, _) = kql::lexer::lex(text);
    let mut prev_end = 0;
    for (n, t) in toks.iter().enumerate() {
        gap(text, prev_end, t.start, s);
        prev_end = t.end;
        let prev = n.checked_sub(1).map(|p| &toks[p]);
        let next = toks.get(n + 1);
        let class = match &t.tok {
            kql::lexer::Tok::Str(_) => Some(Class::Str),
            kql::lexer::Tok::Num(_) | kql::lexer::Tok::Timespan(_) => Some(Class::Num),
            kql::lexer::Tok::Ident(w) => {
                if prev.is_some_and(|p| p.is_punct("|")) {
                    Some(Class::Kw)
                } else if matches!(w.as_str(), "true" | "false" | "null" | "dynamic")
                    && next.is_none_or(|n| !n.is_punct("("))
                {
                    Some(Class::Lit)
                } else if next.is_some_and(|n| n.is_punct("(")) {
                    Some(Class::Func)
                } else if word_in(KQL_WORDS, w) {
                    Some(Class::Kw)
                } else {
                    None
                }
            }
            kql::lexer::Tok::Punct("|") => Some(Class::Kw),
            _ => None,
        };
        if let Some(c) = class {
            s.mark(t.start, t.end, c);
        }
    }
    gap(text, prev_end, text.len(), s);
}

// --- EQL and ES|QL --------------------------------------------------------------------------

const EQL_WORDS: &[&str] = &[
    "and", "or", "not", "in", "like", "regex", "where", "sequence", "by", "with", "maxspan",
    "until", "sample", "join", "of", "any", "runs",
];
const ESQL_WORDS: &[&str] = &[
    "from",
    "row",
    "show",
    "where",
    "eval",
    "stats",
    "keep",
    "drop",
    "rename",
    "sort",
    "limit",
    "dissect",
    "grok",
    "enrich",
    "mv_expand",
    "lookup",
    "metadata",
    "by",
    "as",
    "and",
    "or",
    "not",
    "like",
    "rlike",
    "in",
    "is",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "on",
    "with",
    "inlinestats",
    "change_point",
    "completion",
    "fork",
    "rerank",
    "sample",
];

fn eql_like(text: &str, toks: &[eql::lexer::Token], esql: bool, s: &mut Spans) {
    use eql::lexer::Tok;
    let words = if esql { ESQL_WORDS } else { EQL_WORDS };
    let mut prev_end = 0;
    for (n, t) in toks.iter().enumerate() {
        gap(text, prev_end, t.start, s);
        prev_end = t.end;
        let next = toks.get(n + 1);
        let class = match &t.tok {
            Tok::Str(_) => Some(Class::Str),
            Tok::Num(_) => Some(Class::Num),
            Tok::Quoted(_) => Some(Class::Var),
            Tok::Ident(w) => {
                if matches!(w.to_ascii_lowercase().as_str(), "true" | "false" | "null") {
                    Some(Class::Lit)
                } else if next.is_some_and(|n| n.is_punct("(")) {
                    Some(Class::Func)
                } else if !esql && next.is_some_and(|n| n.is_kw("where")) {
                    Some(Class::Meta)
                } else if word_in(words, w) {
                    Some(Class::Kw)
                } else {
                    None
                }
            }
            Tok::Punct("|") => Some(Class::Kw),
            _ => None,
        };
        if let Some(c) = class {
            s.mark(t.start, t.end, c);
        }
    }
    gap(text, prev_end, text.len(), s);
}

// --- YARA-L -------------------------------------------------------------------------------

const YARAL_WORDS: &[&str] = &[
    "rule",
    "meta",
    "events",
    "match",
    "outcome",
    "condition",
    "options",
    "over",
    "and",
    "or",
    "not",
    "nocase",
    "any",
    "all",
    "in",
    "regex",
    "if",
    "before",
    "after",
    "by",
    "within",
    "every",
    "is",
];

fn yara_l(text: &str, toks: &[yaral::lexer::Token], s: &mut Spans) {
    use yaral::lexer::Tok;
    let mut prev_end = 0;
    for (n, t) in toks.iter().enumerate() {
        gap(text, prev_end, t.start, s);
        prev_end = t.end;
        let next = toks.get(n + 1);
        let after_dot = n > 0 && toks[n - 1].is_punct(".");
        let class = match &t.tok {
            Tok::Str(_) | Tok::Raw(_) => Some(Class::Str),
            Tok::Regex(_) => Some(Class::Regex),
            Tok::Num(_) | Tok::Duration(_) => Some(Class::Num),
            Tok::Var(_) | Tok::Count(_) | Tok::List(_) => Some(Class::Var),
            Tok::Ident(w) => {
                if matches!(w.as_str(), "true" | "false" | "null") {
                    Some(Class::Lit)
                } else if next.is_some_and(|n| n.is_punct("("))
                    || (!after_dot
                        && next.is_some_and(|n| n.is_punct("."))
                        && toks.get(n + 3).is_some_and(|n| n.is_punct("(")))
                {
                    Some(Class::Func)
                } else if !after_dot && word_in(YARAL_WORDS, w) {
                    Some(Class::Kw)
                } else if n > 0 && toks[n - 1].is_kw("rule") {
                    Some(Class::Func)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(c) = class {
            s.mark(t.start, t.end, c);
        }
    }
    gap(text, prev_end, text.len(), s);
}

// --- the table-driven scanner ---------------------------------------------------------------

/// What the scanner knows of one language.
pub struct Generic {
    /// Keywords, compared ignoring case unless `cased`.
    words: &'static [&'static str],
    cased: &'static [&'static str],
    /// A word followed by one of these is a field name.
    key_before: &'static [&'static str],
    /// ```` ``` ```` comments (SPL), `//` and `/* */` comments.
    triple_backtick_comment: bool,
    slash_comments: bool,
    /// `` `...` ``: a macro (SPL) or a quoted name.
    backtick: bool,
    /// `'...'` is a field name (SPL eval), not a string.
    single_quote_name: bool,
    /// `/.../` is a regular expression (Lucene, YARA-L).
    slash_regex: bool,
    /// Characters of a word besides letters and digits.
    word_chars: &'static [u8],
    /// `$var` (YARA-L).
    dollar_var: bool,
    /// The first word, and the word after `|` or `[`, names a command (SPL).
    commands: bool,
}

const SPL: Generic = Generic {
    words: &[
        "by",
        "as",
        "over",
        "where",
        "in",
        "like",
        "output",
        "outputnew",
        "from",
        "datamodel",
        "nodename",
        "groupby",
    ],
    cased: &["AND", "OR", "NOT"],
    key_before: &["=", "!=", "<", ">", "<=", ">="],
    triple_backtick_comment: true,
    slash_comments: false,
    backtick: true,
    single_quote_name: true,
    slash_regex: false,
    word_chars: b"_.*-:@\\",
    dollar_var: true,
    commands: true,
};
const KUERY: Generic = Generic {
    words: &["and", "or", "not"],
    cased: &[],
    key_before: &[":"],
    triple_backtick_comment: false,
    slash_comments: false,
    backtick: false,
    single_quote_name: false,
    slash_regex: false,
    word_chars: b"_.*-@\\",
    dollar_var: false,
    commands: false,
};
const LUCENE: Generic = Generic {
    words: &[],
    cased: &["AND", "OR", "NOT", "TO"],
    key_before: &[":"],
    triple_backtick_comment: false,
    slash_comments: false,
    backtick: false,
    single_quote_name: false,
    slash_regex: true,
    word_chars: b"_.*-@\\?",
    dollar_var: false,
    commands: false,
};
const EQL_FALLBACK: Generic = Generic {
    words: EQL_WORDS,
    cased: &[],
    key_before: &[],
    triple_backtick_comment: false,
    slash_comments: true,
    backtick: true,
    single_quote_name: false,
    slash_regex: false,
    word_chars: b"_.@",
    dollar_var: false,
    commands: false,
};
const YARAL_FALLBACK: Generic = Generic {
    words: YARAL_WORDS,
    cased: &[],
    key_before: &[],
    triple_backtick_comment: false,
    slash_comments: true,
    backtick: true,
    single_quote_name: false,
    slash_regex: true,
    word_chars: b"_",
    dollar_var: true,
    commands: false,
};

fn generic(text: &str, g: &Generic, s: &mut Spans) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut command = g.commands; // the next word names a command
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if g.triple_backtick_comment && b[i..].starts_with(b"```") {
            let e = text[i + 3..].find("```").map_or(b.len(), |p| i + 3 + p + 3);
            s.mark(i, e, Class::Comment);
            i = e;
            continue;
        }
        if g.slash_comments && b[i..].starts_with(b"//") {
            let e = text[i..].find('\n').map_or(b.len(), |p| i + p);
            s.mark(i, e, Class::Comment);
            i = e;
            continue;
        }
        if g.slash_comments && b[i..].starts_with(b"/*") {
            let e = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            s.mark(i, e, Class::Comment);
            i = e;
            continue;
        }
        match c {
            b'"' | b'\'' | b'`' => {
                let mut e = i + 1;
                while e < b.len() && b[e] != c && b[e] != b'\n' {
                    e += if b[e] == b'\\' { 2 } else { 1 };
                }
                let e = boundary(text, e + 1);
                let class = match c {
                    b'`' if g.backtick => Class::Var,
                    b'\'' if g.single_quote_name => Class::Var,
                    _ => Class::Str,
                };
                s.mark(i, e, class);
                i = e;
                command = false;
            }
            b'/' if g.slash_regex => {
                let mut e = i + 1;
                while e < b.len() && b[e] != b'/' && b[e] != b'\n' {
                    e += if b[e] == b'\\' { 2 } else { 1 };
                }
                let e = boundary(text, e + 1);
                s.mark(i, e, Class::Regex);
                i = e;
            }
            b'|' | b'[' => {
                if c == b'|' {
                    s.mark(i, i + 1, Class::Kw);
                }
                command = g.commands;
                i += 1;
            }
            b'$' if g.dollar_var => {
                let mut e = i + 1;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_' || b[e] == b'$')
                {
                    e += 1;
                }
                let e = boundary(text, e);
                s.mark(i, e, Class::Var);
                i = e;
            }
            _ if c.is_ascii_alphanumeric() || g.word_chars.contains(&c) || c >= 0x80 => {
                let mut e = i;
                while e < b.len()
                    && (b[e].is_ascii_alphanumeric()
                        || g.word_chars.contains(&b[e])
                        || b[e] >= 0x80)
                {
                    e += if b[e] == b'\\' { 2 } else { 1 };
                }
                let e = boundary(text, e);
                let w = &text[i..e];
                let after = text[e..].trim_start_matches([' ', '\t']);
                let class = if g.key_before.iter().any(|k| after.starts_with(k))
                    && !after.starts_with("==")
                {
                    Some(Class::Key)
                } else if command && c.is_ascii_alphabetic() {
                    Some(Class::Kw)
                } else if after.starts_with('(') {
                    Some(Class::Func)
                } else if g.cased.contains(&w) || g.words.iter().any(|k| k.eq_ignore_ascii_case(w))
                {
                    Some(Class::Kw)
                } else if matches!(w, "true" | "false" | "null" | "TRUE" | "FALSE" | "NULL") {
                    Some(Class::Lit)
                } else if w.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
                    Some(Class::Num)
                } else {
                    None
                };
                if let Some(cl) = class {
                    s.mark(i, e, cl);
                }
                command = false;
                i = e.max(i + 1);
            }
            _ => {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                if c != b'(' && c != b')' && c != b',' {
                    command = command && c == b' ';
                }
            }
        }
    }
}

/// `i`, or the next char boundary after it, at most the text's length.
fn boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}
