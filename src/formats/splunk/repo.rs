//! The support files of an ESCU repository that detections lean on: `macros/`,
//! `lookups/`, `data_sources/` and `stories/`, read once per repository.
//!
//! A repository is found from a detection's path: whatever comes before its `detections/`
//! folder is the repository's base (so a root may hold several repositories).

use crate::diag::{find_line, Diagnostic};
use crate::discover::{Root, SourceFile};
use crate::formats::{is_sidecar, parse_yaml, scalar, str_list};
use crate::model::FacetKind;
use crate::query::spl::{MacroDef, MacroTable};
use crate::verify::checks::Check;
use serde_json::Value as J;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub name: String,
    pub description: String,
    /// The CSV (or KV-store collection) behind it.
    pub filename: Option<String>,
    pub file: String,
}

#[derive(Debug, Clone, Default)]
pub struct SupportedTa {
    pub name: String,
    pub url: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DataSource {
    pub name: String,
    pub description: String,
    pub source: Option<String>,
    pub sourcetype: Option<String>,
    pub separator: Option<String>,
    pub configuration: Option<String>,
    pub supported_ta: Vec<SupportedTa>,
    pub fields: Vec<String>,
    pub file: String,
}

impl DataSource {
    /// One line for a rule's metadata table: where the events come from and the add-on.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.source {
            parts.push(format!("source `{s}`"));
        }
        if let Some(s) = &self.sourcetype {
            parts.push(format!("sourcetype `{s}`"));
        }
        for ta in &self.supported_ta {
            let mut t = format!("add-on {}", ta.name);
            if let Some(v) = &ta.version {
                t.push_str(&format!(" {v}"));
            }
            if let Some(u) = &ta.url {
                t.push_str(&format!(" ({u})"));
            }
            parts.push(t);
        }
        if parts.is_empty() {
            self.description.clone()
        } else {
            parts.join(", ")
        }
    }

    /// The data source's own page text (Markdown).
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        if !self.description.trim().is_empty() {
            md.push_str(self.description.trim());
            md.push_str("\n\n");
        }
        md.push_str("| | |\n|---|---|\n");
        let mut row = |k: &str, v: &str| md.push_str(&format!("| {k} | {} |\n", cell(v)));
        if let Some(s) = &self.source {
            row("Source", s);
        }
        if let Some(s) = &self.sourcetype {
            row("Sourcetype", s);
        }
        if let Some(s) = &self.separator {
            row("Separator", s);
        }
        if let Some(s) = &self.configuration {
            row("Configuration", s);
        }
        for ta in &self.supported_ta {
            let v = [Some(ta.name.clone()), ta.version.clone(), ta.url.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            row("Supported add-on", &v);
        }
        if !self.fields.is_empty() {
            md.push_str("\nFields: ");
            md.push_str(
                &self
                    .fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            md.push('\n');
        }
        md
    }
}

fn cell(v: &str) -> String {
    v.replace('|', "\\|").replace('\n', " ")
}

#[derive(Debug, Clone, Default)]
pub struct Story {
    pub name: String,
    pub description: String,
    pub narrative: String,
    pub references: Vec<String>,
    pub file: String,
}

impl Story {
    /// The story's own page text (Markdown): description, narrative, references.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        for part in [&self.description, &self.narrative] {
            if !part.trim().is_empty() {
                md.push_str(part.trim());
                md.push_str("\n\n");
            }
        }
        if !self.references.is_empty() {
            md.push_str("References:\n\n");
            for r in &self.references {
                md.push_str(&format!("- <{r}>\n"));
            }
        }
        md
    }
}

/// The support files of one repository.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    /// Path prefix of the repository in its root (`""` or `security_content/`).
    pub base: String,
    pub macros: MacroTable,
    pub lookups: BTreeMap<String, Lookup>,
    pub data_sources: BTreeMap<String, DataSource>,
    pub stories: BTreeMap<String, Story>,
}

/// The repository base of a detection path: the part before its `detections/` folder.
pub fn repo_base(rel: &str) -> Option<&str> {
    if rel.starts_with("detections/") {
        return Some("");
    }
    rel.find("/detections/").map(|p| &rel[..p + 1])
}

impl Repo {
    /// Reads the support files of the repository at `base`.
    pub fn load(root: &Root, base: &str) -> (Repo, Vec<Diagnostic>) {
        let mut repo = Repo {
            base: base.to_string(),
            ..Repo::default()
        };
        let mut diags = Vec::new();
        for (folder, kind) in [
            ("macros/", Kind::Macro),
            ("lookups/", Kind::Lookup),
            ("data_sources/", Kind::DataSource),
            ("stories/", Kind::Story),
        ] {
            let prefix = format!("{base}{folder}");
            for file in root.files_under(&prefix) {
                if !matches!(file.ext(), "yml" | "yaml") || is_sidecar(&file.rel) {
                    continue;
                }
                let doc = match parse_yaml(&file.text) {
                    Ok(d) => d,
                    Err((line, msg)) => {
                        diags.push(Diagnostic::new(
                            Check::ParseError,
                            root.display(&file.rel),
                            line,
                            msg,
                        ));
                        continue;
                    }
                };
                if !doc.is_object() {
                    diags.push(Diagnostic::new(
                        Check::ParseError,
                        root.display(&file.rel),
                        1,
                        "expected a mapping of keys",
                    ));
                    continue;
                }
                let Some(name) = scalar(doc.get("name")).filter(|n| !n.trim().is_empty()) else {
                    diags.push(Diagnostic::new(
                        Check::MissingField,
                        root.display(&file.rel),
                        1,
                        "`name` is missing",
                    ));
                    continue;
                };
                let name = name.trim().to_string();
                match kind {
                    Kind::Macro => repo.add_macro(root, file, &doc, name, &mut diags),
                    Kind::Lookup => {
                        repo.lookups.insert(
                            name.clone(),
                            Lookup {
                                name,
                                description: text(&doc, "description"),
                                filename: scalar(doc.get("filename"))
                                    .or_else(|| scalar(doc.get("collection"))),
                                file: file.rel.clone(),
                            },
                        );
                    }
                    Kind::DataSource => {
                        repo.data_sources
                            .insert(name.clone(), data_source(&doc, name, file));
                    }
                    Kind::Story => {
                        repo.stories.insert(
                            name.clone(),
                            Story {
                                name,
                                description: text(&doc, "description"),
                                narrative: text(&doc, "narrative"),
                                references: str_list(doc.get("references")),
                                file: file.rel.clone(),
                            },
                        );
                    }
                }
            }
        }
        (repo, diags)
    }

    fn add_macro(
        &mut self,
        root: &Root,
        file: &SourceFile,
        doc: &J,
        name: String,
        diags: &mut Vec<Diagnostic>,
    ) {
        let args: Vec<String> = str_list(doc.get("arguments"))
            .into_iter()
            .map(|a| a.trim().to_string())
            .collect();
        // `name(2)` spells the arity into the name.
        let (bare, declared) = match name.strip_suffix(')').and_then(|n| n.split_once('(')) {
            Some((b, n)) if n.trim().parse::<usize>().is_ok() => {
                (b.trim().to_string(), n.trim().parse::<usize>().ok())
            }
            _ => (name.clone(), None),
        };
        if let Some(n) = declared {
            if n != args.len() {
                diags.push(Diagnostic::new(
                    Check::InvalidValue,
                    root.display(&file.rel),
                    find_line(&file.text, "name:").unwrap_or(1),
                    format!(
                        "macro `{name}` declares {n} argument(s) but lists {} in `arguments`",
                        args.len()
                    ),
                ));
            }
        }
        let Some(definition) = scalar(doc.get("definition")) else {
            diags.push(Diagnostic::new(
                Check::MissingField,
                root.display(&file.rel),
                1,
                format!("macro `{name}` has no `definition`"),
            ));
            return;
        };
        let def = MacroDef {
            name: bare,
            args,
            definition,
            description: text(doc, "description"),
            file: Some(file.rel.clone()),
        };
        let key = def.key();
        if let Some(prev) = self.macros.insert(def) {
            diags.push(Diagnostic::new(
                Check::DuplicateId,
                root.display(&file.rel),
                1,
                format!(
                    "macro `{key}` is defined twice (also in {}); this one is used",
                    prev.file.unwrap_or_default()
                ),
            ));
        }
    }

    /// Descriptions of the facet values this repository defines, as (kind, value,
    /// Markdown): analytic stories and data sources.
    pub fn facet_descriptions(&self) -> Vec<(FacetKind, String, String)> {
        let mut out: Vec<(FacetKind, String, String)> = self
            .stories
            .values()
            .map(|s| (FacetKind::Story, s.name.clone(), s.markdown()))
            .collect();
        out.extend(
            self.data_sources
                .values()
                .map(|d| (FacetKind::DataSource, d.name.clone(), d.markdown())),
        );
        out
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Macro,
    Lookup,
    DataSource,
    Story,
}

fn text(doc: &J, key: &str) -> String {
    scalar(doc.get(key)).unwrap_or_default().trim().to_string()
}

fn data_source(doc: &J, name: String, file: &SourceFile) -> DataSource {
    let supported_ta = doc
        .get("supported_TA")
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    Some(SupportedTa {
                        name: scalar(t.get("name"))?,
                        url: scalar(t.get("url")),
                        version: scalar(t.get("version")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    DataSource {
        name,
        description: text(doc, "description"),
        source: scalar(doc.get("source")),
        sourcetype: scalar(doc.get("sourcetype")),
        separator: scalar(doc.get("separator")),
        configuration: scalar(doc.get("configuration")),
        supported_ta,
        fields: str_list(doc.get("fields")),
        file: file.rel.clone(),
    }
}
