//! The `meta:` section of a YARA-L rule onto the rule's fields, facets and metadata rows.

use crate::attack::{parse_refs, tactic_id_by_name, AttackRef};
use crate::model::{FacetKind, Rule, Section, Severity};
use crate::query::yaral::ast::RuleAst;

/// What the meta section says that is not a plain rule field.
#[derive(Debug, Default)]
pub struct MetaFindings {
    /// A `severity` value outside the severity scale.
    pub bad_severity: Option<(String, usize)>,
}

/// Applies the meta entries of `ast` to `rule`.
pub fn apply(ast: &RuleAst, rule: &mut Rule) -> MetaFindings {
    let mut found = MetaFindings::default();
    for m in &ast.meta {
        let key = m.key.to_ascii_lowercase();
        let value = m.value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "rule_name" | "name" | "title" => rule.title = value.to_string(),
            "description" => rule.description = value.to_string(),
            "author" | "authors" => {
                for a in value.split(',') {
                    rule.facet(FacetKind::Author, a.trim());
                }
            }
            "severity" => match Severity::parse(value) {
                Some(s) => rule.severity = Some(s),
                None => found.bad_severity = Some((value.to_string(), m.span.line)),
            },
            k if k == "reference" || k == "references" || k.starts_with("reference") => {
                for url in add_references(rule, value) {
                    if url.to_ascii_lowercase().contains("attack.mitre.org") {
                        add_attack(rule, &url, true, true);
                    }
                }
            }
            "created" | "date" | "creation_date" => rule.created = Some(date(value)),
            "modified" | "last_modified" | "updated" | "modification_date" => {
                rule.modified = Some(date(value))
            }
            "mitre_attack_tactic" | "mitre_attack_tactics" => {
                add_attack(rule, value, true, false);
                rule.metadata
                    .push(("ATT&CK tactic".to_string(), value.to_string()));
            }
            "mitre_attack_technique" | "mitre_attack_techniques" => {
                add_attack(rule, value, false, true);
                rule.metadata
                    .push(("ATT&CK technique".to_string(), value.to_string()));
            }
            "mitre_attack_url" | "mitre_attack_technique_id" | "mitre_attack_id" => {
                add_attack(rule, value, true, true)
            }
            "tactic" | "tactics" => add_attack(rule, value, true, false),
            "technique" | "techniques" | "subtechnique" => add_attack(rule, value, false, true),
            "mitre" => add_attack(rule, value, true, true),
            "data_source" | "data_sources" => {
                for d in value.split(',') {
                    rule.facet(FacetKind::DataSource, d.trim());
                }
            }
            "platform" | "product" => rule.facet(FacetKind::Product, value),
            "service" => rule.facet(FacetKind::Service, value),
            "category" => rule.facet(FacetKind::Category, value),
            "tags" | "tag" => {
                for t in value.split(',') {
                    rule.facet(FacetKind::Tag, t.trim());
                }
            }
            "false_positives" | "falsepositives" => rule.sections.push(Section {
                title: "False positives".to_string(),
                markdown: value.to_string(),
            }),
            _ => rule.metadata.push((m.key.clone(), value.to_string())),
        }
    }
    found
}

/// Adds the URLs of a reference value (which may be a Python-style list), or the text itself
/// when it has none; returns what was added.
fn add_references(rule: &mut Rule, value: &str) -> Vec<String> {
    let urls: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ',' | '[' | ']'))
        .filter(|p| p.starts_with("http://") || p.starts_with("https://"))
        .collect();
    let items: Vec<String> = if urls.is_empty() {
        vec![value.to_string()]
    } else {
        urls.into_iter().map(str::to_string).collect()
    };
    for r in &items {
        if !rule.references.contains(r) {
            rule.references.push(r.clone());
        }
    }
    items
}

/// ATT&CK ids in a value: comma-separated tactic names, ids and URLs. References only count
/// when they point at attack.mitre.org.
pub fn add_attack(rule: &mut Rule, value: &str, tactics: bool, techniques: bool) {
    let lower = value.to_ascii_lowercase();
    if value.contains("://") && !lower.contains("attack.mitre.org") {
        return;
    }
    for part in value.split([',', ';', '\n']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let mut refs = parse_refs(part);
        if refs.is_empty() {
            if let Some(id) = tactic_id_by_name(part) {
                refs.push(AttackRef::Tactic(id.to_string()));
            }
        }
        for r in refs {
            match r {
                AttackRef::Tactic(id) if tactics => push_unique(&mut rule.tactics, id),
                AttackRef::Technique(id) if techniques => push_unique(&mut rule.techniques, id),
                _ => {}
            }
        }
    }
}

/// ATT&CK references in outcome strings (`$mitre_attack_technique = "T1078"`).
pub fn add_outcome_attack(rule: &mut Rule, strings: &[String]) {
    for s in strings {
        add_attack(rule, s, true, true);
    }
}

fn push_unique(v: &mut Vec<String>, id: String) {
    if !v.contains(&id) {
        v.push(id);
    }
}

/// `2017/03/19` -> `2017-03-19`; other spellings are kept.
fn date(s: &str) -> String {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() == 10
        && b[4] == b'/'
        && b[7] == b'/'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        s.replace('/', "-")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceLocation, Vendor};

    fn rule() -> Rule {
        Rule::new(Vendor::Chronicle, "x", SourceLocation::default())
    }

    #[test]
    fn tactic_names_ids_and_urls() {
        let mut r = rule();
        add_attack(
            &mut r,
            "Defense Evasion, Persistence, Privilege Escalation, Initial Access",
            true,
            false,
        );
        assert_eq!(r.tactics, vec!["TA0005", "TA0003", "TA0004", "TA0001"]);
        add_attack(&mut r, "Exfiltration Over Web Service", false, true);
        assert!(r.techniques.is_empty());
        add_attack(
            &mut r,
            "https://attack.mitre.org/techniques/T1078/004/",
            true,
            true,
        );
        add_attack(&mut r, "command_and_control, t1043", true, true);
        add_attack(&mut r, "https://example.com/T1059", true, true);
        assert_eq!(r.techniques, vec!["T1078.004", "T1043"]);
        assert!(r.tactics.contains(&"TA0011".to_string()));
    }

    #[test]
    fn dates_and_references() {
        assert_eq!(date("2017/03/19"), "2017-03-19");
        assert_eq!(date("2024-01-02"), "2024-01-02");
        let mut r = rule();
        add_references(&mut r, "['https://a.example/x', 'https://b.example/y']");
        add_references(&mut r, "Internal research");
        assert_eq!(
            r.references,
            vec![
                "https://a.example/x",
                "https://b.example/y",
                "Internal research"
            ]
        );
    }
}
