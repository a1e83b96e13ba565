//! Recursive-descent KQL parser with precedence climbing for scalar expressions.
//!
//! It is tolerant: an operator it cannot read becomes `OpKind::Other` and parsing goes on
//! at the next `|`; a statement it cannot read becomes `Stmt::Other` and parsing goes on at
//! the next `;` (or at a line that starts a new statement, since hunting queries often omit
//! the `;` between statements). Every problem is recorded with its byte position.

mod expr;
mod ops;

use super::ast::*;
use super::lexer::{self, Tok, Token};

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Byte offset in the query text.
    pub pos: usize,
    pub message: String,
}

pub(super) type R<T> = Result<T, ParseError>;

/// Deepest expression nesting read before giving up (hostile input guard).
const MAX_DEPTH: usize = 150;

/// Longest arithmetic or member-access chain (`a + b + ...`, `a.b.c...`): these are built
/// left-deep, so their length is their depth.
const MAX_CHAIN: usize = 1000;

/// Comparison operators written as words (lower case).
const WORD_OPS: &[&str] = &[
    "has",
    "!has",
    "has_cs",
    "!has_cs",
    "hasprefix",
    "!hasprefix",
    "hasprefix_cs",
    "!hasprefix_cs",
    "hassuffix",
    "!hassuffix",
    "hassuffix_cs",
    "!hassuffix_cs",
    "contains",
    "!contains",
    "contains_cs",
    "!contains_cs",
    "startswith",
    "!startswith",
    "startswith_cs",
    "!startswith_cs",
    "endswith",
    "!endswith",
    "endswith_cs",
    "!endswith_cs",
    "in",
    "in~",
    "!in",
    "!in~",
    "has_any",
    "has_all",
    "between",
    "!between",
    "like",
    "notlike",
    "contains_any",
    "containscs",
    "!containscs",
    "notcontains",
    "notcontainscs",
    "notbetween",
    "notin",
    "startswithcs",
    "endswithcs",
    "hascs",
];

const PUNCT_OPS: &[&str] = &["==", "!=", "=~", "!~", "<", "<=", ">", ">=", "<>"];

/// Parses a KQL script.
pub fn parse(src: &str) -> (Script, Vec<ParseError>) {
    let (toks, lex_errors) = lexer::lex(src);
    let mut p = Parser {
        src,
        toks,
        i: 0,
        errors: lex_errors
            .into_iter()
            .map(|e| ParseError {
                pos: e.pos,
                message: e.message,
            })
            .collect(),
        depth: 0,
        in_where: false,
    };
    let stmts = p.statements(false);
    (Script { stmts }, p.errors)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    errors: Vec<ParseError>,
    depth: usize,
    /// Reading a `where`/`search` condition (`=` compares, `:` is search's `has`).
    in_where: bool,
}

impl Parser<'_> {
    // ---- token helpers -------------------------------------------------------------

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }
    fn peek_at(&self, n: usize) -> Option<&Token> {
        self.toks.get(self.i + n)
    }
    fn eof(&self) -> bool {
        self.i >= self.toks.len()
    }
    fn at_punct(&self, p: &str) -> bool {
        self.peek().is_some_and(|t| t.is_punct(p))
    }
    fn at_ident(&self, w: &str) -> bool {
        self.peek().is_some_and(|t| t.is_ident(w))
    }
    fn pos(&self) -> usize {
        self.peek()
            .map(|t| t.start)
            .unwrap_or_else(|| self.src.len())
    }
    /// End of the last consumed token.
    fn last_end(&self) -> usize {
        if self.i == 0 {
            0
        } else {
            self.toks[self.i - 1].end
        }
    }
    fn advance(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        if t.is_some() {
            self.i += 1;
        }
        t
    }
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(ParseError {
            pos: self.pos(),
            message: msg.into(),
        })
    }
    fn expect_punct(&mut self, p: &str) -> R<()> {
        if self.at_punct(p) {
            self.i += 1;
            Ok(())
        } else {
            let found = self.describe();
            self.err(format!("expected `{p}`, found {found}"))
        }
    }
    fn expect_ident(&mut self, w: &str) -> R<()> {
        if self.at_ident(w) {
            self.i += 1;
            Ok(())
        } else {
            let found = self.describe();
            self.err(format!("expected `{w}`, found {found}"))
        }
    }
    fn describe(&self) -> String {
        match self.peek() {
            None => "the end of the query".into(),
            Some(t) => format!("`{}`", &self.src[t.start..t.end]),
        }
    }
    /// `name =` (not `==`) at the cursor.
    fn at_assignment(&self) -> bool {
        matches!(self.peek().map(|t| &t.tok), Some(Tok::Ident(_)))
            && self.peek_at(1).is_some_and(|t| t.is_punct("="))
    }
    fn prev_ends_value(&self) -> bool {
        self.i > 0
            && matches!(
                self.toks[self.i - 1].tok,
                Tok::Ident(_)
                    | Tok::Str(_)
                    | Tok::Num(_)
                    | Tok::Timespan(_)
                    | Tok::Punct(")" | "]" | "}")
            )
    }
    /// The cursor is at the first token of a new statement written without a `;`.
    fn at_new_statement(&self) -> bool {
        let Some(t) = self.peek() else { return false };
        if !t.line_start {
            return false;
        }
        if t.is_ident("let") {
            return true;
        }
        if !matches!(t.tok, Tok::Ident(_)) || !self.prev_ends_value() {
            return false;
        }
        if [
            "print",
            "search",
            "union",
            "find",
            "datatable",
            "range",
            "set",
            "declare",
        ]
        .iter()
        .any(|k| t.is_ident(k))
        {
            return true;
        }
        match self.peek_at(1) {
            None => true,
            // The next token opens a pipeline line (`| where`), ends the statement, or
            // starts a line of its own.
            Some(n) => n.line_start || n.is_punct(";"),
        }
    }

    /// Skips to the end of the current pipeline operator (a `|`, `;`, closing bracket or
    /// new statement at depth 0).
    fn skip_op(&mut self) {
        let mut depth = 0i32;
        while let Some(t) = self.peek() {
            if depth == 0 {
                if t.is_punct("|") || t.is_punct(";") || self.at_new_statement() {
                    return;
                }
                if t.is_punct(")") || t.is_punct("]") || t.is_punct("}") {
                    return;
                }
            }
            match &t.tok {
                Tok::Punct("(" | "[" | "{") => depth += 1,
                Tok::Punct(")" | "]" | "}") => depth -= 1,
                _ => {}
            }
            self.i += 1;
        }
    }

    /// Skips to the end of the current statement.
    fn skip_statement(&mut self) {
        let mut depth = 0i32;
        let first = self.i;
        while let Some(t) = self.peek() {
            if depth == 0 {
                if t.is_punct(";") {
                    return;
                }
                if self.i > first && t.line_start && t.is_ident("let") {
                    return;
                }
                if t.is_punct("}") {
                    return;
                }
            }
            match &t.tok {
                Tok::Punct("(" | "[" | "{") => depth += 1,
                Tok::Punct(")" | "]" | "}") => depth -= 1,
                _ => {}
            }
            self.i += 1;
        }
    }

    fn at_op_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(t) => {
                t.is_punct("|")
                    || t.is_punct(";")
                    || t.is_punct(")")
                    || t.is_punct("}")
                    || t.is_punct("]")
                    || self.at_new_statement()
            }
        }
    }

    // ---- statements ----------------------------------------------------------------

    fn statements(&mut self, in_body: bool) -> Vec<Stmt> {
        let mut out = Vec::new();
        loop {
            while self.at_punct(";") {
                self.i += 1;
            }
            if self.eof() || (in_body && self.at_punct("}")) {
                break;
            }
            let start = self.i;
            let stmt = match self.statement() {
                Ok(s) => s,
                Err(e) => {
                    self.errors.push(e);
                    let from = self.toks[start].start;
                    if self.i == start {
                        self.i += 1;
                    }
                    self.skip_statement();
                    let (name, source) = self.salvage(start);
                    Stmt::Broken {
                        name,
                        source,
                        span: (from, self.last_end().max(from)),
                    }
                }
            };
            out.push(stmt);
            if self.at_punct(";") || self.eof() || (in_body && self.at_punct("}")) {
                continue;
            }
            if self.peek().is_some_and(|t| t.line_start) {
                continue;
            }
            let found = self.describe();
            self.errors.push(ParseError {
                pos: self.pos(),
                message: format!("expected `;` or the end of the statement, found {found}"),
            });
            let from = self.pos();
            self.skip_statement();
            out.push(Stmt::Other {
                span: (from, self.last_end().max(from)),
            });
            if self.i == start {
                self.i += 1;
            }
        }
        out
    }

    /// The `let` name and first table of a statement that failed to parse (from token
    /// `start`), so the tables it reads are still known.
    fn salvage(&self, start: usize) -> (Option<String>, Option<String>) {
        let t = |k: usize| self.toks.get(k).filter(|_| k < self.i);
        let mut k = start;
        let mut name = None;
        if t(k).is_some_and(|x| x.is_ident("let")) && t(k + 2).is_some_and(|x| x.is_punct("=")) {
            name = t(k + 1).and_then(|x| x.ident()).map(str::to_string);
            k += 3;
        }
        while t(k).is_some_and(|x| x.is_punct("(")) {
            k += 1;
        }
        let source = match (t(k), t(k + 1)) {
            (Some(x), next)
                if x.ident().is_some()
                    && !next.is_some_and(|n| {
                        n.is_punct("(") || n.is_punct(".") || n.is_punct("=") || n.is_punct(",")
                    }) =>
            {
                let id = x.ident().unwrap_or_default();
                let keyword = [
                    "let",
                    "print",
                    "range",
                    "datatable",
                    "union",
                    "search",
                    "find",
                ]
                .iter()
                .any(|k| id.eq_ignore_ascii_case(k));
                (!keyword).then(|| id.to_string())
            }
            _ => None,
        };
        (name, source)
    }

    fn statement(&mut self) -> R<Stmt> {
        let start = self.pos();
        if self.at_ident("let") {
            self.i += 1;
            let name = match self.advance() {
                Some(Token {
                    tok: Tok::Ident(n), ..
                }) => n,
                _ => return self.err("expected a name after `let`"),
            };
            self.expect_punct("=")?;
            let value = if self.at_function_def() {
                self.function_def()?
            } else {
                self.pipe_expr()?
            };
            return Ok(Stmt::Let {
                name,
                value,
                span: (start, self.last_end()),
            });
        }
        for kw in ["set", "declare", "alias", "pattern", "restrict"] {
            if self.at_ident(kw) {
                self.skip_statement();
                return Ok(Stmt::Other {
                    span: (start, self.last_end()),
                });
            }
        }
        Ok(Stmt::Query(self.pipe_expr()?))
    }

    fn at_function_def(&self) -> bool {
        let t = |n| self.peek_at(n);
        if self.at_ident("view") && t(1).is_some_and(|t| t.is_punct("(")) {
            return true;
        }
        if !self.at_punct("(") {
            return false;
        }
        match (t(1), t(2)) {
            (Some(a), Some(b)) if a.is_punct(")") && b.is_punct("{") => true,
            (Some(a), Some(b)) => matches!(a.tok, Tok::Ident(_)) && b.is_punct(":"),
            _ => false,
        }
    }

    /// `(a: string, b: int = 5) { body }` or `view () { body }`.
    fn function_def(&mut self) -> R<Ex> {
        let start = self.pos();
        if self.at_ident("view") {
            self.i += 1;
        }
        self.expect_punct("(")?;
        let mut params = Vec::new();
        let mut depth = 0i32;
        let mut expect_name = true;
        while let Some(t) = self.peek() {
            match &t.tok {
                Tok::Punct(")") if depth == 0 => break,
                Tok::Punct("(" | "[") => depth += 1,
                Tok::Punct(")" | "]") => depth -= 1,
                Tok::Punct(",") if depth == 0 => expect_name = true,
                Tok::Ident(n) if depth == 0 && expect_name => {
                    params.push(n.clone());
                    expect_name = false;
                }
                _ => {}
            }
            self.i += 1;
        }
        self.expect_punct(")")?;
        self.expect_punct("{")?;
        let body = self.statements(true);
        self.expect_punct("}")?;
        Ok(Ex::new(
            ExKind::Function { params, body },
            (start, self.last_end()),
        ))
    }
}
