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

#[test]
fn tactic_spellings_from_data() {
    for (s, id) in [
        ("attack.stealth", "TA0005"),
        ("Stealth", "TA0005"),
        ("attack.defense-evasion", "TA0005"),
        ("defense-evasion", "TA0005"),
        ("DefenseEvasion", "TA0005"),
        ("defense_evasion", "TA0005"),
        ("attack.defense-impairment", "TA0112"),
        ("Defense Impairment", "TA0112"),
        ("CommandandControl", "TA0011"),
        ("Command and Control", "TA0011"),
        ("command_control", "TA0011"),
        ("attack.command-and-control", "TA0011"),
        ("Resource Development", "TA0042"),
        ("reconnaissance", "TA0043"),
        ("Exfiltration", "TA0010"),
        ("ImpACT", "TA0040"),
    ] {
        assert_eq!(tactic_id_by_name(s), Some(id), "{s}");
    }
    assert_eq!(tactic_id_by_name(""), None);
    assert_eq!(tactic_id_by_name("attack.t1078"), None);
    assert_eq!(tactic_id_by_name("lateral"), None);
    assert_eq!(
        parse_ref("attack.defense-impairment"),
        Some(AttackRef::Tactic("TA0112".into()))
    );
}

#[test]
fn tactics_in_matrix_order() {
    let ids: Vec<&str> = db().tactics().iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005", "TA0112",
            "TA0006", "TA0007", "TA0008", "TA0009", "TA0011", "TA0010", "TA0040"
        ]
    );
    let stealth = db().tactic("ta0005").unwrap();
    assert_eq!(stealth.name, "Stealth");
    assert_eq!(stealth.shortname, "stealth");
    assert_eq!(stealth.url, "https://attack.mitre.org/tactics/TA0005/");
    assert_eq!(db().tactic("TA0112").unwrap().name, "Defense Impairment");
    assert!(db().tactic("TA0099").is_none());
}

#[test]
fn counts_and_order() {
    let d = db();
    assert_eq!(d.attack_version(), "19.2");
    let ts = d.techniques();
    assert!(ts.windows(2).all(|w| w[0].id < w[1].id), "sorted, unique");
    let live = ts.iter().filter(|t| t.is_live()).count();
    let revoked = ts.iter().filter(|t| t.revoked).count();
    let deprecated = ts.iter().filter(|t| t.deprecated).count();
    assert_eq!((ts.len(), live, revoked, deprecated), (858, 697, 149, 12));
    let subs = ts.iter().filter(|t| t.is_live() && t.subtechnique).count();
    assert_eq!(subs, 475);
    // Every tactic id a technique names is a tactic; every replacement is a technique.
    for t in ts {
        assert_eq!(t.subtechnique, t.parent_id().is_some(), "{}", t.id);
        for ta in t.tactics.iter().chain(&t.former_tactics) {
            assert!(d.tactic(ta).is_some(), "{} names {ta}", t.id);
        }
        if let Some(r) = &t.replaced_by {
            assert!(t.revoked && d.technique(r).is_some(), "{} -> {r}", t.id);
        }
        assert!(!t.name.is_empty());
    }
}

#[test]
fn techniques_and_names() {
    let d = db();
    let t = d.technique("T1003.001").unwrap();
    assert_eq!(t.name, "LSASS Memory");
    assert_eq!(t.tactics, ["TA0006"]);
    assert!(t.subtechnique && t.is_live());
    assert_eq!(t.url, "https://attack.mitre.org/techniques/T1003/001/");
    assert!(t.summary.as_deref().unwrap().starts_with("Adversaries may"));
    assert_eq!(
        d.full_name("T1003.001").as_deref(),
        Some("OS Credential Dumping: LSASS Memory")
    );
    assert_eq!(
        d.technique("t1003.001").map(|t| t.id.as_str()),
        Some("T1003.001")
    );
    assert!(d.subtechniques("T1003").count() >= 8);
    // v19: new ids are known, TA0005 is Stealth, T1574 moved.
    let t = d.technique("T1685").unwrap();
    assert_eq!(t.name, "Disable or Modify Tools");
    assert_eq!(t.tactics, ["TA0112"]);
    assert!(t.new_in_v19 && t.is_live());
    for id in [
        "T1685.001",
        "T1685.006",
        "T1686.003",
        "T1689",
        "T1690",
        "T1027.018",
    ] {
        assert_eq!(d.resolve(id), Resolution::Known(id.into()), "{id}");
    }
    let hijack = d.technique("T1574").unwrap();
    assert!(hijack.tactics.contains(&"TA0002".to_string()));
    assert!(!hijack.former_tactics.is_empty());
}

#[test]
fn resolution() {
    let d = db();
    assert_eq!(d.resolve("T1078"), Resolution::Known("T1078".into()));
    assert_eq!(d.resolve("ta0006"), Resolution::Known("TA0006".into()));
    assert_eq!(d.resolve("TA0099"), Resolution::Unknown("TA0099".into()));
    assert_eq!(d.resolve("T9999"), Resolution::Unknown("T9999".into()));
    assert_eq!(
        d.resolve("T1078.999"),
        Resolution::Unknown("T1078.999".into())
    );
    // Revoked in v18.1 with a revoked-by relationship.
    assert_eq!(
        d.resolve("T1086"),
        Resolution::Revoked {
            old: "T1086".into(),
            new: Some("T1059.001".into())
        }
    );
    // Revoked in v19: no MITRE replacement for T1562 in the corpus data.
    assert_eq!(
        d.resolve("T1562"),
        Resolution::Revoked {
            old: "T1562".into(),
            new: None
        }
    );
    // A same-name successor is followed, and flagged as inferred.
    assert_eq!(
        d.resolve("T1562.001"),
        Resolution::Revoked {
            old: "T1562.001".into(),
            new: Some("T1685".into())
        }
    );
    assert!(d.technique("T1562.001").unwrap().replacement_inferred);
    // Chain: T1089 -> T1562.001 (v18.1 revoked-by) -> T1685 (v19 same name).
    assert_eq!(
        d.technique("T1089").unwrap().replaced_by.as_deref(),
        Some("T1562.001")
    );
    assert_eq!(
        d.resolve("T1089"),
        Resolution::Revoked {
            old: "T1089".into(),
            new: Some("T1685".into())
        }
    );
    // Deprecated.
    assert_eq!(d.resolve("T1064"), Resolution::Deprecated("T1064".into()));
    // Every v18.1 revoked-by chain ends in a live technique or in a v19 revocation.
    for t in d.techniques().iter().filter(|t| t.revoked) {
        match d.resolve(&t.id) {
            Resolution::Revoked { new: Some(n), .. } => {
                assert!(d.technique(&n).unwrap().is_live(), "{} -> {n}", t.id)
            }
            Resolution::Revoked { new: None, .. } => {}
            other => panic!("{}: {other:?}", t.id),
        }
    }
}

#[test]
fn resolution_chains_and_cycles() {
    let tech = |id: &str, revoked: bool, by: Option<&str>| Technique {
        id: id.into(),
        name: id.into(),
        tactics: vec![],
        former_tactics: vec![],
        subtechnique: false,
        revoked,
        deprecated: false,
        replaced_by: by.map(str::to_string),
        replacement_inferred: false,
        new_in_v19: false,
        url: String::new(),
        summary: None,
    };
    let d = Db::new(Data {
        attack_version: "test".into(),
        sources: vec![],
        tactics: vec![],
        techniques: vec![
            tech("T0001", true, Some("T0002")),
            tech("T0002", true, Some("T0003")),
            tech("T0003", false, None),
            tech("T0004", true, Some("T0005")),
            tech("T0005", true, Some("T0004")),
        ],
    });
    assert_eq!(
        d.resolve("T0001"),
        Resolution::Revoked {
            old: "T0001".into(),
            new: Some("T0003".into())
        }
    );
    assert_eq!(
        d.resolve("T0004"),
        Resolution::Revoked {
            old: "T0004".into(),
            new: None
        }
    );
}
