//! Generates `data/attack.json`, the ATT&CK facts embedded in ruledex, from the corpus:
//! the ATT&CK v18.1 STIX 2.0 bundle (`enterprise-attack.json`: descriptions, `revoked-by`
//! relationships) and the v19.2 supplement (`attack-v19-supplement.json`: current tactic
//! names, technique names, tactics, revoked/deprecated status, ids new in v19). See the
//! corpus `attack/README.md` for how the two combine. No network.
//!
//! Regenerate (from the repository root) and commit the result:
//!
//! ```text
//! cargo run --bin gen_attack -- ../shared/corpus/attack data/attack.json
//! ```
//!
//! `data/ATTACK-LICENSE.txt` is MITRE's ATT&CK license (copied from the corpus), which every
//! copy of the data must carry.
//!
//! Both arguments are optional: the folder defaults to `$RULEDEX_CORPUS/attack` (else
//! `../shared/corpus/attack`), the output to `data/attack.json`. The output is deterministic.

use ruledex::attack::{Data, Tactic, Technique};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One attack-pattern of the v18.1 bundle.
struct Stix {
    name: String,
    description: String,
    phases: Vec<String>,
    revoked: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") || args.len() > 2 {
        eprintln!("usage: gen_attack [CORPUS_ATTACK_DIR] [OUTPUT]");
        return ExitCode::from(2);
    }
    let dir = args.first().map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("RULEDEX_CORPUS")
            .map(|c| PathBuf::from(c).join("attack"))
            .unwrap_or_else(|| PathBuf::from("../shared/corpus/attack"))
    });
    let out = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/attack.json"));
    match generate(&dir) {
        Ok((data, warnings)) => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let text = render(&data);
            if let Err(e) = std::fs::write(&out, &text) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return ExitCode::from(1);
            }
            let live = data.techniques.iter().filter(|t| t.is_live()).count();
            let revoked = data.techniques.iter().filter(|t| t.revoked).count();
            let deprecated = data.techniques.iter().filter(|t| t.deprecated).count();
            eprintln!(
                "wrote {}: ATT&CK {}, {} tactics, {} techniques ({live} live, {revoked} revoked, \
                 {deprecated} deprecated), {} bytes",
                out.display(),
                data.attack_version,
                data.tactics.len(),
                data.techniques.len(),
                text.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn bool_of(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The ATT&CK id (`external_references[source_name=mitre-attack].external_id`).
fn attack_id(o: &Value) -> Option<String> {
    list(o, "external_references")
        .iter()
        .find(|r| str_of(r, "source_name") == "mitre-attack")
        .map(|r| str_of(r, "external_id").to_string())
        .filter(|s| !s.is_empty())
}

fn technique_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}

/// Builds the data from the two corpus files; also returns consistency warnings.
fn generate(dir: &Path) -> Result<(Data, Vec<String>), String> {
    let bundle = read_json(&dir.join("enterprise-attack.json"))?;
    let supplement = read_json(&dir.join("attack-v19-supplement.json"))?;
    let mut warnings = Vec::new();

    // v18.1: attack-patterns by ATT&CK id, and revoked-by between ATT&CK ids.
    let mut stix_to_id: HashMap<&str, String> = HashMap::new();
    let mut v18: BTreeMap<String, Stix> = BTreeMap::new();
    for o in list(&bundle, "objects") {
        if str_of(o, "type") != "attack-pattern" {
            continue;
        }
        let Some(id) = attack_id(o) else { continue };
        stix_to_id.insert(str_of(o, "id"), id.clone());
        let phases = list(o, "kill_chain_phases")
            .iter()
            .filter(|p| str_of(p, "kill_chain_name") == "mitre-attack")
            .map(|p| str_of(p, "phase_name").to_string())
            .collect();
        v18.insert(
            id,
            Stix {
                name: str_of(o, "name").to_string(),
                description: str_of(o, "description").to_string(),
                phases,
                revoked: bool_of(o, "revoked"),
            },
        );
    }
    let mut revoked_by: BTreeMap<String, String> = BTreeMap::new();
    for o in list(&bundle, "objects") {
        if str_of(o, "type") != "relationship" || str_of(o, "relationship_type") != "revoked-by" {
            continue;
        }
        let (Some(src), Some(dst)) = (
            stix_to_id.get(str_of(o, "source_ref")),
            stix_to_id.get(str_of(o, "target_ref")),
        ) else {
            continue; // groups, software
        };
        revoked_by.insert(src.clone(), dst.clone());
    }

    // v19.2 tactics in matrix order, with their former spellings.
    let changes = supplement.get("changes_from_18_1").unwrap_or(&Value::Null);
    let mut tactics: Vec<Tactic> = list(&supplement, "tactics")
        .iter()
        .map(|t| Tactic {
            id: str_of(t, "id").to_string(),
            name: str_of(t, "name").to_string(),
            shortname: str_of(t, "shortname").to_string(),
            url: format!("https://attack.mitre.org/tactics/{}/", str_of(t, "id")),
            aliases: Vec::new(),
        })
        .collect();
    if tactics.is_empty() {
        return Err("the supplement lists no tactics".into());
    }
    for r in list(changes, "tactics_renamed") {
        if let Some(t) = tactics.iter_mut().find(|t| t.id == str_of(r, "id")) {
            for k in ["old_shortname", "old_name"] {
                let a = str_of(r, k);
                if !a.is_empty() && !t.aliases.iter().any(|x| x == a) {
                    t.aliases.push(a.to_string());
                }
            }
        }
    }
    let mut tactic_by_short: HashMap<String, (usize, String)> = HashMap::new();
    for (i, t) in tactics.iter().enumerate() {
        for s in std::iter::once(&t.shortname).chain(&t.aliases) {
            tactic_by_short.insert(s.clone(), (i, t.id.clone()));
        }
    }
    let to_ids = |phases: &[String], what: &str, warnings: &mut Vec<String>| -> Vec<String> {
        let mut set = BTreeSet::new();
        for p in phases {
            match tactic_by_short.get(p) {
                Some(x) => {
                    set.insert(x.clone());
                }
                None => warnings.push(format!("{what}: unknown tactic shortname {p}")),
            }
        }
        set.into_iter().map(|(_, id)| id).collect()
    };

    // Same-name successors of techniques revoked in v19 (no v19 revoked-by data exists).
    let mut same_name: BTreeMap<String, String> = BTreeMap::new();
    for r in list(changes, "techniques_removed_or_revoked") {
        let hints = list(r, "v19_live_same_name");
        if let [one] = hints {
            if let Some(s) = one.as_str() {
                same_name.insert(str_of(r, "id").to_string(), s.to_string());
            }
        }
    }

    let mut techniques = Vec::new();
    for t in list(&supplement, "techniques") {
        let id = str_of(t, "id").to_string();
        let phases: Vec<String> = list(t, "tactics")
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        let tactic_ids = to_ids(&phases, &id, &mut warnings);
        let old = v18.get(&id);
        let former_tactics = match old.filter(|o| !o.revoked) {
            Some(o) => {
                let f = to_ids(&o.phases, &id, &mut warnings);
                if f != tactic_ids {
                    f
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        };
        let revoked = bool_of(t, "revoked");
        let (replaced_by, replacement_inferred) = match revoked_by.get(&id) {
            Some(r) => (Some(r.clone()), false),
            None if revoked => match same_name.get(&id) {
                Some(r) => (Some(r.clone()), true),
                None => (None, false),
            },
            None => (None, false),
        };
        if !revoked && replaced_by.is_some() {
            warnings.push(format!(
                "{id} has a revoked-by relationship but is not revoked"
            ));
        }
        if let (Some(o), false) = (old, revoked) {
            if o.revoked {
                warnings.push(format!("{id} revoked in v18.1 but live in v19.2"));
            }
        }
        let summary = old
            .filter(|o| !o.revoked)
            .and_then(|o| first_sentence(&o.description));
        let name = match str_of(t, "name") {
            "" => old.map(|o| o.name.clone()).unwrap_or_default(),
            n => n.to_string(),
        };
        techniques.push(Technique {
            url: technique_url(&id),
            subtechnique: !t.get("parent").is_none_or(Value::is_null),
            new_in_v19: old.is_none(),
            id,
            name,
            tactics: tactic_ids,
            former_tactics,
            revoked,
            deprecated: bool_of(t, "deprecated"),
            replaced_by,
            replacement_inferred,
            summary,
        });
    }
    for id in v18.keys() {
        if !techniques.iter().any(|t| &t.id == id) {
            warnings.push(format!("{id} is in v18.1 but not in the v19.2 supplement"));
        }
    }
    techniques.sort_by(|a, b| a.id.cmp(&b.id));
    techniques.dedup_by(|a, b| a.id == b.id);

    let version = str_of(&supplement, "attack_version").to_string();
    let data = Data {
        attack_version: if version.is_empty() {
            "19.2".into()
        } else {
            version
        },
        sources: vec![
            "MITRE ATT&CK Enterprise v18.1 STIX 2.0 bundle (mitre/cti 421deacb77191b38bdd1bf63268954e93da91365): summaries, revoked-by relationships".into(),
            "MITRE ATT&CK Enterprise v19.2 facts (attack-stix-data 6cda5ad8462c79e14fbb872f4e09059b18e0cfc4 via a published extract): tactics, names, technique tactics, revoked and deprecated status".into(),
            "\u{a9} 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation. ATT&CK\u{ae} license: data/ATTACK-LICENSE.txt".into(),
        ],
        tactics,
        techniques,
    };
    Ok((data, warnings))
}

/// The first sentence of a STIX description as plain text: citations, Markdown links,
/// emphasis and HTML tags removed, whitespace collapsed, at most about 300 characters. A
/// deprecation notice (`**This technique has been deprecated. Please use ...**`) is kept
/// whole.
fn first_sentence(desc: &str) -> Option<String> {
    let para = desc.trim().split("\n\n").next().unwrap_or("");
    let notice = para.starts_with("**") && para.trim_end().ends_with("**");
    let text = plain_text(para);
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for w in &words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        let abbreviation = ["e.g.", "i.e.", "vs.", "Inc.", "al.", "approx.", "St."]
            .iter()
            .any(|a| w.trim_start_matches('(').eq_ignore_ascii_case(a));
        if !notice && w.ends_with('.') && !abbreviation {
            break;
        }
        if out.len() > 300 {
            out.push('…');
            break;
        }
    }
    let out = out.trim().to_string();
    (!out.is_empty()).then_some(out)
}

/// STIX Markdown to plain text: `(Citation: X)` dropped, `[text](url)` -> `text`, `**`
/// and HTML tags dropped, line breaks to spaces.
fn plain_text(md: &str) -> String {
    let md = md.replace('\n', " ").replace("**", "");
    let mut text = String::new();
    let mut rest = md.as_str();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("(Citation:") {
            rest = r.split_once(')').map(|(_, r)| r).unwrap_or("");
            // `privileges.(Citation: X)Trust` -> `privileges. Trust`
            text.push(' ');
        } else if let Some(r) = rest.strip_prefix('[') {
            // [text](url) -> text
            let parsed = r.split_once("](").and_then(|(label, after)| {
                let (_, tail) = after.split_once(')')?;
                (!label.contains('[')).then_some((label, tail))
            });
            match parsed {
                Some((label, tail)) => {
                    text.push_str(label);
                    rest = tail;
                }
                None => {
                    text.push('[');
                    rest = r;
                }
            }
        } else if rest.starts_with('<')
            && rest[1..].starts_with(|c: char| c == '/' || c.is_ascii_alphabetic())
        {
            rest = rest.split_once('>').map(|(_, r)| r).unwrap_or("");
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    text
}

/// One line of JSON.
fn j<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// Compact, deterministic JSON: one tactic or technique per line, so diffs stay readable.
fn render(data: &Data) -> String {
    let mut s = String::from("{\n");
    s.push_str(&format!(
        "\"attack_version\":{},\n",
        j(&data.attack_version)
    ));
    s.push_str(&format!("\"sources\":{},\n", j(&data.sources)));
    s.push_str("\"tactics\":[\n");
    let lines: Vec<String> = data.tactics.iter().map(j).collect();
    s.push_str(&lines.join(",\n"));
    s.push_str("\n],\n\"techniques\":[\n");
    let lines: Vec<String> = data.techniques.iter().map(j).collect();
    s.push_str(&lines.join(",\n"));
    s.push_str("\n]}\n");
    s
}
