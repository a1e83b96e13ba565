//! The whole shared corpus (`$RULEDEX_CORPUS`, every vendor folder) built into a site like
//! `ruledex build`, then link-checked: every internal link and anchor of every HTML and
//! Markdown page resolves (issue 10: 0 broken links), and the search index covers every
//! rule. Skipped (with a message) when `RULEDEX_CORPUS` is unset.
//!
//! `RULEDEX_LINKS_DIR=<built site>` link-checks that site instead (no build), and
//! `RULEDEX_LINKS_REPORT=<file>` writes every broken link there.

use ruledex::config::Config;
use ruledex::discover::RootSpec;
use ruledex::{pipeline, render};
use std::path::PathBuf;

fn report(out: &std::path::Path) -> render::links::LinkReport {
    let report = render::links::check(out).expect("link check runs");
    if let Some(file) = std::env::var_os("RULEDEX_LINKS_REPORT") {
        let text: String = report
            .broken
            .iter()
            .map(|b| format!("{}\t{}\t{}\n", b.page, b.href, b.reason))
            .collect();
        std::fs::write(file, text).expect("report written");
    }
    eprintln!(
        "link check: {} pages, {} links, {} broken",
        report.pages,
        report.links,
        report.broken.len()
    );
    report
}

#[test]
fn built_site_has_no_broken_links() {
    let Some(out) = std::env::var_os("RULEDEX_LINKS_DIR").map(PathBuf::from) else {
        eprintln!("skipped: RULEDEX_LINKS_DIR is not set");
        return;
    };
    let report = report(&out);
    assert!(
        report.broken.is_empty(),
        "{} broken links, first ones: {:#?}",
        report.broken.len(),
        &report.broken[..report.broken.len().min(20)]
    );
}

#[test]
fn corpus_site_has_no_broken_links() {
    let Some(corpus) = std::env::var_os("RULEDEX_CORPUS").map(PathBuf::from) else {
        eprintln!("skipped: RULEDEX_CORPUS is not set");
        return;
    };
    let mut roots: Vec<RootSpec> = [
        "sigma",
        "panther",
        "splunk",
        "elastic",
        "chronicle",
        "sentinel",
    ]
    .iter()
    .map(|v| corpus.join(v))
    .filter(|p| p.is_dir())
    .map(RootSpec::new)
    .collect();
    roots.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(
        !roots.is_empty(),
        "no vendor folder under {}",
        corpus.display()
    );
    let build = pipeline::run(&roots, &()).expect("corpus builds");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("public");
    let config = Config {
        roots,
        ..Config::default()
    };
    let written = render::site(&build, &config, &out).expect("site renders");
    eprintln!(
        "corpus site: {} rules, {} HTML + {} Markdown pages",
        build.catalog.rules.len(),
        written.html_pages,
        written.markdown_pages,
    );
    let report = report(&out);
    assert!(report.pages > 10_000, "{} pages checked", report.pages);
    assert!(
        report.broken.is_empty(),
        "{} broken links, first ones: {:#?}",
        report.broken.len(),
        &report.broken[..report.broken.len().min(20)]
    );
    assert!(out.join("pagefind/pagefind.js").is_file());
    assert!(out.join("search.html").is_file());
}
