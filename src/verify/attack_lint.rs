//! ATT&CK lints: unknown, revoked and deprecated technique or tactic ids, and techniques
//! filed under a tactic they do not belong to. Checked against the embedded ATT&CK data
//! ([`crate::attack::db`], v19.2 with v18.1 tactics accepted for rules written before v19).
//!
//! Run [`lint`] on the rules as loaded, then [`resolve_rule`] on each rule so the catalog
//! files it under current ids.

use crate::attack::{db, Resolution, Technique};
use crate::diag::Diagnostic;
use crate::model::Rule;
use crate::verify::checks::Check;

/// ATT&CK findings of every rule, in rule order. `display` gives the file path shown in a
/// diagnostic (usually `root.display(&rule.source.path)`).
pub fn lint(rules: &[Rule], display: impl Fn(&Rule) -> String) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in rules {
        lint_rule(rule, &display(rule), &mut out);
    }
    out
}

fn lint_rule(rule: &Rule, file: &str, out: &mut Vec<Diagnostic>) {
    let d = db();
    let mut push = |check: Check, id: &str, message: String| {
        let line = id_line(rule, id).unwrap_or(rule.source.line);
        out.push(Diagnostic::new(check, file, line, message).for_rule(rule.id.clone()));
    };
    for id in dedup(&rule.tactics) {
        if d.tactic(id).is_none() {
            push(
                Check::UnknownTechnique,
                id,
                format!("{id} is not an ATT&CK Enterprise tactic"),
            );
        }
    }
    for id in dedup(&rule.techniques) {
        match d.resolve(id) {
            Resolution::Known(_) => {}
            Resolution::Unknown(_) => push(
                Check::UnknownTechnique,
                id,
                format!(
                    "{id} is not an ATT&CK Enterprise technique (v{})",
                    d.attack_version()
                ),
            ),
            Resolution::Revoked { new, .. } => {
                let name = d.technique(id).map(|t| t.name.as_str()).unwrap_or("");
                let inferred = d.technique(id).is_some_and(|t| t.replacement_inferred);
                let message = match new {
                    Some(n) => format!(
                        "{id} ({name}) is revoked; use {n} ({}){}",
                        d.full_name(&n).unwrap_or_default(),
                        if inferred {
                            " (same-name successor in v19; no MITRE revoked-by data)"
                        } else {
                            ""
                        }
                    ),
                    None => format!(
                        "{id} ({name}) is revoked in ATT&CK v{} and has no recorded replacement",
                        d.attack_version()
                    ),
                };
                push(Check::RevokedTechnique, id, message);
            }
            Resolution::Deprecated(_) => {
                let name = d.technique(id).map(|t| t.name.as_str()).unwrap_or("");
                push(
                    Check::DeprecatedTechnique,
                    id,
                    format!("{id} ({name}) is deprecated"),
                );
            }
        }
        if let Some(message) = tactic_mismatch(rule, id) {
            push(Check::TacticMismatch, id, message);
        }
    }
}

/// When a rule states tactics and techniques: a technique none of whose tactics (v19.2, or
/// v18.1, or those of its replacement) is among the rule's tactics.
fn tactic_mismatch(rule: &Rule, id: &str) -> Option<String> {
    let d = db();
    let rule_tactics: Vec<&str> = rule
        .tactics
        .iter()
        .filter(|t| d.tactic(t).is_some())
        .map(String::as_str)
        .collect();
    if rule_tactics.is_empty() {
        return None;
    }
    let t = d.technique(id)?;
    let mut allowed: Vec<&str> = own_tactics(t).collect();
    if let Resolution::Revoked { new: Some(n), .. } = d.resolve(id) {
        allowed.extend(d.technique(&n).into_iter().flat_map(own_tactics));
    }
    if allowed.is_empty() || allowed.iter().any(|a| rule_tactics.contains(a)) {
        return None;
    }
    let names = |ids: &mut dyn Iterator<Item = &str>| -> String {
        let mut v: Vec<String> = ids
            .map(|i| match d.tactic(i) {
                Some(t) => format!("{} ({i})", t.name),
                None => i.to_string(),
            })
            .collect();
        v.dedup();
        v.join(", ")
    };
    Some(format!(
        "{id} ({}) belongs to {}, none of the rule's tactics: {}",
        t.name,
        names(&mut t.tactics.iter().map(String::as_str)),
        names(&mut rule_tactics.iter().copied())
    ))
}

fn own_tactics(t: &Technique) -> impl Iterator<Item = &str> {
    t.tactics
        .iter()
        .chain(&t.former_tactics)
        .map(String::as_str)
}

/// Ids in first-seen order without repeats.
fn dedup(ids: &[String]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for id in ids {
        if !seen.contains(&id.as_str()) {
            seen.push(id);
        }
    }
    seen
}

/// The 1-based line of `id` in the rule's file text, in any of its spellings
/// (`T1078.001`, `attack.t1078.001`, `T1078/001`), matched as a whole id.
fn id_line(rule: &Rule, id: &str) -> Option<usize> {
    let raw = &rule.raw;
    let hay = raw.to_ascii_lowercase();
    let id = id.to_ascii_lowercase();
    let mut spellings = vec![id.clone()];
    if id.contains('.') {
        spellings.push(id.replace('.', "/"));
    }
    for s in &spellings {
        let mut from = 0;
        while let Some(p) = hay[from..].find(s.as_str()) {
            let start = from + p;
            let end = start + s.len();
            let before_ok = hay[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            let after = &hay.as_bytes()[end..];
            let continues = match after {
                [c, ..] if c.is_ascii_alphanumeric() => true,
                [b'.' | b'/', c, ..] if c.is_ascii_digit() => true,
                _ => false,
            };
            if before_ok && !continues {
                return Some(crate::diag::line_of(raw, start));
            }
            from = end;
        }
    }
    None
}

/// Replaces revoked technique ids by their current replacement (following chains) and
/// removes repeats, so the catalog files the rule under live ids. Ids without a
/// replacement (unknown, deprecated, revoked without successor) stay as written. Tactic
/// ids are de-duplicated.
pub fn resolve_rule(rule: &mut Rule) {
    let d = db();
    let mut techniques: Vec<String> = Vec::with_capacity(rule.techniques.len());
    for id in &rule.techniques {
        let id = match d.resolve(id) {
            Resolution::Revoked { new: Some(n), .. } => n,
            _ => id.clone(),
        };
        if !techniques.contains(&id) {
            techniques.push(id);
        }
    }
    rule.techniques = techniques;
    let mut tactics: Vec<String> = Vec::with_capacity(rule.tactics.len());
    for id in &rule.tactics {
        if !tactics.contains(id) {
            tactics.push(id.clone());
        }
    }
    rule.tactics = tactics;
}

#[cfg(test)]
mod tests;
