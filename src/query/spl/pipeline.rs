//! Splits a search into its pipeline of commands at top-level `|` (not inside strings,
//! backticks or subsearch brackets).

#[derive(Debug, Clone, PartialEq)]
pub struct Stage<'a> {
    /// The command, lower-cased (`search` for the implied first search).
    pub name: String,
    /// The command's arguments, trimmed.
    pub args: &'a str,
    /// Byte offset of `args` in the whole text.
    pub args_start: usize,
    /// The whole stage as written, trimmed.
    pub text: &'a str,
    pub start: usize,
    /// The search before the first `|` when the text does not start with `|`.
    pub implied: bool,
}

/// Commands that produce results rather than filter them.
const GENERATING: &[&str] = &[
    "tstats",
    "mstats",
    "inputlookup",
    "makeresults",
    "rest",
    "metadata",
    "datamodel",
    "pivot",
    "loadjob",
    "savedsearch",
    "multisearch",
];

/// The stages of `text`; empty stages (left by empty tuning macros) are dropped.
pub fn split(text: &str) -> Vec<Stage<'_>> {
    let b = text.as_bytes();
    let mut bounds = Vec::new(); // byte ranges of stages
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                if let Some(n) = text[i + 1..].find('`') {
                    i += n + 1;
                }
            }
            b'[' => depth += 1,
            b']' => depth = (depth - 1).max(0),
            b'|' if depth == 0 => {
                bounds.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    bounds.push((start, text.len()));
    // A subsearch may start with a generating command without its pipe: `[mstats ...]`.
    let first_word = text
        .trim_start()
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let leading_pipe =
        text.trim_start().starts_with('|') || GENERATING.contains(&first_word.as_str());
    let mut out = Vec::new();
    for (n, (s, e)) in bounds.into_iter().enumerate() {
        let Some(raw) = text.get(s..e.min(text.len())) else {
            continue;
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let start = s + (raw.len() - raw.trim_start().len());
        let implied = n == 0 && !leading_pipe;
        let (name, args, args_start) = if implied {
            ("search".to_string(), trimmed, start)
        } else {
            let name_len = if let Some(rest) = trimmed.strip_prefix('`') {
                rest.find('`').map(|p| p + 2).unwrap_or(trimmed.len())
            } else {
                trimmed
                    .find(|c: char| c.is_whitespace() || c == '[' || c == '(')
                    .unwrap_or(trimmed.len())
            };
            let rest = &trimmed[name_len..];
            let args = rest.trim_start();
            (
                trimmed[..name_len].to_ascii_lowercase(),
                args,
                start + name_len + (rest.len() - args.len()),
            )
        };
        out.push(Stage {
            name,
            args,
            args_start,
            text: trimmed,
            start,
            implied,
        });
    }
    out
}
