use super::*;
use crate::model::{SourceLocation, Vendor};
use crate::verify::checks::Level;

fn rule(id: &str, raw: &str, techniques: &[&str], tactics: &[&str]) -> Rule {
    let mut r = Rule::new(
        Vendor::Sigma,
        id,
        SourceLocation {
            root: 0,
            path: format!("{id}.yml"),
            line: 1,
        },
    );
    r.raw = raw.to_string();
    r.techniques = techniques.iter().map(|s| s.to_string()).collect();
    r.tactics = tactics.iter().map(|s| s.to_string()).collect();
    r
}

fn findings(rules: &[Rule]) -> Vec<(String, usize, &'static str, String)> {
    lint(rules, |r| format!("rules/{}", r.source.path))
        .into_iter()
        .map(|d| (d.rule.unwrap_or_default(), d.line, d.code.id(), d.message))
        .collect()
}

const SIGMA: &str = "title: Example\nid: r1\ntags:\n  - attack.credential-access\n  - attack.t1003.001\n  - attack.t1003\n  - attack.t1086\n  - attack.t1064\n  - attack.t9999\ndetection:\n  sel:\n    a: b\n  condition: sel\n";

#[test]
fn clean_rule_has_no_findings() {
    let r = rule("r0", SIGMA, &["T1003.001", "T1003"], &["TA0006"]);
    assert!(findings(&[r]).is_empty());
    // No tactics stated: no mismatch possible.
    let r = rule("r0", SIGMA, &["T1003.001", "T1059.001"], &[]);
    assert!(findings(&[r]).is_empty());
}

#[test]
fn unknown_revoked_deprecated() {
    let r = rule(
        "r1",
        SIGMA,
        &["T1003.001", "T1003", "T1086", "T1064", "T9999", "T1086"],
        &["TA0006", "TA0002"],
    );
    let f = findings(&[r]);
    let codes: Vec<(&str, usize)> = f.iter().map(|x| (x.2, x.1)).collect();
    assert_eq!(
        codes,
        [
            ("revoked_attack_id", 7),
            ("deprecated_attack_id", 8),
            ("unknown_attack_id", 9)
        ],
        "{f:#?}"
    );
    assert!(f.iter().all(|x| x.0 == "r1"));
    assert!(
        f[0].3
            .contains("T1086 (PowerShell) is revoked; use T1059.001"),
        "{}",
        f[0].3
    );
    assert!(f[0]
        .3
        .contains("Command and Scripting Interpreter: PowerShell"));
    let diags = lint(&[rule("r1", SIGMA, &["T1086"], &[])], |_| "f.yml".into());
    assert_eq!(diags[0].file, "f.yml");
    assert_eq!(diags[0].level, Level::Warning);
}

#[test]
fn revoked_in_v19() {
    let raw = "tags:\n  - attack.defense-evasion\n  - attack.t1562.001\n  - attack.t1562\n";
    let r = rule("r2", raw, &["T1562.001", "T1562"], &["TA0005"]);
    let f = findings(&[r]);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!((f[0].1, f[0].2), (3, "revoked_attack_id"));
    assert!(f[0].3.contains("use T1685") && f[0].3.contains("same-name"));
    // `attack.t1562` is matched as a whole id, not inside `attack.t1562.001`.
    assert_eq!((f[1].1, f[1].2), (4, "revoked_attack_id"));
    assert!(f[1].3.contains("no recorded replacement"));
}

#[test]
fn tactic_mismatch() {
    let raw = "tactics:\n  - TA0005\ntechniques:\n  - T1003\n  - T1027\n";
    let r = rule("r3", raw, &["T1003", "T1027"], &["TA0005"]);
    let f = findings(&[r]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0].1, f[0].2), (4, "tactic_mismatch"));
    assert!(
        f[0].3.contains("Credential Access (TA0006)") && f[0].3.contains("Stealth (TA0005)"),
        "{}",
        f[0].3
    );
    // v18.1 tactics are accepted: T1553 moved from defense-evasion to defense-impairment.
    let r = rule("r4", "", &["T1553"], &["TA0005"]);
    assert!(findings(&[r]).is_empty());
    let r = rule("r4", "", &["T1553"], &["TA0112"]);
    assert!(findings(&[r]).is_empty());
    // A revoked technique may carry its replacement's tactic.
    let r = rule("r5", "", &["T1562.001"], &["TA0112"]);
    let f = findings(&[r]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].2, "revoked_attack_id");
    // v19 ids with v19 tactics.
    let r = rule("r6", "", &["T1685.001"], &["TA0112"]);
    assert!(findings(&[r]).is_empty());
    let r = rule("r6", "", &["T1685.001"], &["TA0006"]);
    assert_eq!(findings(&[r])[0].2, "tactic_mismatch");
    // Only known tactics count as stated.
    let r = rule("r7", "", &["T1003"], &["TA0099"]);
    let f = findings(&[r]);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].1, f[0].2), (1, "unknown_attack_id"));
}

#[test]
fn line_of_ids() {
    let r = rule(
        "r8",
        "a: T1003.0011\nb: xT1003\nc: https://attack.mitre.org/techniques/T1003/001/\n",
        &["T1003.001"],
        &[],
    );
    assert_eq!(id_line(&r, "T1003.001"), Some(3));
    assert_eq!(id_line(&r, "T1003"), None);
    let r = rule("r8", "id: 1\nmitre = \"t1003, T1086\"\n", &[], &[]);
    assert_eq!(id_line(&r, "T1003"), Some(2));
    assert_eq!(id_line(&r, "T1086"), Some(2));
}

#[test]
fn resolve_rule_replaces_and_dedups() {
    let mut r = rule(
        "r9",
        "",
        &[
            "T1086",
            "T1059.001",
            "T1089",
            "T1562",
            "T9999",
            "T1064",
            "T1562.001",
        ],
        &["TA0002", "TA0005", "TA0002"],
    );
    resolve_rule(&mut r);
    assert_eq!(
        r.techniques,
        ["T1059.001", "T1685", "T1562", "T9999", "T1064"]
    );
    assert_eq!(r.tactics, ["TA0002", "TA0005"]);
}
