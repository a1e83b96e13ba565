//! SigmaHQ regression data: a rule's `regression_tests_path` names an `info.yml` whose
//! `regression_tests_info` entries point at `.evtx` files; beside each lies a `.json` of the
//! same stem holding the events as concatenated JSON objects (evtx_dump style). Each entry
//! is a positive test of the rule `info.yml` names: as in SigmaHQ's own runner, the rule
//! must fire on the recorded events (at least `match_count` of them when given).

use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::{parse_yaml, scalar};
use crate::model::{Expect, RuleTest, SourceLocation};
use crate::verify::checks::Check;
use serde_json::{Map, Value as J};
use std::path::{Path, PathBuf};

/// The tests an `info.yml` describes, with the rule ids it names.
pub struct Regression {
    pub rule_ids: Vec<String>,
    pub tests: Vec<RuleTest>,
}

/// A support file found in the root or, failing that, on disk above the rule file (the
/// path is relative to the repository root, as SigmaHQ's own runner resolves it).
struct Found {
    text: String,
    /// Path relative to the root when it is in the root.
    rel: Option<String>,
    display: String,
}

fn normalise(path: &str) -> String {
    let p = path.trim().replace('\\', "/");
    p.trim_start_matches("./").to_string()
}

fn find(root: &Root, file: &SourceFile, path: &str) -> Option<Found> {
    let path = normalise(path);
    if let Some(f) = root.get(&path) {
        return Some(Found {
            text: f.text.clone(),
            rel: Some(path.clone()),
            display: root.display(&path),
        });
    }
    let mut dir: Option<&Path> = file.abs.parent();
    while let Some(d) = dir {
        let candidate: PathBuf = d.join(&path);
        if candidate.is_file() {
            let text = std::fs::read(&candidate).ok()?;
            return Some(Found {
                text: String::from_utf8_lossy(&text).into_owned(),
                rel: None,
                display: candidate.to_string_lossy().into_owned(),
            });
        }
        dir = d.parent();
    }
    None
}

/// Reads the regression tests of one rule. `line` is the line of `regression_tests_path`.
pub fn load(
    root: &Root,
    file: &SourceFile,
    path: &str,
    line: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Regression> {
    let Some(info) = find(root, file, path) else {
        diags.push(Diagnostic::new(
            Check::BrokenReference,
            root.display(&file.rel),
            line,
            format!("regression_tests_path `{path}` does not exist"),
        ));
        return None;
    };
    let doc = match parse_yaml(&info.text) {
        Ok(d) => d,
        Err((l, msg)) => {
            diags.push(Diagnostic::new(Check::ParseError, info.display, l, msg));
            return None;
        }
    };
    let rule_ids: Vec<String> = doc
        .get("rule_metadata")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(|m| scalar(m.get("id"))).collect())
        .unwrap_or_default();
    let entries = doc
        .get("regression_tests_info")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        diags.push(Diagnostic::new(
            Check::MissingField,
            info.display.clone(),
            1,
            "info.yml has no `regression_tests_info` entries",
        ));
    }
    let mut tests = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let name =
            scalar(entry.get("name")).unwrap_or_else(|| format!("Regression test {}", i + 1));
        let kind = scalar(entry.get("type")).unwrap_or_default();
        let data = scalar(entry.get("path")).unwrap_or_default();
        let entry_line = crate::diag::find_line(&info.text, &data).unwrap_or(1);
        let info_loc = SourceLocation {
            root: root.index,
            path: info.rel.clone().unwrap_or_else(|| info.display.clone()),
            line: entry_line,
        };
        let unsupported = |reason: String| RuleTest {
            name: name.clone(),
            events: Vec::new(),
            expect: Expect::Match,
            unsupported: Some(reason),
            location: Some(info_loc.clone()),
        };
        if !kind.eq_ignore_ascii_case("evtx") {
            tests.push(unsupported(format!(
                "regression data of type `{kind}` (only evtx JSON events are read)"
            )));
            continue;
        }
        let json_path = match data.rsplit_once('.') {
            Some((stem, _)) => format!("{stem}.json"),
            None => format!("{data}.json"),
        };
        let Some(events_file) = find(root, file, &json_path) else {
            tests.push(unsupported(format!(
                "`{json_path}` (the JSON beside the .evtx) is not present"
            )));
            continue;
        };
        let mut events = Vec::new();
        let mut bad = None;
        for ev in serde_json::Deserializer::from_str(&events_file.text).into_iter::<J>() {
            match ev {
                Ok(ev) => events.push(prepare_event(ev)),
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = bad {
            diags.push(Diagnostic::new(
                Check::ParseError,
                events_file.display.clone(),
                e.line(),
                format!("invalid JSON event: {e}"),
            ));
            tests.push(unsupported(format!("`{json_path}` holds invalid JSON")));
            continue;
        }
        let location = Some(SourceLocation {
            root: root.index,
            path: events_file
                .rel
                .clone()
                .unwrap_or(events_file.display.clone()),
            line: 1,
        });
        if events.is_empty() {
            tests.push(unsupported(format!("`{json_path}` holds no event")));
            continue;
        }
        let count = entry.get("match_count").and_then(|c| match c {
            J::Number(n) => n.as_u64(),
            J::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        // SigmaHQ's runner passes a test when the rule fires on the recorded log; an
        // `info.yml` `match_count` (which that runner does not check) is a lower bound.
        let at_least = count.unwrap_or(1).max(1) as usize;
        let expect = if events.len() == 1 && at_least == 1 {
            Expect::Match
        } else {
            Expect::AtLeast(at_least)
        };
        tests.push(RuleTest {
            name,
            events,
            expect,
            unsupported: None,
            location,
        });
    }
    Some(Regression { rule_ids, tests })
}

/// Flattens a Windows event (evtx_dump JSON) so Sigma field names resolve: `EventData.*`
/// and `UserData.*.*` at the top level, `System` values at the top level (`EventID`,
/// `Channel`, `Computer`), XML attributes as `Provider_Name`, `Execution_ProcessID`,
/// `TimeCreated_SystemTime`, `Security_UserID`. The original `Event.*` tree is kept. Events
/// of any other shape are returned as they are.
pub fn prepare_event(ev: J) -> J {
    let Some(event) = ev.get("Event").and_then(J::as_object) else {
        return ev;
    };
    let mut flat = Map::new();
    if let Some(system) = event.get("System").and_then(J::as_object) {
        for (k, v) in system {
            match v {
                J::Object(o) => {
                    if let Some(J::Object(attrs)) = o.get("#attributes") {
                        for (a, av) in attrs {
                            flat.insert(format!("{k}_{a}"), av.clone());
                        }
                    }
                    if let Some(text) = o.get("#text") {
                        flat.insert(k.clone(), text.clone());
                    }
                }
                other => {
                    flat.insert(k.clone(), other.clone());
                }
            }
        }
    }
    let data = |d: &Map<String, J>, flat: &mut Map<String, J>| {
        for (k, v) in d {
            if k == "#attributes" {
                continue;
            }
            if k == "Data" {
                // `<Data Name="x">v</Data>` rendered as a list of {#attributes: {Name}, #text}.
                let items: Vec<&J> = match v {
                    J::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                let mut named = false;
                for it in items {
                    if let (Some(n), Some(t)) = (
                        it.pointer("/#attributes/Name").and_then(J::as_str),
                        it.get("#text"),
                    ) {
                        flat.insert(n.to_string(), t.clone());
                        named = true;
                    }
                }
                if named {
                    continue;
                }
            }
            // Sigma names drop the spaces of Defender's `Threat Name`, `Source Name`, ...
            if k.contains(' ') {
                flat.entry(k.replace(' ', "")).or_insert_with(|| v.clone());
            }
            flat.insert(k.clone(), v.clone());
        }
    };
    if let Some(d) = event.get("EventData").and_then(J::as_object) {
        data(d, &mut flat);
    }
    if let Some(u) = event.get("UserData").and_then(J::as_object) {
        for inner in u.values() {
            if let J::Object(o) = inner {
                data(o, &mut flat);
            }
        }
    }
    let mut out = match ev {
        J::Object(o) => o,
        _ => Map::new(),
    };
    for (k, v) in flat {
        out.entry(k).or_insert(v);
    }
    J::Object(out)
}
