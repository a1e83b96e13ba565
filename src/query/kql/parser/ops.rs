//! Tabular expressions: pipelines and their operators.

use super::{ParseError, Parser, R};
use crate::query::kql::ast::*;
use crate::query::kql::lexer::{Tok, Token};

impl Parser<'_> {
    pub(super) fn pipe_expr(&mut self) -> R<Ex> {
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
    pub(super) fn op(&mut self) -> Op {
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

    pub(super) fn op_body(&mut self, name: &str) -> R<OpKind> {
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
    pub(super) fn skip_params(&mut self) -> Option<String> {
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
    pub(super) fn parse_pattern_columns(&mut self) -> Vec<String> {
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
    pub(super) fn name_list(&mut self) -> Vec<String> {
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

    pub(super) fn assign_list(&mut self) -> R<Vec<Assign>> {
        let mut out = vec![self.assign()?];
        while self.at_punct(",") {
            self.i += 1;
            out.push(self.assign()?);
        }
        Ok(out)
    }

    pub(super) fn assign(&mut self) -> R<Assign> {
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
    pub(super) fn union_items(&mut self) -> R<Vec<Ex>> {
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
}
