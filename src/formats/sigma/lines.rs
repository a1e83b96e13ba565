//! Line lookup in Sigma YAML text: documents of a multi-document file, and the line (and
//! column) of a key, a selection, an item or a condition, for line-accurate diagnostics.
//! The YAML library gives no positions for values, so keys are found by their indentation.

/// One YAML document of a file.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// 1-based line of the document's first line in the file.
    pub start: usize,
    pub lines: Vec<&'a str>,
}

/// Splits a file at its `---` document markers (and `...` ends). Every returned document
/// holds something besides comments and blank lines.
pub fn split_docs(text: &str) -> Vec<Doc<'_>> {
    let mut docs = Vec::new();
    let mut cur = Doc {
        start: 1,
        lines: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        let marker = line.starts_with("---")
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t');
        let end = line.trim_end() == "...";
        if marker || end {
            docs.push(std::mem::replace(
                &mut cur,
                Doc {
                    start: i + 2,
                    lines: Vec::new(),
                },
            ));
            if marker {
                // Content after `--- ` on the same line belongs to the new document.
                let rest = line[3..].trim_start();
                if !rest.is_empty() && !rest.starts_with('#') {
                    cur.start = i + 1;
                    cur.lines
                        .push(line.get(line.len() - rest.len()..).unwrap_or(""));
                }
            }
        } else {
            cur.lines.push(line);
        }
    }
    docs.push(cur);
    docs.retain(|d| {
        d.lines.iter().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
    });
    docs
}

/// The indentation and key of a `key: ...` line (quotes removed, a leading `- ` skipped).
fn line_key(line: &str) -> Option<(usize, String)> {
    let indent = line.len() - line.trim_start().len();
    let mut t = line.trim_start();
    let mut indent = indent;
    if let Some(rest) = t.strip_prefix("- ") {
        indent += 2 + (rest.len() - rest.trim_start().len());
        t = rest.trim_start();
    }
    if t.starts_with('#') || t.is_empty() {
        return None;
    }
    let (key, after) = if let Some(q @ ('\'' | '"')) = t.chars().next() {
        let close = t[1..].find(q)? + 1;
        (t[1..close].to_string(), &t[close + 1..])
    } else {
        let colon = t
            .find(": ")
            .or_else(|| t.ends_with(':').then(|| t.len() - 1))?;
        (t[..colon].trim_end().to_string(), &t[colon..])
    };
    after.trim_start().starts_with(':').then_some((indent, key))
}

impl<'a> Doc<'a> {
    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    /// The file line of the document line at `idx`.
    pub fn abs(&self, idx: usize) -> usize {
        self.start + idx
    }

    /// Index of the line of a top-level key.
    pub fn top(&self, key: &str) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| matches!(line_key(l), Some((0, k)) if k == key))
    }

    /// File line of a top-level key, or of the document start.
    pub fn line_of(&self, key: &str) -> usize {
        self.abs(self.top(key).unwrap_or(0))
    }

    /// Line indexes `[from, to)` of a top-level key's block (its own line included).
    pub fn block(&self, key: &str) -> Option<(usize, usize)> {
        let from = self.top(key)?;
        let to = (from + 1..self.lines.len())
            .find(|&i| {
                let l = self.lines[i];
                !l.trim().is_empty()
                    && !l.starts_with(' ')
                    && !l.starts_with('\t')
                    && !l.starts_with('#')
            })
            .unwrap_or(self.lines.len());
        Some((from, to))
    }

    /// The text of a top-level key's block, trailing blank lines and comments dropped.
    pub fn block_text(&self, key: &str) -> Option<String> {
        let (from, mut to) = self.block(key)?;
        while to > from + 1 {
            let t = self.lines[to - 1].trim();
            if t.is_empty() || t.starts_with('#') {
                to -= 1;
            } else {
                break;
            }
        }
        Some(self.lines[from..to].join("\n"))
    }

    /// Index of the first line at or after `from` (before `to`) whose key is `key`, at an
    /// indentation deeper than `min_indent`.
    fn key_between(&self, from: usize, to: usize, key: &str, min_indent: usize) -> Option<usize> {
        (from..to).find(
            |&i| matches!(line_key(self.lines[i]), Some((ind, k)) if ind > min_indent && k == key),
        )
    }

    /// File line of a key directly under a top-level key (`detection` → `selection`).
    pub fn child(&self, parent: &str, key: &str) -> Option<usize> {
        let (from, to) = self.block(parent)?;
        self.key_between(from + 1, to, key, 0).map(|i| self.abs(i))
    }

    /// File line of the first line at or after file line `from` inside `parent`'s block that
    /// contains `needle` (a list item such as a rule id).
    pub fn find_in_block(&self, parent: &str, from: usize, needle: &str) -> Option<usize> {
        let (start, to) = self.block(parent)?;
        let start = start.max(from.saturating_sub(self.start));
        (start..to)
            .find(|&i| self.lines[i].contains(needle))
            .map(|i| self.abs(i))
    }

    /// File line of an item key inside a selection of `parent`.
    pub fn item(&self, parent: &str, selection: &str, key: &str) -> Option<usize> {
        let (from, to) = self.block(parent)?;
        let sel = self.key_between(from + 1, to, selection, 0)?;
        let sel_indent = line_key(self.lines[sel]).map(|(i, _)| i).unwrap_or(0);
        let end = (sel + 1..to)
            .find(|&i| matches!(line_key(self.lines[i]), Some((ind, _)) if ind <= sel_indent))
            .unwrap_or(to);
        self.key_between(sel + 1, end, key, sel_indent)
            .map(|i| self.abs(i))
    }

    /// File line and 1-based column where the `index`th condition of `parent`'s block
    /// starts (a single condition, an item of a condition list, or a block scalar).
    pub fn condition_start(&self, parent: &str, index: usize) -> Option<(usize, usize)> {
        let (from, to) = self.block(parent)?;
        let at = self.key_between(from + 1, to, "condition", 0)?;
        let line = self.lines[at];
        let colon = line.find("condition")? + "condition".len();
        let after = &line[colon..];
        let after = after.trim_start_matches([' ', '\'', '"']);
        let after = after.strip_prefix(':').unwrap_or(after);
        let value = after.trim_start();
        let is_block = value.starts_with('|') || value.starts_with('>');
        if !value.is_empty() && !value.starts_with('#') && !is_block {
            let col = line.len() - value.len();
            let quoted = value.starts_with('\'') || value.starts_with('"');
            return Some((self.abs(at), col_of(line, col) + usize::from(quoted)));
        }
        let mut seen = 0;
        for i in at + 1..to {
            let l = self.lines[i];
            let t = l.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if is_block {
                return Some((self.abs(i), col_of(l, l.len() - t.len())));
            }
            let Some(item) = t.strip_prefix("- ") else {
                break;
            };
            if seen == index {
                let v = item.trim_start();
                let quoted = v.starts_with('\'') || v.starts_with('"');
                return Some((
                    self.abs(i),
                    col_of(l, l.len() - v.len()) + usize::from(quoted),
                ));
            }
            seen += 1;
        }
        Some((self.abs(at), 1))
    }
}

/// 1-based character column of byte offset `byte` in `line`.
fn col_of(line: &str, byte: usize) -> usize {
    line.get(..byte).map(|s| s.chars().count()).unwrap_or(0) + 1
}
