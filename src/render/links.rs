//! A link checker over a built site: every local link of every HTML page (`href`, `src`,
//! meta refresh) and Markdown page must name a file of the output folder, and an HTML
//! link's `#anchor` an `id` of its target page. External links (with a scheme, or `//`)
//! are not followed.

use rayon::prelude::*;
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BrokenLink {
    /// The page holding the link, relative to the output folder.
    pub page: String,
    pub href: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct LinkReport {
    pub pages: usize,
    pub links: usize,
    /// Sorted by page and link.
    pub broken: Vec<BrokenLink>,
}

fn attr_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r#"(?i)\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)')|content\s*=\s*"\d+;\s*url=([^"]*)""#)
            .expect("valid regex")
    })
}

fn id_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r#"\s(?:id|name)\s*=\s*"([^"]*)""#).expect("valid regex"))
}

/// Links of an HTML page, entities decoded.
pub fn html_links(text: &str) -> Vec<String> {
    attr_re()
        .captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)).or(c.get(3)))
        .map(|m| decode_entities(m.as_str()))
        .collect()
}

/// Link and image destinations of a Markdown page.
pub fn markdown_links(text: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    Parser::new_ext(text, Options::ENABLE_TABLES)
        .filter_map(|ev| match ev {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A link with a scheme (`https:`, `mailto:`) or protocol-relative (`//host`): not checked.
pub fn is_external(href: &str) -> bool {
    if href.starts_with("//") {
        return true;
    }
    match href.find(':') {
        Some(p) => {
            let scheme = &href[..p];
            !scheme.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
                && !href[..p].contains('/')
        }
        None => false,
    }
}

/// Resolves `href` against the page's folder (both relative to the output folder);
/// `None` when it climbs above the output folder.
fn resolve(page: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = if path.starts_with('/') {
        Vec::new()
    } else {
        page.split('/').collect()
    };
    if !path.starts_with('/') {
        parts.pop();
    }
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    let mut joined = parts.join("/");
    if path.ends_with('/') || path.is_empty() && joined.is_empty() {
        if !joined.is_empty() {
            joined.push('/');
        }
        joined.push_str("index.html");
    }
    Some(joined)
}

type Ids = Arc<HashSet<String>>;

struct Checker<'a> {
    out: &'a Path,
    ids: Mutex<HashMap<String, Ids>>,
}

impl Checker<'_> {
    fn ids_of(&self, rel: &str) -> Ids {
        if let Some(ids) = self.ids.lock().unwrap_or_else(|e| e.into_inner()).get(rel) {
            return ids.clone();
        }
        let text = std::fs::read_to_string(self.out.join(rel)).unwrap_or_default();
        let ids: Ids = Arc::new(
            id_re()
                .captures_iter(&text)
                .map(|c| decode_entities(&c[1]))
                .collect(),
        );
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rel.to_string(), ids.clone());
        ids
    }

    fn check(&self, page: &str, href: &str) -> Option<String> {
        let (before_frag, frag) = href.split_once('#').unwrap_or((href, ""));
        let path = before_frag.split('?').next().unwrap_or("");
        let target = if path.is_empty() {
            page.to_string()
        } else {
            match resolve(page, &percent_decode(path)) {
                Some(t) => t,
                None => return Some("leaves the output folder".into()),
            }
        };
        let abs = self.out.join(&target);
        if !abs.is_file() {
            return Some(format!("no file {target}"));
        }
        if !frag.is_empty() && target.ends_with(".html") && !self.ids_of(&target).contains(frag) {
            return Some(format!("no id `{frag}` in {target}"));
        }
        None
    }
}

/// Checks every `.html` and `.md` page under `out`.
pub fn check(out: &Path) -> Result<LinkReport, String> {
    let mut pages: Vec<(String, PathBuf)> = Vec::new();
    for entry in walkdir::WalkDir::new(out).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", out.display()))?;
        let p = entry.path();
        let is_page = p.extension().is_some_and(|e| e == "html" || e == "md");
        if !entry.file_type().is_file() || !is_page {
            continue;
        }
        let rel = p
            .strip_prefix(out)
            .unwrap_or(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        pages.push((rel, p.to_path_buf()));
    }
    let checker = Checker {
        out,
        ids: Mutex::new(HashMap::new()),
    };
    let results: Vec<(usize, Vec<BrokenLink>)> = pages
        .par_iter()
        .map(|(rel, abs)| {
            let text = std::fs::read_to_string(abs).unwrap_or_default();
            let links = if rel.ends_with(".md") {
                markdown_links(&text)
            } else {
                html_links(&text)
            };
            let broken = links
                .iter()
                .filter(|h| !is_external(h))
                .filter_map(|h| {
                    checker.check(rel, h).map(|reason| BrokenLink {
                        page: rel.clone(),
                        href: h.clone(),
                        reason,
                    })
                })
                .collect();
            (links.len(), broken)
        })
        .collect();
    let mut report = LinkReport {
        pages: pages.len(),
        ..Default::default()
    };
    for (n, b) in results {
        report.links += n;
        report.broken.extend(b);
    }
    report.broken.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links_and_resolves_them() {
        let l = html_links(
            "<a href=\"a/b.html#x\">x</a><link rel=x href='s.css'><meta http-equiv=\"refresh\" content=\"0; url=../r.html\"><p>href=&quot;no&quot;</p>",
        );
        assert_eq!(l, vec!["a/b.html#x", "s.css", "../r.html"]);
        assert_eq!(markdown_links("[a](x.md) `[b](no.md)`"), vec!["x.md"]);
        assert_eq!(
            resolve("rules/s/x.html", "../../index.html").as_deref(),
            Some("index.html")
        );
        assert_eq!(resolve("x.html", "../y.html"), None);
        assert_eq!(resolve("a/x.html", "b/").as_deref(), Some("a/b/index.html"));
        assert!(is_external("https://x"));
        assert!(is_external("mailto:a@b"));
        assert!(!is_external("a/b:c.html"));
        assert!(!is_external("x.html"));
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
    }

    #[test]
    fn reports_missing_files_and_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("sub")).unwrap();
        std::fs::write(
            p.join("index.html"),
            "<a href=\"sub/a.html#ok\">1</a><a href=\"sub/a.html#nope\">2</a><a href=\"gone.html\">3</a><a href=\"#top\">4</a><a href=\"https://x/y\">5</a>",
        )
        .unwrap();
        std::fs::write(
            p.join("sub/a.html"),
            "<h2 id=\"ok\">x</h2><a href=\"../index.html\">u</a>",
        )
        .unwrap();
        std::fs::write(p.join("sub/r.md"), "[x](a.html) [y](../missing.md)").unwrap();
        let r = check(p).unwrap();
        assert_eq!(r.pages, 3);
        let broken: Vec<&str> = r.broken.iter().map(|b| b.href.as_str()).collect();
        assert_eq!(
            broken,
            vec!["#top", "gone.html", "sub/a.html#nope", "../missing.md"]
        );
    }
}
