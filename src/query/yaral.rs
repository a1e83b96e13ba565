//! YARA-L 2.0 (Chronicle / Google SecOps) front end.
//!
//! A hand-written lexer ([`lexer`]) and recursive-descent parser with precedence climbing
//! ([`parser`]) turn a `.yaral` file into [`ast::RuleAst`]s with line and column on every
//! node; [`lower`] turns one rule into the `Detection` IR:
//!
//! - each event variable's predicates on UDM paths, with the `$e.` prefix stripped, grouped
//!   under `Expr::Named("$e", ...)`; `=` is case-sensitive unless `nocase`; regexes are
//!   unanchored searches;
//! - placeholders (`$user = $e.principal.user.userid`) bind values, they do not filter; a
//!   placeholder bound by two event variables, or `$e1.x = $e2.y`, is a join;
//! - rules with several event variables become an unordered `Expr::Sequence` joined on the
//!   match variables within the `over` window; a count condition (`#e > 5`) or an outcome
//!   threshold becomes `Expr::Aggregate`;
//! - outcome variables are the output fields (`$risk_score` marked);
//! - what is not understood (unmapped functions, data tables, unresolved reference lists)
//!   is kept as `Expr::Opaque` with its source text.

pub mod ast;
mod condition;
mod filter;
pub mod lexer;
pub mod lower;
pub mod parser;

pub use lower::{lower, Lowered, Unbound};
pub use parser::{parse_expr, parse_file};

use std::fmt;

/// A syntax error with its 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests;
