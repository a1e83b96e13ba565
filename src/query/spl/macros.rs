//! Search macros: `` `name` `` and `` `name(arg1,arg2)` `` calls expanded into the search
//! text, recursively, with `$arg$` substitution.
//!
//! Macros are keyed by name and arity (`name(2)` in Splunk's `macros.conf`). A call whose
//! macro is not defined stays in the text as written, so the parser turns it into an
//! opaque node, and is listed in [`Expansion::unresolved`]. Two kinds of macro are known
//! without a definition: `<name>_filter` tuning hooks (contentctl generates them as the
//! no-op `search *`) and `drop_dm_object_name(object)` from Splunk_SA_CIM
//! (`rename object.* AS *`).
//!
//! The expanded text keeps a map back to the original search, so positions found while
//! parsing the expansion are reported where the user wrote them.

use std::collections::BTreeMap;

/// Calls nested deeper than this are left unexpanded.
const MAX_DEPTH: usize = 20;
/// Expansion stops growing the search past this many bytes (macros calling each other
/// twice per level grow exponentially).
const MAX_EXPANDED: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct MacroDef {
    /// Bare name, without the `(n)` arity suffix.
    pub name: String,
    /// Argument names, referenced as `$name$` in the definition.
    pub args: Vec<String>,
    pub definition: String,
    pub description: String,
    /// File that defines it (relative to its root), when read from a file.
    pub file: Option<String>,
}

impl MacroDef {
    /// The Splunk key: `name` without arguments, `name(n)` with.
    pub fn key(&self) -> String {
        macro_key(&self.name, self.args.len())
    }
}

pub fn macro_key(name: &str, arity: usize) -> String {
    if arity == 0 {
        name.to_string()
    } else {
        format!("{name}({arity})")
    }
}

/// Macros by (name, arity).
#[derive(Debug, Clone, Default)]
pub struct MacroTable {
    defs: BTreeMap<(String, usize), MacroDef>,
}

impl MacroTable {
    /// Adds a macro; returns the one it replaces (a duplicate definition).
    pub fn insert(&mut self, def: MacroDef) -> Option<MacroDef> {
        self.defs.insert((def.name.clone(), def.args.len()), def)
    }
    pub fn get(&self, name: &str, arity: usize) -> Option<&MacroDef> {
        self.defs.get(&(name.to_string(), arity))
    }
    pub fn len(&self) -> usize {
        self.defs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &MacroDef> {
        self.defs.values()
    }
    fn arities(&self, name: &str) -> Vec<usize> {
        self.defs
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .collect()
    }
}

/// How a macro call was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MacroKind {
    /// Defined by the repository.
    Defined,
    /// A `<name>_filter` tuning hook the repository leaves to the user: empty.
    FilterHook,
    /// Known without a definition (Splunk_SA_CIM's `drop_dm_object_name`).
    Builtin,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MacroUse {
    pub name: String,
    pub arity: usize,
    pub kind: MacroKind,
}

impl MacroUse {
    pub fn key(&self) -> String {
        macro_key(&self.name, self.arity)
    }
}

/// A call left unexpanded.
#[derive(Debug, Clone, PartialEq)]
pub struct Unresolved {
    /// The call as written, without backticks.
    pub call: String,
    pub name: String,
    pub arity: usize,
    /// Byte offset in the original search.
    pub pos: usize,
    pub reason: String,
}

impl Unresolved {
    pub fn key(&self) -> String {
        macro_key(&self.name, self.arity)
    }
}

#[derive(Debug, Clone, Copy)]
struct Seg {
    out_start: usize,
    orig: usize,
    /// Text copied from the original search (maps one to one); otherwise it comes from a
    /// macro definition and maps to the call.
    literal: bool,
}

/// A search with its macros expanded.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub original: String,
    pub text: String,
    segs: Vec<Seg>,
    /// Every macro resolved, sorted, without repeats.
    pub used: Vec<MacroUse>,
    /// Calls left in the text, in order of appearance.
    pub unresolved: Vec<Unresolved>,
}

impl Expansion {
    /// An expansion with nothing to expand (tests, searches without macros).
    pub fn plain(text: &str) -> Expansion {
        expand(text, &MacroTable::default())
    }
    /// The byte offset in the original search of byte offset `pos` of the expanded text.
    pub fn original_pos(&self, pos: usize) -> usize {
        let i = self.segs.partition_point(|s| s.out_start <= pos);
        if i == 0 {
            return pos.min(self.original.len());
        }
        let s = self.segs[i - 1];
        if s.literal {
            (s.orig + (pos - s.out_start)).min(self.original.len())
        } else {
            s.orig
        }
    }
}

/// Expands every macro call of `search`.
pub fn expand(search: &str, table: &MacroTable) -> Expansion {
    let mut x = Expansion {
        original: search.to_string(),
        text: String::with_capacity(search.len() * 2),
        segs: Vec::new(),
        used: Vec::new(),
        unresolved: Vec::new(),
    };
    let mut stack = Vec::new();
    expand_into(search, None, table, &mut stack, &mut x);
    x.used.sort();
    x.used.dedup();
    x
}

fn push(x: &mut Expansion, text: &str, orig: usize, literal: bool) {
    if text.is_empty() {
        return;
    }
    x.segs.push(Seg {
        out_start: x.text.len(),
        orig,
        literal,
    });
    x.text.push_str(text);
}

/// Expands `src` into `x`. `anchor` is the original offset every piece of `src` maps to
/// (`None` for the original search itself, which maps one to one).
fn expand_into(
    src: &str,
    anchor: Option<usize>,
    table: &MacroTable,
    stack: &mut Vec<(String, usize)>,
    x: &mut Expansion,
) {
    let mut done = 0; // `src[..done]` is already in the output
    let mut i = 0;
    while let Some(off) = src[i..].find('`') {
        let open = i + off;
        if src[open..].starts_with("```") {
            // A comment: ```like this```. It may hold pipes and backticks.
            let Some(len) = src[open + 3..].find("```") else {
                break;
            };
            push(
                x,
                &src[done..open],
                anchor.unwrap_or(done),
                anchor.is_none(),
            );
            push(x, " ", anchor.unwrap_or(open), false);
            done = open + 3 + len + 3;
            i = done;
            continue;
        }
        let Some(len) = src[open + 1..].find('`') else {
            break;
        };
        let close = open + 1 + len;
        let inner = &src[open + 1..close];
        let Some((name, args)) = parse_call(inner) else {
            // Not a macro call (a stray backtick in a string): keep it and go on.
            i = open + 1;
            continue;
        };
        let here = anchor.unwrap_or(open);
        push(
            x,
            &src[done..open],
            anchor.unwrap_or(done),
            anchor.is_none(),
        );
        done = close + 1;
        i = close + 1;
        let arity = args.len();
        let key = (name.to_string(), arity);
        if let Some(def) = table.get(name, arity) {
            if stack.contains(&key) || stack.len() >= MAX_DEPTH || x.text.len() > MAX_EXPANDED {
                let reason = if stack.contains(&key) {
                    "recursive macro: it calls itself".to_string()
                } else if x.text.len() > MAX_EXPANDED {
                    format!("the expanded search would exceed {MAX_EXPANDED} bytes")
                } else {
                    format!("macros nested deeper than {MAX_DEPTH} levels")
                };
                leave(x, inner, name, arity, here, reason);
                continue;
            }
            let body = substitute(&def.definition, &def.args, &args);
            x.used.push(MacroUse {
                name: name.to_string(),
                arity,
                kind: MacroKind::Defined,
            });
            stack.push(key);
            expand_into(&body, Some(here), table, stack, x);
            stack.pop();
        } else if name.ends_with("_filter") && arity == 0 {
            x.used.push(MacroUse {
                name: name.to_string(),
                arity,
                kind: MacroKind::FilterHook,
            });
        } else if name == "drop_dm_object_name" && arity == 1 {
            let object = args[0].trim().trim_matches(|c| c == '"' || c == '\'');
            push(x, &format!("rename {object}.* AS *"), here, false);
            x.used.push(MacroUse {
                name: name.to_string(),
                arity,
                kind: MacroKind::Builtin,
            });
        } else {
            let others = table.arities(name);
            let reason = if others.is_empty() {
                "not defined".to_string()
            } else {
                let list = others
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ");
                format!("defined with {list} argument(s), called with {arity}")
            };
            leave(x, inner, name, arity, here, reason);
        }
    }
    push(x, &src[done..], anchor.unwrap_or(done), anchor.is_none());
}

/// Leaves a call in the text, as written, and records it.
fn leave(x: &mut Expansion, inner: &str, name: &str, arity: usize, pos: usize, reason: String) {
    push(x, &format!("`{inner}`"), pos, false);
    x.unresolved.push(Unresolved {
        call: inner.to_string(),
        name: name.to_string(),
        arity,
        pos,
        reason,
    });
}

/// `name` or `name(arg, ...)`: the name and the arguments, or `None` when the text is not a
/// macro call.
fn parse_call(inner: &str) -> Option<(&str, Vec<String>)> {
    let inner = inner.trim();
    let (name, rest) = match inner.find('(') {
        Some(p) => (&inner[..p], Some(&inner[p..])),
        None => (inner, None),
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':'))
    {
        return None;
    }
    let args = match rest {
        None => Vec::new(),
        Some(r) => {
            let body = r.strip_prefix('(')?.strip_suffix(')')?;
            if body.trim().is_empty() {
                Vec::new()
            } else {
                split_args(body)
            }
        }
    };
    Some((name, args))
}

/// Splits macro arguments at top-level commas (not inside quotes or parentheses).
fn split_args(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut cur = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_str => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// Replaces `$arg$` by the call's values; `$$` is a literal `$` in macros with arguments.
fn substitute(definition: &str, names: &[String], values: &[String]) -> String {
    if names.is_empty() {
        return definition.to_string();
    }
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            continue;
        }
        match after.find('$') {
            Some(q) => {
                let name = &after[..q];
                if let Some(i) = names.iter().position(|n| n == name) {
                    out.push_str(&values[i]);
                    rest = &after[q + 1..];
                } else {
                    out.push('$');
                    rest = after;
                }
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
