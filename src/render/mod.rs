//! Rendering: pure functions of a `Build` into the output folder (HTML, Markdown, exports).
//!
//! - `context`: page paths, relative links, the page frame, facts computed once per build.
//! - `rule_page`, `list_pages`: the view of each page kind (plain data, `Serialize`).
//! - `templates`: tera templates (`templates/html`, `templates/md`), embedded, overridable.
//! - `condition`: the condition IR as readable text; `markdown`: sanitised Markdown.
//! - `exports`: `catalog.json` (+ its JSON Schema), `rules.csv`, `indicators.csv`
//!   (`table_exports`: `tables.csv`, `tables.json`); `navigator`: ATT&CK Navigator layers;
//!   `assets`: static files and content pages; `output`: the one place that writes files;
//!   `links`: a link checker.
//! - `reference_pages`: Microsoft's table facts on table, connector, solution and parser
//!   pages, their index columns, and the "Tables used" of Sentinel / Defender rule pages.
//! - `cross`: overlap, indicator index, data sources, technique counts (once per build);
//!   `attack_pages` (matrix), `overlap_pages` (closest rules, overlap and indicator index
//!   pages), `charts` + `svg` (statistics charts as static SVG).
//!
//! Output layout (HTML at the top, the same pages as Markdown under `md/`):
//! `index`, `rules/<vendor>/<slug>`, `<facet key>/index` and `<facet key>/<value slug>` for
//! every facet kind (`vendors/`, `techniques/`, `tactics/`, `tags/`, ...), `stats`,
//! `id/<vendor>/<id slug>` (redirects), `pages/<slug>` (content), `exports/`, `static/`,
//! `search` and its Pagefind index `pagefind/` (`search`).

pub mod assets;
pub mod attack_pages;
pub mod charts;
pub mod condition;
pub mod context;
pub mod cross;
pub mod exports;
pub mod highlight;
pub mod links;
pub mod list_pages;
pub mod markdown;
pub mod names;
pub mod navigator;
pub mod output;
pub mod overlap_pages;
pub mod reference_pages;
pub mod rule_page;
pub mod search;
pub mod svg;
pub mod table_exports;
pub mod templates;

pub use condition::condition;

use crate::config::Config;
use crate::model::FacetKind;
use crate::pipeline::Build;
use context::{paths, Fmt, Shared};
use output::Output;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;
use tera::{Context, Tera};

/// What a render wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub html_pages: usize,
    pub markdown_pages: usize,
    pub other_files: usize,
    /// Files of an earlier build that this one no longer produces, deleted.
    pub removed: usize,
}

/// One page to render (in both formats).
#[derive(Debug, Clone, Copy)]
enum Job<'a> {
    Home,
    Stats,
    Matrix,
    Overlap,
    Indicators,
    FacetIndex(FacetKind),
    Facet(FacetKind, &'a str),
    Rule(usize),
    Id(usize),
    Content(usize),
}

fn jobs<'a>(s: &Shared<'a>) -> Vec<Job<'a>> {
    let mut jobs = vec![
        Job::Home,
        Job::Stats,
        Job::Matrix,
        Job::Overlap,
        Job::Indicators,
    ];
    for (kind, values) in &s.cat.facets {
        jobs.push(Job::FacetIndex(*kind));
        jobs.extend(values.keys().map(|v| Job::Facet(*kind, v.as_str())));
    }
    jobs.extend((0..s.cat.rules.len()).map(Job::Rule));
    jobs.extend((0..s.id_pages.len()).map(Job::Id));
    jobs.extend((0..s.content.len()).map(Job::Content));
    jobs
}

fn render_page<V: Serialize>(
    tera: &Tera,
    out: &Output,
    fmt: Fmt,
    page: &str,
    template: &str,
    view: &V,
) -> Result<(), String> {
    let ctx = Context::from_serialize(view).map_err(|e| templates::error_chain(&e))?;
    let text = tera
        .render(&fmt.template(template), &ctx)
        .map_err(|e| format!("rendering {page}: {}", templates::error_chain(&e)))?;
    out.write(&fmt.file(page), text.as_bytes())
}

fn render_job(s: &Shared, tera: &Tera, out: &Output, fmt: Fmt, job: Job) -> Result<(), String> {
    let cat = s.cat;
    match job {
        Job::Home => render_page(
            tera,
            out,
            fmt,
            paths::HOME,
            "index",
            &list_pages::home(s, fmt),
        ),
        Job::Stats => render_page(
            tera,
            out,
            fmt,
            paths::STATS,
            "stats",
            &list_pages::stats(s, fmt),
        ),
        Job::Matrix => render_page(
            tera,
            out,
            fmt,
            paths::MATRIX,
            "matrix",
            &attack_pages::matrix(s, fmt),
        ),
        Job::Overlap => render_page(
            tera,
            out,
            fmt,
            paths::OVERLAP,
            "overlap",
            &overlap_pages::overlap_page(s, fmt),
        ),
        Job::Indicators => render_page(
            tera,
            out,
            fmt,
            paths::INDICATORS,
            "indicators",
            &overlap_pages::indicators_page(s, fmt),
        ),
        Job::FacetIndex(k) => render_page(
            tera,
            out,
            fmt,
            &paths::facet_index(k),
            "facet_index",
            &list_pages::facet_index(s, fmt, k),
        ),
        Job::Facet(k, v) => render_page(
            tera,
            out,
            fmt,
            &paths::facet(cat, k, v).ok_or("facet value without a slug")?,
            "facet",
            &list_pages::facet_value(s, fmt, k, v),
        ),
        Job::Rule(i) => render_page(
            tera,
            out,
            fmt,
            &paths::rule(cat, i),
            "rule",
            &rule_page::view(s, fmt, i),
        ),
        Job::Id(i) => {
            let p = &s.id_pages[i];
            render_page(
                tera,
                out,
                fmt,
                &paths::id(p.vendor, &p.slug),
                "redirect",
                &list_pages::redirect(s, fmt, p),
            )
        }
        Job::Content(i) => {
            let c = &s.content[i];
            render_page(
                tera,
                out,
                fmt,
                &paths::content(&c.slug),
                "content",
                &list_pages::content(s, fmt, c),
            )
        }
    }
}

/// Writes the whole site into `out`: HTML pages, the Markdown tree under `md/`, `exports/`
/// and `static/`. Only files inside `out` are written; files an earlier build wrote there
/// and this one did not are removed, nothing else.
pub fn site(build: &Build, config: &Config, out: &Path) -> Result<Written, String> {
    let tera = templates::load(&config.site_dir)?;
    let content = assets::content_pages(&config.site_dir)?;
    let statics = assets::static_files(&config.site_dir)?;
    let shared = Shared::new(build, config, content);
    let output = Output::create(out)?;
    let jobs = jobs(&shared);

    let pages = || -> Result<(), String> {
        jobs.par_iter()
            .flat_map_iter(|j| [(Fmt::Html, *j), (Fmt::Md, *j)])
            .try_for_each(|(fmt, job)| render_job(&shared, &tera, &output, fmt, job))
    };
    let files = || -> Result<usize, String> {
        let mut n = 0;
        output.write("exports/catalog.json", &exports::catalog_json(&shared)?)?;
        output.write("exports/rules.csv", &exports::rules_csv(&shared)?)?;
        output.write("exports/indicators.csv", &exports::indicators_csv(&shared)?)?;
        output.write(
            "exports/catalog.schema.json",
            exports::CATALOG_SCHEMA.as_bytes(),
        )?;
        n += exports::FILES.len();
        output.write("exports/tables.csv", &table_exports::tables_csv(&shared)?)?;
        output.write("exports/tables.json", &table_exports::tables_json(&shared)?)?;
        n += table_exports::FILES.len();
        for (path, bytes) in navigator::layers(&shared)? {
            output.write(&path, &bytes)?;
            n += 1;
        }
        for c in charts::charts(&shared) {
            output.write(&format!("{}/{}.svg", charts::DIR, c.id), c.svg.as_bytes())?;
            n += 1;
        }
        for (name, bytes) in &statics {
            output.write(&format!("static/{name}"), bytes)?;
            n += 1;
        }
        Ok(n)
    };
    let (p, f) = rayon::join(pages, || {
        let n = files()?;
        Ok::<_, String>(n + search::write(&shared, &tera, &output)?)
    });
    p?;
    let other_files = f?;
    let removed = output.finish()?;
    Ok(Written {
        html_pages: jobs.len(),
        markdown_pages: jobs.len(),
        other_files,
        removed,
    })
}
