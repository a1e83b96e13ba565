//! SPL (Splunk's Search Processing Language) front end.
//!
//! 1. [`macros::expand`] expands `` `macro(args)` `` calls into the search text, keeping a
//!    map back to the original for positions.
//! 2. [`pipeline::split`] cuts the expanded text into commands at top-level `|`.
//! 3. `commands` runs the pipeline: the filters of the first search, `search`, `where`,
//!    `regex` and `tstats ... where` become the condition IR (parsed by the hand-written
//!    `lexer`, `search` and `eval` modules); `stats`/`tstats ... by` and `table` give the
//!    output fields; renames are followed back to the event's own field names; a filter on
//!    an aggregated field makes the per-event filter the inside of `Expr::Aggregate`.
//!    Commands it does not understand become opaque nodes keeping their SPL text.
//!
//! ```
//! use ruledex::query::spl;
//! let (_, parsed) = spl::parse_search(
//!     "| tstats count from datamodel=Change where All_Changes.action=created \
//!      All_Changes.command=system.api_token.create by All_Changes.user",
//!     &spl::MacroTable::default(),
//! );
//! assert_eq!(parsed.data_models, vec!["Change".to_string()]);
//! assert!(parsed.detection.expr.fully_parsed());
//! ```

mod commands;
mod eval;
pub mod lexer;
pub mod macros;
pub mod pipeline;
mod search;

pub use macros::{expand, Expansion, MacroDef, MacroKind, MacroTable, MacroUse, Unresolved};

use crate::model::Detection;

/// A syntax error at a byte offset of the text being parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub pos: usize,
    pub message: String,
}

/// Something in the search the front end could not turn into logic (kept as an opaque
/// node): its byte offset in the expanded text, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub pos: usize,
    pub message: String,
}

/// What the front end made of one search.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub detection: Detection,
    /// Data models the search reads (`datamodel=Endpoint.Processes` gives
    /// `Endpoint.Processes`), sorted.
    pub data_models: Vec<String>,
    /// Lookups named by `lookup`, `inputlookup` or `outputlookup`, with their byte offset in
    /// the expanded text; sorted by name.
    pub lookups: Vec<(String, usize)>,
    /// Opaque parts, with byte offsets in the expanded text.
    pub issues: Vec<Issue>,
}

/// Parses an expanded search.
pub fn parse(x: &Expansion) -> Parsed {
    commands::run(&x.text)
}

/// Expands the macros of `search` and parses it.
pub fn parse_search(search: &str, table: &MacroTable) -> (Expansion, Parsed) {
    let x = expand(search, table);
    let parsed = parse(&x);
    (x, parsed)
}

#[cfg(test)]
mod tests;
