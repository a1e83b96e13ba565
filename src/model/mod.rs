//! The rule model shared by every vendor format, query front end, the catalog and renderers.

pub mod ir;

pub use ir::{Detection, Expr, Op, OutputField, Predicate, Transform, Value};

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    Sigma,
    Panther,
    Splunk,
    Sentinel,
    DefenderXdr,
    Elastic,
    Chronicle,
}

impl Vendor {
    pub const ALL: [Vendor; 7] = [
        Vendor::Sigma,
        Vendor::Panther,
        Vendor::Splunk,
        Vendor::Sentinel,
        Vendor::DefenderXdr,
        Vendor::Elastic,
        Vendor::Chronicle,
    ];
    /// Stable key: used in report JSON, URLs and `ruledex.toml`.
    pub fn key(self) -> &'static str {
        match self {
            Vendor::Sigma => "sigma",
            Vendor::Panther => "panther",
            Vendor::Splunk => "splunk",
            Vendor::Sentinel => "sentinel",
            Vendor::DefenderXdr => "defender_xdr",
            Vendor::Elastic => "elastic",
            Vendor::Chronicle => "chronicle",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Sigma => "Sigma",
            Vendor::Panther => "Panther",
            Vendor::Splunk => "Splunk ESCU",
            Vendor::Sentinel => "Microsoft Sentinel",
            Vendor::DefenderXdr => "Defender XDR",
            Vendor::Elastic => "Elastic",
            Vendor::Chronicle => "Chronicle",
        }
    }
    pub fn from_key(s: &str) -> Option<Vendor> {
        let s = s.to_ascii_lowercase().replace(['-', ' '], "_");
        Vendor::ALL
            .into_iter()
            .find(|v| v.key() == s || (s == "escu" && *v == Vendor::Splunk))
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One scale for every vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn key(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Parses every vendor's spelling (`Info`, `informational`, `HIGH`, ...).
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" | "information" => Some(Severity::Informational),
            "low" => Some(Severity::Low),
            "medium" | "moderate" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// The kinds of index. Adding an index is adding a kind here, not a new code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FacetKind {
    Vendor,
    Technique,
    Tactic,
    Severity,
    Status,
    LogSource,
    Product,
    Category,
    Service,
    LogType,
    ResourceType,
    Table,
    DataSource,
    DataModel,
    Connector,
    Solution,
    Story,
    IndexPattern,
    Integration,
    RuleType,
    Language,
    Tag,
    Author,
    EventType,
    ReferenceList,
    MlJob,
    /// Derived by the catalog from `data/datasources.toml` (one name across vendors).
    CanonicalSource,
    /// A stored KQL function / parser a query calls (Sentinel, Defender XDR).
    Parser,
}

impl FacetKind {
    pub const ALL: [FacetKind; 28] = [
        FacetKind::Vendor,
        FacetKind::Technique,
        FacetKind::Tactic,
        FacetKind::Severity,
        FacetKind::Status,
        FacetKind::LogSource,
        FacetKind::Product,
        FacetKind::Category,
        FacetKind::Service,
        FacetKind::LogType,
        FacetKind::ResourceType,
        FacetKind::Table,
        FacetKind::DataSource,
        FacetKind::DataModel,
        FacetKind::Connector,
        FacetKind::Solution,
        FacetKind::Story,
        FacetKind::IndexPattern,
        FacetKind::Integration,
        FacetKind::RuleType,
        FacetKind::Language,
        FacetKind::Tag,
        FacetKind::Author,
        FacetKind::EventType,
        FacetKind::ReferenceList,
        FacetKind::MlJob,
        FacetKind::CanonicalSource,
        FacetKind::Parser,
    ];
    /// URL segment and export key.
    pub fn key(self) -> &'static str {
        match self {
            FacetKind::Vendor => "vendors",
            FacetKind::Technique => "techniques",
            FacetKind::Tactic => "tactics",
            FacetKind::Severity => "severities",
            FacetKind::Status => "statuses",
            FacetKind::LogSource => "logsources",
            FacetKind::Product => "products",
            FacetKind::Category => "categories",
            FacetKind::Service => "services",
            FacetKind::LogType => "log-types",
            FacetKind::ResourceType => "resource-types",
            FacetKind::Table => "tables",
            FacetKind::DataSource => "data-sources",
            FacetKind::DataModel => "data-models",
            FacetKind::Connector => "connectors",
            FacetKind::Solution => "solutions",
            FacetKind::Story => "stories",
            FacetKind::IndexPattern => "index-patterns",
            FacetKind::Integration => "integrations",
            FacetKind::RuleType => "rule-types",
            FacetKind::Language => "languages",
            FacetKind::Tag => "tags",
            FacetKind::Author => "authors",
            FacetKind::EventType => "event-types",
            FacetKind::ReferenceList => "reference-lists",
            FacetKind::MlJob => "ml-jobs",
            FacetKind::CanonicalSource => "sources",
            FacetKind::Parser => "parsers",
        }
    }
    /// Singular label shown in tables.
    pub fn label(self) -> &'static str {
        match self {
            FacetKind::Vendor => "Vendor",
            FacetKind::Technique => "Technique",
            FacetKind::Tactic => "Tactic",
            FacetKind::Severity => "Severity",
            FacetKind::Status => "Status",
            FacetKind::LogSource => "Log source",
            FacetKind::Product => "Product",
            FacetKind::Category => "Category",
            FacetKind::Service => "Service",
            FacetKind::LogType => "Log type",
            FacetKind::ResourceType => "Resource type",
            FacetKind::Table => "Table",
            FacetKind::DataSource => "Data source",
            FacetKind::DataModel => "Data model",
            FacetKind::Connector => "Data connector",
            FacetKind::Solution => "Solution",
            FacetKind::Story => "Analytic story",
            FacetKind::IndexPattern => "Index pattern",
            FacetKind::Integration => "Integration",
            FacetKind::RuleType => "Rule type",
            FacetKind::Language => "Query language",
            FacetKind::Tag => "Tag",
            FacetKind::Author => "Author",
            FacetKind::EventType => "Event type",
            FacetKind::ReferenceList => "Reference list",
            FacetKind::MlJob => "Machine-learning job",
            FacetKind::CanonicalSource => "Data source (canonical)",
            FacetKind::Parser => "Parser",
        }
    }
    pub fn plural(self) -> &'static str {
        match self {
            FacetKind::Vendor => "Vendors",
            FacetKind::Technique => "Techniques",
            FacetKind::Tactic => "Tactics",
            FacetKind::Severity => "Severities",
            FacetKind::Status => "Statuses",
            FacetKind::LogSource => "Log sources",
            FacetKind::Product => "Products",
            FacetKind::Category => "Categories",
            FacetKind::Service => "Services",
            FacetKind::LogType => "Log types",
            FacetKind::ResourceType => "Resource types",
            FacetKind::Table => "Tables",
            FacetKind::DataSource => "Data sources",
            FacetKind::DataModel => "Data models",
            FacetKind::Connector => "Data connectors",
            FacetKind::Solution => "Solutions",
            FacetKind::Story => "Analytic stories",
            FacetKind::IndexPattern => "Index patterns",
            FacetKind::Integration => "Integrations",
            FacetKind::RuleType => "Rule types",
            FacetKind::Language => "Query languages",
            FacetKind::Tag => "Tags",
            FacetKind::Author => "Authors",
            FacetKind::EventType => "Event types",
            FacetKind::ReferenceList => "Reference lists",
            FacetKind::MlJob => "Machine-learning jobs",
            FacetKind::CanonicalSource => "Data sources (canonical)",
            FacetKind::Parser => "Parsers",
        }
    }
}

/// Query language of a rule's query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    SigmaDetection,
    PantherDetection,
    Python,
    Spl,
    Kql,
    Kuery,
    Lucene,
    Eql,
    Esql,
    YaraL,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::SigmaDetection => "Sigma detection",
            Language::PantherDetection => "Panther simple detection",
            Language::Python => "Python",
            Language::Spl => "SPL",
            Language::Kql => "KQL",
            Language::Kuery => "Kibana KQL",
            Language::Lucene => "Lucene",
            Language::Eql => "EQL",
            Language::Esql => "ES|QL",
            Language::YaraL => "YARA-L 2.0",
        }
    }
    /// Highlighting hint for renderers (`language-xxx` class).
    pub fn code_hint(self) -> &'static str {
        match self {
            Language::SigmaDetection | Language::PantherDetection => "yaml",
            Language::Python => "python",
            Language::Spl => "spl",
            Language::Kql => "kql",
            Language::Kuery => "kuery",
            Language::Lucene => "lucene",
            Language::Eql => "eql",
            Language::Esql => "esql",
            Language::YaraL => "yaral",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Query {
    pub language: Language,
    pub text: String,
}

/// Where a rule comes from.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceLocation {
    /// Index of the root in the build's list of roots.
    pub root: usize,
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// 1-based line of the rule in the file (1 for one-rule files).
    pub line: usize,
}

/// A link from one rule to another by native id (Sigma `related`, Panther correlation
/// rules, Sigma correlation `rules`).
#[derive(Debug, Clone, Serialize)]
pub struct RelatedRule {
    pub id: String,
    pub relation: String,
}

/// A titled block of Markdown shown on the rule page (runbook, investigation guide...).
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: String,
    pub markdown: String,
}

/// One bundled test of a rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTest {
    pub name: String,
    /// Usually one event; several for multi-event tests (`Expect::Count`).
    pub events: Vec<serde_json::Value>,
    pub expect: Expect,
    /// Set by the loader when the test cannot be run (remote data, mocks...): never passed.
    pub unsupported: Option<String>,
    /// Where the test is written (file relative to the root, line).
    pub location: Option<SourceLocation>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Match,
    NoMatch,
    /// Exactly this many of the events match.
    Count(usize),
    /// At least this many of the events match (SigmaHQ regression data: the rule fires on
    /// the recorded log).
    AtLeast(usize),
}

/// A detection rule of any vendor, as loaded from its file(s).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub vendor: Vendor,
    /// The vendor's own id (Sigma `id`, Panther `RuleID`, Elastic `rule_id`, ...). Formats
    /// fall back to the file path when a rule has none.
    pub id: String,
    pub title: String,
    /// Markdown.
    pub description: String,
    pub severity: Option<Severity>,
    pub status: Option<String>,
    /// Normalised technique ids (`T1078.001`), as written (revocation resolved by the catalog).
    pub techniques: Vec<String>,
    /// Normalised tactic ids (`TA0006`).
    pub tactics: Vec<String>,
    /// Every other index value; vendor, technique, tactic, severity and status are added by
    /// the catalog from the fields above.
    pub facets: Vec<(FacetKind, String)>,
    pub references: Vec<String>,
    pub created: Option<String>,
    pub modified: Option<String>,
    /// Extra key/value rows for the page's metadata table.
    pub metadata: Vec<(String, String)>,
    pub related: Vec<RelatedRule>,
    pub sections: Vec<Section>,
    pub query: Option<Query>,
    pub detection: Option<Detection>,
    pub tests: Vec<RuleTest>,
    pub source: SourceLocation,
    /// The rule file as written.
    pub raw: String,
    /// Highlighting hint for `raw` (`yaml`, `toml`, `yaral`, `markdown`, ...).
    pub raw_format: String,
    /// Other source files shown on the page (a Panther rule's Python), as (path, text, hint).
    pub companions: Vec<(String, String, String)>,
    /// Root-relative paths of support files the rule's logic depends on (macros, helpers,
    /// parsers, reference lists), so `check --changed-since` re-checks dependants.
    pub dependencies: Vec<String>,
}

impl Rule {
    /// A rule with only its identity set; formats fill the rest.
    pub fn new(vendor: Vendor, id: impl Into<String>, source: SourceLocation) -> Rule {
        Rule {
            vendor,
            id: id.into(),
            title: String::new(),
            description: String::new(),
            severity: None,
            status: None,
            techniques: Vec::new(),
            tactics: Vec::new(),
            facets: Vec::new(),
            references: Vec::new(),
            created: None,
            modified: None,
            metadata: Vec::new(),
            related: Vec::new(),
            sections: Vec::new(),
            query: None,
            detection: None,
            tests: Vec::new(),
            source,
            raw: String::new(),
            raw_format: String::new(),
            companions: Vec::new(),
            dependencies: Vec::new(),
        }
    }

    pub fn facet(&mut self, kind: FacetKind, value: impl Into<String>) {
        let value = value.into();
        let value = value.trim();
        if !value.is_empty() && !self.facets.iter().any(|(k, v)| *k == kind && v == value) {
            self.facets.push((kind, value.to_string()));
        }
    }

    pub fn facet_values(&self, kind: FacetKind) -> impl Iterator<Item = &str> {
        self.facets
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, v)| v.as_str())
    }
}
