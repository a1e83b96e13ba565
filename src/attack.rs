//! MITRE ATT&CK: id spellings normalised here; technique and tactic facts embedded in the
//! binary (generated from the STIX bundle, see `data/`).

/// A normalised ATT&CK reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttackRef {
    /// `T1078` or `T1078.001`.
    Technique(String),
    /// `TA0006`.
    Tactic(String),
}

/// Tactic ids by every common spelling of their names (v19: TA0005 is "Stealth", TA0112
/// "Defense Impairment").
const TACTIC_NAMES: &[(&str, &str)] = &[
    ("reconnaissance", "TA0043"),
    ("resource-development", "TA0042"),
    ("initial-access", "TA0001"),
    ("execution", "TA0002"),
    ("persistence", "TA0003"),
    ("privilege-escalation", "TA0004"),
    ("defense-evasion", "TA0005"),
    ("stealth", "TA0005"),
    ("defense-impairment", "TA0112"),
    ("credential-access", "TA0006"),
    ("discovery", "TA0007"),
    ("lateral-movement", "TA0008"),
    ("collection", "TA0009"),
    ("command-and-control", "TA0011"),
    ("exfiltration", "TA0010"),
    ("impact", "TA0040"),
];

/// The tactic id of a tactic name in any spelling: `Defense Evasion`, `defense_evasion`,
/// `DefenseEvasion`, `attack.defense-evasion`, `CommandandControl`.
pub fn tactic_id_by_name(name: &str) -> Option<&'static str> {
    let n = name.trim();
    let n = n.strip_prefix("attack.").unwrap_or(n);
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let want = squash(n);
    if want.is_empty() {
        return None;
    }
    TACTIC_NAMES
        .iter()
        .find(|(k, _)| squash(k) == want || squash(&k.replace("-and-", "-")) == want)
        .map(|(_, id)| *id)
}

/// Normalises one ATT&CK reference in any vendor's spelling:
/// `attack.t1078.001`, `T1078.001`, `t1078/001`, `TA0006`, `attack.credential-access`,
/// `TA0006:T1528` (gives the technique; use [`parse_refs`] to get both), a technique URL.
pub fn parse_ref(s: &str) -> Option<AttackRef> {
    parse_refs(s).into_iter().last()
}

/// Every reference in a string such as `TA0006:T1528` or `execution, t1059`.
pub fn parse_refs(s: &str) -> Vec<AttackRef> {
    let mut out = Vec::new();
    let s = s.trim();
    let s = s.strip_prefix("attack.").unwrap_or(s);
    if let Some(id) = tactic_id_by_name(s) {
        return vec![AttackRef::Tactic(id.to_string())];
    }
    // URLs: .../techniques/T1580/001/ or .../tactics/TA0001/
    let parts: Vec<&str> = s
        .split(|c: char| c == ':' || c == ',' || c == ' ' || c == '/' || c == '|' || c == ';')
        .filter(|p| !p.is_empty())
        .collect();
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i].trim().trim_start_matches("attack.");
        let up = p.to_ascii_uppercase();
        if let Some(rest) = up.strip_prefix("TA") {
            if rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_digit()) {
                out.push(AttackRef::Tactic(up.clone()));
            }
        } else if let Some(rest) = up.strip_prefix('T') {
            let (base, sub) = rest
                .split_once('.')
                .map(|(a, b)| (a, Some(b)))
                .unwrap_or((rest, None));
            if base.len() == 4 && base.bytes().all(|b| b.is_ascii_digit()) {
                let mut id = format!("T{base}");
                let sub = sub.map(str::to_string).or_else(|| {
                    // URL form: T1580/001
                    parts
                        .get(i + 1)
                        .filter(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
                        .map(|n| {
                            i += 1;
                            n.to_string()
                        })
                });
                if let Some(sub) = sub {
                    if sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit()) {
                        id = format!("{id}.{sub}");
                    }
                }
                out.push(AttackRef::Technique(id));
            }
        } else if let Some(id) = tactic_id_by_name(p) {
            out.push(AttackRef::Tactic(id.to_string()));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(
            parse_ref("attack.t1078.001"),
            Some(AttackRef::Technique("T1078.001".into()))
        );
        assert_eq!(
            parse_ref("T1078.001"),
            Some(AttackRef::Technique("T1078.001".into()))
        );
        assert_eq!(
            parse_refs("TA0006:T1528"),
            vec![
                AttackRef::Tactic("TA0006".into()),
                AttackRef::Technique("T1528".into())
            ]
        );
        assert_eq!(
            parse_ref("attack.defense-evasion"),
            Some(AttackRef::Tactic("TA0005".into()))
        );
        assert_eq!(
            parse_ref("attack.stealth"),
            Some(AttackRef::Tactic("TA0005".into()))
        );
        assert_eq!(
            parse_ref("CommandandControl"),
            Some(AttackRef::Tactic("TA0011".into()))
        );
        assert_eq!(
            parse_ref("Defense Evasion"),
            Some(AttackRef::Tactic("TA0005".into()))
        );
        assert_eq!(
            parse_ref("https://attack.mitre.org/techniques/T1580/001/"),
            Some(AttackRef::Technique("T1580.001".into()))
        );
        assert_eq!(parse_ref("attack.g0016"), None);
        assert_eq!(parse_ref("NONE"), None);
    }
}
