//! The TOML document of one rule, with the span of every `[metadata]` and `[rule]` value
//! so findings point at their line.

use crate::diag::line_of;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::{Spanned, Value};

type Table = BTreeMap<String, Spanned<Value>>;

#[derive(Deserialize)]
struct Raw {
    metadata: Option<Spanned<Table>>,
    rule: Option<Spanned<Table>>,
    transform: Option<Value>,
}

pub struct Doc<'a> {
    pub text: &'a str,
    pub metadata: Table,
    pub rule: Table,
    pub transform: Option<Value>,
    /// Lines of the `[metadata]` and `[rule]` headers (1 when absent).
    pub metadata_line: usize,
    pub rule_line: usize,
}

impl<'a> Doc<'a> {
    /// Parses the file; a syntax or shape error gives (line, column, message).
    pub fn parse(text: &'a str) -> Result<Doc<'a>, (usize, usize, String)> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let pos = e.span().map(|s| s.start).unwrap_or(0);
            let (line, col) = crate::query::eql::lexer::line_col(text, pos);
            (line, col, format!("TOML: {}", e.message()))
        })?;
        let header = |name: &str, sp: Option<&Spanned<Table>>| {
            let want = format!("[{name}]");
            text.lines()
                .position(|l| l.split('#').next().unwrap_or("").trim() == want)
                .map(|i| i + 1)
                .or_else(|| sp.map(|s| line_of(text, s.span().start)))
                .unwrap_or(1)
        };
        let metadata_line = header("metadata", raw.metadata.as_ref());
        let rule_line = header("rule", raw.rule.as_ref());
        Ok(Doc {
            text,
            metadata: raw.metadata.map(Spanned::into_inner).unwrap_or_default(),
            rule: raw.rule.map(Spanned::into_inner).unwrap_or_default(),
            transform: raw.transform,
            metadata_line,
            rule_line,
        })
    }

    pub fn rule(&self, key: &str) -> Option<&Value> {
        self.rule.get(key).map(|s| s.get_ref())
    }
    pub fn meta(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key).map(|s| s.get_ref())
    }
    pub fn rule_str(&self, key: &str) -> Option<&str> {
        self.rule(key).and_then(Value::as_str)
    }
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.meta(key).and_then(Value::as_str)
    }
    /// Line of a `[rule]` key's value, or of the `[rule]` header when it is absent.
    pub fn rule_key_line(&self, key: &str) -> usize {
        self.rule
            .get(key)
            .map(|s| line_of(self.text, s.span().start))
            .unwrap_or(self.rule_line)
    }
    pub fn meta_key_line(&self, key: &str) -> usize {
        self.metadata
            .get(key)
            .map(|s| line_of(self.text, s.span().start))
            .unwrap_or(self.metadata_line)
    }
    /// Byte span of a `[rule]` value.
    pub fn rule_span(&self, key: &str) -> Option<std::ops::Range<usize>> {
        self.rule.get(key).map(|s| s.span())
    }
}

/// Strings of a value that is a string or a list of strings (other scalars as text).
pub fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A scalar as text (`None` for tables and arrays).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Datetime(d) => Some(d.to_string()),
        Value::Array(_) | Value::Table(_) => None,
    }
}

/// A TOML value as JSON (dates as strings), for the Kibana filter DSL and display.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::String(s) => J::String(s.clone()),
        Value::Integer(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Boolean(b) => J::Bool(*b),
        Value::Datetime(d) => J::String(d.to_string()),
        Value::Array(a) => J::Array(a.iter().map(to_json).collect()),
        Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}
