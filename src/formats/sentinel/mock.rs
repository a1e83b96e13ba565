//! Mock events a solution ships for a rule (`Solutions/<s>/Mock Data/**/<rule stem>.json`)
//! become the rule's positive tests.
//!
//! The mocks are written in the source's own shape (a CEF record, an Okta System Log
//! event), while queries name the columns of the Log Analytics table. So the columns are
//! added beside the original keys (never replacing them): CEF keys become
//! `CommonSecurityLog` columns (`act` → `DeviceAction`), and nested objects become
//! custom-log columns with their type suffix (`client.ipAddress` → `client_ipAddress_s`),
//! the flattening the HTTP Data Collector API applies.

use super::meta::solution_folder;
use crate::diag::Diagnostic;
use crate::discover::Root;
use crate::model::{Expect, RuleTest, SourceLocation};
use crate::verify::checks::Check;
use serde_json::{Map, Value as J};

/// CEF keys and the `CommonSecurityLog` columns they fill.
const CEF_COLUMNS: &[(&str, &str)] = &[
    ("act", "DeviceAction"),
    ("app", "ApplicationProtocol"),
    ("cat", "DeviceEventCategory"),
    ("cnt", "EventCount"),
    ("cs1", "DeviceCustomString1"),
    ("cs1Label", "DeviceCustomString1Label"),
    ("cs2", "DeviceCustomString2"),
    ("cs2Label", "DeviceCustomString2Label"),
    ("cs3", "DeviceCustomString3"),
    ("cs3Label", "DeviceCustomString3Label"),
    ("cs4", "DeviceCustomString4"),
    ("cs4Label", "DeviceCustomString4Label"),
    ("cs5", "DeviceCustomString5"),
    ("cs5Label", "DeviceCustomString5Label"),
    ("cs6", "DeviceCustomString6"),
    ("cs6Label", "DeviceCustomString6Label"),
    ("cn1", "DeviceCustomNumber1"),
    ("cn2", "DeviceCustomNumber2"),
    ("cn3", "DeviceCustomNumber3"),
    ("deviceExternalId", "DeviceExternalID"),
    ("dhost", "DestinationHostName"),
    ("dmac", "DestinationMACAddress"),
    ("dntdom", "DestinationNTDomain"),
    ("dpid", "DestinationProcessId"),
    ("dproc", "DestinationProcessName"),
    ("dpt", "DestinationPort"),
    ("dst", "DestinationIP"),
    ("duid", "DestinationUserID"),
    ("duser", "DestinationUserName"),
    ("dvc", "DeviceAddress"),
    ("dvchost", "DeviceName"),
    ("externalId", "ExtID"),
    ("fname", "FileName"),
    ("filePath", "FilePath"),
    ("fileHash", "FileHash"),
    ("fsize", "FileSize"),
    ("in", "ReceivedBytes"),
    ("out", "SentBytes"),
    ("msg", "Message"),
    ("outcome", "EventOutcome"),
    ("proto", "Protocol"),
    ("reason", "Reason"),
    ("request", "RequestURL"),
    ("requestClientApplication", "RequestClientApplication"),
    ("requestContext", "RequestContext"),
    ("requestMethod", "RequestMethod"),
    ("rt", "ReceiptTime"),
    ("shost", "SourceHostName"),
    ("smac", "SourceMACAddress"),
    ("sntdom", "SourceNTDomain"),
    ("spid", "SourceProcessId"),
    ("sproc", "SourceProcessName"),
    ("spt", "SourcePort"),
    ("src", "SourceIP"),
    ("suid", "SourceUserID"),
    ("suser", "SourceUserName"),
    ("vendor", "DeviceVendor"),
    ("deviceVendor", "DeviceVendor"),
    ("product", "DeviceProduct"),
    ("deviceProduct", "DeviceProduct"),
    ("version", "DeviceVersion"),
    ("deviceVersion", "DeviceVersion"),
    ("deviceEventClassId", "DeviceEventClassID"),
    ("signatureId", "DeviceEventClassID"),
    ("name", "Activity"),
    ("severity", "LogSeverity"),
];

/// The mock-data tests of the rule file `rel`.
pub(super) fn tests(root: &Root, rel: &str, tables: &[String]) -> (Vec<RuleTest>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let Some(folder) = solution_folder(rel) else {
        return (out, diags);
    };
    let Some(pos) = rel
        .find(&format!("/{folder}/"))
        .map(|p| p + folder.len() + 2)
    else {
        return (out, diags);
    };
    let stem = rel
        .rsplit('/')
        .next()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let mock_dir = format!("{}Mock Data/", &rel[..pos]);
    let cef = tables.iter().any(|t| t == "CommonSecurityLog");
    for f in root.files_under(&mock_dir) {
        let name = f.file_name();
        let Some((fstem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if !ext.eq_ignore_ascii_case("json") || fstem.to_ascii_lowercase() != stem {
            continue;
        }
        let doc: J = match serde_json::from_str(&f.text) {
            Ok(d) => d,
            Err(e) => {
                diags.push(
                    Diagnostic::new(
                        Check::ParseError,
                        root.display(&f.rel),
                        e.line(),
                        e.to_string(),
                    )
                    .at_column(e.column()),
                );
                continue;
            }
        };
        let events: Vec<J> = match doc {
            J::Array(a) => a,
            obj @ J::Object(_) => vec![obj],
            _ => Vec::new(),
        };
        if events.is_empty() {
            diags.push(Diagnostic::new(
                Check::ParseError,
                root.display(&f.rel),
                1,
                "mock data holds no events (expected an object or a list of objects)",
            ));
            continue;
        }
        out.push(RuleTest {
            name: format!("mock data {}", &f.rel[mock_dir.len()..]),
            events: events.iter().map(|e| with_columns(e, cef)).collect(),
            expect: Expect::Match,
            unsupported: None,
            location: Some(SourceLocation {
                root: root.index,
                path: f.rel.clone(),
                line: 1,
            }),
        });
    }
    (out, diags)
}

/// The event with table columns added beside its own keys.
pub(super) fn with_columns(event: &J, cef: bool) -> J {
    let J::Object(m) = event else {
        return event.clone();
    };
    let mut out = m.clone();
    if cef {
        for (k, col) in CEF_COLUMNS {
            if let Some(v) = m.get(*k) {
                if !out.contains_key(*col) {
                    out.insert(col.to_string(), v.clone());
                }
            }
        }
    }
    let mut flat = Map::new();
    flatten("", event, &mut flat);
    for (k, v) in flat {
        if !out.contains_key(&k) {
            out.insert(k, v);
        }
    }
    J::Object(out)
}

/// Custom-log columns: nested keys joined by `_`, with the type suffix of the value.
fn flatten(prefix: &str, v: &J, out: &mut Map<String, J>) {
    match v {
        J::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}_{k}")
                };
                flatten(&key, x, out);
            }
        }
        _ if prefix.is_empty() => {}
        J::String(s) => {
            out.insert(format!("{prefix}_s"), J::String(s.clone()));
        }
        J::Number(n) => {
            out.insert(format!("{prefix}_d"), J::Number(n.clone()));
        }
        J::Bool(b) => {
            out.insert(format!("{prefix}_b"), J::Bool(*b));
        }
        J::Array(_) => {
            out.insert(format!("{prefix}_s"), J::String(v.to_string()));
        }
        J::Null => {}
    }
}
