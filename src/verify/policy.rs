//! Per-project check policy from `ruledex.toml`: turn a check off, or change its level,
//! for every file or for files matching path globs.
//!
//! ```toml
//! [[checks]]
//! id = "sigma_title_length"     # a catalogue id, or "*" for every check
//! level = "off"                 # off | note | warning | error
//! paths = ["rules-placeholder/**"]   # optional globs, matched against the root-relative
//!                                    # path and the path as shown
//! ```

use crate::diag::Diagnostic;
use crate::verify::checks::{Check, Level};
use globset::{Glob, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone)]
pub struct CheckRule {
    /// `None`: every check.
    pub check: Option<Check>,
    /// `None`: the check is off.
    pub level: Option<Level>,
    /// Empty: every file.
    pub paths: Option<GlobSet>,
}

impl CheckRule {
    pub fn parse(id: &str, level: &str, paths: &[String]) -> Result<CheckRule, String> {
        let check = if id == "*" {
            None
        } else {
            Some(
                Check::ALL
                    .iter()
                    .copied()
                    .find(|c| c.id() == id)
                    .ok_or_else(|| {
                        format!("unknown check `{id}` (run `ruledex checks` for the list)")
                    })?,
            )
        };
        let level = match level {
            "off" | "none" => None,
            other => Some(Level::parse(other).ok_or_else(|| {
                format!("unknown level `{other}` for check `{id}` (expected off, note, warning or error)")
            })?),
        };
        let paths = if paths.is_empty() {
            None
        } else {
            let mut b = GlobSetBuilder::new();
            for p in paths {
                b.add(
                    Glob::new(p)
                        .map_err(|e| format!("bad path glob `{p}` for check `{id}`: {e}"))?,
                );
            }
            Some(b.build().map_err(|e| e.to_string())?)
        };
        Ok(CheckRule {
            check,
            level,
            paths,
        })
    }

    fn applies(&self, d: &Diagnostic, rel: &str) -> bool {
        self.check.is_none_or(|c| c == d.code)
            && self
                .paths
                .as_ref()
                .is_none_or(|g| g.is_match(rel) || g.is_match(&d.file))
    }
}

/// Applies the rules in order (a later rule wins). `rel` gives a diagnostic's
/// root-relative path.
pub fn apply(
    rules: &[CheckRule],
    diags: Vec<Diagnostic>,
    rel: impl Fn(&Diagnostic) -> String,
) -> Vec<Diagnostic> {
    if rules.is_empty() {
        return diags;
    }
    diags
        .into_iter()
        .filter_map(|mut d| {
            let r = rel(&d);
            let mut level = Some(d.level);
            for rule in rules.iter().filter(|x| x.applies(&d, &r)) {
                level = rule.level;
            }
            d.level = level?;
            Some(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(check: Check, file: &str) -> Diagnostic {
        Diagnostic::new(check, file, 1, "m")
    }

    #[test]
    fn off_relevel_and_globs() {
        let rules = vec![
            CheckRule::parse("sigma_title_length", "off", &[]).unwrap(),
            CheckRule::parse("*", "error", &["legacy/**".to_string()]).unwrap(),
        ];
        let out = apply(
            &rules,
            vec![
                diag(Check::SigmaTitleLength, "r/a.yml"),
                diag(Check::UnusedSelection, "r/legacy/b.yml"),
                diag(Check::UnusedSelection, "r/new/c.yml"),
            ],
            |d| d.file.trim_start_matches("r/").to_string(),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].level, Level::Error);
        assert_eq!(out[1].level, Level::Warning);
    }

    #[test]
    fn unknown_ids_and_levels_are_errors() {
        assert!(CheckRule::parse("nope", "off", &[]).is_err());
        assert!(CheckRule::parse("parse_error", "loud", &[]).is_err());
        assert!(CheckRule::parse("parse_error", "note", &["[".to_string()]).is_err());
    }
}
