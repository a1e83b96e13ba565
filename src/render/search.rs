//! Site search: a Pagefind index of every rule, written under `pagefind/`, and the search
//! page (`search.html`).
//!
//! Each rule is one Pagefind custom record (no HTML parsing): its content is the title, id,
//! description, techniques and tactics (id and name), data sources and indicator values;
//! its meta carries the title, the root-relative page URL, vendor, id and severity; its
//! filters are vendor, tactic, severity, data source and test verdict. Pagefind splits the
//! index into chunks that the browser fetches per query (`static/search.js`), so a query
//! loads only the words it needs, never the whole index.
//!
//! Pagefind's API is async (tokio); a current-thread runtime lives only inside [`index`].

use super::context::{facet_label, paths, Base, Fmt, Links, Shared};
use super::output::Output;
use crate::model::FacetKind;
use crate::verify::Outcome;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use tera::{Context, Tera};

/// Folder of the Pagefind bundle inside the output folder.
pub const BUNDLE_DIR: &str = "pagefind";
/// Logical path of the search page.
pub const PAGE: &str = "search";

/// Facet kinds shown as the "data source" of a rule, in order of preference.
pub const DATA_SOURCE_KINDS: [FacetKind; 5] = [
    FacetKind::DataSource,
    FacetKind::LogSource,
    FacetKind::Table,
    FacetKind::IndexPattern,
    FacetKind::LogType,
];

/// One rule as a search record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Root-relative page URL (`rules/sigma/<slug>.html`).
    pub url: String,
    pub content: String,
    pub meta: BTreeMap<String, String>,
    pub filters: BTreeMap<String, Vec<String>>,
}

/// The test verdict of a rule: `pass` (all tests pass), `fail` (any fails), `unsupported`
/// (no test fails, some cannot run), `no tests`.
pub fn verdict(outcomes: impl IntoIterator<Item = Outcome>) -> &'static str {
    let (mut any, mut fail, mut unsupported) = (false, false, false);
    for o in outcomes {
        any = true;
        match o {
            Outcome::Fail => fail = true,
            Outcome::Unsupported => unsupported = true,
            Outcome::Pass => {}
        }
    }
    match (any, fail, unsupported) {
        (false, _, _) => "no tests",
        (_, true, _) => "fail",
        (_, _, true) => "unsupported",
        _ => "pass",
    }
}

/// The data sources of rule `i`: values of the first kind of [`DATA_SOURCE_KINDS`] it has.
pub fn data_sources(s: &Shared, i: usize) -> Vec<String> {
    let r = &s.cat.rules[i];
    for kind in DATA_SOURCE_KINDS {
        let mut v: Vec<String> = r
            .facets
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect();
        if !v.is_empty() {
            v.sort();
            v.dedup();
            return v;
        }
    }
    Vec::new()
}

/// The search record of rule `i`.
pub fn record(s: &Shared, i: usize) -> Record {
    let r = &s.cat.rules[i];
    let url = Fmt::Html.file(&paths::rule(s.cat, i));
    let title = super::context::display_title(r).to_string();
    let mut content = vec![title.clone(), r.id.clone(), r.description.clone()];
    let techniques: Vec<String> = r
        .techniques
        .iter()
        .map(|t| facet_label(FacetKind::Technique, t))
        .collect();
    let tactics: Vec<String> = r
        .tactics
        .iter()
        .map(|t| facet_label(FacetKind::Tactic, t))
        .collect();
    let sources = data_sources(s, i);
    content.extend(techniques.iter().cloned());
    content.extend(tactics.iter().cloned());
    content.extend(sources.iter().cloned());
    let values: BTreeSet<&str> = s.cat.indicators[i]
        .iter()
        .map(|ind| ind.value.as_str())
        .filter(|v| !v.is_empty())
        .collect();
    content.extend(values.into_iter().map(str::to_string));

    let mut meta = BTreeMap::new();
    meta.insert("title".to_string(), title);
    meta.insert("url".to_string(), url.clone());
    meta.insert("vendor".to_string(), r.vendor.name().to_string());
    meta.insert("id".to_string(), r.id.clone());
    if let Some(sev) = r.severity {
        meta.insert("severity".to_string(), sev.key().to_string());
    }
    if !techniques.is_empty() {
        meta.insert("techniques".to_string(), r.techniques.join(", "));
    }

    let mut filters = BTreeMap::new();
    filters.insert("vendor".to_string(), vec![r.vendor.name().to_string()]);
    if !tactics.is_empty() {
        filters.insert("tactic".to_string(), tactics);
    }
    if let Some(sev) = r.severity {
        filters.insert("severity".to_string(), vec![sev.key().to_string()]);
    }
    if !sources.is_empty() {
        filters.insert("data_source".to_string(), sources);
    }
    let outcomes = s
        .build
        .results
        .get(i)
        .map(|res| res.iter().map(|t| t.outcome).collect::<Vec<_>>())
        .unwrap_or_default();
    filters.insert("verdict".to_string(), vec![verdict(outcomes).to_string()]);
    Record {
        url,
        content: content.join("\n"),
        meta,
        filters,
    }
}

/// Pagefind's own UI bundles (the site has its own search script): not written.
fn is_ui_file(name: &str) -> bool {
    name.starts_with("pagefind-")
        && (name.contains("-ui.") || name.starts_with("pagefind-highlight"))
}

/// Builds the Pagefind index of `records`: (path inside the bundle folder, bytes), sorted.
pub fn index(records: Vec<Record>) -> Result<Vec<(String, Vec<u8>)>, String> {
    use pagefind::api::PagefindIndex;
    use pagefind::options::PagefindServiceConfig;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("search index: cannot start a runtime: {e}"))?;
    rt.block_on(async move {
        let config = PagefindServiceConfig::builder()
            .keep_index_url(true)
            .force_language("en".to_string())
            .build();
        let mut idx = PagefindIndex::new(Some(config)).map_err(|e| format!("search index: {e}"))?;
        for r in records {
            idx.add_custom_record(
                r.url.clone(),
                r.content,
                "en".to_string(),
                Some(r.meta),
                Some(r.filters),
                None,
            )
            .await
            .map_err(|e| format!("search index: {}: {e}", r.url))?;
        }
        let files = idx
            .get_files()
            .await
            .map_err(|e| format!("search index: {e}"))?;
        let mut out: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|f| {
                let name = f
                    .filename
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                (name, f.contents)
            })
            .filter(|(name, _)| !is_ui_file(name))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    })
}

/// A filter select of the search page.
#[derive(Debug, Serialize)]
pub struct FilterView {
    /// Pagefind filter key.
    pub key: &'static str,
    pub label: &'static str,
    /// (value, rules with it), sorted by value.
    pub options: Vec<(String, usize)>,
}

#[derive(Debug, Serialize)]
pub struct SearchView {
    #[serde(flatten)]
    pub base: Base,
    pub filters: Vec<FilterView>,
    pub rules: usize,
}

fn filter_views(records: &[Record]) -> Vec<FilterView> {
    const KEYS: [(&str, &str); 5] = [
        ("vendor", "Vendor"),
        ("tactic", "Tactic"),
        ("severity", "Severity"),
        ("data_source", "Data source"),
        ("verdict", "Tests"),
    ];
    KEYS.iter()
        .map(|(key, label)| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for r in records {
                for v in r.filters.get(*key).into_iter().flatten() {
                    *counts.entry(v.as_str()).or_default() += 1;
                }
            }
            FilterView {
                key,
                label,
                options: counts
                    .into_iter()
                    .map(|(v, n)| (v.to_string(), n))
                    .collect(),
            }
        })
        .collect()
}

/// Writes the Pagefind bundle under `pagefind/` and the search page; returns the number of
/// files written.
pub fn write(s: &Shared, tera: &Tera, out: &Output) -> Result<usize, String> {
    use rayon::prelude::*;
    let records: Vec<Record> = (0..s.cat.rules.len())
        .into_par_iter()
        .map(|i| record(s, i))
        .collect();
    let links = Links::new(Fmt::Html, PAGE);
    let view = SearchView {
        base: s.base(&links, "Search", PAGE),
        filters: filter_views(&records),
        rules: records.len(),
    };
    let ctx = Context::from_serialize(&view).map_err(|e| super::templates::error_chain(&e))?;
    let text = tera
        .render("search.html", &ctx)
        .map_err(|e| format!("rendering {PAGE}: {}", super::templates::error_chain(&e)))?;
    out.write(&Fmt::Html.file(PAGE), text.as_bytes())?;
    let files = index(records)?;
    let n = files.len();
    for (name, bytes) in files {
        out.write(&format!("{BUNDLE_DIR}/{name}"), &bytes)?;
    }
    Ok(n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict([]), "no tests");
        assert_eq!(verdict([Outcome::Pass, Outcome::Pass]), "pass");
        assert_eq!(
            verdict([Outcome::Pass, Outcome::Unsupported]),
            "unsupported"
        );
        assert_eq!(verdict([Outcome::Unsupported, Outcome::Fail]), "fail");
    }

    #[test]
    fn pagefind_bundle_has_entry_js_and_chunks() {
        let mut meta = BTreeMap::new();
        meta.insert(
            "title".to_string(),
            "Suspicious certutil download".to_string(),
        );
        let mut filters = BTreeMap::new();
        filters.insert("vendor".to_string(), vec!["Sigma".to_string()]);
        let rec = Record {
            url: "rules/sigma/certutil.html".to_string(),
            content: "certutil urlcache download T1105".to_string(),
            meta,
            filters,
        };
        let files = index(vec![rec]).expect("index builds");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"pagefind.js"), "{names:?}");
        assert!(names.contains(&"pagefind-entry.json"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("index/")), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("filter/")), "{names:?}");
        assert!(
            names.iter().any(|n| n.starts_with("fragment/")),
            "{names:?}"
        );
        // The wasm search engine: `wasm.<language>.pagefind` (or a bare `.wasm` in some builds).
        assert!(
            names
                .iter()
                .any(|n| n.ends_with(".wasm")
                    || (n.starts_with("wasm.") && n.ends_with(".pagefind"))),
            "{names:?}"
        );
    }
}
