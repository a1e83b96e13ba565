//! Recursive-descent parser for YARA-L 2.0 rules, with precedence climbing for expressions.
//!
//! Precedence, loosest first: `or`, `and`, `not`/`!`, `any`/`all`, comparison and `in`,
//! `+ -`, `* /`, unary `-`, primaries. In the events section a statement that ends
//! without an operator is ANDed with the next one (`a or b ⏎ c` is `(a or b) and c`).

use super::ast::*;
use super::lexer::{lex, Tok, Token};
use super::ParseError;

const SECTIONS: &[&str] = &[
    "meta",
    "events",
    "match",
    "outcome",
    "condition",
    "options",
    "setup",
];

/// Parses every `rule` block of a file.
pub fn parse_file(src: &str) -> Result<Vec<RuleAst>, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    let mut rules = Vec::new();
    while !p.at_end() {
        rules.push(p.rule()?);
    }
    if rules.is_empty() {
        return Err(ParseError {
            line: 1,
            col: 1,
            message: "no `rule name { ... }` block in this file".into(),
        });
    }
    Ok(rules)
}

/// Parses one boolean expression (used by tests and for condition snippets).
pub fn parse_expr(src: &str) -> Result<Ast, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    let e = p.or()?;
    if !p.at_end() {
        return Err(p.unexpected("the end of the expression"));
    }
    Ok(e)
}

/// Nesting deeper than this is refused (a hostile file must not overflow the stack).
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }
    fn peek_at(&self, n: usize) -> Option<&Token> {
        self.toks.get(self.i + n)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.i).cloned();
        if t.is_some() {
            self.i += 1;
        }
        t
    }
    fn span_of(t: &Token) -> Span {
        Span {
            start: t.start,
            end: t.end,
            line: t.line,
            col: t.col,
        }
    }
    /// Span of the last consumed token.
    fn prev_span(&self) -> Span {
        self.toks
            .get(self.i.wrapping_sub(1))
            .map(Self::span_of)
            .unwrap_or_default()
    }
    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => Self::span_of(t),
            None => self.eof_span(),
        }
    }
    fn eof_span(&self) -> Span {
        let line = self.src.lines().count().max(1);
        let col = self
            .src
            .lines()
            .last()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        Span {
            start: self.src.len(),
            end: self.src.len(),
            line,
            col,
        }
    }
    #[inline(never)]
    fn error_at(&self, span: Span, message: impl Into<String>) -> ParseError {
        ParseError {
            line: span.line,
            col: span.col,
            message: message.into(),
        }
    }
    #[inline(never)]
    fn unexpected(&self, wanted: &str) -> ParseError {
        match self.peek() {
            Some(t) => self.error_at(
                Self::span_of(t),
                format!("expected {wanted}, found {}", t.describe()),
            ),
            None => self.error_at(
                self.eof_span(),
                format!("expected {wanted}, found the end of the file"),
            ),
        }
    }
    fn eat_punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_punct(&mut self, p: &str) -> Result<Span, ParseError> {
        if self.eat_punct(p) {
            Ok(self.prev_span())
        } else {
            Err(self.unexpected(&format!("`{p}`")))
        }
    }
    /// Fails at `word:` where word is not a section name (a misspelt section).
    fn check_unknown_section(&self) -> Result<(), ParseError> {
        if let (Some(t), Some(n)) = (self.peek(), self.peek_at(1)) {
            if let Tok::Ident(w) = &t.tok {
                if n.is_punct(":") && !SECTIONS.contains(&w.to_ascii_lowercase().as_str()) {
                    return Err(self.error_at(
                        Self::span_of(t),
                        format!(
                            "unknown section `{w}:` (sections are {})",
                            SECTIONS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// True at `name:` where name is a section keyword, or at the closing `}`.
    fn at_section_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(t) if t.is_punct("}") => true,
            Some(t) => {
                matches!(&t.tok, Tok::Ident(s) if SECTIONS.contains(&s.to_ascii_lowercase().as_str()))
                    && self.peek_at(1).is_some_and(|n| n.is_punct(":"))
            }
        }
    }

    fn rule(&mut self) -> Result<RuleAst, ParseError> {
        let start = self.here();
        if !self.eat_kw("rule") {
            return Err(self.unexpected("`rule`"));
        }
        let name = match self.next() {
            Some(Token {
                tok: Tok::Ident(n), ..
            }) => n,
            _ => {
                self.i = self.i.saturating_sub(1);
                return Err(self.unexpected("the rule name"));
            }
        };
        self.expect_punct("{")?;
        let mut rule = RuleAst {
            name,
            span: start,
            meta: Vec::new(),
            events: Vec::new(),
            match_section: None,
            outcome: Vec::new(),
            condition: None,
            options: Vec::new(),
            sections: Vec::new(),
        };
        loop {
            let Some(t) = self.peek().cloned() else {
                return Err(self.unexpected("`}` closing the rule"));
            };
            if t.is_punct("}") {
                self.i += 1;
                break;
            }
            let section = match &t.tok {
                Tok::Ident(s)
                    if SECTIONS.contains(&s.to_ascii_lowercase().as_str())
                        && self.peek_at(1).is_some_and(|n| n.is_punct(":")) =>
                {
                    s.to_ascii_lowercase()
                }
                _ => {
                    self.check_unknown_section()?;
                    return Err(self.unexpected(
                        "a section (`meta:`, `events:`, `match:`, `outcome:`, `condition:`, `options:`) or `}`",
                    ));
                }
            };
            if rule.sections.contains(&section) {
                return Err(self.error_at(
                    Self::span_of(&t),
                    format!("section `{section}:` appears twice"),
                ));
            }
            self.i += 2;
            match section.as_str() {
                "meta" => rule.meta = self.assignments()?,
                "options" => rule.options = self.assignments()?,
                "events" | "setup" => {
                    let stmts = self.statements()?;
                    if section == "events" {
                        rule.events = stmts;
                    } else {
                        rule.events.extend(stmts);
                    }
                }
                "match" => rule.match_section = Some(self.match_section()?),
                "outcome" => rule.outcome = self.outcome()?,
                "condition" => {
                    let stmts = self.statements()?;
                    let span = stmts
                        .first()
                        .map(|s| s.span.to(stmts.last().map(|l| l.span).unwrap_or(s.span)));
                    rule.condition = match (stmts.len(), span) {
                        (0, _) => None,
                        (1, _) => stmts.into_iter().next(),
                        (_, Some(span)) => Some(Ast {
                            kind: Kind::And(stmts),
                            span,
                        }),
                        _ => None,
                    };
                }
                _ => unreachable!("section names are listed in SECTIONS"),
            }
            rule.sections.push(section);
        }
        rule.span = start.to(self.prev_span());
        if !rule.sections.iter().any(|s| s == "events") {
            return Err(self.error_at(
                start,
                format!("rule `{}` has no `events:` section", rule.name),
            ));
        }
        if !rule.sections.iter().any(|s| s == "condition") {
            return Err(self.error_at(
                start,
                format!("rule `{}` has no `condition:` section", rule.name),
            ));
        }
        Ok(rule)
    }

    /// `key = value` lines (meta, options).
    fn assignments(&mut self) -> Result<Vec<MetaEntry>, ParseError> {
        let mut out = Vec::new();
        while !self.at_section_end() {
            self.check_unknown_section()?;
            let key_span = self.here();
            let key = match self.next().map(|t| t.tok) {
                Some(Tok::Ident(k)) => k,
                _ => {
                    self.i -= 1;
                    return Err(self.unexpected("a `key = value` line"));
                }
            };
            self.expect_punct("=")?;
            let value = match self.next().map(|t| t.tok) {
                Some(Tok::Str(s)) | Some(Tok::Raw(s)) => s,
                Some(Tok::Num(n)) | Some(Tok::Duration(n)) => n,
                Some(Tok::Ident(w)) => w,
                Some(Tok::Punct("-")) => match self.next().map(|t| t.tok) {
                    Some(Tok::Num(n)) => format!("-{n}"),
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected("a number"));
                    }
                },
                _ => {
                    self.i = self.i.saturating_sub(1);
                    return Err(self.unexpected("a value (a string, number or word)"));
                }
            };
            out.push(MetaEntry {
                key,
                value,
                span: key_span.to(self.prev_span()),
            });
        }
        Ok(out)
    }

    /// Boolean statements up to the next section; several are implicitly ANDed.
    fn statements(&mut self) -> Result<Vec<Ast>, ParseError> {
        let mut out = Vec::new();
        while !self.at_section_end() {
            self.check_unknown_section()?;
            out.push(self.or()?);
        }
        Ok(out)
    }

    fn match_section(&mut self) -> Result<MatchSection, ParseError> {
        let start = self.here();
        let mut vars = Vec::new();
        loop {
            match self.peek().map(|t| t.tok.clone()) {
                Some(Tok::Var(v)) => {
                    vars.push((v, self.here()));
                    self.i += 1;
                }
                _ => return Err(self.unexpected("a match variable (`$name`)")),
            }
            if !self.eat_punct(",") {
                break;
            }
        }
        let mut window = None;
        let mut pivot = None;
        if self.eat_kw("over") {
            window = Some(self.duration()?);
            if self.eat_kw("before") || self.eat_kw("after") {
                let kw = match &self.toks[self.i - 1].tok {
                    Tok::Ident(s) => s.to_ascii_lowercase(),
                    _ => String::new(),
                };
                match self.next().map(|t| t.tok) {
                    Some(Tok::Var(v)) => pivot = Some(format!("{kw} ${v}")),
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected("an event variable"));
                    }
                }
            } else if self.eat_kw("every") {
                let d = self.duration()?;
                pivot = Some(format!("every {d}"));
            }
        }
        if !self.at_section_end() {
            return Err(self.unexpected("`over <duration>` or the next section"));
        }
        let span = start.to(self.prev_span());
        Ok(MatchSection {
            vars,
            window,
            pivot,
            text: self.src[span.start..span.end].to_string(),
            span,
        })
    }

    fn duration(&mut self) -> Result<String, ParseError> {
        match self.next().map(|t| t.tok) {
            Some(Tok::Duration(d)) => Ok(d),
            Some(Tok::Num(n)) => match self.peek().map(|t| t.tok.clone()) {
                Some(Tok::Ident(u))
                    if u.len() <= 7 && u.chars().all(|c| c.is_ascii_alphabetic()) =>
                {
                    self.i += 1;
                    Ok(format!("{n}{u}"))
                }
                _ => Err(self.unexpected("a time unit (`s`, `m`, `h`, `d`)")),
            },
            _ => {
                self.i = self.i.saturating_sub(1);
                Err(self.unexpected("a duration such as `10m`"))
            }
        }
    }

    fn outcome(&mut self) -> Result<Vec<OutcomeEntry>, ParseError> {
        let mut out = Vec::new();
        while !self.at_section_end() {
            self.check_unknown_section()?;
            let start = self.here();
            let var = match self.next().map(|t| t.tok) {
                Some(Tok::Var(v)) => v,
                _ => {
                    self.i -= 1;
                    return Err(self.unexpected("an outcome variable (`$name = ...`)"));
                }
            };
            self.expect_punct("=")?;
            let expr = self.or()?;
            out.push(OutcomeEntry {
                var,
                span: start.to(expr.span),
                expr,
            });
        }
        Ok(out)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.here(), "expression nested too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Ast, ParseError> {
        self.enter()?;
        let first = self.and()?;
        let mut items = vec![first];
        while self.eat_kw("or") {
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(join(items, Kind::Or))
    }

    fn and(&mut self) -> Result<Ast, ParseError> {
        let first = self.not()?;
        let mut items = vec![first];
        while self.eat_kw("and") {
            items.push(self.not()?);
        }
        Ok(join(items, Kind::And))
    }

    fn not(&mut self) -> Result<Ast, ParseError> {
        self.enter()?;
        let out = self.not_inner();
        self.depth -= 1;
        out
    }

    fn not_inner(&mut self) -> Result<Ast, ParseError> {
        let start = self.here();
        if self.eat_kw("not") || self.eat_punct("!") {
            let item = self.not()?;
            return Ok(Ast {
                span: start.to(item.span),
                kind: Kind::Not(Box::new(item)),
            });
        }
        // `any`/`all` are keywords only before a value (`all` can also be a function name).
        let quant = self
            .peek()
            .filter(|t| t.is_kw("any") || t.is_kw("all"))
            .filter(|_| {
                !self
                    .peek_at(1)
                    .is_some_and(|n| n.is_punct("(") || n.is_punct(":"))
            })
            .map(|t| t.is_kw("all"));
        if let Some(all) = quant {
            self.i += 1;
            let item = self.not()?;
            return Ok(Ast {
                span: start.to(item.span),
                kind: Kind::Quant {
                    all,
                    item: Box::new(item),
                },
            });
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Ast, ParseError> {
        let lhs = self.add()?;
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Punct("=")) => Some(CmpOp::Eq),
            Some(Tok::Punct("!=")) => Some(CmpOp::Ne),
            Some(Tok::Punct("<")) => Some(CmpOp::Lt),
            Some(Tok::Punct("<=")) => Some(CmpOp::Le),
            Some(Tok::Punct(">")) => Some(CmpOp::Gt),
            Some(Tok::Punct(">=")) => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.i += 1;
            let rhs = self.add()?;
            let mut nocase = matches!(rhs.kind, Kind::Regex { nocase: true, .. });
            if self.eat_kw("nocase") {
                nocase = true;
            }
            return Ok(Ast {
                span: lhs.span.to(self.prev_span()),
                kind: Kind::Cmp {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    nocase,
                },
            });
        }
        if self.eat_kw("in") {
            let mode = if self.eat_kw("regex") {
                ListMode::Regex
            } else if self.eat_kw("cidr") {
                ListMode::Cidr
            } else {
                ListMode::Plain
            };
            let list = match self.next().map(|t| t.tok) {
                Some(Tok::List(l)) => l,
                _ => {
                    self.i -= 1;
                    return Err(self.unexpected("a reference list (`%name`)"));
                }
            };
            let mut column = None;
            if self.eat_punct(".") {
                match self.next().map(|t| t.tok) {
                    Some(Tok::Ident(c)) => column = Some(c),
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected("a data table column name"));
                    }
                }
            }
            let nocase = self.eat_kw("nocase");
            return Ok(Ast {
                span: lhs.span.to(self.prev_span()),
                kind: Kind::In {
                    item: Box::new(lhs),
                    list,
                    column,
                    mode,
                    nocase,
                },
            });
        }
        Ok(lhs)
    }

    fn add(&mut self) -> Result<Ast, ParseError> {
        let mut lhs = self.mul()?;
        // A long chain builds a deep tree: it counts toward the nesting limit.
        let mut chain = 0;
        loop {
            let op = if self.peek().is_some_and(|t| t.is_punct("+")) {
                '+'
            } else if self.peek().is_some_and(|t| t.is_punct("-")) {
                '-'
            } else {
                break;
            };
            self.i += 1;
            self.enter()?;
            chain += 1;
            let rhs = self.mul()?;
            lhs = Ast {
                span: lhs.span.to(rhs.span),
                kind: Kind::Arith {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
        self.depth -= chain;
        Ok(lhs)
    }

    fn mul(&mut self) -> Result<Ast, ParseError> {
        let mut lhs = self.unary()?;
        // A long chain builds a deep tree: it counts toward the nesting limit.
        let mut chain = 0;
        loop {
            let op = if self.peek().is_some_and(|t| t.is_punct("*")) {
                '*'
            } else if self.peek().is_some_and(|t| t.is_punct("/")) {
                '/'
            } else {
                break;
            };
            self.i += 1;
            self.enter()?;
            chain += 1;
            let rhs = self.unary()?;
            lhs = Ast {
                span: lhs.span.to(rhs.span),
                kind: Kind::Arith {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
        self.depth -= chain;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Ast, ParseError> {
        let start = self.here();
        if self.eat_punct("-") {
            self.enter()?;
            let item = self.unary()?;
            self.depth -= 1;
            return Ok(Ast {
                span: start.to(item.span),
                kind: Kind::Neg(Box::new(item)),
            });
        }
        self.primary()
    }

    /// Parentheses and calls recurse; everything else is an atom (kept out of this frame so
    /// each nesting level costs little stack).
    fn primary(&mut self) -> Result<Ast, ParseError> {
        let start = self.here();
        if self.eat_punct("(") {
            let inner = self.or()?;
            self.expect_punct(")")?;
            return Ok(Ast {
                span: start.to(self.prev_span()),
                kind: inner.kind,
            });
        }
        if let Some(name) = self.call_name() {
            return self.call(start, name);
        }
        self.atom(start)
    }

    /// At `name(` or `a.b.c(`: the dotted name, consumed with its `(`.
    fn call_name(&mut self) -> Option<String> {
        let mut j = self.i;
        let mut name = match self.toks.get(j).map(|t| &t.tok) {
            Some(Tok::Ident(w)) => w.clone(),
            _ => return None,
        };
        j += 1;
        loop {
            match (self.toks.get(j), self.toks.get(j + 1)) {
                (
                    Some(d),
                    Some(Token {
                        tok: Tok::Ident(part),
                        ..
                    }),
                ) if d.is_punct(".") => {
                    name.push('.');
                    name.push_str(part);
                    j += 2;
                }
                (Some(p), _) if p.is_punct("(") => {
                    self.i = j + 1;
                    return Some(name);
                }
                _ => return None,
            }
        }
    }

    fn call(&mut self, start: Span, name: String) -> Result<Ast, ParseError> {
        self.enter()?;
        let mut args = Vec::new();
        if !self.eat_punct(")") {
            loop {
                args.push(self.or()?);
                if self.eat_punct(")") {
                    break;
                }
                if !self.eat_punct(",") {
                    return Err(self.unexpected("`,` or `)`"));
                }
            }
        }
        self.depth -= 1;
        let nocase = self.eat_kw("nocase");
        Ok(Ast {
            span: start.to(self.prev_span()),
            kind: Kind::Call { name, args, nocase },
        })
    }

    /// A value that does not nest: literal, variable, UDM path, `#count`, bare word.
    #[inline(never)]
    fn atom(&mut self, start: Span) -> Result<Ast, ParseError> {
        let Some(t) = self.next() else {
            return Err(self.unexpected("a value"));
        };
        let kind = match t.tok {
            Tok::Str(s) | Tok::Raw(s) => Kind::Str(s),
            Tok::Regex(r) => Kind::Regex {
                pattern: r,
                nocase: self.eat_kw("nocase"),
            },
            Tok::Num(n) => Kind::Num(n),
            Tok::Count(c) => Kind::Count(c),
            Tok::Var(v) => {
                let path = self.path()?;
                if path.is_empty() {
                    Kind::Var(v)
                } else {
                    Kind::Field { var: v, path }
                }
            }
            Tok::Ident(w) => {
                let mut name = w;
                while self.peek().is_some_and(|t| t.is_punct("."))
                    && matches!(self.peek_at(1).map(|t| &t.tok), Some(Tok::Ident(_)))
                {
                    if let Some(Tok::Ident(part)) = self.peek_at(1).map(|t| t.tok.clone()) {
                        name.push('.');
                        name.push_str(&part);
                    }
                    self.i += 2;
                }
                if name.eq_ignore_ascii_case("true") {
                    Kind::Bool(true)
                } else if name.eq_ignore_ascii_case("false") {
                    Kind::Bool(false)
                } else if name.eq_ignore_ascii_case("null") {
                    Kind::Null
                } else if is_reserved(&name) {
                    self.i -= 1;
                    return Err(self.error_at(start, format!("expected a value, found `{name}`")));
                } else {
                    Kind::Word(name)
                }
            }
            _ => {
                self.i -= 1;
                return Err(self.unexpected("a value"));
            }
        };
        Ok(Ast {
            span: start.to(self.prev_span()),
            kind,
        })
    }

    /// The `.field`, `["key"]` and `[0]` steps after a variable.
    fn path(&mut self) -> Result<Vec<Seg>, ParseError> {
        let mut path = Vec::new();
        loop {
            if self.peek().is_some_and(|t| t.is_punct(".")) {
                match self.peek_at(1).map(|t| t.tok.clone()) {
                    Some(Tok::Ident(f)) => {
                        self.i += 2;
                        path.push(Seg::Field(f));
                    }
                    _ => {
                        self.i += 1;
                        return Err(self.unexpected("a field name after `.`"));
                    }
                }
            } else if !path.is_empty() && self.eat_punct("[") {
                match self.next().map(|t| t.tok) {
                    Some(Tok::Str(k)) | Some(Tok::Raw(k)) => path.push(Seg::Key(k)),
                    Some(Tok::Num(n)) => path.push(Seg::Index(n)),
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected("a map key string or an index"));
                    }
                }
                self.expect_punct("]")?;
            } else {
                return Ok(path);
            }
        }
    }
}

fn is_reserved(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "and" | "or" | "not" | "in" | "nocase" | "over" | "rule"
    ) || SECTIONS.contains(&w.to_ascii_lowercase().as_str())
}

fn join(mut items: Vec<Ast>, make: fn(Vec<Ast>) -> Kind) -> Ast {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    let span = items[0].span.to(items[items.len() - 1].span);
    Ast {
        kind: make(items),
        span,
    }
}
