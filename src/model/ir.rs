//! The condition IR every query front end produces and the matcher evaluates.
//!
//! One tree for six vendors: boolean nodes over field predicates, plus nodes for what is
//! not a per-event boolean (sequences, aggregations) and `Opaque` for what a front end did
//! not understand. An `Opaque` node keeps the source text and a reason; it is never dropped.

use serde::Serialize;
use std::fmt;

/// The logic of one rule and what it emits.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Detection {
    pub expr: Expr,
    /// Fields the rule outputs (Sigma `fields`, KQL `project`, SPL `table`, YARA-L outcome...).
    pub output_fields: Vec<OutputField>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutputField {
    pub name: String,
    /// Where the value comes from when it is not the field of the same name.
    pub source: Option<String>,
    /// Marked as special by the format (YARA-L `$risk_score`, a Sentinel entity mapping).
    pub note: Option<String>,
}

impl OutputField {
    pub fn named(name: impl Into<String>) -> Self {
        OutputField {
            name: name.into(),
            source: None,
            note: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum Expr {
    /// Every child must hold (an empty `All` is true).
    All {
        items: Vec<Expr>,
    },
    /// At least one child must hold (an empty `Any` is false).
    Any {
        items: Vec<Expr>,
    },
    Not {
        item: Box<Expr>,
    },
    Pred(Predicate),
    Const {
        value: bool,
    },
    /// A named sub-expression (a Sigma selection, an EQL sequence step, a KQL `let`):
    /// kept so pages can show the rule's own vocabulary.
    Named {
        name: String,
        item: Box<Expr>,
    },
    /// Several events in order (or unordered), joined on `by` fields within a window.
    Sequence {
        ordered: bool,
        by: Vec<String>,
        window: Option<String>,
        steps: Vec<Expr>,
    },
    /// Some element of the list at `field` satisfies `item` (Panther Python `any(...)` over a
    /// list, a loop that returns on the first matching element). The fields of `item` are
    /// full paths: those through `field` speak of the one element being tried.
    AnyElement {
        field: String,
        item: Box<Expr>,
    },
    /// A per-event filter followed by a stateful aggregation (count, threshold, new terms,
    /// correlation). The matcher can only decide the per-event part.
    Aggregate {
        description: String,
        item: Box<Expr>,
    },
    /// What the front end did not understand: the source text and why.
    Opaque {
        text: String,
        reason: String,
    },
}

impl Default for Expr {
    fn default() -> Self {
        Expr::All { items: Vec::new() }
    }
}

impl Expr {
    pub fn all(items: Vec<Expr>) -> Expr {
        if items.len() == 1 {
            items.into_iter().next().unwrap()
        } else {
            Expr::All { items }
        }
    }
    pub fn any(items: Vec<Expr>) -> Expr {
        if items.len() == 1 {
            items.into_iter().next().unwrap()
        } else {
            Expr::Any { items }
        }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(item: Expr) -> Expr {
        match item {
            Expr::Not { item } => *item,
            other => Expr::Not {
                item: Box::new(other),
            },
        }
    }
    pub fn pred(p: Predicate) -> Expr {
        Expr::Pred(p)
    }
    pub fn opaque(text: impl Into<String>, reason: impl Into<String>) -> Expr {
        Expr::Opaque {
            text: text.into(),
            reason: reason.into(),
        }
    }
    pub fn named(name: impl Into<String>, item: Expr) -> Expr {
        Expr::Named {
            name: name.into(),
            item: Box::new(item),
        }
    }

    /// True when no `Opaque` node is anywhere in the tree.
    pub fn fully_parsed(&self) -> bool {
        let mut ok = true;
        self.walk(&mut |e| {
            if matches!(e, Expr::Opaque { .. }) {
                ok = false;
            }
        });
        ok
    }

    /// Pre-order visit of every node.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::All { items } | Expr::Any { items } => items.iter().for_each(|e| e.walk(f)),
            Expr::Sequence { steps, .. } => steps.iter().for_each(|e| e.walk(f)),
            Expr::Not { item }
            | Expr::Named { item, .. }
            | Expr::Aggregate { item, .. }
            | Expr::AnyElement { item, .. } => item.walk(f),
            Expr::Pred(_) | Expr::Const { .. } | Expr::Opaque { .. } => {}
        }
    }

    /// Every predicate with whether it sits under an odd number of `Not`s.
    pub fn predicates(&self) -> Vec<(&Predicate, bool)> {
        fn go<'a>(e: &'a Expr, neg: bool, out: &mut Vec<(&'a Predicate, bool)>) {
            match e {
                Expr::Pred(p) => out.push((p, neg)),
                Expr::Not { item } => go(item, !neg, out),
                Expr::All { items } | Expr::Any { items } => {
                    items.iter().for_each(|i| go(i, neg, out))
                }
                Expr::Sequence { steps, .. } => steps.iter().for_each(|i| go(i, neg, out)),
                Expr::Named { item, .. }
                | Expr::Aggregate { item, .. }
                | Expr::AnyElement { item, .. } => go(item, neg, out),
                Expr::Const { .. } | Expr::Opaque { .. } => {}
            }
        }
        let mut out = Vec::new();
        go(self, false, &mut out);
        out
    }
}

/// One test of one field (or of any field, when `field` is `None`: a keyword search).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Predicate {
    pub field: Option<String>,
    pub op: Op,
    /// Alternatives: the predicate holds when any value matches, or every value with `all`.
    pub values: Vec<Value>,
    pub all: bool,
    pub case_sensitive: bool,
    /// The values name other fields of the same event (Sigma `fieldref`, a KQL column compare).
    pub field_ref: bool,
    /// Applied to the event's field value before comparing.
    pub transform: Option<Transform>,
}

impl Predicate {
    pub fn new(field: Option<String>, op: Op, values: Vec<Value>) -> Self {
        Predicate {
            field,
            op,
            values,
            all: false,
            case_sensitive: false,
            field_ref: false,
            transform: None,
        }
    }
    pub fn field(field: impl Into<String>, op: Op, values: Vec<Value>) -> Self {
        Predicate::new(Some(field.into()), op, values)
    }
    pub fn cased(mut self, case_sensitive: bool) -> Self {
        self.case_sensitive = case_sensitive;
        self
    }
    pub fn with_all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Whole-value equality.
    Eq,
    /// Whole-value match with `*` (any run) and `?` (one char) wildcards; `\` escapes.
    Glob,
    Contains,
    StartsWith,
    EndsWith,
    /// Unanchored search; flags are written inline (`(?i)`, `(?s)`).
    Regex,
    /// KQL `has`: the value is a whole term of the field.
    HasTerm,
    Cidr,
    /// The field is present (null counts as present).
    Exists,
    /// The field is null or absent.
    IsNull,
    /// The field is null, absent or the empty string.
    IsEmpty,
    /// The field holds a value Python counts as true: present and not null, `false`, `0`, an
    /// empty string, an empty list or an empty object (Panther Python `if event.get(..)`).
    Truthy,
    /// The field's value has one of the JSON types named by the values: `string`, `integer`,
    /// `float`, `boolean`, `array`, `object`, `null` (Python `isinstance`, KQL `gettype`).
    IsType,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Glob => "glob",
            Op::Contains => "contains",
            Op::StartsWith => "startswith",
            Op::EndsWith => "endswith",
            Op::Regex => "regex",
            Op::HasTerm => "has",
            Op::Cidr => "cidr",
            Op::Exists => "exists",
            Op::IsNull => "null",
            Op::IsEmpty => "empty",
            Op::Truthy => "truthy",
            Op::IsType => "type",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    Lower,
    Upper,
    Length,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }
    /// From a YAML/JSON scalar; containers become their JSON text.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n.as_f64().map(Value::Num).unwrap_or(Value::Null),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            other => Value::Str(other.to_string()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}
