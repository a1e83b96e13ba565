//! What every page view shares: output formats, page paths and relative links, the common
//! page frame, and the facts computed once per build (diagnostics by file, `/id/` slugs).
//!
//! A page is named by a logical path without extension (`rules/sigma/<slug>`,
//! `techniques/t1059.001`, `techniques/index`, `index`). [`Fmt::file`] turns it into the
//! written file and [`Links::page`] into a relative link from the current page, so the
//! site works from any base URL, from `file://`, and on a code host.

use crate::catalog::{self, Catalog};
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::model::{FacetKind, Rule, Vendor};
use crate::pipeline::Build;
use crate::verify::report::Report;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use super::names;

/// The two page formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    Html,
    Md,
}

/// Folder of the Markdown tree inside the output folder.
pub const MD_DIR: &str = "md";

impl Fmt {
    /// The file written for a logical page path (relative to the output folder).
    pub fn file(self, page: &str) -> String {
        match self {
            Fmt::Html => format!("{page}.html"),
            Fmt::Md => match page.strip_suffix("index") {
                // Folder index pages are README.md: code hosts show them for the folder.
                Some(dir) if dir.is_empty() || dir.ends_with('/') => {
                    format!("{MD_DIR}/{dir}README.md")
                }
                _ => format!("{MD_DIR}/{page}.md"),
            },
        }
    }
    pub fn template(self, name: &str) -> String {
        match self {
            Fmt::Html => format!("{name}.html"),
            Fmt::Md => format!("{name}.md"),
        }
    }
}

/// Relative links from one page.
pub struct Links {
    fmt: Fmt,
    /// `../` repeated up to the root of the page tree (`out/` or `out/md/`).
    up: String,
}

impl Links {
    pub fn new(fmt: Fmt, page: &str) -> Links {
        Links {
            fmt,
            up: "../".repeat(page.matches('/').count()),
        }
    }
    /// Link to another page of the same format.
    pub fn page(&self, page: &str) -> String {
        let file = self.fmt.file(page);
        let file = match self.fmt {
            Fmt::Html => file.as_str(),
            Fmt::Md => &file[MD_DIR.len() + 1..],
        };
        format!("{}{file}", self.up)
    }
    /// Link to a file of the output folder that is not a page (`static/`, `exports/`).
    pub fn out(&self, rel: &str) -> String {
        match self.fmt {
            Fmt::Html => format!("{}{rel}", self.up),
            Fmt::Md => format!("{}../{rel}", self.up),
        }
    }
}

/// Logical page paths. Folder index pages are `<folder>/index`; a facet value whose slug
/// would collide with one (`index`, `readme`) gets a trailing `-`, which slugs never have.
pub mod paths {
    use super::*;

    pub const HOME: &str = "index";
    pub const STATS: &str = "stats";
    pub const MATRIX: &str = "matrix";
    pub const OVERLAP: &str = "overlap";
    pub const INDICATORS: &str = "indicators";

    /// `rules/<vendor>/<slug>`, the catalog's own rule page path without `.html`.
    pub fn rule(cat: &Catalog, i: usize) -> String {
        let p = cat.rule_page(i);
        p.strip_suffix(".html").map(str::to_string).unwrap_or(p)
    }
    pub fn facet_index(kind: FacetKind) -> String {
        format!("{}/index", kind.key())
    }
    pub fn facet(cat: &Catalog, kind: FacetKind, value: &str) -> Option<String> {
        let slug = cat.facet_slug(kind, value)?;
        Some(match slug {
            "index" | "readme" => format!("{}/{slug}-", kind.key()),
            _ => format!("{}/{slug}", kind.key()),
        })
    }
    pub fn id(vendor: Vendor, slug: &str) -> String {
        format!("id/{}/{slug}", vendor.key())
    }
    pub fn content(slug: &str) -> String {
        format!("pages/{slug}")
    }
}

/// A link or plain text.
#[derive(Debug, Serialize)]
pub struct Link {
    pub text: String,
    pub href: Option<String>,
}

impl Link {
    pub fn text(text: impl Into<String>) -> Link {
        Link {
            text: text.into(),
            href: None,
        }
    }
    pub fn to(text: impl Into<String>, href: String) -> Link {
        Link {
            text: text.into(),
            href: Some(href),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// The frame of every page.
#[derive(Debug, Serialize)]
pub struct Base {
    pub site_title: String,
    pub page_title: String,
    /// Relative link to the output folder (for `static/` and `exports/`).
    pub out: String,
    pub home: String,
    pub nav: Vec<NavItem>,
    /// ruledex version, shown in the footer.
    pub version: &'static str,
}

/// A rule in a listing.
#[derive(Debug, Serialize)]
pub struct RuleRow<'a> {
    pub title: &'a str,
    pub href: String,
    pub id: &'a str,
    pub vendor: &'static str,
    pub severity: Option<&'static str>,
    pub status: Option<&'a str>,
    pub date: Option<String>,
}

/// One `/id/<vendor>/<slug>` redirect page.
#[derive(Debug)]
pub struct IdPage {
    pub vendor: Vendor,
    pub id: String,
    pub slug: String,
    pub rule: usize,
}

/// A Markdown page of `content/`.
#[derive(Debug, Clone)]
pub struct ContentPage {
    pub slug: String,
    pub title: String,
    pub markdown: String,
}

/// Facts computed once per build and read by every page view.
pub struct Shared<'a> {
    pub build: &'a Build,
    pub cat: &'a Catalog,
    pub config: &'a Config,
    /// Vendors with rules, in the order of `Vendor::ALL`.
    pub vendors: Vec<Vendor>,
    pub diags_by_file: HashMap<&'a str, Vec<&'a Diagnostic>>,
    pub id_pages: Vec<IdPage>,
    /// Index into `id_pages` for each rule that owns its id.
    pub id_page_of_rule: Vec<Option<usize>>,
    pub report: Report,
    pub content: Vec<ContentPage>,
    /// Overlap, indicator index, data sources and technique counts (`cross`).
    pub cross: super::cross::Cross,
}

impl<'a> Shared<'a> {
    pub fn new(build: &'a Build, config: &'a Config, content: Vec<ContentPage>) -> Shared<'a> {
        let cat = &build.catalog;
        let vendors = Vendor::ALL
            .into_iter()
            .filter(|v| !cat.rules_of(FacetKind::Vendor, v.key()).is_empty())
            .collect();
        let mut diags_by_file: HashMap<&str, Vec<&Diagnostic>> = HashMap::new();
        for d in &build.diagnostics {
            diags_by_file.entry(d.file.as_str()).or_default().push(d);
        }
        let (id_pages, id_page_of_rule) = id_pages(cat);
        Shared {
            build,
            cat,
            config,
            vendors,
            diags_by_file,
            id_pages,
            id_page_of_rule,
            report: Report::new(build),
            content,
            cross: super::cross::Cross::new(cat),
        }
    }

    pub fn base(&self, links: &Links, page_title: impl Into<String>, current: &str) -> Base {
        let mut nav = vec![NavItem {
            label: "Home",
            href: links.page(paths::HOME),
            current: current == paths::HOME,
        }];
        for (label, kind) in [
            ("Vendors", FacetKind::Vendor),
            ("Techniques", FacetKind::Technique),
            ("Tactics", FacetKind::Tactic),
        ] {
            if self.cat.facets.contains_key(&kind) {
                let p = paths::facet_index(kind);
                nav.push(NavItem {
                    label,
                    href: links.page(&p),
                    current: current == p,
                });
            }
        }
        nav.push(NavItem {
            label: "ATT&CK matrix",
            href: links.page(paths::MATRIX),
            current: current == paths::MATRIX,
        });
        nav.push(NavItem {
            label: "Statistics",
            href: links.page(paths::STATS),
            current: current == paths::STATS,
        });
        if let Some(c) = self.content.first() {
            let p = paths::content(&c.slug);
            nav.push(NavItem {
                label: "About",
                href: links.page(&p),
                current: current == p,
            });
        }
        Base {
            site_title: self.config.title.clone(),
            page_title: page_title.into(),
            out: links.out(""),
            home: links.page(paths::HOME),
            nav,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn rule_row(&self, links: &Links, i: usize) -> RuleRow<'a> {
        let r: &'a Rule = &self.cat.rules[i];
        RuleRow {
            title: display_title(r),
            href: links.page(&paths::rule(self.cat, i)),
            id: &r.id,
            vendor: r.vendor.name(),
            severity: r.severity.map(|s| s.key()),
            status: r.status.as_deref(),
            date: rule_date(r),
        }
    }

    /// A link to a facet value's page (plain text if it has none).
    pub fn facet_link(&self, links: &Links, kind: FacetKind, value: &str) -> Link {
        let text = facet_label(kind, value);
        match paths::facet(self.cat, kind, value) {
            Some(p) => Link::to(text, links.page(&p)),
            None => Link::text(text),
        }
    }
}

/// A rule's title, or its id when it has none.
pub fn display_title(r: &Rule) -> &str {
    if r.title.trim().is_empty() {
        &r.id
    } else {
        &r.title
    }
}

/// The rule's newest date, normalised to `YYYY-MM-DD` where it is written with `/`.
pub fn rule_date(r: &Rule) -> Option<String> {
    r.modified
        .as_deref()
        .or(r.created.as_deref())
        .map(|d| d.trim().replace('/', "-"))
        .filter(|d| !d.is_empty())
}

/// How a facet value reads: vendor names, ATT&CK ids with their names.
pub fn facet_label(kind: FacetKind, value: &str) -> String {
    match kind {
        FacetKind::Vendor => Vendor::from_key(value)
            .map(|v| v.name().to_string())
            .unwrap_or_else(|| value.to_string()),
        FacetKind::Technique => match names::technique_name(value) {
            Some(n) => format!("{value} {n}"),
            None => value.to_string(),
        },
        FacetKind::Tactic => match names::tactic_name(value) {
            Some(n) => format!("{value} {n}"),
            None => value.to_string(),
        },
        _ => value.to_string(),
    }
}

/// Unique `/id/` slugs per vendor, in id order; a duplicated id points at its first rule.
fn id_pages(cat: &Catalog) -> (Vec<IdPage>, Vec<Option<usize>>) {
    let mut pages = Vec::new();
    let mut of_rule = vec![None; cat.rules.len()];
    let mut used: HashMap<(Vendor, String), usize> = HashMap::new();
    let mut seen: BTreeMap<(Vendor, &str), usize> = BTreeMap::new();
    for (i, r) in cat.rules.iter().enumerate() {
        if r.id.is_empty() || seen.contains_key(&(r.vendor, r.id.as_str())) {
            continue;
        }
        seen.insert((r.vendor, &r.id), i);
        let base = catalog::slugify(&r.id);
        let n = used.entry((r.vendor, base.clone())).or_insert(0);
        *n += 1;
        let slug = if *n == 1 { base } else { format!("{base}-{n}") };
        of_rule[i] = Some(pages.len());
        pages.push(IdPage {
            vendor: r.vendor,
            id: r.id.clone(),
            slug,
            rule: i,
        });
    }
    (pages, of_rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_relative_links() {
        assert_eq!(Fmt::Html.file("rules/sigma/x"), "rules/sigma/x.html");
        assert_eq!(Fmt::Md.file("rules/sigma/x"), "md/rules/sigma/x.md");
        assert_eq!(Fmt::Md.file("index"), "md/README.md");
        assert_eq!(Fmt::Md.file("tags/index"), "md/tags/README.md");
        assert_eq!(Fmt::Md.file("tags/windex"), "md/tags/windex.md");
        let l = Links::new(Fmt::Md, "rules/sigma/x");
        assert_eq!(l.page("techniques/t1059"), "../../techniques/t1059.md");
        assert_eq!(l.page("index"), "../../README.md");
        assert_eq!(l.out("exports/rules.csv"), "../../../exports/rules.csv");
        let h = Links::new(Fmt::Html, "index");
        assert_eq!(h.page("stats"), "stats.html");
        assert_eq!(h.out("static/style.css"), "static/style.css");
    }
}
