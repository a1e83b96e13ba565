//! KQL (Kusto Query Language) front end, for Microsoft Sentinel and Defender XDR queries.
//!
//! A hand-written lexer ([`lexer`]) and a tolerant recursive-descent parser with precedence
//! climbing ([`parser`]: statements, `parser/ops` for pipeline operators, `parser/expr`
//! for scalar expressions) build a syntax tree ([`ast`]); `lower` (with `lower/ops`)
//! follows each pipeline and `pred` turns `where` conditions into IR; `names` knows KQL's
//! built-in functions and default column names. The result:
//! - the tables read: the first table of each query, `union` members, `join`/`lookup`
//!   right sides, `let` bindings and function bodies, queries nested in `toscalar(...)` or
//!   `in (...)`; stored functions (ASIM and solution parsers) are resolved to their tables
//!   through [`Functions`] when the parser's definition is in the root; `datatable`,
//!   `externaldata`, `print` and `range` read no table;
//! - the per-event filter as IR (`pred`): the `where` clauses before any aggregation, with
//!   `let` lists substituted; `summarize`/`make-series` and the stages after them wrap it in
//!   `Expr::Aggregate`; an inner `join` becomes a two-step `Expr::Sequence`; what is not
//!   understood stays an `Expr::Opaque` with the KQL text;
//! - the output columns (`project`, `extend`, `summarize ... by`).
//!
//! ```
//! use ruledex::query::kql::{analyze, Functions};
//! let a = analyze("SigninLogs | where ResultType == \"50126\" | project UserPrincipalName",
//!                 &Functions::default());
//! assert_eq!(a.tables, vec!["SigninLogs".to_string()]);
//! assert_eq!(a.detection.output_fields[0].name, "UserPrincipalName");
//! ```

pub mod ast;
pub mod lexer;
mod lower;
mod names;
pub mod parser;
mod pred;

use crate::model::Detection;
use std::collections::{BTreeMap, BTreeSet};

/// A stored function (parser) defined in the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionInfo {
    /// The name queries call it by.
    pub name: String,
    /// Tables it reads, other parsers resolved.
    pub tables: Vec<String>,
    /// The parsers it calls.
    pub calls: Vec<String>,
    /// File it is defined in (relative to its root).
    pub file: String,
}

/// The stored functions a query may call, by name (case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct Functions {
    by_name: BTreeMap<String, FunctionInfo>,
}

impl Functions {
    pub fn get(&self, name: &str) -> Option<&FunctionInfo> {
        self.by_name.get(&name.to_ascii_lowercase())
    }
    pub fn iter(&self) -> impl Iterator<Item = &FunctionInfo> {
        self.by_name.values()
    }
    pub fn len(&self) -> usize {
        self.by_name.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Builds the table from function definitions: (names the function is called by, its
    /// KQL body, file). Functions calling other functions are resolved transitively;
    /// cycles stop the walk.
    pub fn resolve(defs: &[(Vec<String>, String, String)]) -> Functions {
        // Direct reads of each definition.
        let empty = Functions::default();
        let direct: Vec<(BTreeSet<String>, BTreeSet<String>)> = defs
            .iter()
            .map(|(_, body, _)| {
                let a = analyze(body, &empty);
                (
                    a.tables.into_iter().collect(),
                    a.functions.into_iter().collect(),
                )
            })
            .collect();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (i, (names, _, _)) in defs.iter().enumerate() {
            for n in names {
                index.entry(n.to_ascii_lowercase()).or_insert(i);
            }
        }
        // Names that look like tables in a body may be other functions (no parentheses).
        let mut by_name = BTreeMap::new();
        for (i, (names, _, file)) in defs.iter().enumerate() {
            let mut tables = BTreeSet::new();
            let mut calls = BTreeSet::new();
            let mut seen = BTreeSet::from([i]);
            let mut stack = vec![i];
            while let Some(j) = stack.pop() {
                let (t, f) = &direct[j];
                for name in t.iter().chain(f) {
                    match index.get(&name.to_ascii_lowercase()) {
                        Some(&k) => {
                            calls.insert(name.clone());
                            if seen.insert(k) {
                                stack.push(k);
                            }
                        }
                        None if t.contains(name) => {
                            tables.insert(name.clone());
                        }
                        None => {}
                    }
                }
            }
            for n in names {
                by_name.insert(
                    n.to_ascii_lowercase(),
                    FunctionInfo {
                        name: n.clone(),
                        tables: tables.iter().cloned().collect(),
                        calls: calls.iter().cloned().collect(),
                        file: file.clone(),
                    },
                );
            }
        }
        Functions { by_name }
    }
}

/// A problem in the query text, 1-based within the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KqlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What the front end makes of one query.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Tables read, sorted (parsers resolved when the root defines them).
    pub tables: Vec<String>,
    /// Stored functions and parsers called, sorted.
    pub functions: Vec<String>,
    /// The called functions that the root does not define.
    pub unresolved: Vec<String>,
    /// The query reads every table (`union *`, `search` without `in`).
    pub reads_every_table: bool,
    pub detection: Detection,
    pub errors: Vec<KqlError>,
}

/// Reads a KQL query (or script of `let`s and queries).
pub fn analyze(text: &str, functions: &Functions) -> Analysis {
    let (script, errors) = parser::parse(text);
    let mut lw = lower::Lowerer::new(text, functions);
    let flows = lw.statements(&script.stmts);
    let expr = match flows.as_slice() {
        [] => crate::model::Expr::opaque(
            text.trim(),
            "the query defines values or functions but runs no query",
        ),
        [one] => one.expr(),
        many => crate::model::Expr::any(many.iter().map(|f| f.expr()).collect()),
    };
    let output_fields = flows.last().map(|f| f.output_fields()).unwrap_or_default();
    let errors = errors
        .into_iter()
        .map(|e| {
            let (line, column) = line_col(text, e.pos);
            KqlError {
                line,
                column,
                message: e.message,
            }
        })
        .collect();
    Analysis {
        tables: lw.tables.into_iter().collect(),
        functions: lw.functions.into_iter().collect(),
        unresolved: lw.unresolved.into_iter().collect(),
        reads_every_table: lw.every_table,
        detection: Detection {
            expr,
            output_fields,
        },
        errors,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let mut p = pos;
    while !text.is_char_boundary(p) {
        p -= 1;
    }
    let before = &text[..p];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit_once('\n')
        .map(|(_, l)| l)
        .unwrap_or(before)
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests;
