//! The support files of a Panther root, read once: global helper modules, data models,
//! saved and scheduled queries.

use super::analysis_type;
use crate::diag::Diagnostic;
use crate::discover::Root;
use crate::formats::{parse_yaml, scalar, str_list};
use crate::query::python::{Mapping, Source};
use crate::verify::checks::Check;
use std::collections::BTreeMap;

/// A saved or scheduled query a scheduled rule names.
#[derive(Debug, Clone)]
pub struct QueryInfo {
    pub rel: String,
    pub kind: String,
    pub text: String,
    pub language: &'static str,
    pub description: Option<String>,
    pub schedule: Option<String>,
}

#[derive(Debug, Default)]
pub struct Support {
    /// `global_helpers` modules by module name (the file stem).
    pub helpers: BTreeMap<String, Source>,
    /// Data model mappings by log type.
    pub data_models: BTreeMap<String, Vec<(String, Mapping)>>,
    /// Data model ids by log type.
    pub data_model_ids: BTreeMap<String, String>,
    /// Queries by `QueryName`.
    pub queries: BTreeMap<String, QueryInfo>,
    /// Problems found in support files.
    pub diagnostics: Vec<Diagnostic>,
}

fn stem(rel: &str) -> &str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name)
}

fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// `dir/name`, for a file named relative to a YAML file's folder.
pub fn beside(rel: &str, name: &str) -> String {
    let d = dir_of(rel);
    if d.is_empty() {
        name.to_string()
    } else {
        format!("{d}/{name}")
    }
}

impl Support {
    pub fn read(root: &Root) -> Support {
        let mut s = Support::default();
        let mut helper_files: Vec<String> = root
            .files
            .iter()
            .filter(|f| {
                f.ext() == "py"
                    && f.rel.split('/').any(|seg| seg == "global_helpers")
                    && !f.file_name().ends_with("_test.py")
            })
            .map(|f| f.rel.clone())
            .collect();
        for f in &root.files {
            if !matches!(f.ext(), "yml" | "yaml") {
                continue;
            }
            let Some(kind) = analysis_type(&f.text) else {
                continue;
            };
            if !matches!(
                kind,
                "global" | "datamodel" | "scheduled_query" | "saved_query"
            ) {
                continue;
            }
            let doc = match parse_yaml(&f.text) {
                Ok(d) => d,
                Err((line, msg)) => {
                    s.diagnostics.push(Diagnostic::new(
                        Check::ParseError,
                        root.display(&f.rel),
                        line,
                        msg,
                    ));
                    continue;
                }
            };
            match kind {
                "global" => {
                    if let Some(name) = scalar(doc.get("Filename")) {
                        let rel = beside(&f.rel, &name);
                        if root.get(&rel).is_some() && !helper_files.contains(&rel) {
                            helper_files.push(rel);
                        }
                    }
                }
                "datamodel" => {
                    let module = scalar(doc.get("Filename")).and_then(|name| {
                        let rel = beside(&f.rel, &name);
                        root.get(&rel)?;
                        if !helper_files.contains(&rel) {
                            helper_files.push(rel.clone());
                        }
                        Some(stem(&rel).to_string())
                    });
                    s.add_data_model(&doc, module)
                }
                _ => s.add_query(&f.rel, kind, &doc),
            }
        }
        helper_files.sort();
        for rel in helper_files {
            let Some(file) = root.get(&rel) else {
                continue;
            };
            match Source::parse(stem(&rel), &file.text) {
                Ok(src) => {
                    s.helpers.entry(stem(&rel).to_string()).or_insert(src);
                }
                Err(e) => s.diagnostics.push(
                    Diagnostic::new(Check::ParseError, root.display(&rel), e.line, e.message)
                        .at_column(e.column),
                ),
            }
        }
        s
    }

    fn add_data_model(&mut self, doc: &serde_json::Value, module: Option<String>) {
        if doc.get("Enabled").and_then(|e| e.as_bool()) == Some(false) {
            return;
        }
        let id = scalar(doc.get("DataModelID")).unwrap_or_default();
        let mut mappings = Vec::new();
        for m in doc
            .get("Mappings")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            let Some(name) = scalar(m.get("Name")) else {
                continue;
            };
            let mapping = if let Some(p) = scalar(m.get("Path")) {
                Mapping::path(&p)
            } else if let Some(method) = scalar(m.get("Method")) {
                Mapping::Method {
                    module: module.clone(),
                    name: method,
                }
            } else {
                continue;
            };
            mappings.push((name, mapping));
        }
        for lt in str_list(doc.get("LogTypes")) {
            self.data_model_ids.entry(lt.clone()).or_insert(id.clone());
            self.data_models.entry(lt).or_insert(mappings.clone());
        }
    }

    fn add_query(&mut self, rel: &str, kind: &str, doc: &serde_json::Value) {
        let Some(name) = scalar(doc.get("QueryName")) else {
            return;
        };
        let (text, language) = if let Some(q) = scalar(doc.get("Query")) {
            (q, "sql")
        } else if let Some(q) = scalar(doc.get("PantherFlowQuery")) {
            (q, "pantherflow")
        } else if let Some(q) = scalar(doc.get("SnowflakeQuery")) {
            (q, "sql")
        } else if let Some(q) = scalar(doc.get("AthenaQuery")) {
            (q, "sql")
        } else {
            (String::new(), "sql")
        };
        let schedule = doc.get("Schedule").map(|sch| {
            let mut parts = Vec::new();
            if let Some(c) = scalar(sch.get("CronExpression")) {
                if !c.is_empty() {
                    parts.push(format!("cron `{c}`"));
                }
            }
            if let Some(r) = scalar(sch.get("RateMinutes")) {
                if r != "0" {
                    parts.push(format!("every {r} minutes"));
                }
            }
            parts.join(", ")
        });
        self.queries.entry(name).or_insert(QueryInfo {
            rel: rel.to_string(),
            kind: kind.to_string(),
            text,
            language,
            description: scalar(doc.get("Description")),
            schedule: schedule.filter(|s| !s.is_empty()),
        });
    }
}
