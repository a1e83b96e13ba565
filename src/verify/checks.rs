//! The lint catalogue: every check ruledex can report, defined once.
//!
//! Each entry has a stable snake_case id, a default level, the vendors it applies to and a
//! one-line description. Code reports findings only through `Check` values, so a finding
//! without a catalogue entry does not compile; `ruledex checks` and the README list come
//! from `Check::ALL`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "note" | "info" => Some(Level::Note),
            "warning" | "warn" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

macro_rules! checks {
    ($( $variant:ident => ($id:literal, $level:ident, $vendors:literal, $desc:literal) ),* $(,)?) => {
        /// A check of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Check { $($variant),* }

        impl Check {
            pub const ALL: &'static [Check] = &[$(Check::$variant),*];
            pub fn id(self) -> &'static str { match self { $(Check::$variant => $id),* } }
            pub fn default_level(self) -> Level { match self { $(Check::$variant => Level::$level),* } }
            /// Vendor keys the check applies to, or `all`.
            pub fn vendors(self) -> &'static str { match self { $(Check::$variant => $vendors),* } }
            pub fn description(self) -> &'static str { match self { $(Check::$variant => $desc),* } }
        }
    };
}

checks! {
    ParseError => ("parse_error", Error, "all", "The file cannot be read as a rule of its format (syntax error, wrong shape)."),
    NotUtf8 => ("not_utf8", Warning, "all", "The file is not UTF-8; it was decoded as Windows-1252."),
    MissingField => ("missing_field", Error, "all", "A field the format requires is missing or empty."),
    InvalidValue => ("invalid_value", Warning, "all", "A field holds a value outside the format's allowed set (status, level, severity, kind...)."),
    DuplicateId => ("duplicate_id", Error, "all", "Two rules of the same vendor share a native id."),
    UnknownTechnique => ("unknown_attack_id", Warning, "all", "An ATT&CK technique or tactic id that ATT&CK (v18.1 + v19.2) does not know."),
    RevokedTechnique => ("revoked_attack_id", Warning, "all", "An ATT&CK id that is revoked; the catalog files the rule under its replacement."),
    DeprecatedTechnique => ("deprecated_attack_id", Note, "all", "An ATT&CK id that is deprecated without a replacement."),
    TacticMismatch => ("tactic_mismatch", Warning, "all", "A technique is filed under a tactic it does not belong to."),
    UnsupportedSyntax => ("unsupported_syntax", Note, "all", "Part of the query was not understood and is kept as an opaque node."),
    BadRegex => ("bad_regex", Error, "all", "A regular expression does not compile."),
    UnknownSelection => ("unknown_selection", Error, "sigma", "The condition names a selection that the detection does not define, or a pattern that matches none."),
    UnusedSelection => ("unused_selection", Warning, "sigma", "A selection of the detection is never used by the condition."),
    TestFailed => ("test_failed", Error, "all", "A bundled test's verdict differs from its expected result."),
    TestUnsupported => ("test_unsupported", Note, "all", "A bundled test cannot be evaluated by the matcher (opaque logic, remote data, mocks)."),
    BrokenReference => ("broken_reference", Error, "all", "A referenced macro, lookup, parser, helper, rule, test file or source file is not defined."),
    SigmaTitleLength => ("sigma_title_length", Warning, "sigma", "A Sigma title longer than 110 characters."),
    SigmaTagNamespace => ("sigma_tag_namespace", Warning, "sigma", "A Sigma tag outside the known namespaces or not lower-case."),
    SigmaUnknownModifier => ("sigma_unknown_modifier", Error, "sigma", "A Sigma value modifier that spec v2.1 does not define; the item is kept opaque."),
    SigmaPlaceholder => ("sigma_placeholder", Note, "sigma", "A Sigma `expand` placeholder (`%name%`) that needs a processing pipeline; the item is kept opaque."),
    SigmaObsoleteSyntax => ("sigma_obsolete_syntax", Warning, "sigma", "Sigma v1 syntax (condition aggregation `| count()`, `action: global` collections) superseded by correlation rules."),
    SigmaIdFormat => ("sigma_id_format", Warning, "sigma", "A Sigma `id` (or `related` id) that is not a UUID."),
    ElasticQuerySyntax => ("elastic_query_syntax", Warning, "elastic", "An Elastic rule's query (KQL, Lucene, EQL, ES|QL) does not parse; it is kept as opaque text."),
    YaralUnboundVariable => ("yaral_unbound_variable", Error, "chronicle", "A YARA-L match, outcome or condition variable (or a placeholder) that nothing in the rule binds."),
    UnresolvedFunction => ("unresolved_function", Note, "sentinel,defender_xdr", "A KQL query calls a stored function or parser (ASIM...) whose definition is not in the root, so the tables it reads are unknown."),
    PantherPythonMissing => ("panther_python_missing", Warning, "panther", "A Panther rule's `Filename` names a Python file that is not beside it; the YAML is indexed without its logic."),
    ReferenceRow => ("reference_row", Warning, "sentinel,defender_xdr", "A row of a Solutions Analyzer reference CSV that cannot be read (wrong number of fields, no name); the rest of the file loads."),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for c in Check::ALL {
            assert!(seen.insert(c.id()), "duplicate id {}", c.id());
            assert!(c
                .id()
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'));
            assert!(!c.description().is_empty());
        }
    }
}
