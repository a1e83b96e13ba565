//! What a Sentinel root says around its rules: solutions (`Solutions/<folder>/Data/
//! Solution_*.json`, `SolutionMetadata.json`), data connector definitions (any JSON under a
//! connectors folder with `id`, `title` and `publisher`), and parsers (ASIM `ParserName` /
//! solution `FunctionName` YAML, legacy `Parsers/**.txt|.kql`), read once per load.

use crate::discover::{Root, SourceFile};
use crate::formats::{parse_yaml, scalar, str_list};
use crate::query::kql::Functions;
use serde::Serialize;
use serde_json::Value as J;
use std::collections::BTreeMap;

/// A Content Hub solution.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SolutionInfo {
    /// Folder under `Solutions/`: the solution's id and its facet value.
    pub folder: String,
    /// Display name (`Name` of the solution JSON; the folder when absent).
    pub name: String,
    /// Markdown.
    pub description: String,
    pub author: Option<String>,
    pub version: Option<String>,
    pub publisher_id: Option<String>,
    pub support_tier: Option<String>,
    pub categories: Vec<String>,
    pub first_published: Option<String>,
    pub last_published: Option<String>,
    /// Connector ids the solution declares statically (`StaticDataConnectorIds`).
    pub connector_ids: Vec<String>,
    /// The solution JSON, relative to the root.
    pub file: Option<String>,
}

/// A data connector definition.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ConnectorInfo {
    /// `connectorId` rules name in `requiredDataConnectors`; the facet value.
    pub id: String,
    pub title: String,
    pub publisher: Option<String>,
    /// Markdown.
    pub description: String,
    /// Tables it fills (`dataTypes[].name`, cleaned: `CommonSecurityLog (Vendor)` →
    /// `CommonSecurityLog`).
    pub tables: Vec<String>,
    /// Solution folder it ships in, for definitions under `Solutions/<folder>/`.
    pub solution: Option<String>,
    /// Definition file, relative to the root.
    pub file: String,
}

/// A stored function / parser defined in the root.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ParserInfo {
    pub name: String,
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub file: String,
}

/// Solutions, connectors and parsers of one root.
#[derive(Debug, Clone, Default)]
pub struct RootInfo {
    pub solutions: BTreeMap<String, SolutionInfo>,
    pub connectors: BTreeMap<String, ConnectorInfo>,
    pub parsers: Vec<ParserInfo>,
    /// Parsers with the tables they read, for the KQL front end.
    pub functions: Functions,
}

impl RootInfo {
    pub fn read(root: &Root) -> RootInfo {
        let mut info = RootInfo::default();
        let mut defs: Vec<(Vec<String>, String, String)> = Vec::new();
        for f in &root.files {
            let ext = f.ext().to_ascii_lowercase();
            let lower = f.rel.to_ascii_lowercase();
            if ext == "json" {
                if let Some(folder) = solution_folder(&f.rel) {
                    let name = f.file_name().to_ascii_lowercase();
                    if lower.contains("/data/") && name.starts_with("solution_") {
                        read_solution(&mut info, &folder, f);
                        continue;
                    }
                    if name == "solutionmetadata.json" {
                        read_solution_metadata(&mut info, &folder, f);
                        continue;
                    }
                }
                if lower.contains("connector") {
                    read_connectors(&mut info, f);
                }
            } else if ext == "yaml" || ext == "yml" {
                if let Some(def) = parser_yaml(f) {
                    info.parsers.push(ParserInfo {
                        name: def.0[0].clone(),
                        aliases: def.0[1..].to_vec(),
                        title: def.3.clone(),
                        file: f.rel.clone(),
                    });
                    defs.push((def.0, def.1, def.2));
                }
            } else if (ext == "txt" || ext == "kql") && in_parsers_folder(&f.rel) {
                let stem = f
                    .file_name()
                    .rsplit_once('.')
                    .map(|(s, _)| s)
                    .unwrap_or_default()
                    .to_string();
                if !stem.is_empty() {
                    info.parsers.push(ParserInfo {
                        name: stem.clone(),
                        aliases: Vec::new(),
                        title: None,
                        file: f.rel.clone(),
                    });
                    defs.push((vec![stem], f.text.clone(), f.rel.clone()));
                }
            }
        }
        info.functions = Functions::resolve(&defs);
        info
    }

    /// Adds another root's definitions; names already known keep their first definition.
    pub fn merge(&mut self, other: RootInfo) {
        for (k, v) in other.solutions {
            self.solutions.entry(k).or_insert(v);
        }
        for (k, v) in other.connectors {
            self.connectors.entry(k).or_insert(v);
        }
        self.parsers.extend(other.parsers);
        if self.functions.is_empty() {
            self.functions = other.functions;
        }
    }

    /// `"Title (id), publisher P"` for a connector id, or the id when no definition is in
    /// the root.
    pub fn connector_label(&self, id: &str) -> String {
        match self.connectors.get(id) {
            Some(c) => match &c.publisher {
                Some(p) => format!("{} ({id}), publisher {p}", c.title),
                None => format!("{} ({id})", c.title),
            },
            None => id.to_string(),
        }
    }
}

/// The folder under `Solutions/` a path lies in (`Solutions/Okta Single Sign-On/...`).
pub fn solution_folder(rel: &str) -> Option<String> {
    let parts: Vec<&str> = rel.split('/').collect();
    let i = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("solutions"))?;
    (parts.len() > i + 2).then(|| parts[i + 1].to_string())
}

/// Under a `Parsers/` folder (legacy parsers are `.txt` files there).
pub fn in_parsers_folder(rel: &str) -> bool {
    rel.split('/')
        .rev()
        .skip(1)
        .any(|p| p.eq_ignore_ascii_case("parsers"))
}

fn parse_json(f: &SourceFile) -> Option<J> {
    serde_json::from_str(&f.text).ok()
}

fn text_of(v: Option<&J>) -> Option<String> {
    scalar(v)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn solution_entry<'a>(info: &'a mut RootInfo, folder: &str) -> &'a mut SolutionInfo {
    info.solutions
        .entry(folder.to_string())
        .or_insert_with(|| SolutionInfo {
            folder: folder.to_string(),
            name: folder.to_string(),
            ..SolutionInfo::default()
        })
}

fn read_solution(info: &mut RootInfo, folder: &str, f: &SourceFile) {
    let Some(doc) = parse_json(f) else { return };
    let s = solution_entry(info, folder);
    if let Some(n) = text_of(doc.get("Name")) {
        s.name = n;
    }
    if let Some(d) = text_of(doc.get("Description")) {
        s.description = d;
    }
    s.author = text_of(doc.get("Author")).or(s.author.take());
    s.version = text_of(doc.get("Version")).or(s.version.take());
    s.connector_ids = str_list(doc.get("StaticDataConnectorIds"));
    s.file = Some(f.rel.clone());
}

fn read_solution_metadata(info: &mut RootInfo, folder: &str, f: &SourceFile) {
    let Some(doc) = parse_json(f) else { return };
    let s = solution_entry(info, folder);
    s.publisher_id = text_of(doc.get("publisherId"));
    s.first_published = text_of(doc.get("firstPublishDate"));
    s.last_published = text_of(doc.get("lastPublishDate"));
    s.support_tier = doc.get("support").and_then(|x| text_of(x.get("tier")));
    if let Some(c) = doc.get("categories") {
        for k in ["domains", "verticals"] {
            s.categories.extend(str_list(c.get(k)));
        }
    }
}

fn read_connectors(info: &mut RootInfo, f: &SourceFile) {
    let Some(doc) = parse_json(f) else { return };
    let mut found = Vec::new();
    walk_connectors(&doc, 0, &mut found);
    for mut c in found {
        c.file = f.rel.clone();
        c.solution = solution_folder(&f.rel);
        // The first definition of an id wins (files are read in path order).
        info.connectors.entry(c.id.clone()).or_insert(c);
    }
}

/// Objects shaped like a connector UI definition: `id`, `title`, `publisher` and one of
/// `dataTypes`, `connectivityCriterias`, `graphQueries`.
fn walk_connectors(v: &J, depth: usize, out: &mut Vec<ConnectorInfo>) {
    if depth > 12 {
        return;
    }
    match v {
        J::Object(m) => {
            let id = text_of(m.get("id"));
            let title = text_of(m.get("title"));
            let shaped = m.contains_key("dataTypes")
                || m.contains_key("connectivityCriterias")
                || m.contains_key("connectivityCriteria")
                || m.contains_key("graphQueries");
            if let (Some(id), Some(title), true) = (id, title, shaped) {
                if m.contains_key("publisher") && !id.contains("[") {
                    let table_var = text_of(m.get("graphQueriesTableName"));
                    let tables = m
                        .get("dataTypes")
                        .and_then(|d| d.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|d| text_of(d.get("name")))
                                .filter_map(|n| clean_table(&n, table_var.as_deref()))
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default();
                    let mut tables = tables;
                    tables.sort();
                    tables.dedup();
                    out.push(ConnectorInfo {
                        id,
                        title,
                        publisher: text_of(m.get("publisher")),
                        description: text_of(m.get("descriptionMarkdown")).unwrap_or_default(),
                        tables,
                        solution: None,
                        file: String::new(),
                    });
                    return;
                }
            }
            for x in m.values() {
                walk_connectors(x, depth + 1, out);
            }
        }
        J::Array(a) => a.iter().for_each(|x| walk_connectors(x, depth + 1, out)),
        _ => {}
    }
}

/// `CommonSecurityLog (Vendor)` → `CommonSecurityLog`; `{{graphQueriesTableName}}` → its value.
pub(crate) fn clean_table(name: &str, table_var: Option<&str>) -> Option<String> {
    let name = name.trim();
    let name = if name.contains("{{graphQueriesTableName}}") {
        table_var?
    } else {
        name
    };
    let t: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!t.is_empty()).then_some(t)
}

/// A parser definition: (names, KQL body, file, title).
fn parser_yaml(f: &SourceFile) -> Option<(Vec<String>, String, String, Option<String>)> {
    let looks = f
        .text
        .lines()
        .any(|l| l.starts_with("ParserQuery:") || l.starts_with("FunctionQuery:"));
    if !looks {
        return None;
    }
    let doc = parse_yaml(&f.text).ok()?;
    let body = text_of(doc.get("ParserQuery")).or_else(|| text_of(doc.get("FunctionQuery")))?;
    let mut names = Vec::new();
    for k in [
        "ParserName",
        "FunctionName",
        "EquivalentBuiltInParser",
        "FunctionAlias",
    ] {
        if let Some(n) = text_of(doc.get(k)) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let title = doc
        .get("Parser")
        .or_else(|| doc.get("Function"))
        .and_then(|p| text_of(p.get("Title")));
    Some((names, body, f.rel.clone(), title))
}
