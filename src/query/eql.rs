//! Elastic EQL front end.
//!
//! ```text
//! query    := (event | sequence | sample) ("|" pipe)*
//! event    := category "where" expr          (category: a name, "any" or a string)
//! sequence := "sequence" [by keys] [with maxspan "=" span] step+ ["until" step]
//! sample   := "sample" [by keys] step+
//! step     := "[" event "]" [by keys] [with runs "=" n]
//! ```
//!
//! Case rules of Elasticsearch EQL: `==`, `!=`, `in`, `like`, `regex` and functions are
//! case-sensitive; `:` and the `~` forms (`like~`, `in~`, `regex~`, `startsWith~`) are not.
//! `:` and `like` take `*` and `?` wildcards (a backslash is a plain character). `regex`
//! patterns are Lucene regexes matching the whole value. `<category> where` adds an
//! `event.category` predicate (or on the rule's `event_category_override` field).
//! `| head n` / `| tail n` only limit how many results come back and are not part of the
//! condition; other pipes make the whole query an aggregation.

pub mod ast;
pub mod lexer;

use crate::model::{Detection, Expr, Op, Predicate, Transform, Value};
use ast::{Ast, Node, Parser};
pub use lexer::SyntaxError;
use lexer::{lex, Tok};

/// Parses an EQL query. `category_field` is where `<category> where` looks
/// (`event.category` unless the rule overrides it).
pub fn parse(text: &str, category_field: &str) -> Result<Detection, SyntaxError> {
    let toks = lex(text)?;
    let mut p = Parser::new(text, &toks);
    let mut expr = if p.peek().is_some_and(|t| t.is_kw("sequence")) {
        p.pos += 1;
        sequence(&mut p, category_field, true)?
    } else if p.peek().is_some_and(|t| t.is_kw("sample")) {
        p.pos += 1;
        sequence(&mut p, category_field, false)?
    } else {
        event_query(&mut p, category_field)?
    };
    let mut pipes = Vec::new();
    while p.eat_punct("|") {
        let start = p.here();
        let name = match p.bump() {
            Some(t) => match &t.tok {
                Tok::Ident(s) => s.to_ascii_lowercase(),
                _ => return Err(p.err("expected a pipe name after `|`")),
            },
            None => return Err(p.err("expected a pipe name after `|`")),
        };
        while p.peek().is_some_and(|t| !t.is_punct("|")) {
            p.pos += 1;
        }
        if name != "head" && name != "tail" {
            pipes.push(text[start..p.prev_end()].trim().to_string());
        }
    }
    if !p.at_end() {
        return Err(p.err(format!("unexpected text{}", p.found())));
    }
    if !pipes.is_empty() {
        expr = Expr::Aggregate {
            description: format!("EQL pipes: {}", pipes.join(" | ")),
            item: Box::new(expr),
        };
    }
    Ok(Detection {
        expr,
        output_fields: Vec::new(),
    })
}

/// `category where expr`.
fn event_query(p: &mut Parser, category_field: &str) -> Result<Expr, SyntaxError> {
    let category = match p.bump().map(|t| &t.tok) {
        Some(Tok::Ident(s)) | Some(Tok::Str(s)) => s.clone(),
        _ => {
            p.pos = p.pos.saturating_sub(1);
            return Err(p.err(format!("expected an event category{}", p.found())));
        }
    };
    if !p.eat_kw("where") {
        return Err(p.err(format!("expected `where`{}", p.found())));
    }
    let cond = p.expr()?;
    let cond = lower(p.src, &cond);
    let mut items = Vec::new();
    if !category.eq_ignore_ascii_case("any") {
        items.push(Expr::Pred(
            Predicate::field(category_field, Op::Eq, vec![Value::Str(category)]).cased(true),
        ));
    }
    if !matches!(cond, Expr::Const { value: true }) {
        items.push(cond);
    }
    Ok(if items.is_empty() {
        Expr::Const { value: true }
    } else {
        Expr::all(items)
    })
}

/// `by a, b` keys, as written.
fn keys(p: &mut Parser) -> Result<Vec<String>, SyntaxError> {
    let mut out = Vec::new();
    if !p.eat_kw("by") {
        return Ok(out);
    }
    loop {
        let k = p.expr()?;
        out.push(k.text(p.src).to_string());
        if !p.eat_punct(",") {
            return Ok(out);
        }
    }
}

/// `with maxspan=5m` / `with runs=3`: the option name and value.
fn with_option(p: &mut Parser) -> Result<Option<(String, String)>, SyntaxError> {
    if !p.eat_kw("with") {
        return Ok(None);
    }
    let name = match p.bump().map(|t| &t.tok) {
        Some(Tok::Ident(s)) => s.to_ascii_lowercase(),
        _ => return Err(p.err("expected an option name after `with`")),
    };
    p.expect_punct("=")?;
    let value = match p.bump().map(|t| &t.tok) {
        Some(Tok::Num(n)) => n.clone(),
        _ => return Err(p.err(format!("expected a number for `{name}`"))),
    };
    Ok(Some((name, value)))
}

/// After `sequence` (ordered) or `sample` (unordered).
fn sequence(p: &mut Parser, category_field: &str, ordered: bool) -> Result<Expr, SyntaxError> {
    let mut by = Vec::new();
    let mut window = None;
    // `by` and `with maxspan` come in either order.
    for _ in 0..2 {
        if p.peek().is_some_and(|t| t.is_kw("by")) {
            by = keys(p)?;
        } else if p.peek().is_some_and(|t| t.is_kw("with")) {
            if let Some((name, value)) = with_option(p)? {
                if name != "maxspan" {
                    return Err(p.err(format!("unknown sequence option `{name}`")));
                }
                window = Some(value);
            }
        }
    }
    let mut steps = Vec::new();
    loop {
        if p.peek().is_some_and(|t| t.is_punct("[")) {
            steps.push(step(p, category_field)?);
        } else if p.peek().is_some_and(|t| t.is_punct("!"))
            && p.peek_at(1).is_some_and(|t| t.is_punct("["))
        {
            // A missing-event step: no such event in its place.
            p.pos += 1;
            let s = step(p, category_field)?;
            steps.push(Expr::named("missing", Expr::not(s)));
        } else {
            break;
        }
    }
    if steps.is_empty() {
        return Err(p.err(format!("expected `[` to start a step{}", p.found())));
    }
    if p.eat_kw("until") {
        if !p.peek().is_some_and(|t| t.is_punct("[")) {
            return Err(p.err("expected `[` after `until`"));
        }
        let until = step(p, category_field)?;
        // The sequence holds unless the `until` event came first.
        steps.push(Expr::named("until", Expr::not(until)));
    }
    Ok(Expr::Sequence {
        ordered,
        by,
        window,
        steps,
    })
}

fn step(p: &mut Parser, category_field: &str) -> Result<Expr, SyntaxError> {
    p.expect_punct("[")?;
    let category = p
        .peek()
        .map(|t| p.src[t.start..t.end].to_string())
        .unwrap_or_default();
    let expr = event_query(p, category_field)?;
    p.expect_punct("]")?;
    let mut name = category;
    let by = keys(p)?;
    if !by.is_empty() {
        name.push_str(&format!(" by {}", by.join(", ")));
    }
    if let Some((opt, value)) = with_option(p)? {
        name.push_str(&format!(" with {opt}={value}"));
    }
    Ok(Expr::named(name, expr))
}

/// Lowers an EQL boolean expression.
pub fn lower(src: &str, a: &Ast) -> Expr {
    match &a.node {
        Node::And(items) => Expr::all(items.iter().map(|i| lower(src, i)).collect()),
        Node::Or(items) => Expr::any(items.iter().map(|i| lower(src, i)).collect()),
        Node::Not(item) => Expr::not(lower(src, item)),
        Node::Bool(b) => Expr::Const { value: *b },
        Node::Field(f) => {
            Expr::Pred(Predicate::field(f.clone(), Op::Eq, vec![Value::Bool(true)]).cased(true))
        }
        Node::Call(name, args) => call(src, a, name, args),
        Node::Binary {
            op,
            negated,
            lhs,
            rhs,
        } => {
            let e = compare(src, a, op, lhs, rhs);
            if *negated {
                Expr::not(e)
            } else {
                e
            }
        }
        Node::IsNull { negated, item } => match &item.node {
            Node::Field(f) => {
                let e = Expr::Pred(Predicate::field(f.clone(), Op::IsNull, vec![]));
                if *negated {
                    Expr::not(e)
                } else {
                    e
                }
            }
            _ => opaque(src, a, "a null test of a computed value"),
        },
        _ => opaque(src, a, "not a condition"),
    }
}

pub(crate) fn opaque(src: &str, a: &Ast, reason: &str) -> Expr {
    Expr::opaque(a.text(src), reason)
}

/// The field a comparison tests and the transform applied to it (`length(f)`).
pub(crate) fn subject(a: &Ast) -> Option<(String, Option<Transform>)> {
    match &a.node {
        Node::Field(f) => Some((f.clone(), None)),
        Node::Call(name, args) if args.len() == 1 => {
            let tr = match name.to_ascii_lowercase().as_str() {
                "length" => Some(Transform::Length),
                "to_lower" => Some(Transform::Lower),
                "to_upper" => Some(Transform::Upper),
                // Conversions that keep the value as the matcher sees it.
                "string" | "to_string" | "to_str" | "to_ip" | "to_integer" | "to_long"
                | "to_double" | "number" => None,
                _ => return None,
            };
            let (f, inner) = subject(&args[0])?;
            match (inner, tr) {
                (Some(_), Some(_)) => None,
                (a, b) => Some((f, a.or(b))),
            }
        }
        _ => None,
    }
}

/// Literal values of a right-hand side (one literal or a list of them).
pub(crate) fn literals(a: &Ast) -> Option<Vec<Value>> {
    fn one(a: &Ast) -> Option<Value> {
        match &a.node {
            Node::Str(s) => Some(Value::Str(s.clone())),
            Node::Num(n) => Some(Value::Num(*n)),
            Node::Bool(b) => Some(Value::Bool(*b)),
            Node::Null => Some(Value::Null),
            _ => None,
        }
    }
    match &a.node {
        Node::List(items) => items.iter().map(one).collect(),
        _ => one(a).map(|v| vec![v]),
    }
}

/// True when an EQL wildcard pattern has `*` or `?`.
pub(crate) fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// An EQL wildcard pattern (where `\` is a plain character) in the matcher's glob syntax.
pub(crate) fn glob_of_plain_backslashes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' && matches!(chars.peek(), Some('*' | '?' | '\\')) {
            out.push('\\');
        }
    }
    out
}

fn compare(src: &str, whole: &Ast, op: &str, lhs: &Ast, rhs: &Ast) -> Expr {
    // `startsWith~(a, "b") == false`
    if let (Node::Call(name, args), Node::Bool(b), "==" | "!=") = (&lhs.node, &rhs.node, op) {
        let e = call(src, lhs, name, args);
        return if (*b) == (op == "==") {
            e
        } else {
            Expr::not(e)
        };
    }
    let Some((field, transform)) = subject(lhs) else {
        return opaque(src, whole, "compares a computed value");
    };
    let insensitive = op.ends_with('~') || op == ":";
    let base = op.trim_end_matches('~');
    // field == other.field
    if let Node::Field(other) = &rhs.node {
        let fop = match base {
            "==" | "!=" | ":" => Op::Eq,
            "<" => Op::Lt,
            "<=" => Op::Lte,
            ">" => Op::Gt,
            ">=" => Op::Gte,
            _ => return opaque(src, whole, "compares two fields with this operator"),
        };
        let mut p =
            Predicate::field(field, fop, vec![Value::Str(other.clone())]).cased(!insensitive);
        p.field_ref = true;
        p.transform = transform;
        let e = Expr::Pred(p);
        return if base == "!=" { Expr::not(e) } else { e };
    }
    let Some(values) = literals(rhs) else {
        return opaque(src, whole, "compares with a computed value");
    };
    let strings = || values.iter().all(|v| matches!(v, Value::Str(_)));
    let (fop, values, negate) = match base {
        "==" | "!=" if values == [Value::Null] => (Op::IsNull, vec![], base == "!="),
        "==" | "in" => (Op::Eq, values, false),
        "!=" => (Op::Eq, values, true),
        ":" | "like" => {
            if strings() && values.iter().any(|v| has_wildcard(&v.to_string())) {
                let globs = values
                    .iter()
                    .map(|v| Value::Str(glob_of_plain_backslashes(&v.to_string())))
                    .collect();
                (Op::Glob, globs, false)
            } else {
                (Op::Eq, values, false)
            }
        }
        "regex" => {
            let mut pats = Vec::new();
            for v in &values {
                match crate::query::lucene::regex::to_rust(&v.to_string()) {
                    Ok(r) => pats.push(Value::Str(r)),
                    Err(e) => return opaque(src, whole, &e),
                }
            }
            (Op::Regex, pats, false)
        }
        "<" => (Op::Lt, values, false),
        "<=" => (Op::Lte, values, false),
        ">" => (Op::Gt, values, false),
        ">=" => (Op::Gte, values, false),
        _ => return opaque(src, whole, &format!("operator `{op}` is not supported")),
    };
    let mut p = Predicate::field(field, fop, values).cased(!insensitive);
    p.transform = transform;
    let e = Expr::Pred(p);
    if negate {
        Expr::not(e)
    } else {
        e
    }
}

/// A function used as a condition.
fn call(src: &str, whole: &Ast, name: &str, args: &[Ast]) -> Expr {
    let insensitive = name.ends_with('~');
    let base = name.trim_end_matches('~').to_ascii_lowercase();
    let op = match base.as_str() {
        "startswith" => Op::StartsWith,
        "endswith" => Op::EndsWith,
        "stringcontains" => Op::Contains,
        "cidrmatch" => Op::Cidr,
        _ => return opaque(src, whole, &format!("function `{name}` is not supported")),
    };
    let Some((first, rest)) = args.split_first() else {
        return opaque(src, whole, "a function call without arguments");
    };
    // `startsWith~(a, b)`: the values name other fields.
    let fields: Option<Vec<Value>> = rest
        .iter()
        .map(|a| match &a.node {
            Node::Field(f) => Some(Value::Str(f.clone())),
            _ => None,
        })
        .collect();
    let field_ref = fields.is_some();
    let values = fields.or_else(|| {
        rest.iter()
            .map(literals)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat())
    });
    let (Some((field, transform)), Some(values)) = (subject(first), values) else {
        return opaque(src, whole, &format!("`{name}` on computed values"));
    };
    if values.is_empty() {
        return opaque(src, whole, &format!("`{name}` without a value"));
    }
    let mut p = Predicate::field(field, op, values).cased(!insensitive);
    p.transform = transform;
    p.field_ref = field_ref;
    Expr::Pred(p)
}

#[cfg(test)]
mod tests;
