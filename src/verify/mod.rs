//! Verification: the matcher runs each rule's bundled tests; lints check the catalog.

pub mod attack_lint;
pub mod baseline;
pub mod checks;
pub mod lints;
pub mod matcher;
pub mod policy;
pub mod report;

use serde::Serialize;

/// What the matcher says of one rule on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Match,
    NoMatch,
    /// An opaque node (or a stateful part) decided the outcome; the reason says which.
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    Unsupported,
}

/// The result of one bundled test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub outcome: Outcome,
    /// Why it failed or is unsupported; empty on a pass.
    pub detail: String,
}
