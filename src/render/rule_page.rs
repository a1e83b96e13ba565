//! The view of one rule page: everything the template shows, already resolved to text and
//! relative links. Rule text goes in as plain strings (the HTML templates escape it); the
//! only HTML in the view is the sanitiser's output in the `*_html` fields.

use super::condition;
use super::context::{display_title, facet_label, paths, Base, Fmt, Link, Links, Shared};
use super::highlight;
use super::markdown;
use super::names;
use crate::model::{Expect, FacetKind, Rule};
use crate::verify::Outcome;
use serde::Serialize;
use std::fmt::Write as _;

/// Test events longer than this are cut on the page.
const MAX_EVENT_CHARS: usize = 16_000;

#[derive(Serialize)]
pub struct RulePage<'a> {
    #[serde(flatten)]
    pub base: Base,
    pub title: &'a str,
    pub vendor: Link,
    pub severity: Option<&'static str>,
    pub id: &'a str,
    pub permalink: Option<String>,
    /// Markdown tree: the description as written (open fences closed).
    pub description: String,
    pub description_html: String,
    pub meta: Vec<MetaRow>,
    pub references: Vec<Link>,
    pub techniques: Vec<TechniqueRow>,
    pub tactics: Vec<TechniqueRow>,
    pub facets: Vec<FacetGroup>,
    pub condition: Option<String>,
    pub condition_fence: String,
    pub fully_parsed: bool,
    pub query: Option<Code<'a>>,
    pub indicators: Vec<IndicatorRow<'a>>,
    pub output_fields: Vec<FieldRow<'a>>,
    pub sections: Vec<SectionView<'a>>,
    pub tests: Vec<TestRow<'a>>,
    pub test_counts: [usize; 3],
    pub raw: Code<'a>,
    pub companions: Vec<Code<'a>>,
    pub diagnostics: Vec<DiagRow<'a>>,
    pub source: Source,
    pub related: Vec<RelatedRow<'a>>,
    /// Sentinel / Defender XDR: the tables read, with Microsoft's ingestion facts.
    pub tables_used: Vec<super::reference_pages::TableUse>,
    /// Closest rules per vendor (`overlap_pages`).
    pub closest: Vec<super::overlap_pages::ClosestGroup>,
}

#[derive(Serialize)]
pub struct MetaRow {
    pub label: String,
    pub items: Vec<Link>,
}

#[derive(Serialize)]
pub struct TechniqueRow {
    pub id: Link,
    pub name: Option<String>,
    /// `revoked` or `deprecated` in ATT&CK.
    pub status: Option<&'static str>,
    pub mitre: Option<String>,
    pub tactics: Vec<Link>,
}

#[derive(Serialize)]
pub struct FacetGroup {
    pub label: &'static str,
    pub href: String,
    pub items: Vec<Link>,
}

#[derive(Serialize)]
pub struct Code<'a> {
    pub path: String,
    pub hint: &'a str,
    pub label: &'a str,
    pub text: &'a str,
    /// HTML: the lines, escaped and highlighted (`highlight::lines`), numbered by the
    /// stylesheet, anchored `L<n>` for the raw rule.
    pub lines_html: Vec<String>,
    /// Markdown: the text with line numbers, and a fence longer than any in it.
    pub numbered: String,
    pub fence: String,
}

#[derive(Serialize)]
pub struct IndicatorRow<'a> {
    pub field: &'a str,
    pub op: String,
    pub value: &'a str,
    pub case_sensitive: bool,
    pub count: usize,
    /// A close rule tests the same value.
    pub shared: bool,
}

#[derive(Serialize)]
pub struct FieldRow<'a> {
    pub name: &'a str,
    pub source: Option<&'a str>,
    pub note: Option<&'a str>,
}

#[derive(Serialize)]
pub struct SectionView<'a> {
    pub title: &'a str,
    pub markdown: String,
    pub html: String,
}

#[derive(Serialize)]
pub struct TestRow<'a> {
    pub name: &'a str,
    pub expect: String,
    pub outcome: &'static str,
    pub detail: &'a str,
    pub events: Vec<String>,
    /// HTML: the events, escaped and highlighted as JSON.
    pub events_html: Vec<String>,
    pub fence: String,
    pub location: Option<String>,
}

#[derive(Serialize)]
pub struct DiagRow<'a> {
    pub line: usize,
    pub level: &'static str,
    pub code: &'static str,
    pub message: &'a str,
    pub file: &'a str,
    pub anchor: Option<String>,
}

#[derive(Serialize)]
pub struct Source {
    pub path: String,
    pub line: usize,
    pub url: Option<String>,
}

#[derive(Serialize)]
pub struct RelatedRow<'a> {
    pub relation: &'a str,
    pub id: &'a str,
    pub rule: Option<Link>,
}

/// Kinds shown in the metadata table or the ATT&CK table rather than under "Facets".
const OWN_ROWS: [FacetKind; 7] = [
    FacetKind::Vendor,
    FacetKind::Technique,
    FacetKind::Tactic,
    FacetKind::Severity,
    FacetKind::Status,
    FacetKind::Author,
    FacetKind::Language,
];

pub fn view<'a>(s: &Shared<'a>, fmt: Fmt, i: usize) -> RulePage<'a> {
    let cat = s.cat;
    let r: &'a Rule = &cat.rules[i];
    let page = paths::rule(cat, i);
    let links = Links::new(fmt, &page);
    let root = &s.build.roots[r.source.root];
    let file = root.display(&r.source.path);
    let html = fmt == Fmt::Html;
    let results = &s.build.results[i];
    let shared_pairs = super::overlap_pages::shared_pairs(s, i);

    let mut test_counts = [0; 3];
    for t in results {
        test_counts[match t.outcome {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Unsupported => 2,
        }] += 1;
    }
    let query_hint = r.query.as_ref().map(|q| q.language.code_hint());
    let raw = code(
        fmt,
        file.clone(),
        &r.raw_format,
        "Rule file",
        &r.raw,
        query_hint,
    );
    let raw_lines = raw.lines_html.len().max(r.raw.lines().count());
    let condition_text = r.detection.as_ref().map(|d| condition::condition(&d.expr));
    RulePage {
        base: s.base(&links, display_title(r), &page),
        title: display_title(r),
        vendor: s.facet_link(&links, FacetKind::Vendor, r.vendor.key()),
        severity: r.severity.map(|x| x.key()),
        id: &r.id,
        permalink: s.id_page_of_rule[i]
            .map(|p| links.page(&paths::id(r.vendor, &s.id_pages[p].slug))),
        description: if html {
            String::new()
        } else {
            markdown::for_md_tree(&r.description)
        },
        description_html: if html {
            markdown::to_html(&r.description, 2)
        } else {
            String::new()
        },
        meta: meta_rows(s, &links, r, &file),
        references: r
            .references
            .iter()
            .map(|u| {
                if is_web_url(u) {
                    Link::to(u.clone(), u.clone())
                } else {
                    Link::text(u.clone())
                }
            })
            .collect(),
        techniques: r
            .techniques
            .iter()
            .map(|t| TechniqueRow {
                id: s.facet_link(&links, FacetKind::Technique, t).retext(t),
                name: names::technique_name(t),
                status: names::technique_status(t),
                mitre: names::mitre_url(t),
                tactics: names::technique_tactics(t)
                    .iter()
                    .map(|ta| s.facet_link(&links, FacetKind::Tactic, ta))
                    .collect(),
            })
            .collect(),
        tactics: r
            .tactics
            .iter()
            .map(|t| TechniqueRow {
                id: s.facet_link(&links, FacetKind::Tactic, t).retext(t),
                name: names::tactic_name(t),
                status: None,
                mitre: names::mitre_url(t),
                tactics: Vec::new(),
            })
            .collect(),
        facets: facet_groups(s, &links, r),
        condition_fence: markdown::fence(condition_text.as_deref().unwrap_or("")),
        condition: condition_text,
        fully_parsed: r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()),
        query: r
            .query
            .as_ref()
            .filter(|q| !q.text.trim().is_empty() && !r.raw.contains(q.text.as_str()))
            .map(|q| {
                code(
                    fmt,
                    String::new(),
                    q.language.code_hint(),
                    q.language.name(),
                    &q.text,
                    None,
                )
            }),
        indicators: cat.indicators[i]
            .iter()
            .map(|ind| IndicatorRow {
                shared: shared_pairs.contains(&(ind.field.as_str(), ind.value.as_str())),
                field: &ind.field,
                op: condition::op_key_text(&ind.op),
                value: &ind.value,
                case_sensitive: ind.case_sensitive,
                count: ind.count,
            })
            .collect(),
        output_fields: r
            .detection
            .iter()
            .flat_map(|d| &d.output_fields)
            .map(|f| FieldRow {
                name: &f.name,
                source: f.source.as_deref(),
                note: f.note.as_deref(),
            })
            .collect(),
        sections: r
            .sections
            .iter()
            .map(|sec| SectionView {
                title: &sec.title,
                markdown: if html {
                    String::new()
                } else {
                    markdown::for_md_tree(&sec.markdown)
                },
                html: if html {
                    markdown::to_html(&sec.markdown, 2)
                } else {
                    String::new()
                },
            })
            .collect(),
        tests: r
            .tests
            .iter()
            .zip(results)
            .map(|(t, res)| {
                let events: Vec<String> = t.events.iter().map(event_text).collect();
                let fence = markdown::fence(&events.join("\n"));
                let events_html = match fmt {
                    Fmt::Html => events
                        .iter()
                        .map(|e| highlight::lines(e, "json", None).join("\n"))
                        .collect(),
                    Fmt::Md => Vec::new(),
                };
                TestRow {
                    name: &t.name,
                    expect: match t.expect {
                        Expect::Match => "match".to_string(),
                        Expect::NoMatch => "no match".to_string(),
                        Expect::Count(n) => format!("{n} matching events"),
                        Expect::AtLeast(n) => format!("at least {n} matching events"),
                    },
                    outcome: match res.outcome {
                        Outcome::Pass => "pass",
                        Outcome::Fail => "fail",
                        Outcome::Unsupported => "unsupported",
                    },
                    detail: &res.detail,
                    events,
                    events_html,
                    fence,
                    location: t.location.as_ref().map(|l| {
                        let p = s.build.roots[l.root].display(&l.path);
                        if l.line > 0 {
                            format!("{p}:{}", l.line)
                        } else {
                            p
                        }
                    }),
                }
            })
            .collect(),
        test_counts,
        raw,
        companions: r
            .companions
            .iter()
            .map(|(path, text, hint)| {
                code(fmt, root.display(path), hint, "Companion file", text, None)
            })
            .collect(),
        diagnostics: diagnostics(s, r, &file, raw_lines),
        source: Source {
            url: source_url(
                root.spec.repo_url.as_deref(),
                root.spec.commit.as_deref(),
                &r.source.path,
                r.source.line,
            ),
            path: file,
            line: r.source.line,
        },
        related: r
            .related
            .iter()
            .map(|rel| RelatedRow {
                relation: &rel.relation,
                id: &rel.id,
                rule: cat.find(r.vendor, &rel.id).map(|j| {
                    Link::to(
                        display_title(&cat.rules[j]).to_string(),
                        links.page(&paths::rule(cat, j)),
                    )
                }),
            })
            .collect(),
        tables_used: super::reference_pages::tables_used(s, &links, r),
        closest: super::overlap_pages::closest(s, &links, i),
    }
}

impl Link {
    fn retext(mut self, text: &str) -> Link {
        self.text = text.to_string();
        self
    }
}

fn meta_rows(s: &Shared, links: &Links, r: &Rule, file: &str) -> Vec<MetaRow> {
    let row = |label: &str, items: Vec<Link>| MetaRow {
        label: label.to_string(),
        items,
    };
    let facet = |kind: FacetKind, v: &str| s.facet_link(links, kind, v);
    let mut rows = vec![
        row("Vendor", vec![facet(FacetKind::Vendor, r.vendor.key())]),
        row("ID", vec![Link::text(r.id.clone())]),
    ];
    if let Some(sev) = r.severity {
        rows.push(row("Severity", vec![facet(FacetKind::Severity, sev.key())]));
    }
    if let Some(st) = &r.status {
        rows.push(row("Status", vec![facet(FacetKind::Status, st)]));
    }
    if let Some(q) = &r.query {
        rows.push(row(
            "Query language",
            vec![facet(FacetKind::Language, q.language.name())],
        ));
    }
    if let Some(d) = &r.created {
        rows.push(row("Created", vec![Link::text(d.clone())]));
    }
    if let Some(d) = &r.modified {
        rows.push(row("Modified", vec![Link::text(d.clone())]));
    }
    let authors: Vec<Link> = r
        .facet_values(FacetKind::Author)
        .map(|a| facet(FacetKind::Author, a))
        .collect();
    if !authors.is_empty() {
        rows.push(row("Authors", authors));
    }
    for (k, v) in &r.metadata {
        rows.push(row(k, vec![Link::text(v.clone())]));
    }
    rows.push(row("File", vec![Link::text(file.to_string())]));
    rows
}

fn facet_groups(s: &Shared, links: &Links, r: &Rule) -> Vec<FacetGroup> {
    let mut groups: Vec<FacetGroup> = Vec::new();
    let mut pairs: Vec<&(FacetKind, String)> = r
        .facets
        .iter()
        .filter(|(k, _)| !OWN_ROWS.contains(k))
        .collect();
    pairs.sort_by_key(|(k, _)| *k);
    for (kind, value) in pairs {
        if groups.last().map(|g| g.label) != Some(kind.plural()) {
            groups.push(FacetGroup {
                label: kind.plural(),
                href: links.page(&paths::facet_index(*kind)),
                items: Vec::new(),
            });
        }
        let g = groups.last_mut().expect("pushed above");
        g.items.push(Link {
            text: facet_label(*kind, value),
            href: paths::facet(s.cat, *kind, value).map(|p| links.page(&p)),
        });
    }
    groups
}

/// The rule file's diagnostics (and those of its test files that name the rule).
fn diagnostics<'a>(s: &Shared<'a>, r: &Rule, file: &str, raw_lines: usize) -> Vec<DiagRow<'a>> {
    let mut files: Vec<String> = vec![file.to_string()];
    for t in &r.tests {
        if let Some(l) = &t.location {
            let p = s.build.roots[l.root].display(&l.path);
            if !files.contains(&p) {
                files.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for (n, f) in files.iter().enumerate() {
        for d in s.diags_by_file.get(f.as_str()).into_iter().flatten() {
            if d.rule.as_deref().is_some_and(|id| id != r.id) {
                continue;
            }
            if n > 0 && d.rule.is_none() {
                continue;
            }
            out.push(DiagRow {
                line: d.line,
                level: d.level.as_str(),
                code: d.code.id(),
                message: &d.message,
                file: &d.file,
                anchor: (n == 0 && d.line >= 1 && d.line <= raw_lines)
                    .then(|| format!("#L{}", d.line)),
            });
        }
    }
    out
}

/// A code block; `embedded` is the language of a query held in the file (highlighted as
/// that language where the file's scanner finds it).
fn code<'a>(
    fmt: Fmt,
    path: String,
    hint: &'a str,
    label: &'a str,
    text: &'a str,
    embedded: Option<&str>,
) -> Code<'a> {
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let (lines_html, numbered, fence) = match fmt {
        Fmt::Html => (
            highlight::lines(text, hint, embedded),
            String::new(),
            String::new(),
        ),
        Fmt::Md => {
            let n = trimmed.split('\n').count();
            let width = n.to_string().len();
            let mut out = String::with_capacity(text.len() + n * (width + 2));
            for (i, l) in trimmed.split('\n').enumerate() {
                let _ = writeln!(out, "{:>width$}  {}", i + 1, l.trim_end_matches('\r'));
            }
            let fence = markdown::fence(&out);
            (Vec::new(), out, fence)
        }
    };
    Code {
        path,
        hint,
        label,
        text,
        lines_html,
        numbered,
        fence,
    }
}

fn event_text(ev: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(ev).unwrap_or_default();
    if s.len() > MAX_EVENT_CHARS {
        let mut cut = MAX_EVENT_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n… (cut)");
    }
    s
}

pub fn is_web_url(u: &str) -> bool {
    let l = u.trim_start().to_ascii_lowercase();
    (l.starts_with("https://") || l.starts_with("http://"))
        && !u.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
}

/// The web address of a rule's file at a commit, when the root has a repository URL.
pub fn source_url(
    repo: Option<&str>,
    commit: Option<&str>,
    path: &str,
    line: usize,
) -> Option<String> {
    let repo = repo?.trim().trim_end_matches('/');
    if !is_web_url(repo) {
        return None;
    }
    let commit = commit
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("HEAD");
    let mut url = format!("{repo}/blob/{}/{}", encode(commit), encode_path(path));
    if line > 1 {
        url.push_str(&format!("#L{line}"));
    }
    Some(url)
}

fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// Percent-encodes everything but unreserved URL characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_urls() {
        assert_eq!(
            source_url(
                Some("https://github.com/o/r/"),
                Some("abc"),
                "rules/a b.yml",
                3
            )
            .as_deref(),
            Some("https://github.com/o/r/blob/abc/rules/a%20b.yml#L3")
        );
        assert_eq!(
            source_url(Some("https://x/r"), None, "a.yml", 1).as_deref(),
            Some("https://x/r/blob/HEAD/a.yml")
        );
        assert_eq!(source_url(Some("javascript:alert(1)"), None, "a", 1), None);
        assert_eq!(source_url(None, None, "a", 1), None);
    }
}
