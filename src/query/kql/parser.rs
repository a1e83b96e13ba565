//! Recursive-descent KQL parser with precedence climbing for scalar expressions.
//!
//! It is tolerant: an operator it cannot read becomes `OpKind::Other` and parsing goes on
//! at the next `|`; a statement it cannot read becomes `Stmt::Other` and parsing goes on at
//! the next `;` (or at a line that starts a new statement, since hunting queries often omit
//! the `;` between statements). Every problem is recorded with its byte position.

use super::ast::*;
use super::lexer::{self, Tok, Token};

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Byte offset in the query text.
    pub pos: usize,
    pub message: String,
}

type R<T> = Result<T, ParseError>;

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

    // ---- tabular -------------------------------------------------------------------

    fn pipe_expr(&mut self) -> R<Ex> {
        let source = self.expr()?;
        if !self.at_punct("|") {
            return Ok(source);
        }
        let start = source.span.0;
        let mut ops = Vec::new();
        while self.at_punct("|") {
            self.i += 1;
            ops.push(self.op());
        }
        Ok(Ex::new(
            ExKind::Pipe {
                source: Box::new(source),
                ops,
            },
            (start, self.last_end()),
        ))
    }

    /// One pipeline operator; never fails (what is not understood becomes `Other`).
    fn op(&mut self) -> Op {
        let start = self.pos();
        let Some(name) = self
            .peek()
            .and_then(|t| t.ident())
            .map(str::to_ascii_lowercase)
        else {
            let found = self.describe();
            self.errors.push(ParseError {
                pos: start,
                message: format!("expected a query operator after `|`, found {found}"),
            });
            self.skip_op();
            return Op {
                kind: OpKind::Other("?".into()),
                span: (start, self.last_end().max(start)),
            };
        };
        self.i += 1;
        let before = self.i;
        let res = self.op_body(&name);
        let kind = match res {
            Ok(kind) if self.at_op_end() => kind,
            Ok(kind) => {
                let found = self.describe();
                self.errors.push(ParseError {
                    pos: self.pos(),
                    message: format!("unexpected {found} in `{name}`"),
                });
                self.skip_op();
                match kind {
                    OpKind::Passthrough(n) => OpKind::Passthrough(n),
                    OpKind::Aggregate(n) => OpKind::Aggregate(n),
                    _ => OpKind::Other(name),
                }
            }
            Err(e) => {
                self.errors.push(e);
                if self.i == before && !self.at_op_end() {
                    self.i += 1;
                }
                self.skip_op();
                OpKind::Other(name)
            }
        };
        Op {
            kind,
            span: (start, self.last_end().max(start)),
        }
    }

    fn op_body(&mut self, name: &str) -> R<OpKind> {
        Ok(match name {
            "where" | "filter" => OpKind::Where(self.condition()?),
            "extend" => OpKind::Extend(self.assign_list()?),
            "project" => OpKind::Project(self.assign_list()?),
            "project-away" => OpKind::ProjectAway(self.name_list()),
            "project-keep" => OpKind::ProjectKeep(self.name_list()),
            "project-rename" => OpKind::ProjectRename(self.assign_list()?),
            "summarize" => {
                self.skip_params();
                let aggs = if self.at_ident("by") {
                    Vec::new()
                } else {
                    self.assign_list()?
                };
                let by = if self.at_ident("by") {
                    self.i += 1;
                    self.assign_list()?
                } else {
                    Vec::new()
                };
                OpKind::Summarize { aggs, by }
            }
            "distinct" => {
                if self.at_punct("*") {
                    self.i += 1;
                    OpKind::Distinct(Vec::new())
                } else {
                    OpKind::Distinct(self.assign_list()?)
                }
            }
            "join" | "lookup" => {
                let kind = self.skip_params();
                let right = if self.at_punct("(") {
                    self.primary()?
                } else {
                    self.postfix()?
                };
                self.expect_ident("on")?;
                let mut on = vec![self.expr()?];
                while self.at_punct(",") {
                    self.i += 1;
                    on.push(self.expr()?);
                }
                OpKind::Join {
                    kind,
                    right,
                    on,
                    lookup: name == "lookup",
                }
            }
            "union" => OpKind::Union(self.union_items()?),
            "mv-apply" => {
                self.skip_params();
                let mut items = Vec::new();
                loop {
                    items.push(self.assign()?);
                    if self.at_ident("to") {
                        self.i += 1;
                        self.postfix()?;
                    }
                    if self.at_punct(",") {
                        self.i += 1;
                        continue;
                    }
                    break;
                }
                if self.at_ident("limit") {
                    self.i += 1;
                    self.expr()?;
                }
                self.expect_ident("on")?;
                self.expect_punct("(")?;
                let mut ops = vec![self.op()];
                while self.at_punct("|") {
                    self.i += 1;
                    ops.push(self.op());
                }
                self.expect_punct(")")?;
                OpKind::MvApply { items, ops }
            }
            "mv-expand" | "mvexpand" => {
                self.skip_params();
                let mut items = Vec::new();
                loop {
                    items.push(self.assign()?);
                    if self.at_ident("to") {
                        self.i += 1;
                        self.postfix()?;
                    }
                    if self.at_punct(",") {
                        self.i += 1;
                        continue;
                    }
                    break;
                }
                if self.at_ident("limit") {
                    self.i += 1;
                    self.expr()?;
                }
                OpKind::MvExpand(items)
            }
            "parse" => {
                self.skip_params();
                let source = self.expr()?;
                self.expect_ident("with")?;
                OpKind::Parse {
                    source,
                    columns: self.parse_pattern_columns(),
                }
            }
            "search" => {
                self.skip_params();
                OpKind::Search(self.condition()?)
            }
            "evaluate" => {
                self.skip_params();
                let plugin = self
                    .peek()
                    .and_then(|t| t.ident())
                    .map(str::to_ascii_lowercase)
                    .unwrap_or_default();
                self.skip_op();
                if plugin == "bag_unpack" {
                    OpKind::Passthrough("evaluate bag_unpack".into())
                } else {
                    OpKind::Other(format!("evaluate {plugin}"))
                }
            }
            "invoke"
                if self
                    .peek()
                    .is_some_and(|t| t.is_ident("FileProfile") || t.is_ident("SeenBy")) =>
            {
                // Enrichment functions of Defender XDR: they add columns, drop no row.
                self.skip_op();
                OpKind::Passthrough("invoke FileProfile".into())
            }
            "take" | "limit" | "sort" | "order" | "top" | "render" | "serialize" | "as"
            | "getschema" | "sample" | "project-reorder" | "project-smart" | "consume" => {
                self.skip_op();
                OpKind::Passthrough(name.to_string())
            }
            "count" | "make-series" | "top-nested" | "top-hitters" | "reduce"
            | "sample-distinct" | "facet" | "make-graph" => {
                self.skip_op();
                OpKind::Aggregate(name.to_string())
            }
            other => {
                self.skip_op();
                OpKind::Other(other.to_string())
            }
        })
    }

    /// Skips `kind=inner`, `hint.strategy=shuffle`, `withsource=T`... and returns the
    /// value of `kind` when present.
    fn skip_params(&mut self) -> Option<String> {
        let mut kind = None;
        while let Some(name) = self
            .peek()
            .and_then(|t| t.ident())
            .map(str::to_ascii_lowercase)
        {
            // hint.strategy = x
            if name == "hint" && self.peek_at(1).is_some_and(|t| t.is_punct(".")) {
                self.i += 2;
                if self.peek().and_then(|t| t.ident()).is_some() {
                    self.i += 1;
                }
                if self.at_punct("=") {
                    self.i += 1;
                    self.i += usize::from(!self.eof());
                }
                continue;
            }
            if !self.peek_at(1).is_some_and(|t| t.is_punct("=")) {
                break;
            }
            if !matches!(
                name.as_str(),
                "kind" | "withsource" | "isfuzzy" | "bagexpansion" | "with_itemindex" | "flags"
            ) {
                break;
            }
            self.i += 2;
            if let Some(t) = self.advance() {
                if name == "kind" {
                    kind = Some(self.src[t.start..t.end].to_ascii_lowercase());
                }
            }
        }
        kind
    }

    /// The new column names of a `parse ... with` pattern.
    fn parse_pattern_columns(&mut self) -> Vec<String> {
        let mut cols = Vec::new();
        let mut after_colon = false;
        loop {
            // `['Column name']`
            if self.at_punct("[")
                && matches!(self.peek_at(1).map(|t| &t.tok), Some(Tok::Str(_)))
                && self.peek_at(2).is_some_and(|t| t.is_punct("]"))
            {
                if let Tok::Str(n) = &self.toks[self.i + 1].tok {
                    cols.push(n.clone());
                }
                self.i += 3;
                after_colon = false;
                continue;
            }
            if self.at_op_end() {
                break;
            }
            let t = self.advance().expect("not at end");
            match &t.tok {
                Tok::Punct(":") => after_colon = true,
                Tok::Ident(n) => {
                    if !after_colon {
                        cols.push(n.clone());
                    }
                    after_colon = false;
                }
                _ => after_colon = false,
            }
        }
        cols
    }

    /// Comma-separated column names (wildcards kept: `*_s`).
    fn name_list(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        while !self.at_op_end() {
            let t = self.advance().expect("not at end");
            if t.is_punct(",") {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            cur.push_str(match &t.tok {
                Tok::Str(s) => s.as_str(),
                _ => &self.src[t.start..t.end],
            });
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out.retain(|s| !s.is_empty() && s != "[" && s != "]");
        out.iter_mut().for_each(|s| {
            *s = s.trim_matches(|c| c == '[' || c == ']').to_string();
        });
        out
    }

    fn assign_list(&mut self) -> R<Vec<Assign>> {
        let mut out = vec![self.assign()?];
        while self.at_punct(",") {
            self.i += 1;
            out.push(self.assign()?);
        }
        Ok(out)
    }

    fn assign(&mut self) -> R<Assign> {
        if self.at_assignment() {
            let name = self.advance().and_then(|t| t.ident().map(str::to_string));
            self.i += 1;
            return Ok(Assign {
                name,
                value: self.expr()?,
            });
        }
        // ['name'] = value
        if self.at_punct("[")
            && matches!(self.peek_at(1).map(|t| &t.tok), Some(Tok::Str(_)))
            && self.peek_at(2).is_some_and(|t| t.is_punct("]"))
            && self.peek_at(3).is_some_and(|t| t.is_punct("="))
        {
            let name = match &self.toks[self.i + 1].tok {
                Tok::Str(s) => s.clone(),
                _ => unreachable!(),
            };
            self.i += 4;
            return Ok(Assign {
                name: Some(name),
                value: self.expr()?,
            });
        }
        // (a, b) = value
        if self.at_punct("(") {
            let mut j = self.i + 1;
            let mut names = Vec::new();
            while let Some(t) = self.toks.get(j) {
                match &t.tok {
                    Tok::Ident(n) => names.push(n.clone()),
                    Tok::Punct(",") => {}
                    _ => break,
                }
                j += 1;
            }
            if self.toks.get(j).is_some_and(|t| t.is_punct(")"))
                && self.toks.get(j + 1).is_some_and(|t| t.is_punct("="))
                && !names.is_empty()
            {
                self.i = j + 2;
                return Ok(Assign {
                    name: Some(names.join(", ")),
                    value: self.expr()?,
                });
            }
        }
        Ok(Assign {
            name: None,
            value: self.expr()?,
        })
    }

    /// Items of `union`: tables (wildcards allowed), parenthesized queries, calls.
    fn union_items(&mut self) -> R<Vec<Ex>> {
        self.skip_params();
        let mut items = Vec::new();
        loop {
            let t = self.peek().cloned();
            let item = match t {
                Some(Token {
                    tok: Tok::Ident(n),
                    start,
                    end,
                    ..
                }) if self
                    .peek_at(1)
                    .is_some_and(|s| s.is_punct("*") && s.start == end) =>
                {
                    self.i += 2;
                    let mut name = format!("{n}*");
                    let mut last = end + 1;
                    // Device*Events
                    if let Some(Token {
                        tok: Tok::Ident(rest),
                        start: s,
                        end: e,
                        ..
                    }) = self.peek().cloned()
                    {
                        if s == last {
                            name.push_str(&rest);
                            last = e;
                            self.i += 1;
                        }
                    }
                    Ex::new(ExKind::Ident(name), (start, last))
                }
                Some(t) if t.is_punct("*") => {
                    self.i += 1;
                    Ex::new(ExKind::Star, (t.start, t.end))
                }
                _ => self.postfix()?,
            };
            items.push(item);
            if self.at_punct(",") {
                self.i += 1;
                continue;
            }
            break;
        }
        Ok(items)
    }

    // ---- scalar expressions ----------------------------------------------------------

    /// A `where` or `search` condition.
    fn condition(&mut self) -> R<Ex> {
        let saved = self.in_where;
        self.in_where = true;
        let r = self.expr();
        self.in_where = saved;
        r
    }

    fn expr(&mut self) -> R<Ex> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return self.err("expression nested too deeply");
        }
        let r = self.or_expr();
        self.depth -= 1;
        r
    }

    fn binary(lhs: Ex, op: &str, rhs: Ex) -> Ex {
        let span = (lhs.span.0, rhs.span.1.max(lhs.span.1));
        Ex::new(
            ExKind::Binary {
                op: op.to_string(),
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        )
    }

    /// `and`/`or` chains are built as balanced trees: a list of thousands of IOCs joined
    /// by `or` stays shallow for the recursive passes that follow.
    fn balanced(op: &str, mut items: Vec<Ex>) -> Ex {
        if items.len() == 1 {
            return items.pop().expect("one item");
        }
        let right = items.split_off(items.len() / 2);
        Self::binary(Self::balanced(op, items), op, Self::balanced(op, right))
    }

    fn or_expr(&mut self) -> R<Ex> {
        let mut items = vec![self.and_expr()?];
        while self.at_ident("or") {
            self.i += 1;
            items.push(self.and_expr()?);
        }
        Ok(Self::balanced("or", items))
    }

    fn and_expr(&mut self) -> R<Ex> {
        let mut items = vec![self.cmp_expr()?];
        while self.at_ident("and") {
            self.i += 1;
            items.push(self.cmp_expr()?);
        }
        Ok(Self::balanced("and", items))
    }

    /// The comparison operator at the cursor, consumed.
    fn cmp_op(&mut self) -> Option<String> {
        let t = self.peek()?;
        let op = match &t.tok {
            Tok::Punct(p) if PUNCT_OPS.contains(p) => p.to_string(),
            // `where A = 1` (legacy equality) and `search Col:"term"`.
            Tok::Punct("=") if self.in_where => "==".to_string(),
            Tok::Punct(":") if self.in_where => ":".to_string(),
            Tok::Ident(w) => {
                let w = w.to_ascii_lowercase();
                if w == "matches" && self.peek_at(1).is_some_and(|n| n.is_ident("regex")) {
                    self.i += 2;
                    return Some("matches regex".into());
                }
                if !WORD_OPS.contains(&w.as_str()) {
                    return None;
                }
                w
            }
            _ => return None,
        };
        self.i += 1;
        Some(op)
    }

    fn cmp_expr(&mut self) -> R<Ex> {
        let mut lhs = self.add_expr()?;
        while let Some(op) = self.cmp_op() {
            let rhs = match op.as_str() {
                "in" | "in~" | "!in" | "!in~" | "notin" | "has_any" | "has_all"
                | "contains_any" => {
                    if self.at_punct("(") {
                        self.paren_list()?
                    } else {
                        self.add_expr()?
                    }
                }
                "between" | "!between" | "notbetween" => {
                    let start = self.pos();
                    self.expect_punct("(")?;
                    let lo = self.add_expr()?;
                    self.expect_punct("..")?;
                    let hi = self.add_expr()?;
                    self.expect_punct(")")?;
                    Ex::new(
                        ExKind::Range {
                            lo: Box::new(lo),
                            hi: Box::new(hi),
                        },
                        (start, self.last_end()),
                    )
                }
                _ => self.add_expr()?,
            };
            lhs = Self::binary(lhs, &op, rhs);
        }
        Ok(lhs)
    }

    /// `( item, item, ... )` always as a list (items may be queries).
    fn paren_list(&mut self) -> R<Ex> {
        let start = self.pos();
        self.expect_punct("(")?;
        let mut items = Vec::new();
        if !self.at_punct(")") {
            items.push(self.pipe_expr()?);
            while self.at_punct(",") {
                self.i += 1;
                if self.at_punct(")") {
                    break;
                }
                items.push(self.pipe_expr()?);
            }
        }
        self.expect_punct(")")?;
        Ok(Ex::new(ExKind::List(items), (start, self.last_end())))
    }

    fn add_expr(&mut self) -> R<Ex> {
        let mut lhs = self.mul_expr()?;
        for n in 0.. {
            if n > MAX_CHAIN {
                return self.err("arithmetic expression too long");
            }
            let op = if self.at_punct("+") {
                "+"
            } else if self.at_punct("-") {
                "-"
            } else {
                break;
            };
            self.i += 1;
            let rhs = self.mul_expr()?;
            lhs = Self::binary(lhs, op, rhs);
        }
        Ok(lhs)
    }

    fn mul_expr(&mut self) -> R<Ex> {
        let mut lhs = self.unary()?;
        for n in 0.. {
            if n > MAX_CHAIN {
                return self.err("arithmetic expression too long");
            }
            let op = if self.at_punct("*") {
                "*"
            } else if self.at_punct("/") {
                "/"
            } else if self.at_punct("%") {
                "%"
            } else {
                break;
            };
            self.i += 1;
            let rhs = self.unary()?;
            lhs = Self::binary(lhs, op, rhs);
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> R<Ex> {
        let start = self.pos();
        for op in ["-", "+", "!"] {
            if self.at_punct(op) {
                self.i += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    self.depth -= 1;
                    return self.err("expression nested too deeply");
                }
                let e = self.unary();
                self.depth -= 1;
                let e = e?;
                let op: &'static str = match op {
                    "-" => "-",
                    "+" => "+",
                    _ => "!",
                };
                return Ok(Ex::new(
                    ExKind::Unary {
                        op,
                        expr: Box::new(e),
                    },
                    (start, self.last_end()),
                ));
            }
        }
        self.postfix()
    }

    fn postfix(&mut self) -> R<Ex> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return self.err("expression nested too deeply");
        }
        let r = self.postfix_inner();
        self.depth -= 1;
        r
    }

    fn postfix_inner(&mut self) -> R<Ex> {
        let mut e = self.primary()?;
        for n in 0.. {
            if n > MAX_CHAIN {
                return self.err("member access chain too long");
            }
            if self.at_punct(".") && self.peek_at(1).is_some_and(|t| t.is_punct("[")) {
                // `x.["key"]`, `x.[0]`: the same as `x["key"]`.
                self.i += 1;
                continue;
            }
            if self.at_punct(".") {
                self.i += 1;
                let name = match self.advance() {
                    Some(Token {
                        tok: Tok::Ident(n), ..
                    }) => n,
                    Some(Token {
                        tok: Tok::Num(_),
                        start,
                        end,
                        ..
                    }) => self.src[start..end].to_string(),
                    _ => return self.err("expected a name after `.`"),
                };
                // workspace("x").Table(...) calls keep the name
                if self.at_punct("(") && self.peek().is_some_and(|t| t.start == self.last_end()) {
                    let args = self.call_args()?;
                    let span = (e.span.0, self.last_end());
                    e = Ex::new(
                        ExKind::Member {
                            base: Box::new(e),
                            name: name.clone(),
                        },
                        span,
                    );
                    e = Ex::new(
                        ExKind::Call {
                            name: format!("{name}()"),
                            args: std::iter::once(e).chain(args).collect(),
                        },
                        span,
                    );
                    continue;
                }
                let span = (e.span.0, self.last_end());
                e = Ex::new(
                    ExKind::Member {
                        base: Box::new(e),
                        name,
                    },
                    span,
                );
                continue;
            }
            if self.at_punct("[") {
                self.i += 1;
                let idx = self.expr()?;
                self.expect_punct("]")?;
                let span = (e.span.0, self.last_end());
                e = Ex::new(
                    ExKind::Index {
                        base: Box::new(e),
                        index: Box::new(idx),
                    },
                    span,
                );
                continue;
            }
            break;
        }
        Ok(e)
    }

    fn call_args(&mut self) -> R<Vec<Ex>> {
        self.expect_punct("(")?;
        let mut args = Vec::new();
        if !self.at_punct(")") {
            loop {
                if self.at_assignment() {
                    let start = self.pos();
                    let name = self.advance().and_then(|t| t.ident().map(str::to_string));
                    self.i += 1;
                    let value = self.pipe_expr()?;
                    args.push(Ex::new(
                        ExKind::Named {
                            name: name.unwrap_or_default(),
                            value: Box::new(value),
                        },
                        (start, self.last_end()),
                    ));
                } else {
                    args.push(self.pipe_expr()?);
                }
                if self.at_punct(",") {
                    self.i += 1;
                    continue;
                }
                break;
            }
        }
        self.expect_punct(")")?;
        Ok(args)
    }

    /// Skips a balanced `( ... )` or `[ ... ]` group at the cursor.
    fn skip_group(&mut self) -> R<()> {
        let open = if self.at_punct("(") {
            "("
        } else if self.at_punct("[") {
            "["
        } else {
            return self.err("expected `(` or `[`");
        };
        let close = if open == "(" { ")" } else { "]" };
        let mut depth = 0i32;
        while let Some(t) = self.advance() {
            if t.is_punct(open) {
                depth += 1;
            } else if t.is_punct(close) {
                depth -= 1;
                if depth == 0 {
                    return Ok(());
                }
            }
        }
        self.err(format!("missing `{close}`"))
    }

    fn primary(&mut self) -> R<Ex> {
        let Some(t) = self.peek().cloned() else {
            return self.err("unexpected end of the query");
        };
        let start = t.start;
        match &t.tok {
            Tok::Str(s) => {
                self.i += 1;
                let mut s = s.clone();
                // Adjacent literals concatenate.
                while let Some(Token {
                    tok: Tok::Str(more),
                    ..
                }) = self.peek()
                {
                    s.push_str(more);
                    self.i += 1;
                }
                Ok(Ex::new(ExKind::Str(s), (start, self.last_end())))
            }
            Tok::Num(n) => {
                self.i += 1;
                Ok(Ex::new(ExKind::Num(*n), (start, t.end)))
            }
            Tok::Timespan(s) => {
                self.i += 1;
                Ok(Ex::new(ExKind::Timespan(s.clone()), (start, t.end)))
            }
            Tok::Punct("*") => {
                self.i += 1;
                Ok(Ex::new(ExKind::Star, (start, t.end)))
            }
            Tok::Punct("(") => {
                if self.at_function_def() {
                    return self.function_def();
                }
                let list = self.paren_list()?;
                match list.kind {
                    ExKind::List(mut items) if items.len() == 1 => {
                        let mut inner = items.pop().expect("one item");
                        inner.span = list.span;
                        Ok(inner)
                    }
                    _ => Ok(list),
                }
            }
            Tok::Punct("[") => {
                // ['bracketed name']
                if let (
                    Some(Token {
                        tok: Tok::Str(s), ..
                    }),
                    Some(close),
                ) = (self.peek_at(1).cloned(), self.peek_at(2))
                {
                    if close.is_punct("]") {
                        self.i += 3;
                        return Ok(Ex::new(ExKind::Ident(s), (start, self.last_end())));
                    }
                }
                self.i += 1;
                let mut items = Vec::new();
                while !self.at_punct("]") {
                    items.push(self.expr()?);
                    if self.at_punct(",") {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                self.expect_punct("]")?;
                Ok(Ex::new(ExKind::List(items), (start, self.last_end())))
            }
            Tok::Punct("{") => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.at_punct("}") {
                    let key = match self.advance() {
                        Some(Token {
                            tok: Tok::Str(s), ..
                        })
                        | Some(Token {
                            tok: Tok::Ident(s), ..
                        }) => s,
                        _ => return self.err("expected a key in a property bag"),
                    };
                    self.expect_punct(":")?;
                    items.push((key, self.expr()?));
                    if self.at_punct(",") {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                self.expect_punct("}")?;
                Ok(Ex::new(ExKind::Bag(items), (start, self.last_end())))
            }
            Tok::Ident(name) => self.ident_primary(name.clone(), start),
            _ => {
                let found = self.describe();
                self.err(format!("unexpected {found}"))
            }
        }
    }

    fn ident_primary(&mut self, name: String, start: usize) -> R<Ex> {
        let lower = name.to_ascii_lowercase();
        let next_is_paren = self.peek_at(1).is_some_and(|t| t.is_punct("("));
        self.i += 1;
        let span = |p: &Self| (start, p.last_end());
        match lower.as_str() {
            "true" if !next_is_paren => return Ok(Ex::new(ExKind::Bool(true), span(self))),
            "false" if !next_is_paren => return Ok(Ex::new(ExKind::Bool(false), span(self))),
            "null" if !next_is_paren => return Ok(Ex::new(ExKind::Null, span(self))),
            "union" => {
                let items = self.union_items()?;
                return Ok(Ex::new(ExKind::Union(items), span(self)));
            }
            "datatable" if next_is_paren => {
                let columns = self.schema_names()?;
                let mut values = Vec::new();
                self.expect_punct("[")?;
                while !self.at_punct("]") {
                    values.push(self.expr()?);
                    if self.at_punct(",") {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                self.expect_punct("]")?;
                return Ok(Ex::new(ExKind::Datatable { columns, values }, span(self)));
            }
            "externaldata" | "external_data" if next_is_paren => {
                self.skip_group()?;
                if self.at_punct("[") {
                    self.skip_group()?;
                }
                if self.at_ident("with") {
                    self.i += 1;
                    self.skip_group()?;
                }
                return Ok(Ex::new(ExKind::External, span(self)));
            }
            "print" | "range" if !next_is_paren => {
                self.skip_op();
                return Ok(Ex::new(ExKind::Generated, span(self)));
            }
            "search" | "find" if !next_is_paren => return self.search_source(start, &lower),
            "evaluate" if !next_is_paren => {
                self.skip_op();
                return Ok(Ex::new(
                    ExKind::Opaque("`evaluate` plugin as a source".into()),
                    span(self),
                ));
            }
            "datetime" | "timespan" | "guid" | "time" | "todatetime" if next_is_paren => {
                // Literal text inside: `datetime(2024-01-01 10:00)`.
                let open = self.pos();
                self.skip_group()?;
                let inner = self.src[open + 1..self.last_end() - 1].trim().to_string();
                let inner = inner.trim_matches(|c| c == '"' || c == '\'').to_string();
                let arg = Ex::new(ExKind::Str(inner), (open, self.last_end()));
                return Ok(Ex::new(
                    ExKind::Call {
                        name,
                        args: vec![arg],
                    },
                    span(self),
                ));
            }
            "view" if next_is_paren => {
                self.i -= 1;
                return self.function_def();
            }
            _ => {}
        }
        if next_is_paren {
            let args = self.call_args()?;
            return Ok(Ex::new(ExKind::Call { name, args }, span(self)));
        }
        Ok(Ex::new(ExKind::Ident(name), span(self)))
    }

    /// `(name: type, ...)`: the names.
    fn schema_names(&mut self) -> R<Vec<String>> {
        self.expect_punct("(")?;
        let mut names = Vec::new();
        let mut expect_name = true;
        let mut depth = 0i32;
        while let Some(t) = self.peek().cloned() {
            match &t.tok {
                Tok::Punct(")") if depth == 0 => break,
                Tok::Punct("(") => depth += 1,
                Tok::Punct(")") => depth -= 1,
                Tok::Punct(",") if depth == 0 => expect_name = true,
                Tok::Ident(n) if expect_name && depth == 0 => {
                    names.push(n.clone());
                    expect_name = false;
                }
                Tok::Str(n) if expect_name && depth == 0 => {
                    names.push(n.clone());
                    expect_name = false;
                }
                _ => {}
            }
            self.i += 1;
        }
        self.expect_punct(")")?;
        Ok(names)
    }

    /// `search [kind=...] [in (T1, T2)] predicate` and `find in (T1, T2) where predicate`.
    fn search_source(&mut self, start: usize, word: &str) -> R<Ex> {
        self.skip_params();
        let mut tables = Vec::new();
        if self.at_ident("in") {
            self.i += 1;
            if let ExKind::List(items) = self.paren_list()?.kind {
                tables = items;
            }
        }
        if word == "find" {
            if self.at_ident("where") {
                self.i += 1;
            }
            let pred = self.condition()?;
            // `project` / `project-smart` clauses of find.
            if !self.at_op_end() {
                self.skip_op();
            }
            return Ok(Ex::new(
                ExKind::Search {
                    tables,
                    pred: Box::new(pred),
                },
                (start, self.last_end()),
            ));
        }
        let pred = self.condition()?;
        Ok(Ex::new(
            ExKind::Search {
                tables,
                pred: Box::new(pred),
            },
            (start, self.last_end()),
        ))
    }
}
