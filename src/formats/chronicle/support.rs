//! Support files of a Chronicle root: reference lists and the content manager's
//! `rule_config.yaml` (whether each rule is enabled and alerting).

use crate::diag::Diagnostic;
use crate::discover::Root;
use crate::formats::{parse_yaml, scalar};
use crate::verify::checks::Check;
use std::collections::BTreeMap;

/// A reference list file: its values and where it is.
#[derive(Debug, Clone)]
pub struct RefList {
    pub rel: String,
    pub values: Vec<String>,
}

/// Reference lists of a root by name: files in a `reference_lists` folder, extension-less or
/// `.txt`, named after the list. The first file by path wins when two share a name.
pub fn reference_lists(root: &Root) -> BTreeMap<String, RefList> {
    let mut out = BTreeMap::new();
    for f in &root.files {
        let in_lists_dir = f
            .rel
            .split('/')
            .rev()
            .skip(1)
            .any(|seg| seg == "reference_lists");
        if !in_lists_dir {
            continue;
        }
        let name = f.file_name();
        let name = match name.rsplit_once('.') {
            None => name,
            Some((stem, ext)) if ext.eq_ignore_ascii_case("txt") => stem,
            Some(_) => continue,
        };
        if name.is_empty() || name.starts_with('.') {
            continue;
        }
        out.entry(name.to_string()).or_insert_with(|| RefList {
            rel: f.rel.clone(),
            values: list_values(&f.text),
        });
    }
    out
}

/// The values of a reference list file: one a line; `//` comment lines, trailing ` // ...`
/// comments, `/* */` blocks, blank lines and repeated values are dropped.
pub fn list_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let mut l = line.trim();
        if in_block {
            match l.find("*/") {
                Some(i) => {
                    in_block = false;
                    l = l[i + 2..].trim();
                }
                None => continue,
            }
        }
        if l.starts_with("/*") {
            match l.find("*/") {
                Some(i) => l = l[i + 2..].trim(),
                None => {
                    in_block = true;
                    continue;
                }
            }
        }
        if l.starts_with("//") {
            continue;
        }
        if let Some(i) = l.find(" //").or_else(|| l.find("\t//")) {
            l = l[..i].trim_end();
        }
        if !l.is_empty() && !out.iter().any(|v| v == l) {
            out.push(l.to_string());
        }
    }
    out
}

/// One `rule_config.yaml`: applies to the rules under its folder.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    /// Folder of the config file, `/`-terminated ("" at the root).
    pub dir: String,
    pub rel: String,
    pub entries: BTreeMap<String, serde_json::Value>,
}

/// Every `rule_config.yaml` of the root, deepest folder first.
pub fn rule_configs(root: &Root) -> (Vec<RuleConfig>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for f in root
        .files
        .iter()
        .filter(|f| f.file_name() == "rule_config.yaml")
    {
        let dir = f
            .rel
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let doc = match parse_yaml(&f.text) {
            Ok(d) => d,
            Err((line, msg)) => {
                diags.push(Diagnostic::new(
                    Check::ParseError,
                    root.display(&f.rel),
                    line,
                    msg,
                ));
                continue;
            }
        };
        let entries = match doc {
            serde_json::Value::Object(m) => m.into_iter().collect(),
            serde_json::Value::Null => BTreeMap::new(),
            _ => {
                diags.push(Diagnostic::new(
                    Check::ParseError,
                    root.display(&f.rel),
                    1,
                    "a rule config maps rule names to their settings",
                ));
                continue;
            }
        };
        out.push(RuleConfig {
            dir,
            rel: f.rel.clone(),
            entries,
        });
    }
    out.sort_by(|a, b| b.dir.len().cmp(&a.dir.len()).then(a.dir.cmp(&b.dir)));
    (out, diags)
}

/// Metadata rows (and whether it is archived) for the rule `name` in file `rel`.
pub fn config_rows(configs: &[RuleConfig], rel: &str, name: &str) -> (Vec<(String, String)>, bool) {
    let Some(entry) = configs
        .iter()
        .filter(|c| rel.starts_with(&c.dir))
        .find_map(|c| c.entries.get(name))
    else {
        return (Vec::new(), false);
    };
    let yes_no = |k: &str| {
        entry.get(k).and_then(|v| v.as_bool()).map(|b| {
            if b {
                "yes".to_string()
            } else {
                "no".to_string()
            }
        })
    };
    let mut rows = Vec::new();
    for (key, label) in [
        ("enabled", "Enabled"),
        ("alerting", "Alerting"),
        ("archived", "Archived"),
    ] {
        if let Some(v) = yes_no(key) {
            rows.push((label.to_string(), v));
        }
    }
    if let Some(f) = scalar(entry.get("run_frequency")) {
        rows.push(("Run frequency".to_string(), f));
    }
    let archived = entry.get("archived").and_then(|v| v.as_bool()) == Some(true);
    (rows, archived)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_comments_are_dropped() {
        let text = "/*\n * header\n */\n// note\n\nabc // trailing\n  def\nhttp://x.y/z\n";
        assert_eq!(list_values(text), vec!["abc", "def", "http://x.y/z"]);
    }
}
