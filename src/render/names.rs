//! ATT&CK names shown on pages. Every name the renderer shows comes from these functions,
//! so the embedded ATT&CK data (`crate::attack`) plugs in here and nowhere else.

/// Tactic names (enterprise ATT&CK; TA0005 is "Stealth" and TA0112 "Defense Impairment"
/// since v19).
const TACTICS: &[(&str, &str)] = &[
    ("TA0001", "Initial Access"),
    ("TA0002", "Execution"),
    ("TA0003", "Persistence"),
    ("TA0004", "Privilege Escalation"),
    ("TA0005", "Stealth"),
    ("TA0006", "Credential Access"),
    ("TA0007", "Discovery"),
    ("TA0008", "Lateral Movement"),
    ("TA0009", "Collection"),
    ("TA0010", "Exfiltration"),
    ("TA0011", "Command and Control"),
    ("TA0040", "Impact"),
    ("TA0042", "Resource Development"),
    ("TA0043", "Reconnaissance"),
    ("TA0112", "Defense Impairment"),
];

/// The name of a technique (`T1059.001`), when the embedded ATT&CK data knows it.
pub fn technique_name(_id: &str) -> Option<String> {
    None
}

/// The tactic ids a technique belongs to, when known.
pub fn technique_tactics(_id: &str) -> Vec<String> {
    Vec::new()
}

/// The name of a tactic (`TA0006`).
pub fn tactic_name(id: &str) -> Option<String> {
    TACTICS
        .iter()
        .find(|(t, _)| *t == id)
        .map(|(_, n)| n.to_string())
}

/// The ATT&CK page of a technique or tactic id.
pub fn mitre_url(id: &str) -> Option<String> {
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = id.strip_prefix("TA") {
        return ok(rest).then(|| format!("https://attack.mitre.org/tactics/{id}/"));
    }
    let rest = id.strip_prefix('T')?;
    let (base, sub) = rest.split_once('.').unwrap_or((rest, ""));
    if !ok(base) || !(sub.is_empty() || ok(sub)) {
        return None;
    }
    Some(if sub.is_empty() {
        format!("https://attack.mitre.org/techniques/T{base}/")
    } else {
        format!("https://attack.mitre.org/techniques/T{base}/{sub}/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_names() {
        assert_eq!(
            mitre_url("T1078.001").as_deref(),
            Some("https://attack.mitre.org/techniques/T1078/001/")
        );
        assert_eq!(
            mitre_url("TA0006").as_deref(),
            Some("https://attack.mitre.org/tactics/TA0006/")
        );
        assert_eq!(mitre_url("T10x"), None);
        assert_eq!(tactic_name("TA0006").as_deref(), Some("Credential Access"));
    }
}
