//! MITRE ATT&CK: id spellings normalised here; technique and tactic facts embedded in the
//! binary ([`db`], generated into `data/attack.json` by `src/bin/gen_attack.rs`).

mod db;

pub use db::{db, Data, Db, Resolution, Tactic, Technique};

/// A normalised ATT&CK reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttackRef {
    /// `T1078` or `T1078.001`.
    Technique(String),
    /// `TA0006`.
    Tactic(String),
}

/// The tactic id of a tactic name in any spelling, current or former (from the embedded
/// data): `Defense Evasion`, `defense_evasion`, `DefenseEvasion`, `attack.defense-evasion`
/// and `attack.stealth` (TA0005), `attack.defense-impairment` (TA0112), `CommandandControl`.
pub fn tactic_id_by_name(name: &str) -> Option<&'static str> {
    let n = name.trim();
    let n = n.strip_prefix("attack.").unwrap_or(n);
    db().tactic_by_name(n).map(|t| t.id.as_str())
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
        .split([':', ',', ' ', '/', '|', ';'])
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
mod tests;
