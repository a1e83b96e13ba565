//! One ESCU detection file (`detections/**/*.yml`) into a `Rule`: both schemas, the older
//! one (`tags.observable`, `tags.risk_score`, `tags.message`) and contentctl v5's (`rba:`
//! with risk and threat objects).

use super::repo::Repo;
use crate::diag::{find_line, Diagnostic};
use crate::discover::{Root, SourceFile};
use crate::formats::{parse_yaml, scalar, sidecar_tests, str_list, Loaded};
use crate::model::{
    Expect, FacetKind, Language, Query, Rule, RuleTest, Section, Severity, SourceLocation, Vendor,
};
use crate::query::spl::{self, MacroKind};
use crate::verify::checks::Check;
use serde_json::Value as J;

const STATUSES: &[&str] = &[
    "production",
    "experimental",
    "deprecated",
    "validation",
    "removed",
];
const TYPES: &[&str] = &[
    "TTP",
    "Anomaly",
    "Hunting",
    "Correlation",
    "Baseline",
    "Investigation",
];
/// Macros and lookups ESCU detections use that ship with other Splunk apps (contentctl
/// ignores them for that reason); named in the broken-reference message.
const EXTERNAL: &[(&str, &str)] = &[
    (
        "get_asset",
        "SA-IdentityManagement (Splunk Enterprise Security)",
    ),
    (
        "get_risk_severity",
        "SA-ThreatIntelligence (Splunk Enterprise Security)",
    ),
    ("cim_corporate_web_domain_search", "Splunk_SA_CIM"),
    ("ut_shannon_lookup", "the URL Toolbox app"),
    (
        "identity_lookup_expanded",
        "the Asset and Identity Framework (Splunk Enterprise Security)",
    ),
    (
        "asset_lookup_by_str",
        "the Asset and Identity Framework (Splunk Enterprise Security)",
    ),
    (
        "cim_corporate_web_domain_lookup",
        "the Asset and Identity Framework (Splunk Enterprise Security)",
    ),
    (
        "alexa_lookup_by_str",
        "the Asset and Identity Framework (Splunk Enterprise Security)",
    ),
    (
        "interesting_ports_lookup",
        "the Asset and Identity Framework (Splunk Enterprise Security)",
    ),
    ("admon_groups_def", "SA-admon"),
];

fn shipped_with(name: &str) -> String {
    EXTERNAL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, app)| format!("; it ships with {app}"))
        .unwrap_or_default()
}

/// Narratives longer than this are cut on the rule page (the story page has them whole).
const NARRATIVE_CHARS: usize = 400;

/// Diagnostics of one file, with its display path.
struct Diags {
    path: String,
    rule: Option<String>,
    list: Vec<Diagnostic>,
}

impl Diags {
    fn push(&mut self, check: Check, line: usize, msg: impl Into<String>) -> &mut Diagnostic {
        let mut d = Diagnostic::new(check, self.path.clone(), line, msg);
        if let Some(r) = &self.rule {
            d = d.for_rule(r.clone());
        }
        self.list.push(d);
        self.list.last_mut().expect("just pushed")
    }
}

pub fn load(root: &Root, file: &SourceFile, repo: &Repo) -> Loaded {
    let mut d = Diags {
        path: root.display(&file.rel),
        rule: None,
        list: Vec::new(),
    };
    let doc = match parse_yaml(&file.text) {
        Ok(doc) => doc,
        Err((line, msg)) => {
            d.push(Check::ParseError, line, msg);
            return Loaded {
                rules: Vec::new(),
                diagnostics: d.list,
            };
        }
    };
    if !doc.is_object() {
        d.push(
            Check::ParseError,
            1,
            "expected a mapping of keys (an ESCU detection)",
        );
        return Loaded {
            rules: Vec::new(),
            diagnostics: d.list,
        };
    }
    let line_of = |key: &str| find_line(&file.text, &format!("\n{key}:")).map(|l| l + 1);
    let id = scalar(doc.get("id")).filter(|s| !s.trim().is_empty());
    d.rule = id.clone();
    for key in ["name", "id", "search"] {
        if scalar(doc.get(key)).is_none_or(|s| s.trim().is_empty()) {
            d.push(
                Check::MissingField,
                1,
                format!("`{key}` is missing or empty"),
            );
        }
    }
    let stem = file
        .file_name()
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(file.file_name());
    let mut rule = Rule::new(
        Vendor::Splunk,
        id.unwrap_or_else(|| file.rel.clone()),
        SourceLocation {
            root: root.index,
            path: file.rel.clone(),
            line: 1,
        },
    );
    rule.title = scalar(doc.get("name")).unwrap_or_else(|| stem.to_string());
    rule.description = scalar(doc.get("description")).unwrap_or_default();
    rule.raw = file.text.clone();
    rule.raw_format = "yaml".into();
    rule.references = str_list(doc.get("references"));
    rule.modified = scalar(doc.get("date"));
    let tags = doc.get("tags").cloned().unwrap_or(J::Null);

    // Status: the `deprecated/` folder wins over the file's own word.
    let in_deprecated = file.rel.split('/').any(|s| s == "deprecated");
    let status = scalar(doc.get("status"));
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            d.push(
                Check::InvalidValue,
                line_of("status").unwrap_or(1),
                format!("status `{s}` is not one of {}", STATUSES.join(", ")),
            );
        }
    }
    rule.status = if in_deprecated {
        Some("deprecated".into())
    } else {
        status
    };

    let kind = scalar(doc.get("type"));
    if let Some(t) = &kind {
        if !TYPES.contains(&t.as_str()) {
            d.push(
                Check::InvalidValue,
                line_of("type").unwrap_or(1),
                format!("type `{t}` is not one of {}", TYPES.join(", ")),
            );
        }
        rule.facet(FacetKind::RuleType, t.as_str());
        rule.metadata.push(("Type".into(), t.clone()));
    }
    if let Some(v) = scalar(doc.get("version")) {
        rule.metadata.push(("Version".into(), v));
    }

    techniques(&mut rule, &tags, &file.text, &mut d);
    risk(&mut rule, &doc, &tags);
    for author in str_list(doc.get("author"))
        .iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        rule.facet(FacetKind::Author, author);
    }
    for p in str_list(tags.get("product")) {
        rule.facet(FacetKind::Product, p);
    }
    for (key, label) in [
        ("security_domain", "Security domain"),
        ("asset_type", "Asset type"),
    ] {
        let v = str_list(tags.get(key)).join(", ");
        if !v.is_empty() {
            rule.metadata.push((label.into(), v));
        }
    }
    let cves = str_list(tags.get("cve"));
    for c in &cves {
        rule.facet(FacetKind::Tag, c.trim());
    }
    if !cves.is_empty() {
        rule.metadata.push(("CVE".into(), cves.join(", ")));
    }

    // Data sources and stories: facets, their details from the repository's files.
    let sources = {
        let mut s = str_list(doc.get("data_source"));
        s.extend(str_list(doc.get("data_sources")));
        // `Sysmon EventID 1 AND Sysmon EventID 11`: a detection needing both.
        let mut out: Vec<String> = Vec::new();
        for part in s.iter().flat_map(|x| x.split(" AND ")).map(str::trim) {
            if !part.is_empty() && !out.iter().any(|o| o == part) {
                out.push(part.to_string());
            }
        }
        out
    };
    for name in &sources {
        rule.facet(FacetKind::DataSource, name.as_str());
        match repo.data_sources.get(name) {
            Some(ds) => rule
                .metadata
                .push((format!("Data source: {name}"), ds.summary())),
            None => {
                d.push(
                    Check::BrokenReference,
                    find_line(&file.text, name).unwrap_or(1),
                    format!("data source `{name}` is not defined in data_sources/"),
                );
            }
        }
    }
    for (key, title) in [
        ("how_to_implement", "How to implement"),
        ("known_false_positives", "Known false positives"),
    ] {
        if let Some(t) = scalar(doc.get(key)).filter(|t| !t.trim().is_empty()) {
            rule.sections.push(Section {
                title: title.into(),
                markdown: t,
            });
        }
    }

    for name in str_list(tags.get("analytic_story")) {
        rule.facet(FacetKind::Story, name.as_str());
        match repo.stories.get(&name) {
            Some(story) => rule.sections.push(Section {
                title: format!("Analytic story: {name}"),
                markdown: story_section(story),
            }),
            None => {
                d.push(
                    Check::BrokenReference,
                    find_line(&file.text, &name).unwrap_or(1),
                    format!("analytic story `{name}` is not defined in stories/"),
                );
            }
        }
    }

    if let Some(search) = scalar(doc.get("search")).filter(|s| !s.trim().is_empty()) {
        spl_logic(&mut rule, &search, repo, root, file, &mut d);
    }
    drilldowns(&mut rule, &doc);
    tests(&mut rule, &doc, root, file);
    if let Some(manual) = scalar(tags.get("manual_test")) {
        rule.metadata.push(("Manual test".into(), manual));
    }

    let (side, side_diags) = sidecar_tests(root, &file.rel);
    rule.tests.extend(side);
    d.list.extend(side_diags);
    Loaded {
        rules: vec![rule],
        diagnostics: d.list,
    }
}

fn techniques(rule: &mut Rule, tags: &J, text: &str, d: &mut Diags) {
    use crate::attack::{parse_refs, AttackRef};
    for raw in str_list(tags.get("mitre_attack_id")) {
        let refs = parse_refs(&raw);
        if refs.is_empty() {
            d.push(
                Check::UnknownTechnique,
                find_line(text, &raw).unwrap_or(1),
                format!("`{raw}` is not an ATT&CK technique id"),
            );
        }
        for r in refs {
            match r {
                AttackRef::Technique(t) if !rule.techniques.contains(&t) => rule.techniques.push(t),
                AttackRef::Tactic(t) if !rule.tactics.contains(&t) => rule.tactics.push(t),
                _ => {}
            }
        }
    }
    // ESCU files name techniques only; contentctl derives the tactics from ATT&CK.
    let db = crate::attack::db();
    for t in &rule.techniques {
        let id = match db.resolve(t) {
            crate::attack::Resolution::Revoked { new: Some(n), .. } => n,
            _ => t.clone(),
        };
        for tactic in db
            .technique(&id)
            .map(|x| x.tactics.clone())
            .unwrap_or_default()
        {
            if !rule.tactics.contains(&tactic) {
                rule.tactics.push(tactic);
            }
        }
    }
}

/// contentctl's `RiskSeverity`: 0-20 informational, 21-40 low, 41-60 medium, 61-80 high,
/// 81-100 critical.
pub fn severity_of_score(score: f64) -> Severity {
    match score {
        s if s <= 20.0 => Severity::Informational,
        s if s <= 40.0 => Severity::Low,
        s if s <= 60.0 => Severity::Medium,
        s if s <= 80.0 => Severity::High,
        _ => Severity::Critical,
    }
}

fn num(v: Option<&J>) -> Option<f64> {
    match v? {
        J::Number(n) => n.as_f64(),
        J::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Risk-based alerting: v5 `rba:` or the older `tags` fields; the severity comes from the
/// highest risk score.
fn risk(rule: &mut Rule, doc: &J, tags: &J) {
    let rba = doc.get("rba");
    let mut top: Option<f64> = None;
    if let Some(rba) = rba.filter(|r| r.is_object()) {
        let objects = rba.get("risk_objects").and_then(J::as_array);
        let mut rows = Vec::new();
        for o in objects.into_iter().flatten() {
            let field = scalar(o.get("field")).unwrap_or_default();
            let kind = scalar(o.get("type")).unwrap_or_default();
            let score = num(o.get("score"));
            if let Some(s) = score {
                top = Some(top.map_or(s, |t: f64| t.max(s)));
            }
            rows.push(match score {
                Some(s) => format!("{field} ({kind}, score {})", crate::model::Value::Num(s)),
                None => format!("{field} ({kind})"),
            });
        }
        if !rows.is_empty() {
            rule.metadata.push(("Risk objects".into(), rows.join("; ")));
        }
        let threats: Vec<String> = rba
            .get("threat_objects")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .map(|o| {
                format!(
                    "{} ({})",
                    scalar(o.get("field")).unwrap_or_default(),
                    scalar(o.get("type")).unwrap_or_default()
                )
            })
            .collect();
        if !threats.is_empty() {
            rule.metadata
                .push(("Threat objects".into(), threats.join("; ")));
        }
        if let Some(m) = scalar(rba.get("message")) {
            rule.metadata.push(("Risk message".into(), m));
        }
    }
    if top.is_none() {
        top = num(tags.get("risk_score"));
        if let Some(s) = top {
            rule.metadata
                .push(("Risk score".into(), crate::model::Value::Num(s).to_string()));
        }
        for (key, label) in [("confidence", "Confidence"), ("impact", "Impact")] {
            if let Some(v) = scalar(tags.get(key)) {
                rule.metadata.push((label.into(), v));
            }
        }
        if let Some(m) = scalar(tags.get("message")) {
            rule.metadata.push(("Risk message".into(), m));
        }
        let observables: Vec<String> = tags
            .get("observable")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .map(|o| {
                let roles = str_list(o.get("role")).join(", ");
                format!(
                    "{} ({}{})",
                    scalar(o.get("name")).unwrap_or_default(),
                    scalar(o.get("type")).unwrap_or_default(),
                    if roles.is_empty() {
                        String::new()
                    } else {
                        format!("; {roles}")
                    }
                )
            })
            .collect();
        if !observables.is_empty() {
            rule.metadata
                .push(("Observables".into(), observables.join("; ")));
        }
    }
    rule.severity = top.map(severity_of_score);
}

fn story_section(story: &super::repo::Story) -> String {
    let mut md = story.description.trim().to_string();
    let narrative = story.narrative.trim();
    if !narrative.is_empty() {
        if !md.is_empty() {
            md.push_str("\n\n");
        }
        md.push_str(&shorten(narrative, NARRATIVE_CHARS));
    }
    md
}

/// `text` cut to about `max` characters at a sentence or word end.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let end = cut
        .rfind(". ")
        .map(|p| p + 1)
        .filter(|&p| p > max / 2)
        .or_else(|| cut.rfind(' '))
        .unwrap_or(cut.len());
    format!("{} …", cut[..end].trim_end())
}

/// Expands the macros, parses the SPL and reports what does not resolve.
fn spl_logic(
    rule: &mut Rule,
    search: &str,
    repo: &Repo,
    root: &Root,
    file: &SourceFile,
    d: &mut Diags,
) {
    rule.query = Some(Query {
        language: Language::Spl,
        text: search.to_string(),
    });
    let (x, parsed) = spl::parse_search(search, &repo.macros);
    let anchor = SearchAnchor::find(&file.text);
    let at = |orig: usize| anchor.as_ref().map(|a| a.locate(orig)).unwrap_or((1, None));

    let mut reported = std::collections::BTreeSet::new();
    for u in &x.unresolved {
        if !reported.insert(u.call.clone()) {
            continue; // one finding per call text
        }
        let (line, col) = at(u.pos);
        let diag = d.push(
            Check::BrokenReference,
            line,
            format!(
                "macro `{}` ({}): {}{}",
                u.call,
                u.key(),
                u.reason,
                shipped_with(&u.name)
            ),
        );
        if let Some(c) = col {
            *diag = diag.clone().at_column(c);
        }
    }
    for issue in &parsed.issues {
        if issue.message.starts_with("macro `") {
            continue; // reported above as a broken reference
        }
        let (line, col) = at(x.original_pos(issue.pos));
        let diag = d.push(Check::UnsupportedSyntax, line, issue.message.clone());
        if let Some(c) = col {
            *diag = diag.clone().at_column(c);
        }
    }
    for (name, pos) in &parsed.lookups {
        let (line, _) = at(x.original_pos(*pos));
        let found = repo.lookups.get(name).or_else(|| {
            // `inputlookup x.csv` names the file; `lookup x` may drop the `.csv`.
            let bare = name.strip_suffix(".csv").unwrap_or(name);
            repo.lookups.get(bare).or_else(|| {
                repo.lookups.values().find(|l| {
                    l.filename
                        .as_deref()
                        .is_some_and(|f| f == name || f.strip_suffix(".csv") == Some(bare))
                })
            })
        });
        match found {
            Some(l) => {
                let v = if l.description.is_empty() {
                    l.filename.clone().unwrap_or_default()
                } else {
                    l.description.clone()
                };
                rule.metadata.push((format!("Lookup: {name}"), v));
            }
            None => {
                d.push(
                    Check::BrokenReference,
                    line,
                    format!(
                        "lookup `{name}` is not defined in lookups/{}",
                        shipped_with(name)
                    ),
                );
            }
        }
    }
    for m in &parsed.data_models {
        rule.facet(FacetKind::DataModel, m.as_str());
    }
    if !parsed.data_models.is_empty() {
        rule.metadata
            .push(("Data model".into(), parsed.data_models.join(", ")));
    }
    let used: Vec<String> = x.used.iter().map(|u| u.key()).collect();
    if !used.is_empty() {
        rule.metadata.push(("Macros".into(), used.join(", ")));
    }
    for u in x.used.iter().filter(|u| u.kind == MacroKind::Defined) {
        let Some(def) = repo.macros.get(&u.name, u.arity) else {
            continue;
        };
        if let Some(f) = def.file.as_ref().and_then(|f| root.get(f)) {
            rule.companions
                .push((f.rel.clone(), f.text.clone(), "yaml".into()));
        }
    }
    if x.text.trim() != search.trim() {
        rule.sections.push(Section {
            title: "Search with macros expanded".into(),
            markdown: format!(
                "```spl\n{}\n```",
                x.text
                    .trim()
                    .trim_end_matches(|c: char| c == '|' || c.is_whitespace())
            ),
        });
    }
    rule.detection = Some(parsed.detection);
}

fn drilldowns(rule: &mut Rule, doc: &J) {
    let Some(items) = doc.get("drilldown_searches").and_then(J::as_array) else {
        return;
    };
    let mut md = String::new();
    for item in items {
        let name = scalar(item.get("name")).unwrap_or_default();
        let search = scalar(item.get("search")).unwrap_or_default();
        md.push_str(&format!(
            "**{}**\n\n```spl\n{}\n```\n\n",
            name.trim(),
            search.trim()
        ));
    }
    if !md.is_empty() {
        rule.sections.push(Section {
            title: "Drilldown searches".into(),
            markdown: md.trim_end().to_string(),
        });
    }
}

/// ESCU tests replay attack-data files into Splunk; the catalog cannot fetch them, so each
/// test is unsupported with its URLs.
fn tests(rule: &mut Rule, doc: &J, root: &Root, file: &SourceFile) {
    let Some(items) = doc.get("tests").and_then(J::as_array) else {
        return;
    };
    let mut md = String::new();
    for (i, t) in items.iter().enumerate() {
        let name = scalar(t.get("name")).unwrap_or_else(|| format!("test {}", i + 1));
        let data: Vec<&J> = t
            .get("attack_data")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .collect();
        let urls: Vec<String> = data.iter().filter_map(|a| scalar(a.get("data"))).collect();
        for a in &data {
            let url = scalar(a.get("data")).unwrap_or_default();
            let extra: Vec<String> = ["source", "sourcetype"]
                .iter()
                .filter_map(|k| scalar(a.get(*k)).map(|v| format!("{k} `{v}`")))
                .collect();
            md.push_str(&format!("- {name}: <{url}> ({})\n", extra.join(", ")));
        }
        let reason = if urls.is_empty() {
            "no test data".to_string()
        } else {
            format!("remote data: {}", urls.join(", "))
        };
        rule.tests.push(RuleTest {
            name: name.clone(),
            events: Vec::new(),
            expect: Expect::Match,
            unsupported: Some(reason),
            location: Some(SourceLocation {
                root: root.index,
                path: file.rel.clone(),
                line: find_line(&file.text, &name).unwrap_or(1),
            }),
        });
    }
    if !md.is_empty() {
        rule.sections.push(Section {
            title: "Test data".into(),
            markdown: md.trim_end().to_string(),
        });
    }
}

/// Where the `search:` value sits in the file, to turn offsets of the search into file
/// lines and columns. Handles one-line, folded (wrapped quoted or plain) and block scalars.
struct SearchAnchor {
    /// (0-based file line, byte column where the segment starts, segment length).
    segments: Vec<(usize, usize, usize)>,
    lines: Vec<String>,
}

impl SearchAnchor {
    fn find(text: &str) -> Option<SearchAnchor> {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let start = lines.iter().position(|l| l.starts_with("search:"))?;
        let first = &lines[start];
        let after = &first["search:".len()..];
        let value_col = "search:".len() + (after.len() - after.trim_start().len());
        let value = first[value_col..].trim_end();
        let mut segments = Vec::new();
        let continuation = |l: &String| l.starts_with(' ') || l.starts_with('\t') || l.is_empty();
        if value.starts_with('|') || value.starts_with('>') {
            for (i, l) in lines.iter().enumerate().skip(start + 1) {
                if !continuation(l) {
                    break;
                }
                let indent = l.len() - l.trim_start().len();
                segments.push((i, indent, l.len() - indent));
            }
        } else {
            let quote = usize::from(value.starts_with('\'') || value.starts_with('"'));
            segments.push((start, value_col + quote, first.len() - value_col - quote));
            for (i, l) in lines.iter().enumerate().skip(start + 1) {
                if !continuation(l) || l.trim().is_empty() {
                    break;
                }
                let indent = l.len() - l.trim_start().len();
                segments.push((i, indent, l.len() - indent));
            }
        }
        Some(SearchAnchor { segments, lines })
    }

    /// 1-based (line, column) of byte offset `pos` of the search value.
    fn locate(&self, pos: usize) -> (usize, Option<usize>) {
        let mut rest = pos;
        for &(line, col, len) in &self.segments {
            if rest <= len {
                let l = &self.lines[line];
                let mut b = (col + rest).min(l.len());
                while !l.is_char_boundary(b) {
                    b -= 1;
                }
                return (line + 1, Some(l[..b].chars().count() + 1));
            }
            rest -= len + 1;
        }
        let line = self.segments.first().map(|s| s.0 + 1).unwrap_or(1);
        (line, None)
    }
}
