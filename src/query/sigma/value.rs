//! Sigma values: wildcard strings with their escape rules, and the value modifiers that
//! re-encode them (`windash`, `wide`/`utf16*`, `base64`, `base64offset`).

use base64::Engine;

/// One piece of a Sigma string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Lit(char),
    /// `*`: any run of characters, the empty one included.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A Sigma string value with its wildcards resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaStr {
    pub parts: Vec<Part>,
    /// The literal characters stand for bytes (after `wide`/`utf16*`), not text.
    pub bytes: bool,
}

impl SigmaStr {
    /// Reads a value as written in a rule. `\*` and `\?` are literal wildcards, `\\` is one
    /// backslash, and a backslash before anything else is itself (pySigma `SigmaString`).
    pub fn parse(s: &str) -> SigmaStr {
        let mut parts = Vec::with_capacity(s.len());
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        parts.push(Part::Lit(n));
                        chars.next();
                    }
                    _ => parts.push(Part::Lit('\\')),
                },
                '*' => parts.push(Part::Star),
                '?' => parts.push(Part::One),
                c => parts.push(Part::Lit(c)),
            }
        }
        SigmaStr {
            parts,
            bytes: false,
        }
    }

    /// A string taken literally (no wildcard in it).
    pub fn literal(s: &str) -> SigmaStr {
        SigmaStr {
            parts: s.chars().map(Part::Lit).collect(),
            bytes: false,
        }
    }

    pub fn has_wildcards(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Lit(_)))
    }

    /// The literal characters (wildcards left out).
    pub fn plain(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Lit(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// The value as a glob pattern for `Op::Glob`: wildcards bare, literal `*`, `?` escaped,
    /// a literal backslash doubled only where it would otherwise escape what follows.
    pub fn glob(&self) -> String {
        let mut out = String::with_capacity(self.parts.len() + 4);
        for (i, p) in self.parts.iter().enumerate() {
            match p {
                Part::Star => out.push('*'),
                Part::One => out.push('?'),
                Part::Lit('*') => out.push_str("\\*"),
                Part::Lit('?') => out.push_str("\\?"),
                Part::Lit('\\') => {
                    let next = self.parts.get(i + 1);
                    let special = matches!(
                        next,
                        Some(Part::Star | Part::One | Part::Lit('*' | '?' | '\\'))
                    );
                    out.push_str(if special { "\\\\" } else { "\\" });
                }
                Part::Lit(c) => out.push(*c),
            }
        }
        out
    }

    /// The value with `*` added at the start and/or end (not doubled).
    pub fn wrapped(&self, start: bool, end: bool) -> SigmaStr {
        let mut parts = Vec::with_capacity(self.parts.len() + 2);
        if start && self.parts.first() != Some(&Part::Star) {
            parts.push(Part::Star);
        }
        parts.extend_from_slice(&self.parts);
        if end && self.parts.last() != Some(&Part::Star) {
            parts.push(Part::Star);
        }
        SigmaStr {
            parts,
            bytes: self.bytes,
        }
    }

    /// The bytes of a wildcard-free value (UTF-8 text, or the bytes `wide` produced).
    fn to_bytes(&self) -> Vec<u8> {
        if self.bytes {
            self.plain().chars().map(|c| c as u32 as u8).collect()
        } else {
            self.plain().into_bytes()
        }
    }
}

/// A text re-encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    Le,
    Be,
    /// Byte order mark FF FE, then little endian.
    Bom,
}

/// Re-encodes the literal characters as UTF-16; wildcards stay wildcards.
pub fn utf16(v: &SigmaStr, kind: Utf16) -> SigmaStr {
    let mut parts = Vec::with_capacity(v.parts.len() * 2 + 2);
    if kind == Utf16::Bom {
        parts.push(Part::Lit('\u{ff}'));
        parts.push(Part::Lit('\u{fe}'));
    }
    let mut buf = [0u16; 2];
    for p in &v.parts {
        match p {
            Part::Lit(c) => {
                for unit in c.encode_utf16(&mut buf) {
                    let [a, b] = match kind {
                        Utf16::Be => unit.to_be_bytes(),
                        _ => unit.to_le_bytes(),
                    };
                    parts.push(Part::Lit(char::from(a)));
                    parts.push(Part::Lit(char::from(b)));
                }
            }
            other => parts.push(*other),
        }
    }
    SigmaStr { parts, bytes: true }
}

/// `base64`: the whole value encoded (with padding). Wildcards cannot be encoded.
pub fn base64(v: &SigmaStr) -> Result<SigmaStr, String> {
    if v.has_wildcards() {
        return Err("`base64` cannot encode a value with wildcards".into());
    }
    let enc = base64::engine::general_purpose::STANDARD.encode(v.to_bytes());
    Ok(SigmaStr::literal(&enc))
}

/// `base64offset`: the three encodings of the value at byte offsets 0, 1 and 2 of a
/// base64 stream, trimmed to the characters that do not depend on its neighbours.
pub fn base64offset(v: &SigmaStr) -> Result<Vec<SigmaStr>, String> {
    if v.has_wildcards() {
        return Err("`base64offset` cannot encode a value with wildcards".into());
    }
    let val = v.to_bytes();
    let start = [0usize, 2, 3];
    let end_trim = [0usize, 3, 2];
    let mut out = Vec::with_capacity(3);
    for i in 0..3 {
        let mut b = vec![b' '; i];
        b.extend_from_slice(&val);
        let enc = base64::engine::general_purpose::STANDARD.encode(&b);
        let trim = end_trim[(val.len() + i) % 3];
        let end = enc.len().saturating_sub(trim);
        let s = enc.get(start[i]..end).unwrap_or("");
        let lit = SigmaStr::literal(s);
        if !out.contains(&lit) {
            out.push(lit);
        }
    }
    Ok(out)
}

/// The five dashes `windash` allows: hyphen, slash, en dash, em dash, horizontal bar.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Most values `windash` may produce for one value before the item is left opaque.
pub const WINDASH_LIMIT: usize = 4096;

/// `windash`: every `-` or `/` that starts a word (`\B[-/]\b`) in any of the five dash
/// spellings; all combinations.
pub fn windash(v: &SigmaStr) -> Result<Vec<SigmaStr>, String> {
    let is_word = |p: Option<&Part>| match p {
        Some(Part::Lit(c)) => c.is_alphanumeric() || *c == '_',
        _ => false,
    };
    let spots: Vec<usize> = (0..v.parts.len())
        .filter(|&i| {
            matches!(v.parts[i], Part::Lit('-' | '/'))
                && !is_word(if i == 0 { None } else { v.parts.get(i - 1) })
                && is_word(v.parts.get(i + 1))
        })
        .collect();
    let total = DASHES
        .len()
        .checked_pow(spots.len() as u32)
        .unwrap_or(usize::MAX);
    if total > WINDASH_LIMIT {
        return Err(format!(
            "`windash` would expand this value into {} variants",
            if total == usize::MAX {
                "too many".to_string()
            } else {
                total.to_string()
            }
        ));
    }
    let mut out = Vec::with_capacity(total);
    for n in 0..total {
        let mut parts = v.parts.clone();
        let mut k = n;
        for &s in &spots {
            parts[s] = Part::Lit(DASHES[k % DASHES.len()]);
            k /= DASHES.len();
        }
        out.push(SigmaStr {
            parts,
            bytes: v.bytes,
        });
    }
    Ok(out)
}
