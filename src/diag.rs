//! Diagnostics: one type for every finding of every format and check.

use crate::verify::checks::{Check, Level};
use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    /// Path as the user gave it (root joined with the relative path).
    pub file: String,
    /// 1-based; 0 when no line applies (a whole-file or cross-file finding).
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub level: Level,
    #[serde(serialize_with = "ser_check")]
    pub code: Check,
    pub message: String,
    /// Native id of the rule the finding is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Site-relative page of the rule (`rules/<vendor>/<slug>.html`), filled by the pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

fn ser_check<S: Serializer>(c: &Check, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.id())
}

impl Diagnostic {
    pub fn new(
        check: Check,
        file: impl Into<String>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column: None,
            level: check.default_level(),
            code: check,
            message: message.into(),
            rule: None,
            page: None,
        }
    }
    pub fn at_column(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }
    pub fn for_rule(mut self, id: impl Into<String>) -> Self {
        self.rule = Some(id.into());
        self
    }
}

/// The 1-based line of byte offset `pos` in `text`.
pub fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The 1-based line where `needle` first occurs in `text`, or `None`.
pub fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|p| line_of(text, p))
}
