//! Microsoft's per-table ingestion facts and the solution ↔ connector ↔ table map, read
//! from the CSV files of Microsoft's Solutions Analyzer (`Tools/Solutions Analyzer/` in
//! Azure/Azure-Sentinel): `tables_reference.csv`, `tables.csv`, `solutions.csv`,
//! `solutions_connectors_tables_mapping_simplified.csv`, `parsers.csv`, `asim_parsers.csv`.
//!
//! A reference folder is any folder of a root that holds `tables_reference.csv` or
//! `solutions_connectors_tables_mapping_simplified.csv`, or the folder `ruledex.toml` names
//! (`reference = "..."`). Files are read with the `csv` crate; a row that cannot be read
//! (wrong number of fields, no name) gets a `reference_row` diagnostic and the rest loads.
//! A build without a reference works the same, with fewer facts on its pages.

use crate::diag::Diagnostic;
use crate::discover::Root;
use crate::verify::checks::Check;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// File names read from a reference folder, in reading order (`tables_reference.csv`
/// first: its facts win over `tables.csv`, which only fills gaps).
pub const FILES: &[&str] = &[
    "tables_reference.csv",
    "tables.csv",
    "solutions.csv",
    "solutions_connectors_tables_mapping_simplified.csv",
    "parsers.csv",
    "asim_parsers.csv",
];

/// Files whose presence marks a folder of a root as a reference folder.
const MARKERS: &[&str] = &[
    "tables_reference.csv",
    "solutions_connectors_tables_mapping_simplified.csv",
];

/// Microsoft's facts about one Log Analytics / Defender XDR table. Values are kept as
/// written (`Yes`, `No`, or a sentence such as "Partial support ..."); `None` = not stated.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TableFacts {
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    /// Collected into Azure Monitor Logs (Log Analytics).
    pub azure_monitor: Option<String>,
    /// Available in Defender XDR advanced hunting.
    pub defender_xdr: Option<String>,
    pub xdr_only: Option<String>,
    pub transformations: Option<String>,
    pub ingestion_api: Option<String>,
    pub basic_logs: Option<String>,
    pub auxiliary_logs: Option<String>,
    pub search_jobs: Option<String>,
    pub retention_default: Option<String>,
    pub retention_max: Option<String>,
    pub plan: Option<String>,
    pub support_tier: Option<String>,
    pub collection_method: Option<String>,
    pub resource_types: Option<String>,
    pub azure_monitor_doc: Option<String>,
    pub defender_xdr_doc: Option<String>,
}

impl TableFacts {
    /// "Azure Monitor", "Defender XDR", "Azure Monitor, Defender XDR" or None.
    pub fn source(&self) -> Option<String> {
        let yes = |v: &Option<String>| v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("yes"));
        let mut out = Vec::new();
        if yes(&self.azure_monitor) {
            out.push("Azure Monitor");
        }
        if yes(&self.defender_xdr) {
            out.push("Defender XDR");
        }
        (!out.is_empty()).then(|| out.join(", "))
    }

    /// The ingestion facts as (label, value) rows, in display order.
    pub fn facts(&self) -> Vec<(&'static str, Option<&str>)> {
        vec![
            ("Transformations", self.transformations.as_deref()),
            ("Ingestion API", self.ingestion_api.as_deref()),
            ("Basic logs eligible", self.basic_logs.as_deref()),
            ("Auxiliary logs eligible", self.auxiliary_logs.as_deref()),
            ("Search jobs", self.search_jobs.as_deref()),
            ("Defender XDR only", self.xdr_only.as_deref()),
            ("Retention (default)", self.retention_default.as_deref()),
            ("Retention (maximum)", self.retention_max.as_deref()),
            ("Plan", self.plan.as_deref()),
            ("Support tier", self.support_tier.as_deref()),
            ("Collection method", self.collection_method.as_deref()),
        ]
    }

    /// The documentation link: Azure Monitor's, else Defender XDR's.
    pub fn doc(&self) -> Option<&str> {
        self.azure_monitor_doc
            .as_deref()
            .or(self.defender_xdr_doc.as_deref())
    }

    /// Fills the facts this one lacks from `other` (same table, a later file).
    fn fill(&mut self, other: TableFacts) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        fill!(
            description,
            category,
            azure_monitor,
            defender_xdr,
            xdr_only,
            transformations,
            ingestion_api,
            basic_logs,
            auxiliary_logs,
            search_jobs,
            retention_default,
            retention_max,
            plan,
            support_tier,
            collection_method,
            resource_types,
            azure_monitor_doc,
            defender_xdr_doc
        );
    }
}

/// One Content Hub solution as `solutions.csv` describes it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SolutionFacts {
    pub name: String,
    /// Folder under `Solutions/` (the rule facet value), decoded from the folder URL.
    pub folder: String,
    pub url: Option<String>,
    pub publisher_id: Option<String>,
    pub offer_id: Option<String>,
    pub first_published: Option<String>,
    pub last_published: Option<String>,
    pub version: Option<String>,
    pub support_name: Option<String>,
    pub support_tier: Option<String>,
    pub support_link: Option<String>,
    pub author: Option<String>,
    pub categories: Vec<String>,
}

/// One parser or stored function (`parsers.csv`, `asim_parsers.csv`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ParserFacts {
    pub name: String,
    /// Other names queries call it by (ASIM `equivalent_builtin`).
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub version: Option<String>,
    pub last_updated: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    /// ASIM schema (`ProcessEvent`, `Authentication`...).
    pub schema: Option<String>,
    pub tables: Vec<String>,
    pub sub_parsers: Vec<String>,
    pub solution: Option<String>,
    pub source_file: Option<String>,
    pub url: Option<String>,
}

/// One row of the solution ↔ connector ↔ table map.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// Solution display name (`solutions.csv` `solution_name`).
    pub solution: String,
    pub connector: Option<String>,
    pub table: Option<String>,
}

/// Everything read from the reference folders of a build.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// Lower-cased table name → facts.
    pub tables: BTreeMap<String, TableFacts>,
    /// Solution folder → facts.
    pub solutions: BTreeMap<String, SolutionFacts>,
    pub links: Vec<Link>,
    pub parsers: Vec<ParserFacts>,
    /// Lower-cased parser name or alias → index into `parsers`.
    parser_index: BTreeMap<String, usize>,
    /// Folders read (shown paths).
    pub folders: Vec<String>,
}

/// A CSV file read into rows of (column → value), with the 1-based line of each row.
pub struct Rows {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Rows {
    pub fn get<'a>(&self, row: &'a [String], col: &str) -> Option<&'a str> {
        let i = self.header.iter().position(|h| h == col)?;
        row.get(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && *s != "-")
    }
}

/// Reads CSV text. A row whose number of fields differs from the header's, or that the
/// reader cannot decode, gets a diagnostic and is skipped.
pub fn read_csv(text: &str, shown: &str, diags: &mut Vec<Diagnostic>) -> Rows {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(1);
                diags.push(Diagnostic::new(
                    Check::ReferenceRow,
                    shown,
                    line.max(1),
                    format!("row not readable: {e}"),
                ));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(n + 1);
        let fields: Vec<String> = rec.iter().map(str::to_string).collect();
        if header.is_empty() {
            header = fields
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
                .collect();
            continue;
        }
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        if fields.len() != header.len() {
            diags.push(Diagnostic::new(
                Check::ReferenceRow,
                shown,
                line,
                format!(
                    "row has {} field{}, the header has {}; row skipped",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" },
                    header.len()
                ),
            ));
            continue;
        }
        rows.push((line, fields));
    }
    Rows { header, rows }
}

fn opt(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// `a, b; c` → [a, b, c].
fn list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .split([',', ';'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The last segment of a folder URL, `%XX` decoded (`.../Okta%20Single%20Sign-On`).
fn folder_of(url: &str) -> String {
    let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    let b = last.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = last
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Reference {
    /// Reads the reference folders found in the roots.
    pub fn from_roots(roots: &[Root]) -> (Reference, Vec<Diagnostic>) {
        let mut r = Reference::default();
        let mut diags = Vec::new();
        for root in roots {
            let mut dirs: BTreeSet<&str> = BTreeSet::new();
            for f in &root.files {
                let (dir, name) = f.rel.rsplit_once('/').unwrap_or(("", f.rel.as_str()));
                if MARKERS.contains(&name) {
                    dirs.insert(dir);
                }
            }
            for dir in dirs {
                for name in FILES {
                    let rel = if dir.is_empty() {
                        name.to_string()
                    } else {
                        format!("{dir}/{name}")
                    };
                    if let Some(f) = root.files.iter().find(|f| f.rel == rel) {
                        r.add_file(name, &f.text, &root.display(&rel), &mut diags);
                    }
                }
                r.folders.push(root.display(dir));
            }
        }
        r.finish();
        (r, diags)
    }

    /// Reads a reference folder from disk (the one `ruledex.toml` names).
    pub fn add_dir(&mut self, dir: &Path, diags: &mut Vec<Diagnostic>) -> Result<(), String> {
        if !dir.is_dir() {
            return Err(format!("{}: no such reference folder", dir.display()));
        }
        for name in FILES {
            let p = dir.join(name);
            if let Ok(text) = std::fs::read_to_string(&p) {
                self.add_file(name, &text, &p.display().to_string(), diags);
            }
        }
        self.folders.push(dir.display().to_string());
        self.finish();
        Ok(())
    }

    /// Whether any reference was read.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.solutions.is_empty()
            && self.links.is_empty()
            && self.parsers.is_empty()
    }

    /// Reads one reference file by its name.
    pub fn add_file(&mut self, name: &str, text: &str, shown: &str, diags: &mut Vec<Diagnostic>) {
        let rows = read_csv(text, shown, diags);
        let key = match name {
            "solutions.csv" => "solution_name",
            "solutions_connectors_tables_mapping_simplified.csv" => "solution_name",
            "parsers.csv" | "asim_parsers.csv" => "parser_name",
            _ => "table_name",
        };
        if !rows.header.iter().any(|h| h == key) {
            diags.push(Diagnostic::new(
                Check::ReferenceRow,
                shown,
                1,
                format!("the header has no `{key}` column; file skipped"),
            ));
            return;
        }
        for (line, row) in &rows.rows {
            let g = |c: &str| rows.get(row, c);
            let Some(id) = g(key) else {
                diags.push(Diagnostic::new(
                    Check::ReferenceRow,
                    shown,
                    *line,
                    format!("row without `{key}`; row skipped"),
                ));
                continue;
            };
            match name {
                "solutions.csv" => {
                    let url = opt(g("solution_folder"));
                    let folder = url.as_deref().map(folder_of).unwrap_or(id.to_string());
                    let s = SolutionFacts {
                        name: id.to_string(),
                        folder: folder.clone(),
                        url,
                        publisher_id: opt(g("solution_publisher_id")),
                        offer_id: opt(g("solution_offer_id")),
                        first_published: opt(g("solution_first_publish_date")),
                        last_published: opt(g("solution_last_publish_date")),
                        version: opt(g("solution_version")),
                        support_name: opt(g("solution_support_name")),
                        support_tier: opt(g("solution_support_tier")),
                        support_link: opt(g("solution_support_link")),
                        author: opt(g("solution_author_name")),
                        // `domains` / `verticals` alone name the category kinds, not values.
                        categories: list(g("solution_categories"))
                            .into_iter()
                            .filter(|c| c != "domains" && c != "verticals")
                            .collect(),
                    };
                    self.solutions.entry(folder).or_insert(s);
                }
                "solutions_connectors_tables_mapping_simplified.csv" => {
                    self.links.push(Link {
                        solution: id.to_string(),
                        connector: opt(g("connector_id")),
                        table: opt(g("table_name")),
                    });
                }
                "parsers.csv" | "asim_parsers.csv" => {
                    let p = ParserFacts {
                        name: id.to_string(),
                        aliases: list(g("equivalent_builtin")),
                        title: opt(g("parser_title")),
                        version: opt(g("parser_version")),
                        last_updated: opt(g("parser_last_updated")),
                        category: opt(g("parser_category")),
                        description: opt(g("description")),
                        schema: opt(g("schema")),
                        tables: list(g("tables")),
                        sub_parsers: list(g("sub_parsers")),
                        solution: opt(g("solution_folder")),
                        source_file: opt(g("source_file")).map(|s| s.replace('\\', "/")),
                        url: opt(g("github_url")),
                    };
                    self.parsers.push(p);
                }
                _ => {
                    let t = TableFacts {
                        name: id.to_string(),
                        description: opt(g("description")),
                        category: opt(g("category")),
                        azure_monitor: opt(g("source_azure_monitor")),
                        defender_xdr: opt(g("source_defender_xdr")),
                        xdr_only: opt(g("xdr_only")),
                        transformations: opt(g("supports_transformations")),
                        ingestion_api: opt(g("ingestion_api_supported"))
                            .or(opt(g("source_ingestion_api"))),
                        basic_logs: opt(g("basic_logs_eligible")),
                        auxiliary_logs: opt(g("auxiliary_table_eligible")),
                        search_jobs: opt(g("search_job_support")),
                        retention_default: opt(g("retention_default")),
                        retention_max: opt(g("retention_max")),
                        plan: opt(g("plan")),
                        support_tier: opt(g("support_tier")),
                        collection_method: opt(g("collection_method")),
                        resource_types: opt(g("resource_types")),
                        azure_monitor_doc: opt(g("azure_monitor_doc_link")),
                        defender_xdr_doc: opt(g("defender_xdr_doc_link")),
                    };
                    match self.tables.get_mut(&id.to_ascii_lowercase()) {
                        Some(old) => old.fill(t),
                        None => {
                            self.tables.insert(id.to_ascii_lowercase(), t);
                        }
                    }
                }
            }
        }
    }

    /// Sorts and indexes after reading.
    fn finish(&mut self) {
        self.links.sort();
        self.links.dedup();
        self.parser_index.clear();
        for (i, p) in self.parsers.iter().enumerate() {
            for n in std::iter::once(&p.name).chain(&p.aliases) {
                self.parser_index.entry(n.to_ascii_lowercase()).or_insert(i);
            }
        }
    }

    /// Facts of a table, by name (case-insensitive).
    pub fn table(&self, name: &str) -> Option<&TableFacts> {
        self.tables.get(&name.to_ascii_lowercase())
    }

    /// A parser by name or alias (case-insensitive).
    pub fn parser(&self, name: &str) -> Option<&ParserFacts> {
        self.parser_index
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.parsers[i])
    }

    /// A solution by its folder, or by its display name.
    pub fn solution(&self, folder_or_name: &str) -> Option<&SolutionFacts> {
        self.solutions
            .get(folder_or_name)
            .or_else(|| self.solutions.values().find(|s| s.name == folder_or_name))
    }

    /// The solution folder of a display name (the map names solutions by display name).
    pub fn solution_folder(&self, name: &str) -> String {
        self.solutions
            .values()
            .find(|s| s.name == name)
            .map(|s| s.folder.clone())
            .unwrap_or_else(|| name.to_string())
    }

    /// Map rows naming a table (case-insensitive).
    pub fn links_of_table<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Link> + 'a {
        self.links.iter().filter(move |l| {
            l.table
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(table))
        })
    }

    /// Map rows naming a connector id (case-insensitive).
    pub fn links_of_connector<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Link> + 'a {
        self.links.iter().filter(move |l| {
            l.connector
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(id))
        })
    }

    /// Map rows of a solution (by folder or display name).
    pub fn links_of_solution<'a>(
        &'a self,
        solution: &'a str,
    ) -> impl Iterator<Item = &'a Link> + 'a {
        let name = self
            .solution(solution)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| solution.to_string());
        self.links.iter().filter(move |l| l.solution == name)
    }

    /// Parsers that read a table.
    pub fn parsers_of_table<'a>(
        &'a self,
        table: &'a str,
    ) -> impl Iterator<Item = &'a ParserFacts> + 'a {
        self.parsers
            .iter()
            .filter(move |p| p.tables.iter().any(|t| t.eq_ignore_ascii_case(table)))
    }
}

#[cfg(test)]
mod tests;
