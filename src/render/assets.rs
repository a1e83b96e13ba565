//! Static assets and content pages: embedded in the binary, overridable (and extendable)
//! from `<site_dir>/static/` and `<site_dir>/content/`.

use super::context::ContentPage;
use super::output::check_rel;
use crate::catalog::slugify;
use std::collections::BTreeMap;
use std::path::Path;

/// (name, bytes) of the built-in static files, written under `static/`.
pub const STATIC: &[(&str, &[u8])] = &[
    ("style.css", include_bytes!("../../static/style.css")),
    ("site.js", include_bytes!("../../static/site.js")),
    ("search.js", include_bytes!("../../static/search.js")),
    ("search.css", include_bytes!("../../static/search.css")),
    ("favicon.svg", include_bytes!("../../static/favicon.svg")),
    ("anchors.js", include_bytes!("../../static/anchors.js")),
    (
        "highlight.css",
        include_bytes!("../../static/highlight.css"),
    ),
    ("sort.js", include_bytes!("../../static/sort.js")),
    ("matrix.css", include_bytes!("../../static/matrix.css")),
];

/// (file name, text) of the built-in content pages; the first one is the "About" page.
pub const CONTENT: &[(&str, &str)] = &[
    ("about.md", include_str!("../../content/about.md")),
    ("rule-pages.md", include_str!("../../content/rule-pages.md")),
];

/// Static files to write: built-ins, replaced or joined by the files of
/// `<site_dir>/static/` (any depth; files whose path is not made of plain slug components,
/// such as `my logo.png`, and hidden files such as `.git/...` are left out).
pub fn static_files(site_dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out: BTreeMap<String, Vec<u8>> = STATIC
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    let dir = site_dir.join("static");
    if dir.is_dir() {
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&dir)
                .unwrap_or(entry.path())
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            // Names that are not plain slugs (spaces, dot-folders) are not published.
            if check_rel(&rel).is_err() || rel.split('/').any(|c| c.starts_with('.')) {
                continue;
            }
            let bytes = std::fs::read(entry.path())
                .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
            out.insert(rel, bytes);
        }
    }
    Ok(out)
}

/// Content pages: built-ins (replaced by a file of the same name in `<site_dir>/content/`)
/// then the other `*.md` files of that folder, by name. The title is the first `# ` line.
pub fn content_pages(site_dir: &Path) -> Result<Vec<ContentPage>, String> {
    let dir = site_dir.join("content");
    let mut files: Vec<(String, String)> = Vec::new();
    for (name, text) in CONTENT {
        let custom = dir.join(name);
        let text = std::fs::read_to_string(&custom).unwrap_or_else(|_| text.to_string());
        files.push((name.to_string(), text));
    }
    if dir.is_dir() {
        let mut extra: Vec<(String, String)> = Vec::new();
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".md") || CONTENT.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let text = std::fs::read_to_string(e.path())
                .map_err(|err| format!("cannot read {}: {err}", e.path().display()))?;
            extra.push((name, text));
        }
        extra.sort();
        files.extend(extra);
    }
    let mut pages: Vec<ContentPage> = Vec::new();
    for (name, text) in files {
        let slug = slugify(name.trim_end_matches(".md"));
        if pages.iter().any(|p| p.slug == slug) {
            continue;
        }
        let (title, body) = split_title(&text, &slug);
        pages.push(ContentPage {
            slug,
            title,
            markdown: body,
        });
    }
    Ok(pages)
}

/// The first `# ` heading as the title, and the text without it.
fn split_title(text: &str, fallback: &str) -> (String, String) {
    let mut lines = text.lines();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        if let Some(t) = l.strip_prefix("# ") {
            let body: Vec<&str> = lines.by_ref().skip(i + 1).collect();
            return (
                t.trim().to_string(),
                body.join("\n").trim().to_string() + "\n",
            );
        }
        break;
    }
    (fallback.to_string(), text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_titles_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        std::fs::write(dir.path().join("content/about.md"), "# Ours\n\nHello").unwrap();
        std::fs::write(dir.path().join("content/zz Team.md"), "No title").unwrap();
        let pages = content_pages(dir.path()).unwrap();
        assert_eq!(pages[0].title, "Ours");
        assert_eq!(pages[0].markdown, "Hello\n");
        assert_eq!(pages.last().unwrap().slug, "zz-team");
        assert_eq!(pages.last().unwrap().title, "zz-team");
        std::fs::create_dir_all(dir.path().join("static/.git")).unwrap();
        std::fs::write(dir.path().join("static/.git/config"), "x").unwrap();
        std::fs::write(dir.path().join("static/my logo.png"), "x").unwrap();
        std::fs::write(dir.path().join("static/logo.png"), "x").unwrap();
        let st = static_files(dir.path()).unwrap();
        assert!(st.contains_key("logo.png") && st.contains_key("style.css"));
        assert!(
            st.keys().all(|k| !k.starts_with('.') && !k.contains(' ')),
            "{:?}",
            st.keys()
        );
    }
}
