//! The ATT&CK Enterprise facts embedded in the binary: tactics in matrix order and every
//! technique and sub-technique (live, revoked, deprecated) with its tactics.
//!
//! The data is `data/attack.json`, written by `src/bin/gen_attack.rs` from the corpus
//! (v18.1 STIX bundle + v19.2 supplement) and committed; regenerate it with
//! `cargo run --bin gen_attack -- /path/to/corpus/attack data/attack.json`.
//! It is parsed once, on first use.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The generated data file, embedded.
const DATA: &str = include_str!("../../data/attack.json");

/// An ATT&CK tactic (a column of the matrix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tactic {
    /// `TA0006`.
    pub id: String,
    /// `Credential Access`.
    pub name: String,
    /// `credential-access` (the STIX `x_mitre_shortname`, used by kill chain phases).
    pub shortname: String,
    pub url: String,
    /// Former shortnames and names (`defense-evasion`, `Defense Evasion` for TA0005).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// An ATT&CK technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `T1003` or `T1003.001`.
    pub id: String,
    /// Own name (`LSASS Memory`); see [`Db::full_name`] for `OS Credential Dumping: LSASS Memory`.
    pub name: String,
    /// Tactic ids in matrix order (ATT&CK v19.2).
    pub tactics: Vec<String>,
    /// The v18.1 tactic ids, only when they differ from `tactics` other than by the rename of
    /// defense-evasion to stealth (same id TA0005). Rules written for v18 may use them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_tactics: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub subtechnique: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    /// The id this revoked technique was replaced by (one step; [`Db::resolve`] follows chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// `replaced_by` is not MITRE's `revoked-by` relationship but the single live v19.2
    /// technique with the same name (v19.2 relationships are not in the corpus).
    #[serde(default, skip_serializing_if = "is_false")]
    pub replacement_inferred: bool,
    /// Added in v19 (no v18.1 description or relationships exist for it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub new_in_v19: bool,
    pub url: String,
    /// First sentence of the v18.1 description, plain text, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Technique {
    /// Neither revoked nor deprecated.
    pub fn is_live(&self) -> bool {
        !self.revoked && !self.deprecated
    }
    /// `T1003` for `T1003.001`; `None` for a technique.
    pub fn parent_id(&self) -> Option<&str> {
        self.id.split_once('.').map(|(p, _)| p)
    }
}

/// The serialised shape of `data/attack.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data {
    /// ATT&CK version of names, tactics and status (`19.2`).
    pub attack_version: String,
    /// Where the facts come from.
    pub sources: Vec<String>,
    pub tactics: Vec<Tactic>,
    /// Sorted by id.
    pub techniques: Vec<Technique>,
}

/// What an ATT&CK id stands for today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A live technique or a tactic.
    Known(String),
    /// Revoked; `new` is the end of the replacement chain, `None` when ATT&CK names none.
    Revoked { old: String, new: Option<String> },
    /// Deprecated without replacement.
    Deprecated(String),
    /// Not an ATT&CK Enterprise technique or tactic id.
    Unknown(String),
}

/// The embedded ATT&CK facts with lookups.
#[derive(Debug)]
pub struct Db {
    data: Data,
    technique_index: HashMap<String, usize>,
    tactic_index: HashMap<String, usize>,
    /// Squashed spelling (lower-case alphanumerics) -> tactic index.
    tactic_names: HashMap<String, usize>,
}

/// The embedded ATT&CK facts, parsed on first use.
pub fn db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| {
        let data: Data = serde_json::from_str(DATA).expect("embedded data/attack.json is valid");
        Db::new(data)
    })
}

/// Lower-case alphanumerics only: `Command and Control` -> `commandandcontrol`.
pub(crate) fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Db {
    /// Indexes parsed data (used by [`db`]; public so tests can build small databases).
    pub fn new(data: Data) -> Db {
        let technique_index = data
            .techniques
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let tactic_index = data
            .tactics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let mut tactic_names = HashMap::new();
        for (i, t) in data.tactics.iter().enumerate() {
            let spellings = [&t.shortname, &t.name].into_iter().chain(&t.aliases);
            for s in spellings {
                tactic_names.entry(squash(s)).or_insert(i);
                // `Command Control`, `command_control`: the "and" left out.
                let without_and = s.replace("-and-", "-").replace(" and ", " ");
                tactic_names.entry(squash(&without_and)).or_insert(i);
            }
        }
        Db {
            data,
            technique_index,
            tactic_index,
            tactic_names,
        }
    }

    pub fn attack_version(&self) -> &str {
        &self.data.attack_version
    }
    pub fn sources(&self) -> &[String] {
        &self.data.sources
    }
    /// Tactics in matrix order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.data.tactics
    }
    /// Every technique and sub-technique (revoked and deprecated included), sorted by id.
    pub fn techniques(&self) -> &[Technique] {
        &self.data.techniques
    }
    /// A technique by id (`T1003.001`; case-insensitive).
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        let i = match self.technique_index.get(id) {
            Some(i) => *i,
            None => *self.technique_index.get(&id.trim().to_ascii_uppercase())?,
        };
        Some(&self.data.techniques[i])
    }
    /// A tactic by id (`TA0006`; case-insensitive).
    pub fn tactic(&self, id: &str) -> Option<&Tactic> {
        let i = match self.tactic_index.get(id) {
            Some(i) => *i,
            None => *self.tactic_index.get(&id.trim().to_ascii_uppercase())?,
        };
        Some(&self.data.tactics[i])
    }
    /// A tactic by any spelling of its name, current or former: `Defense Evasion`,
    /// `defense_evasion`, `DefenseEvasion`, `stealth`, `CommandandControl`.
    pub fn tactic_by_name(&self, name: &str) -> Option<&Tactic> {
        let want = squash(name);
        if want.is_empty() {
            return None;
        }
        self.tactic_names.get(&want).map(|&i| &self.data.tactics[i])
    }
    /// The sub-techniques of a technique, in id order.
    pub fn subtechniques<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'a Technique> {
        self.data
            .techniques
            .iter()
            .filter(move |t| t.parent_id() == Some(parent))
    }
    /// `OS Credential Dumping: LSASS Memory` for a sub-technique, the name otherwise.
    pub fn full_name(&self, id: &str) -> Option<String> {
        let t = self.technique(id)?;
        Some(match t.parent_id().and_then(|p| self.technique(p)) {
            Some(p) => format!("{}: {}", p.name, t.name),
            None => t.name.clone(),
        })
    }

    /// What a technique or tactic id stands for today, following replacement chains.
    pub fn resolve(&self, id: &str) -> Resolution {
        let up = id.trim().to_ascii_uppercase();
        if up.starts_with("TA") {
            return match self.tactic(&up) {
                Some(t) => Resolution::Known(t.id.clone()),
                None => Resolution::Unknown(up),
            };
        }
        let Some(t) = self.technique(&up) else {
            return Resolution::Unknown(up);
        };
        if t.revoked {
            let mut cur = t;
            let mut seen = vec![cur.id.as_str()];
            while let Some(next) = cur.replaced_by.as_deref().and_then(|n| self.technique(n)) {
                if seen.contains(&next.id.as_str()) {
                    break; // a cycle: stop at the last id before it
                }
                seen.push(&next.id);
                cur = next;
                if !cur.revoked {
                    break;
                }
            }
            let new = (cur.id != t.id && !cur.revoked).then(|| cur.id.clone());
            return Resolution::Revoked {
                old: t.id.clone(),
                new,
            };
        }
        if t.deprecated {
            return Resolution::Deprecated(t.id.clone());
        }
        Resolution::Known(t.id.clone())
    }
}
