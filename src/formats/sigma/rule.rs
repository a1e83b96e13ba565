//! One Sigma YAML document into a `Rule`: metadata, facets, ATT&CK, the detection IR and
//! the document-level lints.

use super::lines::Doc;
use crate::attack::{parse_refs, AttackRef};
use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::{scalar, str_list};
use crate::model::{
    FacetKind, OutputField, RelatedRule, Rule, Section, Severity, SourceLocation, Vendor,
};
use crate::query::sigma::Anchor;
use crate::verify::checks::Check;
use serde_json::{Map, Value as J};

pub const STATUSES: [&str; 5] = [
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];
const RELATION_TYPES: [&str; 5] = ["derived", "obsolete", "merged", "renamed", "similar"];
const TAG_NAMESPACES: [&str; 7] = ["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"];
pub const MAX_TITLE: usize = 110;

/// Keys with a place of their own in `Rule`; every other key becomes a metadata row.
const KNOWN_KEYS: [&str; 24] = [
    "title",
    "id",
    "name",
    "related",
    "status",
    "description",
    "author",
    "references",
    "date",
    "modified",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "tags",
    "correlation",
    "filter",
    "action",
    "license",
    "taxonomy",
    "scope",
    "regression_tests_path",
    "generate",
];

/// The correlation block of a correlation rule, resolved once every rule is loaded.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub kind: String,
    /// The rules named, each with the file line that names it.
    pub rules: Vec<(String, usize)>,
    pub group_by: Vec<String>,
    pub timespan: Option<String>,
    /// `gte 10`, `field User`: the condition as readable text.
    pub condition: Option<String>,
    pub field: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Detection,
    Correlation(Correlation),
    /// A meta-filter and the rules it names (with their lines).
    Filter(Vec<(String, usize)>),
}

pub struct Built {
    pub rule: Rule,
    pub kind: Kind,
    /// `regression_tests_path` and its line.
    pub regression: Option<(String, usize)>,
}

pub struct Ctx<'a> {
    pub root: &'a Root,
    pub file: &'a SourceFile,
    pub doc: &'a Doc<'a>,
    /// Position of the document in a multi-document file (0 when alone).
    pub index: usize,
    pub multi: bool,
}

impl Ctx<'_> {
    pub(super) fn diag(
        &self,
        diags: &mut Vec<Diagnostic>,
        check: Check,
        line: usize,
        msg: impl Into<String>,
    ) {
        diags.push(Diagnostic::new(
            check,
            self.root.display(&self.file.rel),
            line,
            msg,
        ));
    }

    /// File line (and column) of a finding of the detection compiler.
    pub(super) fn anchor_line(&self, block: &str, anchor: &Anchor) -> (usize, Option<usize>) {
        let block_line = self.doc.line_of(block);
        match anchor {
            Anchor::Detection => (block_line, None),
            Anchor::Selection(s) => (self.doc.child(block, s).unwrap_or(block_line), None),
            Anchor::Item { selection, key } => (
                self.doc
                    .item(block, selection, key)
                    .or_else(|| self.doc.child(block, selection))
                    .unwrap_or(block_line),
                None,
            ),
            Anchor::Condition { index, at } => match self.doc.condition_start(block, *index) {
                Some((line, col)) => (line, Some(col + at)),
                None => (block_line, None),
            },
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Splits an author string at commas, semicolons and `&` outside parentheses.
pub fn split_authors(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | '[' => {
                depth += 1;
                cur.push(c)
            }
            ')' | ']' => {
                depth -= 1;
                cur.push(c)
            }
            ',' | ';' | '&' if depth <= 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|a| a.trim().trim_start_matches("and ").trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

fn date(v: Option<&J>) -> Option<String> {
    scalar(v).map(|d| d.trim().replace('/', "-"))
}

/// Builds the rule of one document (already merged with an `action: global` document).
pub fn build(ctx: &Ctx, v: &Map<String, J>, diags: &mut Vec<Diagnostic>) -> Built {
    let doc = ctx.doc;
    let get = |k: &str| v.get(k);
    let id = scalar(get("id"));
    let name = scalar(get("name"));
    let rule_id = id.clone().or_else(|| name.clone()).unwrap_or_else(|| {
        if ctx.multi {
            format!("{}#{}", ctx.file.rel, ctx.index + 1)
        } else {
            ctx.file.rel.clone()
        }
    });
    let source = SourceLocation {
        root: ctx.root.index,
        path: ctx.file.rel.clone(),
        line: doc.start,
    };
    let mut rule = Rule::new(Vendor::Sigma, rule_id.clone(), source);
    let first = diags.len();
    rule.raw = ctx.file.text.clone();
    rule.raw_format = "yaml".into();

    match id.as_deref() {
        Some(i) if !is_uuid(i) => ctx.diag(
            diags,
            Check::SigmaIdFormat,
            doc.line_of("id"),
            format!("id `{i}` is not a UUID"),
        ),
        _ => {}
    }

    let kind = if get("correlation").is_some() {
        Kind::Correlation(Correlation {
            kind: String::new(),
            rules: Vec::new(),
            group_by: Vec::new(),
            timespan: None,
            condition: None,
            field: None,
        })
    } else if get("filter").is_some() && get("detection").is_none() {
        Kind::Filter(Vec::new())
    } else {
        Kind::Detection
    };

    // Title.
    match scalar(get("title")).filter(|t| !t.trim().is_empty()) {
        Some(t) => {
            let n = t.chars().count();
            if n > MAX_TITLE {
                ctx.diag(
                    diags,
                    Check::SigmaTitleLength,
                    doc.line_of("title"),
                    format!("title is {n} characters long (at most {MAX_TITLE})"),
                );
            }
            rule.title = t.trim().to_string();
        }
        None => {
            ctx.diag(
                diags,
                Check::MissingField,
                doc.start,
                "the rule has no `title`",
            );
            rule.title = name.clone().unwrap_or_else(|| rule_id.clone());
        }
    }
    rule.description = scalar(get("description"))
        .unwrap_or_default()
        .trim()
        .to_string();

    // Status and level.
    if let Some(s) = scalar(get("status")) {
        let s = s.trim().to_ascii_lowercase();
        if !STATUSES.contains(&s.as_str()) {
            ctx.diag(
                diags,
                Check::InvalidValue,
                doc.line_of("status"),
                format!("status `{s}` is not one of {}", STATUSES.join(", ")),
            );
        }
        rule.status = Some(s);
    }
    if let Some(l) = scalar(get("level")) {
        rule.severity = Severity::parse(&l);
        if rule.severity.is_none() || l.trim().eq_ignore_ascii_case("info") {
            ctx.diag(
                diags,
                Check::InvalidValue,
                doc.line_of("level"),
                format!("level `{l}` is not one of informational, low, medium, high, critical"),
            );
        }
    }

    for a in str_list(get("author"))
        .iter()
        .flat_map(|a| split_authors(a))
    {
        rule.facet(FacetKind::Author, a);
    }
    rule.references = str_list(get("references"));
    rule.created = date(get("date"));
    rule.modified = date(get("modified"));

    // Log source.
    match get("logsource") {
        Some(J::Object(ls)) => {
            let part = |k: &str| {
                scalar(ls.get(k))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            let (product, category, service) = (part("product"), part("category"), part("service"));
            if let Some(p) = &product {
                rule.facet(FacetKind::Product, p.clone());
            }
            if let Some(c) = &category {
                rule.facet(FacetKind::Category, c.clone());
            }
            if let Some(s) = &service {
                rule.facet(FacetKind::Service, s.clone());
            }
            let combined: Vec<String> =
                [product, category, service].into_iter().flatten().collect();
            if !combined.is_empty() {
                rule.facet(FacetKind::LogSource, combined.join("/"));
            }
            if let Some(d) = part("definition") {
                rule.metadata.push(("Log source definition".into(), d));
            }
        }
        Some(_) => ctx.diag(
            diags,
            Check::ParseError,
            doc.line_of("logsource"),
            "`logsource` must be a map",
        ),
        None if !matches!(kind, Kind::Correlation(_)) => ctx.diag(
            diags,
            Check::MissingField,
            doc.start,
            "the rule has no `logsource`",
        ),
        None => {}
    }

    // Tags and ATT&CK.
    let tags = str_list(get("tags"));
    let tags_line = doc.line_of("tags");
    for t in &tags {
        let ns = t.split_once('.').map(|(n, _)| n);
        let ok_ns = ns.is_some_and(|n| TAG_NAMESPACES.contains(&n));
        let lower = !t.chars().any(|c| c.is_uppercase()) && !t.contains(' ');
        if !ok_ns || !lower {
            let line = doc.child("tags", t).or_else(|| {
                doc.block("tags").and_then(|(f, to)| {
                    (f..to)
                        .find(|&i| doc.lines[i].contains(t.as_str()))
                        .map(|i| doc.abs(i))
                })
            });
            ctx.diag(
                diags,
                Check::SigmaTagNamespace,
                line.unwrap_or(tags_line),
                if !ok_ns {
                    format!(
                        "tag `{t}` is outside the known namespaces ({})",
                        TAG_NAMESPACES.join(", ")
                    )
                } else {
                    format!("tag `{t}` must be lower-case without spaces")
                },
            );
        }
        rule.facet(FacetKind::Tag, t.clone());
        if let Some(rest) = t.strip_prefix("attack.") {
            if rest.is_empty() {
                continue;
            }
            for r in parse_refs(t) {
                match r {
                    AttackRef::Technique(x) if !rule.techniques.contains(&x) => {
                        rule.techniques.push(x)
                    }
                    AttackRef::Tactic(x) if !rule.tactics.contains(&x) => rule.tactics.push(x),
                    _ => {}
                }
            }
        }
    }

    // Related rules.
    if let Some(J::Array(items)) = get("related") {
        for it in items {
            let (Some(rid), ty) = (scalar(it.get("id")), scalar(it.get("type"))) else {
                ctx.diag(
                    diags,
                    Check::MissingField,
                    doc.line_of("related"),
                    "a `related` entry needs an `id`",
                );
                continue;
            };
            let ty = ty.unwrap_or_else(|| "related".into());
            if !RELATION_TYPES.contains(&ty.as_str()) {
                ctx.diag(
                    diags,
                    Check::InvalidValue,
                    doc.line_of("related"),
                    format!(
                        "related type `{ty}` is not one of {}",
                        RELATION_TYPES.join(", ")
                    ),
                );
            }
            if !is_uuid(&rid) {
                ctx.diag(
                    diags,
                    Check::SigmaIdFormat,
                    doc.line_of("related"),
                    format!("related id `{rid}` is not a UUID"),
                );
            }
            rule.related.push(RelatedRule {
                id: rid,
                relation: ty,
            });
        }
    }

    // False positives.
    let fps: Vec<String> = str_list(get("falsepositives"))
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if !fps.is_empty() {
        let markdown = fps
            .iter()
            .map(|f| format!("- {f}"))
            .collect::<Vec<_>>()
            .join("\n");
        rule.sections.push(Section {
            title: "False positives".into(),
            markdown,
        });
    }

    // Metadata rows.
    if let Some(n) = &name {
        rule.metadata.push(("Name".into(), n.clone()));
    }
    for (label, key) in [
        ("License", "license"),
        ("Taxonomy", "taxonomy"),
        ("Scope", "scope"),
    ] {
        let vals = str_list(get(key));
        if !vals.is_empty() {
            rule.metadata.push((label.into(), vals.join(", ")));
        }
    }
    if let Some(g) = get("generate") {
        rule.metadata.push((
            "Generate".into(),
            scalar(Some(g)).unwrap_or_else(|| g.to_string()),
        ));
    }
    let regression =
        scalar(get("regression_tests_path")).map(|p| (p, doc.line_of("regression_tests_path")));
    if let Some((p, _)) = &regression {
        rule.metadata.push(("Regression tests".into(), p.clone()));
    }
    for (k, val) in v {
        if KNOWN_KEYS.contains(&k.as_str()) {
            continue;
        }
        let text = match val {
            J::String(s) => s.clone(),
            J::Null => continue,
            J::Array(_) => {
                let items = str_list(Some(val));
                if items.iter().all(|i| !i.starts_with('{')) {
                    items.join(", ")
                } else {
                    val.to_string()
                }
            }
            other => other.to_string(),
        };
        rule.metadata.push((k.clone(), text));
    }

    let output_fields: Vec<OutputField> = str_list(get("fields"))
        .into_iter()
        .map(OutputField::named)
        .collect();

    let kind = super::logic::build(ctx, v, kind, output_fields, &mut rule, diags);
    for d in &mut diags[first..] {
        d.rule = Some(rule_id.clone());
    }
    Built {
        rule,
        kind,
        regression,
    }
}
