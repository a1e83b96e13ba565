//! The boolean/value expression grammar EQL and ES|QL share, parsed by precedence
//! climbing into a small tree with byte spans (kept so an unmapped part can be shown as
//! written). Lowering to the IR is per language: the case rules differ.
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | cmp
//! cmp     := sum [ (== != < <= > >= : like like~ regex regex~ rlike in in~ seq)
//!                  ["not"] sum | "is" ["not"] "null" ]
//! sum     := prod (("+" | "-") prod)*
//! prod    := unary (("*" | "/" | "%") unary)*
//! unary   := "-" unary | postfix
//! postfix := primary ("::" type)*
//! primary := literal | name | name "(" args ")" | "(" expr ("," expr)* ")"
//! ```

use super::lexer::{SyntaxError, Tok, Token};

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Field(String),
    Str(String),
    Num(f64),
    /// A time span (`5 minutes`, `1h`).
    Duration(String),
    Bool(bool),
    Null,
    /// `(a, b, c)`: the right side of `in`, `:`, `like`.
    List(Vec<Ast>),
    /// Name as written (EQL keeps a trailing `~`).
    Call(String, Vec<Ast>),
    Not(Box<Ast>),
    And(Vec<Ast>),
    Or(Vec<Ast>),
    /// A comparison or arithmetic operator, lower-cased (`==`, `like~`, `in`, `+`...).
    /// `negated` for `not in`, `not like`, `is not null`.
    Binary {
        op: String,
        negated: bool,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
    /// `x is null` (`negated` for `is not null`).
    IsNull {
        negated: bool,
        item: Box<Ast>,
    },
    Neg(Box<Ast>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ast {
    pub node: Node,
    pub start: usize,
    pub end: usize,
}

impl Ast {
    /// The source text of this node.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// Units of ES|QL time spans.
const TIME_UNITS: &[&str] = &[
    "millisecond",
    "milliseconds",
    "ms",
    "second",
    "seconds",
    "sec",
    "s",
    "minute",
    "minutes",
    "min",
    "hour",
    "hours",
    "h",
    "day",
    "days",
    "d",
    "week",
    "weeks",
    "w",
    "month",
    "months",
    "mo",
    "quarter",
    "quarters",
    "q",
    "year",
    "years",
    "yr",
    "y",
];

/// Comparison operators written as words (matched ignoring case).
const WORD_OPS: &[&str] = &[
    "like", "like~", "regex", "regex~", "rlike", "in", "in~", "seq", "seq~",
];
const SYMBOL_OPS: &[&str] = &["==", "!=", "<", "<=", ">", ">=", ":"];

/// Parser over a token slice; `pos` moves forward only.
pub struct Parser<'a> {
    pub src: &'a str,
    pub toks: &'a [Token],
    pub pos: usize,
    /// Current nesting, bounded by [`MAX_DEPTH`] so a hostile query cannot exhaust the stack.
    depth: usize,
}

/// Deepest nesting of parentheses, `not`s, calls and signs an expression may have.
pub const MAX_DEPTH: usize = 100;

impl<'a> Parser<'a> {
    pub fn new(src: &'a str, toks: &'a [Token]) -> Self {
        Parser {
            src,
            toks,
            pos: 0,
            depth: 0,
        }
    }

    pub fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }
    pub fn peek_at(&self, k: usize) -> Option<&'a Token> {
        self.toks.get(self.pos + k)
    }
    pub fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }
    pub fn bump(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }
    /// Byte offset of the next token (the end of the last one when none is left).
    pub fn here(&self) -> usize {
        self.peek()
            .map(|t| t.start)
            .unwrap_or_else(|| self.prev_end())
    }
    /// End offset of the last consumed token.
    pub fn prev_end(&self) -> usize {
        self.pos
            .min(self.toks.len())
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map(|t| t.end)
            .unwrap_or(0)
    }
    pub fn err(&self, msg: impl Into<String>) -> SyntaxError {
        SyntaxError::at(self.src, self.here(), msg)
    }
    pub fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    pub fn eat_punct(&mut self, p: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(p)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    pub fn expect_punct(&mut self, p: &str) -> Result<(), SyntaxError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{p}`{}", self.found())))
        }
    }
    /// ", found `x`" for error messages.
    pub fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!(", found `{}`", &self.src[t.start..t.end]),
            None => ", found the end of the query".to_string(),
        }
    }

    pub fn expr(&mut self) -> Result<Ast, SyntaxError> {
        self.or()
    }

    fn or(&mut self) -> Result<Ast, SyntaxError> {
        let first = self.and()?;
        let mut items = vec![first];
        while self.eat_kw("or") {
            items.push(self.and()?);
        }
        Ok(join(items, Node::Or))
    }

    fn and(&mut self) -> Result<Ast, SyntaxError> {
        let first = self.not()?;
        let mut items = vec![first];
        while self.eat_kw("and") {
            items.push(self.not()?);
        }
        Ok(join(items, Node::And))
    }

    /// Runs `f` one nesting level deeper.
    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Ast, SyntaxError>,
    ) -> Result<Ast, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn not(&mut self) -> Result<Ast, SyntaxError> {
        self.nested(Self::not_inner)
    }

    fn not_inner(&mut self) -> Result<Ast, SyntaxError> {
        let start = self.here();
        if self.eat_kw("not") {
            let item = self.not()?;
            return Ok(Ast {
                start,
                end: item.end,
                node: Node::Not(Box::new(item)),
            });
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Ast, SyntaxError> {
        let lhs = self.sum()?;
        let start = lhs.start;
        let Some(t) = self.peek() else {
            return Ok(lhs);
        };
        if t.is_kw("is") {
            self.pos += 1;
            let negated = self.eat_kw("not");
            if !self.eat_kw("null") {
                return Err(self.err(format!("expected `null` after `is`{}", self.found())));
            }
            return Ok(Ast {
                start,
                end: self.prev_end(),
                node: Node::IsNull {
                    negated,
                    item: Box::new(lhs),
                },
            });
        }
        // `x not in (...)`, `x not like "..."`.
        let mut negated = false;
        let mut k = 0;
        if t.is_kw("not")
            && self
                .peek_at(1)
                .is_some_and(|n| WORD_OPS.iter().any(|w| n.is_kw(w)))
        {
            negated = true;
            k = 1;
        }
        let Some(op_tok) = self.peek_at(k) else {
            return Ok(lhs);
        };
        let op = match &op_tok.tok {
            Tok::Ident(s) if WORD_OPS.iter().any(|w| s.eq_ignore_ascii_case(w)) => {
                s.to_ascii_lowercase()
            }
            Tok::Punct(p) if !negated && SYMBOL_OPS.contains(p) => p.to_string(),
            _ => return Ok(lhs),
        };
        self.pos += k + 1;
        let rhs = self.sum()?;
        Ok(Ast {
            start,
            end: rhs.end,
            node: Node::Binary {
                op,
                negated,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        })
    }

    fn sum(&mut self) -> Result<Ast, SyntaxError> {
        let mut lhs = self.prod()?;
        let mut terms = 0;
        while let Some(op) = self
            .peek()
            .and_then(|t| ["+", "-"].into_iter().find(|p| t.is_punct(p)))
        {
            // Each operator nests the tree one level deeper.
            terms += 1;
            if terms > MAX_DEPTH {
                return Err(self.err(format!("more than {MAX_DEPTH} operators in a row")));
            }
            self.pos += 1;
            let rhs = self.prod()?;
            lhs = binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn prod(&mut self) -> Result<Ast, SyntaxError> {
        let mut lhs = self.unary()?;
        let mut terms = 0;
        while let Some(op) = self
            .peek()
            .and_then(|t| ["*", "/", "%"].into_iter().find(|p| t.is_punct(p)))
        {
            // Each operator nests the tree one level deeper.
            terms += 1;
            if terms > MAX_DEPTH {
                return Err(self.err(format!("more than {MAX_DEPTH} operators in a row")));
            }
            self.pos += 1;
            let rhs = self.unary()?;
            lhs = binary(op, lhs, rhs);
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Ast, SyntaxError> {
        self.nested(Self::unary_inner)
    }

    fn unary_inner(&mut self) -> Result<Ast, SyntaxError> {
        let start = self.here();
        if self.eat_punct("-") {
            let item = self.unary()?;
            let end = item.end;
            let node = match item.node {
                Node::Num(n) => Node::Num(-n),
                _ => Node::Neg(Box::new(item)),
            };
            return Ok(Ast { node, start, end });
        }
        let mut item = self.primary()?;
        // ES|QL casts (`x::string`) do not change what is compared.
        while self.eat_punct("::") {
            match self.bump() {
                Some(Token {
                    tok: Tok::Ident(_), ..
                }) => item.end = self.prev_end(),
                _ => return Err(self.err("expected a type after `::`")),
            }
        }
        Ok(item)
    }

    fn primary(&mut self) -> Result<Ast, SyntaxError> {
        let start = self.here();
        let Some(t) = self.bump() else {
            return Err(self.err("expected a value, found the end of the query"));
        };
        let node = match &t.tok {
            Tok::Str(s) => Node::Str(s.clone()),
            Tok::Num(n) => match n.parse::<f64>() {
                Ok(v) => {
                    // ES|QL time spans: `5 minutes`.
                    match self.peek().map(|u| &u.tok) {
                        Some(Tok::Ident(u))
                            if TIME_UNITS.contains(&u.to_ascii_lowercase().as_str()) =>
                        {
                            self.pos += 1;
                            Node::Duration(format!("{n} {u}"))
                        }
                        _ => Node::Num(v),
                    }
                }
                Err(_)
                    if n.trim_start_matches(|c: char| c.is_ascii_digit())
                        .chars()
                        .all(|c| c.is_ascii_alphabetic()) =>
                {
                    Node::Duration(n.clone())
                }
                Err(_) => {
                    return Err(SyntaxError::at(
                        self.src,
                        t.start,
                        format!("`{n}` is not a number"),
                    ))
                }
            },
            Tok::Quoted(s) => Node::Field(s.clone()),
            Tok::Ident(s) => {
                let keyword = ["and", "or", "not", "in", "where", "by", "with"]
                    .iter()
                    .any(|k| s.eq_ignore_ascii_case(k));
                if !keyword && self.peek().is_some_and(|n| n.is_punct("(")) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !self.eat_punct(")") {
                        loop {
                            // `COUNT(*)`
                            if self.peek().is_some_and(|n| n.is_punct("*")) {
                                let s = self.here();
                                self.pos += 1;
                                args.push(Ast {
                                    node: Node::Field("*".into()),
                                    start: s,
                                    end: s + 1,
                                });
                            } else {
                                args.push(self.expr()?);
                            }
                            if self.eat_punct(")") {
                                break;
                            }
                            self.expect_punct(",")?;
                        }
                    }
                    Node::Call(s.clone(), args)
                } else {
                    match s.to_ascii_lowercase().as_str() {
                        "true" => Node::Bool(true),
                        "false" => Node::Bool(false),
                        "null" => Node::Null,
                        "and" | "or" | "not" | "in" | "like" | "where" | "by" => {
                            return Err(SyntaxError::at(
                                self.src,
                                t.start,
                                format!("expected a value, found `{s}`"),
                            ))
                        }
                        _ => Node::Field(s.clone()),
                    }
                }
            }
            Tok::Punct("(") => {
                let first = self.expr()?;
                if self.eat_punct(")") {
                    // Keep the parentheses in the span, not in the tree.
                    return Ok(Ast {
                        node: first.node,
                        start,
                        end: self.prev_end(),
                    });
                }
                let mut items = vec![first];
                while self.eat_punct(",") {
                    if self.peek().is_some_and(|n| n.is_punct(")")) {
                        break; // trailing comma
                    }
                    items.push(self.expr()?);
                }
                self.expect_punct(")")?;
                Node::List(items)
            }
            _ => {
                return Err(SyntaxError::at(
                    self.src,
                    t.start,
                    format!("expected a value, found `{}`", &self.src[t.start..t.end]),
                ))
            }
        };
        Ok(Ast {
            node,
            start,
            end: self.prev_end(),
        })
    }
}

fn join(mut items: Vec<Ast>, f: fn(Vec<Ast>) -> Node) -> Ast {
    if items.len() == 1 {
        return items.pop().unwrap_or_else(|| unreachable!());
    }
    let start = items.first().map(|a| a.start).unwrap_or(0);
    let end = items.last().map(|a| a.end).unwrap_or(0);
    Ast {
        node: f(items),
        start,
        end,
    }
}

fn binary(op: &str, lhs: Ast, rhs: Ast) -> Ast {
    Ast {
        start: lhs.start,
        end: rhs.end,
        node: Node::Binary {
            op: op.to_string(),
            negated: false,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    fn parse(s: &str) -> Ast {
        let toks = lex(s).unwrap();
        let mut p = Parser::new(s, &toks);
        let a = p.expr().unwrap();
        assert!(p.at_end(), "left over in {s}");
        a
    }

    #[test]
    fn precedence() {
        let a = parse("a == 1 or b : \"x\" and not c in (\"p\", \"q\")");
        let Node::Or(items) = &a.node else {
            panic!("{a:?}")
        };
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[1].node, Node::And(v) if v.len() == 2));
    }

    #[test]
    fn negated_word_ops_and_is_null() {
        let a = parse("x not in (1, 2)");
        assert!(matches!(&a.node, Node::Binary { op, negated: true, .. } if op == "in"));
        let a = parse("x IS NOT NULL");
        assert!(matches!(&a.node, Node::IsNull { negated: true, .. }));
    }

    #[test]
    fn calls_spans_and_casts() {
        let s = "length(f) > 5 and to_string(ip)::keyword == \"x\"";
        let a = parse(s);
        let Node::And(items) = &a.node else { panic!() };
        assert_eq!(items[0].text(s), "length(f) > 5");
        assert!(
            matches!(&items[1].node, Node::Binary { lhs, .. } if matches!(&lhs.node, Node::Call(n, _) if n == "to_string"))
        );
    }
}
