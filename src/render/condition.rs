//! The condition IR as readable, indented text for rule pages.
//!
//! ```text
//! selection:
//!     Image endswith "\cmd.exe"
//!     AND CommandLine contains any of ("/c", "/k")
//! AND NOT filter: ParentImage endswith "\explorer.exe"
//! ```
//!
//! A node is written on one line when it fits in [`WIDTH`] columns; otherwise its children
//! go on their own lines, indented, and a compound child is wrapped in parentheses so the
//! grouping never depends on precedence. Sequences, aggregations and opaque nodes always
//! take their own lines; opaque nodes show their source text and the reason.
//! `ANY ELEMENT OF list WHERE ...` holds when one element of the list satisfies the test.
//!
//! Case sensitivity: when most string comparisons of a rule are case-sensitive (KQL, EQL),
//! the text opens with a note and marks the exceptions `[any case]`; otherwise the
//! case-sensitive ones are marked `[cased]`.

use crate::model::{Expr, Op, Predicate, Transform, Value};

/// Target line width of the text.
pub const WIDTH: usize = 100;
const STEP: usize = 4;

/// Readable text of a condition tree (no trailing newline).
pub fn condition(e: &Expr) -> String {
    let (mut cased, mut uncased) = (0usize, 0usize);
    for (p, _) in e.predicates() {
        if has_text(p) {
            if p.case_sensitive {
                cased += 1;
            } else {
                uncased += 1;
            }
        }
    }
    let pr = Printer {
        cased: cased > uncased,
    };
    let mut lines = Vec::new();
    if pr.cased {
        lines.push(CASED_NOTE.to_string());
    }
    pr.block(e, 0, "", &mut lines);
    lines.join("\n")
}

/// First line of the text when comparisons are case-sensitive by default.
pub const CASED_NOTE: &str = "(comparisons are case-sensitive unless marked [any case])";

/// The text of one predicate on one line: `Image endswith "\cmd.exe"`.
pub fn predicate(p: &Predicate) -> String {
    Printer { cased: false }.predicate(p)
}

/// A predicate compares text (case sensitivity matters to it).
fn has_text(p: &Predicate) -> bool {
    !matches!(p.op, Op::Exists | Op::IsNull | Op::IsEmpty)
        && p.values.iter().any(|v| matches!(v, Value::Str(_)))
}

/// Binding strength: a child weaker than its parent needs parentheses when inline.
fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Any { items } if items.len() > 1 => 1,
        Expr::All { items } if items.len() > 1 => 2,
        Expr::Any { items } | Expr::All { items } if items.len() == 1 => prec(&items[0]),
        Expr::Not { .. } => 3,
        _ => 4,
    }
}

fn push(out: &mut Vec<String>, indent: usize, text: &str) {
    out.push(format!("{}{text}", " ".repeat(indent)));
}

fn fits(indent: usize, lead: &str, s: &str) -> bool {
    indent + lead.len() + s.chars().count() <= WIDTH
}

struct Printer {
    /// Comparisons are case-sensitive unless marked.
    cased: bool,
}

impl Printer {
    fn predicate(&self, p: &Predicate) -> String {
        let (head, values) = self.pred_parts(p);
        match values.len() {
            0 => head,
            1 => format!("{head} {}", values[0]),
            _ => format!(
                "{head} {} ({})",
                if p.all { "all of" } else { "any of" },
                values.join(", ")
            ),
        }
    }

    /// One-line text, or `None` when the node cannot be written on one line.
    fn inline(&self, e: &Expr) -> Option<String> {
        let s = match e {
            Expr::All { items } if items.is_empty() => "true".to_string(),
            Expr::Any { items } if items.is_empty() => "false".to_string(),
            Expr::All { items } | Expr::Any { items } if items.len() == 1 => {
                self.inline(&items[0])?
            }
            Expr::All { items } => self.join_inline(items, " AND ", 2)?,
            Expr::Any { items } => self.join_inline(items, " OR ", 1)?,
            Expr::Not { item } => format!("NOT {}", self.wrap(item, 3)?),
            Expr::Pred(p) => self.predicate(p),
            Expr::Const { value } => value.to_string(),
            Expr::Named { name, item } => format!("{name}: {}", self.wrap(item, 3)?),
            Expr::AnyElement { field, item } => {
                format!("ANY ELEMENT OF {field} WHERE {}", self.wrap(item, 4)?)
            }
            Expr::Sequence { .. } | Expr::Aggregate { .. } | Expr::Opaque { .. } => return None,
        };
        (!s.contains('\n')).then_some(s)
    }

    fn wrap(&self, e: &Expr, parent: u8) -> Option<String> {
        let s = self.inline(e)?;
        Some(if prec(e) < parent {
            format!("({s})")
        } else {
            s
        })
    }

    fn join_inline(&self, items: &[Expr], sep: &str, parent: u8) -> Option<String> {
        let parts: Option<Vec<String>> = items.iter().map(|i| self.wrap(i, parent + 1)).collect();
        Some(parts?.join(sep))
    }

    fn block(&self, e: &Expr, indent: usize, lead: &str, out: &mut Vec<String>) {
        if let Some(s) = self.inline(e) {
            if fits(indent, lead, &s) {
                push(out, indent, &format!("{lead}{s}"));
                return;
            }
        }
        match e {
            Expr::All { items } | Expr::Any { items } if items.len() == 1 => {
                self.block(&items[0], indent, lead, out)
            }
            Expr::All { items } | Expr::Any { items } => {
                let word = if matches!(e, Expr::All { .. }) {
                    "AND "
                } else {
                    "OR "
                };
                let inner = if lead.is_empty() {
                    indent
                } else {
                    push(out, indent, &format!("{lead}("));
                    indent + STEP
                };
                for (i, item) in items.iter().enumerate() {
                    let w = if i == 0 { "" } else { word };
                    self.child(item, inner, w, out);
                }
                if !lead.is_empty() {
                    push(out, indent, ")");
                }
            }
            Expr::Not { item } => self.child(item, indent, &format!("{lead}NOT "), out),
            Expr::Named { name, item } => {
                push(out, indent, &format!("{lead}{name}:"));
                self.block(item, indent + STEP, "", out);
            }
            Expr::AnyElement { field, item } => {
                push(out, indent, &format!("{lead}ANY ELEMENT OF {field} WHERE"));
                self.block(item, indent + STEP, "", out);
            }
            Expr::Pred(p) => {
                let (head, values) = self.pred_parts(p);
                let quant = match values.len() {
                    0 | 1 => "",
                    _ if p.all => " all of:",
                    _ => " any of:",
                };
                push(out, indent, &format!("{lead}{head}{quant}"));
                for v in values {
                    push(out, indent + STEP, &v);
                }
            }
            Expr::Sequence {
                ordered,
                by,
                window,
                steps,
            } => {
                let mut head = format!("{lead}SEQUENCE");
                if !ordered {
                    head.push_str(" (any order)");
                }
                if !by.is_empty() {
                    head.push_str(&format!(" by {}", by.join(", ")));
                }
                if let Some(w) = window {
                    head.push_str(&format!(" within {w}"));
                }
                push(out, indent, &head);
                for (i, s) in steps.iter().enumerate() {
                    self.block(s, indent + STEP, &format!("{}. ", i + 1), out);
                }
            }
            Expr::Aggregate { description, item } => {
                push(
                    out,
                    indent,
                    &format!("{lead}AGGREGATE {} OVER", one_line(description)),
                );
                self.block(item, indent + STEP, "", out);
            }
            Expr::Opaque { text, reason } => {
                push(
                    out,
                    indent,
                    &format!("{lead}UNPARSED ({}):", one_line(reason)),
                );
                for l in text.trim_end().lines() {
                    push(out, indent + STEP, l.trim_end());
                }
            }
            // Short leaves always fit; a long constant cannot happen.
            Expr::Const { value } => push(out, indent, &format!("{lead}{value}")),
        }
    }

    /// A child of AND/OR/NOT: a compound child that does not fit on the line goes in
    /// parentheses on lines of its own, so grouping never rests on precedence.
    fn child(&self, item: &Expr, indent: usize, lead: &str, out: &mut Vec<String>) {
        if let Some(s) = self.wrap(item, 3) {
            if fits(indent, lead, &s) {
                push(out, indent, &format!("{lead}{s}"));
                return;
            }
        }
        if prec(item) < 3 {
            push(out, indent, &format!("{lead}("));
            self.block(item, indent + STEP, "", out);
            push(out, indent, ")");
        } else {
            self.block(item, indent, lead, out);
        }
    }

    /// The field-and-operator head of a predicate and its rendered values.
    fn pred_parts(&self, p: &Predicate) -> (String, Vec<String>) {
        let mut field = p.field.clone().unwrap_or_else(|| "any field".to_string());
        if let Some(t) = p.transform {
            field = format!("{}({field})", transform_name(t));
        }
        let mut head = format!("{field} {}", op_text(p.op));
        if has_text(p) && p.case_sensitive != self.cased {
            head.push_str(if p.case_sensitive {
                " [cased]"
            } else {
                " [any case]"
            });
        }
        let values = if matches!(p.op, Op::Exists | Op::IsNull | Op::IsEmpty) {
            Vec::new()
        } else {
            p.values
                .iter()
                .map(|v| match v {
                    Value::Str(s) if p.field_ref => format!("field({s})"),
                    other => value_text(other),
                })
                .collect()
        };
        (head, values)
    }
}

/// How operators read on a page; any other operator shows its key.
const OP_TEXT: &[(Op, &str)] = &[
    (Op::Eq, "="),
    (Op::Glob, "like"),
    (Op::Regex, "matches"),
    (Op::Cidr, "in cidr"),
    (Op::IsNull, "is null"),
    (Op::IsEmpty, "is empty"),
    (Op::Gt, ">"),
    (Op::Gte, ">="),
    (Op::Lt, "<"),
    (Op::Lte, "<="),
];

/// How an indicator's operator key (`contains`, `not glob`) reads on a page.
pub fn op_key_text(key: &str) -> String {
    let (not, k) = match key.strip_prefix("not ") {
        Some(rest) => ("not ", rest),
        None => ("", key),
    };
    let text = OP_TEXT
        .iter()
        .find(|(o, _)| o.as_str() == k)
        .map(|(_, t)| *t)
        .unwrap_or(k);
    format!("{not}{text}")
}

/// How an operator reads on a page.
pub fn op_text(op: Op) -> &'static str {
    OP_TEXT
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, t)| *t)
        .unwrap_or(op.as_str())
}

fn transform_name(t: Transform) -> &'static str {
    match t {
        Transform::Lower => "lower",
        Transform::Upper => "upper",
        Transform::Length => "length",
        Transform::Minute => "minute",
        Transform::Hour => "hour",
        Transform::Day => "day",
        Transform::Week => "week",
        Transform::Month => "month",
        Transform::Year => "year",
    }
}

/// A value as written in the text: strings quoted, `"` and control characters escaped,
/// backslashes kept as they are (Windows paths stay readable).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Str(s) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        other => other.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(field: &str, op: Op, vals: &[&str]) -> Expr {
        Expr::Pred(Predicate::field(
            field,
            op,
            vals.iter().map(|v| Value::str(*v)).collect(),
        ))
    }

    #[test]
    fn sigma_shape_reads_like_the_rule() {
        let e = Expr::all(vec![
            Expr::named(
                "selection",
                Expr::all(vec![
                    p("Image", Op::EndsWith, &["\\cmd.exe"]),
                    p("CommandLine", Op::Contains, &["/c", "/k"]),
                ]),
            ),
            Expr::not(Expr::named(
                "filter",
                p("ParentImage", Op::EndsWith, &["\\explorer.exe"]),
            )),
        ]);
        // Too long for one line: broken at the top AND, the selection on its own lines.
        let text = condition(&e);
        assert_eq!(
            text,
            "selection: (Image endswith \"\\cmd.exe\" AND CommandLine contains any of (\"/c\", \"/k\"))\nAND NOT filter: ParentImage endswith \"\\explorer.exe\""
        );
    }

    #[test]
    fn long_children_break_with_parentheses() {
        let long: Vec<String> = (0..12).map(|i| format!("value-number-{i}")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let e = Expr::all(vec![
            p("a", Op::Eq, &["1"]),
            Expr::any(vec![
                p("CommandLine", Op::Contains, &long),
                p("b", Op::Eq, &["2"]),
            ]),
        ]);
        let text = condition(&e);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a = \"1\"");
        assert_eq!(lines[1], "AND (");
        assert_eq!(lines[2], "    CommandLine contains any of:");
        assert_eq!(lines[3], "        \"value-number-0\"");
        assert_eq!(lines.last(), Some(&")"));
        assert!(lines.contains(&"    OR b = \"2\""));
        assert!(lines.iter().all(|l| l.len() <= WIDTH));
    }

    #[test]
    fn a_broken_compound_first_child_is_parenthesised() {
        let long: Vec<String> = (0..8).map(|i| format!("service-name-{i}")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        // (A OR B) AND C, where A OR B does not fit on one line.
        let e = Expr::all(vec![
            Expr::any(vec![
                p("process.name", Op::Eq, &long),
                p("process.args", Op::Eq, &long),
            ]),
            p("c", Op::Eq, &["1"]),
        ]);
        let text = condition(&e);
        assert!(text.starts_with("(\n    process.name = any of"), "{text}");
        assert!(text.contains("\n    OR process.args"), "{text}");
        assert!(text.ends_with("\n)\nAND c = \"1\""), "{text}");
    }

    #[test]
    fn any_element_reads_as_a_quantifier() {
        let e = Expr::AnyElement {
            field: "items".into(),
            item: Box::new(Expr::all(vec![
                p("items.key", Op::Eq, &["a"]),
                p("items.value", Op::Eq, &["b"]),
            ])),
        };
        assert_eq!(
            condition(&e),
            "ANY ELEMENT OF items WHERE (items.key = \"a\" AND items.value = \"b\")"
        );
    }

    #[test]
    fn case_sensitivity_marks_the_exceptions() {
        let cased = |f: &str, v: &str, c: bool| {
            Expr::Pred(Predicate::field(f, Op::Eq, vec![Value::str(v)]).cased(c))
        };
        let e = Expr::all(vec![
            cased("a", "x", true),
            cased("b", "y", true),
            cased("c", "z", false),
            Expr::Pred(Predicate::field("n", Op::Gt, vec![Value::Num(2.0)]).cased(true)),
        ]);
        assert_eq!(
            condition(&e),
            format!("{CASED_NOTE}\na = \"x\" AND b = \"y\" AND c = [any case] \"z\" AND n > 2")
        );
        let e = Expr::all(vec![cased("a", "x", false), cased("b", "y", true)]);
        assert_eq!(condition(&e), "a = \"x\" AND b = [cased] \"y\"");
    }

    #[test]
    fn opaque_sequence_and_aggregate_keep_their_text() {
        let e = Expr::Sequence {
            ordered: true,
            by: vec!["user".into()],
            window: Some("5m".into()),
            steps: vec![
                p("event", Op::Eq, &["a"]),
                Expr::Aggregate {
                    description: "count() > 5".into(),
                    item: Box::new(Expr::opaque("| stats count\n| where x", "pipe")),
                },
            ],
        };
        assert_eq!(
            condition(&e),
            "SEQUENCE by user within 5m\n    1. event = \"a\"\n    2. AGGREGATE count() > 5 OVER\n        UNPARSED (pipe):\n            | stats count\n            | where x"
        );
    }

    #[test]
    fn predicates_show_modifiers() {
        let mut pr = Predicate::field("x", Op::Eq, vec![Value::str("a\"b\n")]).cased(true);
        pr.transform = Some(Transform::Lower);
        assert_eq!(predicate(&pr), "lower(x) = [cased] \"a\\\"b\\n\"");
        let ex = Predicate::new(None, Op::Contains, vec![Value::str("mimikatz")]);
        assert_eq!(predicate(&ex), "any field contains \"mimikatz\"");
        let mut fr = Predicate::field("a", Op::Eq, vec![Value::str("b")]);
        fr.field_ref = true;
        assert_eq!(predicate(&fr), "a = field(b)");
        assert_eq!(
            predicate(&Predicate::field("n", Op::Gte, vec![Value::Num(5.0)])),
            "n >= 5"
        );
        assert_eq!(condition(&Expr::default()), "true");
        assert_eq!(
            condition(&Expr::not(Expr::any(vec![
                p("a", Op::Eq, &["1"]),
                p("b", Op::Eq, &["2"])
            ]))),
            "NOT (a = \"1\" OR b = \"2\")"
        );
    }
}
