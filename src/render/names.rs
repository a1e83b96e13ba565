//! ATT&CK names shown on pages. Every name the renderer shows comes from these functions,
//! which read the embedded ATT&CK data (`crate::attack::db`).

use crate::attack;

/// The full name of a technique (`Command and Scripting Interpreter: PowerShell`).
pub fn technique_name(id: &str) -> Option<String> {
    attack::db().full_name(id)
}

/// The tactic ids a technique belongs to, in matrix order.
pub fn technique_tactics(id: &str) -> Vec<String> {
    attack::db()
        .technique(id)
        .map(|t| t.tactics.clone())
        .unwrap_or_default()
}

/// One-sentence summary of a technique, when ATT&CK has one.
pub fn technique_summary(id: &str) -> Option<String> {
    attack::db().technique(id)?.summary.clone()
}

/// Whether ATT&CK marks a technique revoked or deprecated (shown as a note).
pub fn technique_status(id: &str) -> Option<&'static str> {
    let t = attack::db().technique(id)?;
    if t.revoked {
        Some("revoked")
    } else if t.deprecated {
        Some("deprecated")
    } else {
        None
    }
}

/// The name of a tactic (`TA0006` → `Credential Access`).
pub fn tactic_name(id: &str) -> Option<String> {
    attack::db().tactic(id).map(|t| t.name.clone())
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
        assert_eq!(
            technique_name("T1059.001").as_deref(),
            Some("Command and Scripting Interpreter: PowerShell")
        );
        assert_eq!(technique_tactics("T1059.001"), vec!["TA0002".to_string()]);
        assert_eq!(technique_name("T9999"), None);
    }
}
