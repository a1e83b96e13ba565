//! The eval language of `where`: precedence climbing over `OR`, `XOR`, `AND`, `NOT`,
//! comparisons (`= == != < <= > >= LIKE IN`), `+ - .`, `* / %` and unary minus; function
//! calls; `'quoted field'` names. Then lowered to the IR where the shape is a per-event
//! test (`field op literal`, `like()`, `match()`, `isnull()`, `in()`, `cidrmatch()`,
//! `searchmatch()`); anything else becomes an opaque node with its text.
//!
//! Eval compares strings case-sensitively and has no `*` wildcard; `like()` uses `%` and `_`.
//! A bare name on either side of a comparison is a field, so `a = b` compares two fields.

use super::lexer::{self, Mode, Tok, Token};
use super::search;
use super::ParseError;
use crate::model::{Expr, Op, Predicate, Transform, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum E {
    Num(f64),
    Str(String),
    Field(String),
    Call(String, Vec<Node>),
    /// `OR`, `XOR`, `AND`, comparison and arithmetic operators (upper-case keywords).
    Bin(&'static str, Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    In(Box<Node>, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub e: E,
    pub start: usize,
    pub end: usize,
}

pub struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    /// Current nesting (parentheses, calls, `NOT`s, unary minus).
    depth: usize,
}

/// Parses a whole eval expression.
pub fn parse(toks: &[Token], src: &str) -> Result<Node, ParseError> {
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let n = p.or()?;
    if let Some(t) = p.toks.get(p.pos) {
        return Err(ParseError {
            pos: t.start,
            message: format!("unexpected `{}`", src.get(t.start..t.end).unwrap_or("")),
        });
    }
    Ok(n)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }
    fn kw(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_kw(kw))
    }
    fn end_pos(&self) -> usize {
        self.toks
            .get(self.pos.saturating_sub(1))
            .map(|t| t.end)
            .unwrap_or(0)
    }
    fn fail<T>(&self, message: &str) -> Result<T, ParseError> {
        let pos = self
            .peek()
            .map(|t| t.start)
            .or_else(|| self.toks.last().map(|t| t.end))
            .unwrap_or(0);
        Err(ParseError {
            pos,
            message: message.to_string(),
        })
    }

    fn binary(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut Self) -> Result<Node, ParseError>,
    ) -> Result<Node, ParseError> {
        let mut left = next(self)?;
        'outer: loop {
            for &op in ops {
                let hit = self.peek().is_some_and(|t| {
                    if op.chars().all(|c| c.is_ascii_alphabetic()) {
                        t.is_kw(op)
                    } else {
                        t.is_op(op)
                    }
                });
                if hit {
                    self.pos += 1;
                    let right = next(self)?;
                    let (start, end) = (left.start, right.end);
                    left = Node {
                        e: E::Bin(op, Box::new(left), Box::new(right)),
                        start,
                        end,
                    };
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        self.nested(|p| p.binary(&["OR"], Self::xor))
    }
    /// Runs `f` one level deeper, refusing hostile nesting.
    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Node, ParseError>,
    ) -> Result<Node, ParseError> {
        self.depth += 1;
        if self.depth > search::MAX_NESTING {
            return self.fail(&format!(
                "nested more than {} levels deep",
                search::MAX_NESTING
            ));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }
    fn xor(&mut self) -> Result<Node, ParseError> {
        self.binary(&["XOR"], Self::and)
    }
    fn and(&mut self) -> Result<Node, ParseError> {
        self.binary(&["AND"], Self::not)
    }
    fn not(&mut self) -> Result<Node, ParseError> {
        if self.kw("NOT") {
            let start = self.peek().map(|t| t.start).unwrap_or(0);
            self.pos += 1;
            let inner = self.nested(Self::not)?;
            let end = inner.end;
            return Ok(Node {
                e: E::Not(Box::new(inner)),
                start,
                end,
            });
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Node, ParseError> {
        let left = self.add()?;
        if self.kw("IN") {
            self.pos += 1;
            if !self.peek().is_some_and(|t| t.is_op("(")) {
                return self.fail("`IN` needs a `(` list");
            }
            self.pos += 1;
            let items = self.args()?;
            let (start, end) = (left.start, self.end_pos());
            return Ok(Node {
                e: E::In(Box::new(left), items),
                start,
                end,
            });
        }
        if self.kw("LIKE") {
            self.pos += 1;
            let right = self.add()?;
            let (start, end) = (left.start, right.end);
            return Ok(Node {
                e: E::Call("like".into(), vec![left, right]),
                start,
                end,
            });
        }
        for op in ["==", "=", "!=", "<=", "<", ">=", ">"] {
            if self.peek().is_some_and(|t| t.is_op(op)) {
                self.pos += 1;
                let right = self.add()?;
                let (start, end) = (left.start, right.end);
                let op = if op == "==" { "=" } else { op };
                return Ok(Node {
                    e: E::Bin(op, Box::new(left), Box::new(right)),
                    start,
                    end,
                });
            }
        }
        Ok(left)
    }
    fn add(&mut self) -> Result<Node, ParseError> {
        self.binary(&["+", "-", "."], Self::mul)
    }
    fn mul(&mut self) -> Result<Node, ParseError> {
        self.binary(&["*", "/", "%"], Self::unary)
    }
    fn unary(&mut self) -> Result<Node, ParseError> {
        if self.peek().is_some_and(|t| t.is_op("-")) {
            let start = self.peek().map(|t| t.start).unwrap_or(0);
            self.pos += 1;
            let inner = self.nested(Self::unary)?;
            let end = inner.end;
            return Ok(Node {
                e: E::Neg(Box::new(inner)),
                start,
                end,
            });
        }
        self.primary()
    }
    /// Comma-separated expressions up to `)` (the `(` already taken).
    fn args(&mut self) -> Result<Vec<Node>, ParseError> {
        let mut items = Vec::new();
        if self.peek().is_some_and(|t| t.is_op(")")) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.or()?);
            match self.peek() {
                Some(t) if t.is_op(",") => self.pos += 1,
                Some(t) if t.is_op(")") => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return self.fail("expected `,` or `)`"),
            }
        }
    }
    fn primary(&mut self) -> Result<Node, ParseError> {
        let Some(t) = self.peek() else {
            return self.fail("unexpected end of expression");
        };
        self.pos += 1;
        let node = |e| Node {
            e,
            start: t.start,
            end: t.end,
        };
        match &t.tok {
            Tok::Op("(") => {
                let inner = self.or()?;
                if !self.peek().is_some_and(|c| c.is_op(")")) {
                    return self.fail("unclosed `(`");
                }
                self.pos += 1;
                Ok(Node {
                    e: inner.e,
                    start: t.start,
                    end: self.end_pos(),
                })
            }
            Tok::Str(s) => Ok(node(E::Str(s.clone()))),
            Tok::Field(f) => Ok(node(E::Field(f.clone()))),
            Tok::Word(w) => {
                if self.peek().is_some_and(|n| n.is_op("(")) {
                    self.pos += 1;
                    let args = self.args()?;
                    return Ok(Node {
                        e: E::Call(w.to_ascii_lowercase(), args),
                        start: t.start,
                        end: self.end_pos(),
                    });
                }
                match w.parse::<f64>() {
                    Ok(n)
                        if w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') =>
                    {
                        Ok(node(E::Num(n)))
                    }
                    _ => Ok(node(E::Field(w.clone()))),
                }
            }
            Tok::Macro(_) | Tok::Sub(_) => Ok(node(E::Call("__opaque".into(), Vec::new()))),
            Tok::Op(o) => {
                self.pos -= 1;
                self.fail(&format!("unexpected `{o}`"))
            }
        }
    }
}

/// Lowers an eval expression used as a filter to the IR.
pub fn lower(n: &Node, src: &str) -> Expr {
    let opaque = |reason: &str| Expr::opaque(src.get(n.start..n.end).unwrap_or(""), reason);
    match &n.e {
        E::Bin("OR", l, r) => Expr::any(flatten_or(vec![lower(l, src), lower(r, src)])),
        E::Bin("AND", l, r) => Expr::all(flatten_and(vec![lower(l, src), lower(r, src)])),
        E::Not(inner) => Expr::not(lower(inner, src)),
        E::Bin(op @ ("=" | "!=" | "<" | "<=" | ">" | ">="), l, r) => {
            compare(op, l, r).unwrap_or_else(|| opaque("comparison of computed values"))
        }
        E::In(x, items) => in_list(x, items).unwrap_or_else(|| opaque("`IN` over computed values")),
        E::Call(f, args) => call(f, args).unwrap_or_else(|| {
            if f == "__opaque" {
                opaque("macro or subsearch inside an expression")
            } else {
                opaque(&format!(
                    "`{f}()` is not a per-event test the matcher knows"
                ))
            }
        }),
        E::Field(_) => opaque("a field used as a boolean"),
        _ => opaque("expression is not a per-event test"),
    }
}

fn flatten_or(items: Vec<Expr>) -> Vec<Expr> {
    items
        .into_iter()
        .flat_map(|e| match e {
            Expr::Any { items } => items,
            other => vec![other],
        })
        .collect()
}

fn flatten_and(items: Vec<Expr>) -> Vec<Expr> {
    items
        .into_iter()
        .flat_map(|e| match e {
            Expr::All { items } => items,
            other => vec![other],
        })
        .collect()
}

/// A field, possibly through `lower()`, `upper()` or `len()`.
fn operand(n: &Node) -> Option<(String, Option<Transform>)> {
    match &n.e {
        E::Field(f) => Some((search::field_name(f), None)),
        E::Call(name, args) if args.len() == 1 => {
            let tr = match name.as_str() {
                "lower" => Transform::Lower,
                "upper" => Transform::Upper,
                "len" => Transform::Length,
                _ => return None,
            };
            match &args[0].e {
                E::Field(f) => Some((search::field_name(f), Some(tr))),
                _ => None,
            }
        }
        _ => None,
    }
}

fn literal(n: &Node) -> Option<Value> {
    match &n.e {
        E::Num(x) => Some(Value::Num(*x)),
        E::Str(s) => Some(Value::str(s.as_str())),
        E::Neg(inner) => match inner.e {
            E::Num(x) => Some(Value::Num(-x)),
            _ => None,
        },
        E::Call(f, args) if args.is_empty() && (f == "null") => Some(Value::Null),
        _ => None,
    }
}

fn pred(field: String, op: Op, values: Vec<Value>, tr: Option<Transform>) -> Predicate {
    let mut p = Predicate::field(field, op, values).cased(true);
    p.transform = tr;
    p
}

fn present(field: &str) -> Expr {
    Expr::not(Expr::pred(Predicate::field(field, Op::IsNull, Vec::new())))
}

fn compare(op: &str, l: &Node, r: &Node) -> Option<Expr> {
    let flip = |op: &str| {
        match op {
            "<" => ">",
            "<=" => ">=",
            ">" => "<",
            ">=" => "<=",
            o => o,
        }
        .to_string()
    };
    let (field, tr, value, op) = match (operand(l), literal(r), operand(r), literal(l)) {
        (Some((f, tr)), Some(v), _, _) => (f, tr, v, op.to_string()),
        (_, _, Some((f, tr)), Some(v)) => (f, tr, v, flip(op)),
        (Some((a, None)), None, Some((b, None)), None) if matches!(op, "=" | "!=") => {
            let mut p = Predicate::field(a.clone(), Op::Eq, vec![Value::Str(b)]).cased(true);
            p.field_ref = true;
            let e = Expr::pred(p);
            return Some(if op == "!=" {
                Expr::all(vec![present(&a), Expr::not(e)])
            } else {
                e
            });
        }
        _ => return None,
    };
    if value == Value::Null {
        // `x = null()` is never true in eval; `x != null()` neither.
        return Some(Expr::Const { value: false });
    }
    let ir_op = match op.as_str() {
        "=" | "!=" => Op::Eq,
        "<" => Op::Lt,
        "<=" => Op::Lte,
        ">" => Op::Gt,
        _ => Op::Gte,
    };
    let p = Expr::pred(pred(field.clone(), ir_op, vec![value], tr));
    Some(if op == "!=" {
        Expr::all(vec![present(&field), Expr::not(p)])
    } else {
        p
    })
}

fn in_list(x: &Node, items: &[Node]) -> Option<Expr> {
    let (field, tr) = operand(x)?;
    let values: Option<Vec<Value>> = items.iter().map(literal).collect();
    Some(Expr::pred(pred(field, Op::Eq, values?, tr)))
}

/// `like()` patterns as IR globs: `%` any run, `_` one character.
pub fn like_to_glob(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' | '?' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn str_arg(n: &Node) -> Option<&str> {
    match &n.e {
        E::Str(s) => Some(s),
        _ => None,
    }
}

fn call(f: &str, args: &[Node]) -> Option<Expr> {
    match (f, args) {
        ("like", [x, p]) => {
            let (field, tr) = operand(x)?;
            let pat = str_arg(p)?;
            Some(Expr::pred(pred(
                field,
                Op::Glob,
                vec![Value::str(like_to_glob(pat))],
                tr,
            )))
        }
        ("match", [x, p]) => {
            let (field, tr) = operand(x)?;
            let re = str_arg(p)?;
            Some(Expr::pred(pred(field, Op::Regex, vec![Value::str(re)], tr)))
        }
        ("isnull", [x]) => {
            let (field, None) = operand(x)? else {
                return None;
            };
            Some(Expr::pred(Predicate::field(field, Op::IsNull, Vec::new())))
        }
        ("isnotnull", [x]) => {
            let (field, None) = operand(x)? else {
                return None;
            };
            Some(present(&field))
        }
        ("in", [x, rest @ ..]) if !rest.is_empty() => in_list(x, rest),
        ("cidrmatch", [c, x]) => {
            let (field, None) = operand(x)? else {
                return None;
            };
            let cidr = str_arg(c)?;
            Some(Expr::pred(Predicate::field(
                field,
                Op::Cidr,
                vec![Value::str(cidr)],
            )))
        }
        ("searchmatch", [s]) => {
            let text = str_arg(s)?;
            let toks = lexer::lex(text, 0, Mode::Search).ok()?;
            search::Parser::new(&toks, text).parse().ok()
        }
        ("true", []) => Some(Expr::Const { value: true }),
        ("false", []) => Some(Expr::Const { value: false }),
        _ => None,
    }
}
