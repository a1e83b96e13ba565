//! ES|QL front end: `FROM indices | WHERE ... | EVAL ... | STATS ... BY ... | KEEP ...`.
//!
//! The commands before the first `STATS` (or `INLINE STATS`) filter single events: their
//! `WHERE` conditions become the per-event part of the IR. Everything from the first
//! aggregation on is stateful and becomes an `Aggregate` node whose description is that
//! part of the pipeline. `EVAL x = to_lower(f)` (and `RENAME`) make `x` an alias the
//! later conditions see through; a condition on a field computed otherwise (`EVAL`,
//! `GROK`, `DISSECT`, `ENRICH`) stays opaque. The output fields are the last `KEEP`, or the
//! `STATS` columns and `BY` keys.
//!
//! Case rules: every ES|QL comparison is case-sensitive (`==`, `LIKE`, `RLIKE`, `IN`);
//! `LIKE` takes `*`/`?` wildcards with `\` escapes, `RLIKE` a Lucene regex on the whole
//! value. A comparison with a missing (null) field is null, which `WHERE` drops, so
//! `f != "x"` and `NOT f IN (...)` also require `f` to be present. `KQL("...")` and
//! `QSTR("...")` are parsed by the KQL and Lucene front ends.

use crate::model::{Detection, Expr, Op, OutputField, Predicate, Transform, Value};
use crate::query::eql::ast::{Ast, Node, Parser};
use crate::query::eql::lexer::{lex, Tok, Token};
use crate::query::eql::{literals, opaque, SyntaxError};
use crate::query::kuery::{is_caseless_field, is_text_field};
use std::collections::BTreeMap;

/// What an ES|QL query reads and decides.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub detection: Detection,
    /// Index patterns of `FROM`.
    pub indices: Vec<String>,
}

/// A name introduced by a command.
#[derive(Debug, Clone)]
enum Binding {
    /// Other fields, maybe transformed (`EVAL x = to_lower(f)`, `RENAME f AS x`,
    /// `EVAL x = COALESCE(a, b)`).
    Alias(Subject),
    /// Computed in a way the matcher cannot follow; the reason says how.
    Computed(String),
}

/// What a value expression reads: the first present of `fields` (one field unless it is a
/// `COALESCE`), with a transform.
#[derive(Debug, Clone, PartialEq)]
struct Subject {
    fields: Vec<String>,
    transform: Option<Transform>,
}

impl Subject {
    fn field(f: impl Into<String>) -> Subject {
        Subject {
            fields: vec![f.into()],
            transform: None,
        }
    }
}

struct State<'a> {
    src: &'a str,
    env: BTreeMap<String, Binding>,
    /// Set after a command that adds fields the query does not name (`LOOKUP JOIN`).
    unknown_fields: Option<String>,
}

/// Parses an ES|QL query.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let toks = lex(text)?;
    let commands = split_commands(&toks);
    let mut out = Parsed::default();
    let mut st = State {
        src: text,
        env: BTreeMap::new(),
        unknown_fields: None,
    };
    let mut filters: Vec<Expr> = Vec::new();
    let mut aggregate: Vec<String> = Vec::new();
    let mut keep: Option<Vec<String>> = None;
    let mut stats_fields: Vec<String> = Vec::new();
    if commands.is_empty() {
        return Err(SyntaxError::at(text, 0, "an empty ES|QL query"));
    }
    for (i, &(pipe, cmd)) in commands.iter().enumerate() {
        let Some(first) = cmd.first() else {
            return Err(SyntaxError::at(text, pipe, "an empty command after `|`"));
        };
        let Tok::Ident(name) = &first.tok else {
            return Err(SyntaxError::at(
                text,
                first.start,
                "expected a command name",
            ));
        };
        let mut name = name.to_ascii_lowercase();
        let mut args = &cmd[1..];
        // Two-word commands.
        if (name == "inline" || name == "lookup") && !args.is_empty() {
            if let Tok::Ident(second) = &args[0].tok {
                name = format!("{name} {}", second.to_ascii_lowercase());
                args = &args[1..];
            }
        }
        if i == 0 && name != "from" && name != "row" && name != "show" && name != "ts" {
            return Err(SyntaxError::at(
                text,
                first.start,
                format!("an ES|QL query starts with FROM, found `{name}`"),
            ));
        }
        let in_aggregate = !aggregate.is_empty();
        match name.as_str() {
            "from" | "ts" => out.indices = from_indices(text, args),
            "where" => {
                let ast = parse_expr(text, args, first)?;
                if in_aggregate {
                    aggregate.push(command_text(text, cmd));
                } else {
                    filters.push(st.lower(&ast));
                }
            }
            "eval" => {
                for (name, ast) in assignments(text, args, first)? {
                    let b = st.binding(&ast, "EVAL");
                    st.env.insert(name, b);
                }
                if in_aggregate {
                    aggregate.push(command_text(text, cmd));
                }
            }
            "rename" => {
                rename(&mut st, args);
                if in_aggregate {
                    aggregate.push(command_text(text, cmd));
                }
            }
            "grok" | "dissect" => {
                for f in extracted_fields(args) {
                    st.env.insert(
                        f,
                        Binding::Computed(format!("extracted by {}", name.to_uppercase())),
                    );
                }
                if in_aggregate {
                    aggregate.push(command_text(text, cmd));
                }
            }
            "enrich" | "lookup join" | "lookup" => {
                st.unknown_fields = Some(format!("fields added by {}", name.to_uppercase()));
                if in_aggregate {
                    aggregate.push(command_text(text, cmd));
                }
            }
            "stats" | "inline stats" | "inlinestats" => {
                stats_fields = stats_columns(text, args);
                aggregate.push(command_text(text, cmd));
            }
            "keep" => keep = Some(field_list(text, args)),
            "sort" | "limit" | "drop" | "mv_expand" => {}
            other => {
                if in_aggregate {
                    aggregate.push(command_text(text, cmd));
                } else {
                    filters.push(Expr::opaque(
                        command_text(text, cmd),
                        format!(
                            "the ES|QL command `{}` is not supported",
                            other.to_uppercase()
                        ),
                    ));
                }
            }
        }
    }
    let mut expr = Expr::all(filters);
    if !aggregate.is_empty() {
        expr = Expr::Aggregate {
            description: aggregate.join(" | "),
            item: Box::new(expr),
        };
    }
    let output = keep.unwrap_or(stats_fields);
    out.detection = Detection {
        expr,
        output_fields: output.into_iter().map(OutputField::named).collect(),
    };
    Ok(out)
}

/// Commands split at top-level `|`, each with the offset of the `|` before it.
fn split_commands(toks: &[Token]) -> Vec<(usize, &[Token])> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut pipe = 0;
    for (i, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::Punct("(") | Tok::Punct("[") => depth += 1,
            Tok::Punct(")") | Tok::Punct("]") => depth -= 1,
            Tok::Punct("|") if depth <= 0 => {
                out.push((pipe, &toks[start..i]));
                start = i + 1;
                pipe = t.start;
            }
            _ => {}
        }
    }
    if start < toks.len() || !out.is_empty() {
        out.push((pipe, &toks[start..]));
    }
    out
}

/// A command as written, comments dropped and blanks collapsed.
fn command_text(src: &str, cmd: &[Token]) -> String {
    let mut out = String::new();
    for (i, t) in cmd.iter().enumerate() {
        if i > 0 && cmd[i - 1].end < t.start {
            out.push(' ');
        }
        out.push_str(&src[t.start..t.end]);
    }
    out
}

fn parse_expr(src: &str, args: &[Token], cmd: &Token) -> Result<Ast, SyntaxError> {
    if args.is_empty() {
        return Err(SyntaxError::at(src, cmd.end, "expected a condition"));
    }
    let mut p = Parser::new(src, args);
    let e = p.expr()?;
    if !p.at_end() {
        return Err(p.err(format!("unexpected text{}", p.found())));
    }
    Ok(e)
}

/// Index patterns between `FROM` and `METADATA`.
fn from_indices(src: &str, args: &[Token]) -> Vec<String> {
    let end = args
        .iter()
        .position(|t| t.is_kw("metadata"))
        .unwrap_or(args.len());
    let (Some(first), Some(last)) = (args.first(), args[..end].last()) else {
        return Vec::new();
    };
    src[first.start..last.end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Comma-separated items at paren depth 0, as written.
fn items(args: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in args.iter().enumerate() {
        match &t.tok {
            Tok::Punct("(") => depth += 1,
            Tok::Punct(")") => depth -= 1,
            Tok::Punct(",") if depth == 0 => {
                out.push(&args[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < args.len() {
        out.push(&args[start..]);
    }
    out
}

fn field_list(src: &str, args: &[Token]) -> Vec<String> {
    items(args)
        .into_iter()
        .filter(|it| !it.is_empty())
        .map(|it| {
            command_text(src, it)
                .replace(' ', "")
                .trim_matches('`')
                .to_string()
        })
        .collect()
}

/// `name = expr` items of EVAL (a bare expression is named by its text).
fn assignments(src: &str, args: &[Token], cmd: &Token) -> Result<Vec<(String, Ast)>, SyntaxError> {
    let mut out = Vec::new();
    for it in items(args) {
        let (name, rest) = match (it.first().map(|t| &t.tok), it.get(1)) {
            (Some(Tok::Ident(n) | Tok::Quoted(n)), Some(eq)) if eq.is_punct("=") => {
                (n.clone(), &it[2..])
            }
            _ => (command_text(src, it), it),
        };
        out.push((name, parse_expr(src, rest, cmd)?));
    }
    Ok(out)
}

/// STATS columns (`x = count(*)`) and BY keys.
fn stats_columns(src: &str, args: &[Token]) -> Vec<String> {
    let by = args.iter().position(|t| t.is_kw("by"));
    let (aggs, keys) = match by {
        Some(b) => (&args[..b], &args[b + 1..]),
        None => (args, &args[..0]),
    };
    let mut out = Vec::new();
    for it in items(aggs) {
        match (it.first().map(|t| &t.tok), it.get(1)) {
            (Some(Tok::Ident(n) | Tok::Quoted(n)), Some(eq)) if eq.is_punct("=") => {
                out.push(n.clone())
            }
            _ if !it.is_empty() => out.push(command_text(src, it)),
            _ => {}
        }
    }
    out.extend(field_list(src, keys));
    out
}

/// `RENAME a AS b, c AS d` (or `b = a`).
fn rename(st: &mut State, args: &[Token]) {
    for it in items(args) {
        let names: Vec<&str> = it
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Ident(s) | Tok::Quoted(s) if !s.eq_ignore_ascii_case("as") => Some(s.as_str()),
                _ => None,
            })
            .collect();
        if names.len() != 2 {
            continue;
        }
        let (old, new) = if it.iter().any(|t| t.is_punct("=")) {
            (names[1], names[0])
        } else {
            (names[0], names[1])
        };
        let b = match st.env.get(old) {
            Some(b) => b.clone(),
            None => Binding::Alias(Subject::field(old)),
        };
        st.env.insert(new.to_string(), b);
    }
}

/// Field names a GROK or DISSECT pattern writes: `%{PATTERN:name}`, `%{name}`.
fn extracted_fields(args: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for t in args {
        let Tok::Str(pattern) = &t.tok else { continue };
        let mut rest = pattern.as_str();
        while let Some(i) = rest.find("%{") {
            let Some(j) = rest[i..].find('}') else { break };
            let inner = &rest[i + 2..i + j];
            let name = match inner.split(':').collect::<Vec<_>>().as_slice() {
                [_, name, ..] => name.to_string(),
                [name] => name.trim_start_matches(['+', '?', '&', '*']).to_string(),
                _ => String::new(),
            };
            let name = name.split("->").next().unwrap_or("").trim().to_string();
            if !name.is_empty() {
                out.push(name);
            }
            rest = &rest[i + j + 1..];
        }
    }
    out
}

fn is_null(f: &str) -> Expr {
    Expr::Pred(Predicate::field(f, Op::IsNull, vec![]))
}

impl State<'_> {
    /// What `EVAL name = <a>` makes of `name`.
    fn binding(&self, a: &Ast, cmd: &str) -> Binding {
        match self.subject(a) {
            Ok(s) => Binding::Alias(s),
            Err(_) => {
                let text = a
                    .text(self.src)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let text = if text.chars().count() > 80 {
                    format!("{}…", text.chars().take(80).collect::<String>())
                } else {
                    text
                };
                Binding::Computed(format!("computed by {cmd}: {text}"))
            }
        }
    }

    /// The event fields a value expression reads, with its transform; `Err(reason)` when
    /// it is computed in a way the matcher cannot follow.
    fn subject(&self, a: &Ast) -> Result<Subject, String> {
        match &a.node {
            Node::Field(f) => match self.env.get(f) {
                Some(Binding::Alias(s)) => Ok(s.clone()),
                Some(Binding::Computed(reason)) => Err(format!("`{f}` is {reason}")),
                None => match &self.unknown_fields {
                    Some(why) => Err(format!("`{f}` may be one of the {why}")),
                    None => Ok(Subject::field(f.clone())),
                },
            },
            // `JSON_EXTRACT(_source, "a.b")` reads field a.b.
            Node::Call(name, args)
                if name.eq_ignore_ascii_case("json_extract")
                    && matches!(args.as_slice(), [Ast { node: Node::Field(src), .. }, Ast { node: Node::Str(_), .. }] if src == "_source") =>
            {
                match &args[1].node {
                    Node::Str(path) => {
                        Ok(Subject::field(path.trim_start_matches("$.").to_string()))
                    }
                    _ => Err("a computed value".into()),
                }
            }
            Node::Call(name, args) if name.eq_ignore_ascii_case("coalesce") => {
                let mut fields = Vec::new();
                let mut transform = None;
                for (i, arg) in args.iter().enumerate() {
                    if matches!(arg.node, Node::Null) {
                        continue;
                    }
                    let s = self.subject(arg)?;
                    if i > 0 && s.transform != transform {
                        return Err("COALESCE of differently transformed values".into());
                    }
                    transform = s.transform;
                    fields.extend(s.fields);
                }
                if fields.is_empty() {
                    return Err("an empty COALESCE".into());
                }
                Ok(Subject { fields, transform })
            }
            Node::Call(name, args) if args.len() == 1 => {
                let tr = match name.to_ascii_lowercase().as_str() {
                    "length" => Some(Transform::Length),
                    "to_lower" => Some(Transform::Lower),
                    "to_upper" => Some(Transform::Upper),
                    "to_string" | "to_str" | "to_ip" | "to_integer" | "to_long" | "to_double"
                    | "to_version" => None,
                    _ => return Err(format!("`{name}` is not supported")),
                };
                let mut s = self.subject(&args[0])?;
                if s.transform.is_some() && tr.is_some() {
                    return Err("nested transforms".into());
                }
                s.transform = s.transform.or(tr);
                Ok(s)
            }
            _ => Err("a computed value".into()),
        }
    }

    /// A test of a subject: on its first present field. A negated test of a field that is
    /// missing (null) is null too, which `WHERE` drops.
    fn on(&self, s: &Subject, negate: bool, make: impl Fn(String) -> Predicate) -> Expr {
        let one = |f: &String| {
            let mut p = make(f.clone());
            p.transform = s.transform;
            let e = Expr::Pred(p);
            if negate {
                Expr::all(vec![Expr::not(is_null(f)), Expr::not(e)])
            } else {
                e
            }
        };
        let alts: Vec<Expr> = s
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut items: Vec<Expr> = s.fields[..i].iter().map(|g| is_null(g)).collect();
                items.push(one(f));
                Expr::all(items)
            })
            .collect();
        Expr::any(alts)
    }

    fn lower(&self, a: &Ast) -> Expr {
        match &a.node {
            Node::And(items) => Expr::all(items.iter().map(|i| self.lower(i)).collect()),
            Node::Or(items) => Expr::any(items.iter().map(|i| self.lower(i)).collect()),
            Node::Not(item) => match &item.node {
                Node::Binary {
                    op,
                    negated,
                    lhs,
                    rhs,
                } => self.compare(item, op, lhs, rhs, !negated),
                Node::Call(name, args) => self.call(item, name, args, true),
                _ => Expr::not(self.lower(item)),
            },
            Node::Bool(b) => Expr::Const { value: *b },
            Node::Field(_) => match self.subject(a) {
                Ok(s) => self.on(&s, false, |f| {
                    Predicate::field(f, Op::Eq, vec![Value::Bool(true)]).cased(true)
                }),
                Err(r) => opaque(self.src, a, &r),
            },
            Node::IsNull { negated, item } => match self.subject(item) {
                Ok(s) => {
                    let all_null = Expr::all(s.fields.iter().map(|f| is_null(f)).collect());
                    if *negated {
                        Expr::not(all_null)
                    } else {
                        all_null
                    }
                }
                Err(r) => opaque(self.src, a, &r),
            },
            Node::Call(name, args) => self.call(a, name, args, false),
            Node::Binary {
                op,
                negated,
                lhs,
                rhs,
            } => self.compare(a, op, lhs, rhs, *negated),
            _ => opaque(self.src, a, "not a condition"),
        }
    }

    fn compare(&self, whole: &Ast, op: &str, lhs: &Ast, rhs: &Ast, negated: bool) -> Expr {
        // `starts_with(f, "x") == false`
        if let (Node::Call(name, args), Node::Bool(b), "==" | "!=") = (&lhs.node, &rhs.node, op) {
            let positive = (*b) == (op == "==");
            return self.call(lhs, name, args, positive == negated);
        }
        // `locate(f, "x") > 0`
        if let (Node::Call(name, args), Node::Num(n)) = (&lhs.node, &rhs.node) {
            if name.eq_ignore_ascii_case("locate") && args.len() == 2 && *n == 0.0 && op == ">" {
                return self.string_fn(whole, Op::Contains, args, negated);
            }
        }
        let subject = match self.subject(lhs) {
            Ok(s) => s,
            Err(r) => return opaque(self.src, whole, &r),
        };
        let negate = negated != (op == "!=");
        if let Node::Field(_) = &rhs.node {
            let other = match self.subject(rhs) {
                Ok(Subject {
                    fields,
                    transform: None,
                }) if fields.len() == 1 => fields[0].clone(),
                _ => return opaque(self.src, whole, "compares with a computed field"),
            };
            let fop = match op {
                "==" | "!=" => Op::Eq,
                "<" => Op::Lt,
                "<=" => Op::Lte,
                ">" => Op::Gt,
                ">=" => Op::Gte,
                _ => return opaque(self.src, whole, "compares two fields with this operator"),
            };
            return self.on(&subject, negate, |f| {
                let mut p = Predicate::field(f, fop, vec![Value::Str(other.clone())]).cased(true);
                p.field_ref = true;
                p
            });
        }
        let Some(values) = literals(rhs) else {
            return opaque(self.src, whole, "compares with a computed value");
        };
        let (fop, values) = match op {
            "==" | "!=" | "in" => (Op::Eq, values),
            "like" => {
                let wild = values.iter().any(|v| v.to_string().contains(['*', '?']));
                (
                    if wild { Op::Glob } else { Op::Eq },
                    unescape_if(values, !wild),
                )
            }
            "rlike" => {
                let mut pats = Vec::new();
                for v in &values {
                    match crate::query::lucene::regex::to_rust(&v.to_string()) {
                        Ok(r) => pats.push(Value::Str(r)),
                        Err(e) => return opaque(self.src, whole, &e),
                    }
                }
                (Op::Regex, pats)
            }
            ":" => {
                return self.on(&subject, negate, |f| {
                    if is_text_field(&f) {
                        Predicate::field(f, Op::Contains, values.clone())
                    } else {
                        let cased = !is_caseless_field(&f);
                        Predicate::field(f, Op::Eq, values.clone()).cased(cased)
                    }
                })
            }
            "<" => (Op::Lt, values),
            "<=" => (Op::Lte, values),
            ">" => (Op::Gt, values),
            ">=" => (Op::Gte, values),
            _ => {
                return opaque(
                    self.src,
                    whole,
                    &format!("operator `{op}` is not supported"),
                )
            }
        };
        self.on(&subject, negate, |f| {
            Predicate::field(f, fop, values.clone()).cased(true)
        })
    }

    fn call(&self, whole: &Ast, name: &str, args: &[Ast], negate: bool) -> Expr {
        match name.to_ascii_lowercase().as_str() {
            "starts_with" => self.string_fn(whole, Op::StartsWith, args, negate),
            "ends_with" => self.string_fn(whole, Op::EndsWith, args, negate),
            "cidr_match" => self.string_fn(whole, Op::Cidr, args, negate),
            "match" | "match_phrase" => {
                let [f, v, ..] = args else {
                    return opaque(self.src, whole, "MATCH needs a field and a value");
                };
                self.compare(whole, ":", f, v, negate)
            }
            "kql" | "qstr" => {
                let [Ast {
                    node: Node::Str(q), ..
                }] = args
                else {
                    return opaque(self.src, whole, "expected one string");
                };
                let parsed = if name.eq_ignore_ascii_case("kql") {
                    crate::query::kuery::parse(q)
                } else {
                    crate::query::lucene::parse(q)
                };
                let e = match parsed {
                    Ok(e) => e,
                    Err(e) => opaque(self.src, whole, &format!("syntax error {e}")),
                };
                if negate {
                    Expr::not(e)
                } else {
                    e
                }
            }
            _ => {
                let e = opaque(
                    self.src,
                    whole,
                    &format!("function `{name}` is not supported"),
                );
                if negate {
                    Expr::not(e)
                } else {
                    e
                }
            }
        }
    }

    fn string_fn(&self, whole: &Ast, op: Op, args: &[Ast], negate: bool) -> Expr {
        let Some((first, rest)) = args.split_first() else {
            return opaque(self.src, whole, "a function call without arguments");
        };
        let subject = match self.subject(first) {
            Ok(s) => s,
            Err(r) => return opaque(self.src, whole, &r),
        };
        let Some(values) = rest
            .iter()
            .map(literals)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat())
            .filter(|v| !v.is_empty())
        else {
            return opaque(self.src, whole, "compares with a computed value");
        };
        self.on(&subject, negate, |f| {
            Predicate::field(f, op, values.clone()).cased(true)
        })
    }
}

/// A LIKE pattern without wildcards is an equality: its `\` escapes are resolved.
fn unescape_if(values: Vec<Value>, yes: bool) -> Vec<Value> {
    if !yes {
        return values;
    }
    values
        .into_iter()
        .map(|v| match v {
            Value::Str(s) => {
                let mut out = String::new();
                let mut chars = s.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        if let Some(n) = chars.next() {
                            out.push(n);
                        }
                    } else {
                        out.push(c);
                    }
                }
                Value::Str(out)
            }
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests;
