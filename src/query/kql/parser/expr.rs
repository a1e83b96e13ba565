//! Scalar expressions by precedence climbing: `or` < `and` < comparisons < `+ -` <
//! `* / %` < unary < postfix (`.name`, `[index]`, calls) < primaries.

use super::{Parser, MAX_CHAIN, MAX_DEPTH, PUNCT_OPS, R, WORD_OPS};
use crate::query::kql::ast::*;
use crate::query::kql::lexer::{Tok, Token};

impl Parser<'_> {
    /// A `where` or `search` condition.
    pub(super) fn condition(&mut self) -> R<Ex> {
        let saved = self.in_where;
        self.in_where = true;
        let r = self.expr();
        self.in_where = saved;
        r
    }

    pub(super) fn expr(&mut self) -> R<Ex> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return self.err("expression nested too deeply");
        }
        let r = self.or_expr();
        self.depth -= 1;
        r
    }

    pub(super) fn binary(lhs: Ex, op: &str, rhs: Ex) -> Ex {
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
    pub(super) fn balanced(op: &str, mut items: Vec<Ex>) -> Ex {
        if items.len() == 1 {
            return items.pop().expect("one item");
        }
        let right = items.split_off(items.len() / 2);
        Self::binary(Self::balanced(op, items), op, Self::balanced(op, right))
    }

    pub(super) fn or_expr(&mut self) -> R<Ex> {
        let mut items = vec![self.and_expr()?];
        while self.at_ident("or") {
            self.i += 1;
            items.push(self.and_expr()?);
        }
        Ok(Self::balanced("or", items))
    }

    pub(super) fn and_expr(&mut self) -> R<Ex> {
        let mut items = vec![self.cmp_expr()?];
        while self.at_ident("and") {
            self.i += 1;
            items.push(self.cmp_expr()?);
        }
        Ok(Self::balanced("and", items))
    }

    /// The comparison operator at the cursor, consumed.
    pub(super) fn cmp_op(&mut self) -> Option<String> {
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

    pub(super) fn cmp_expr(&mut self) -> R<Ex> {
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
    pub(super) fn paren_list(&mut self) -> R<Ex> {
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

    pub(super) fn add_expr(&mut self) -> R<Ex> {
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

    pub(super) fn mul_expr(&mut self) -> R<Ex> {
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

    pub(super) fn unary(&mut self) -> R<Ex> {
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

    pub(super) fn postfix(&mut self) -> R<Ex> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return self.err("expression nested too deeply");
        }
        let r = self.postfix_inner();
        self.depth -= 1;
        r
    }

    pub(super) fn postfix_inner(&mut self) -> R<Ex> {
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

    pub(super) fn call_args(&mut self) -> R<Vec<Ex>> {
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
    pub(super) fn skip_group(&mut self) -> R<()> {
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

    pub(super) fn primary(&mut self) -> R<Ex> {
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

    pub(super) fn ident_primary(&mut self, name: String, start: usize) -> R<Ex> {
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
    pub(super) fn schema_names(&mut self) -> R<Vec<String>> {
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
    pub(super) fn search_source(&mut self, start: usize, word: &str) -> R<Ex> {
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
