//! The tera templates: embedded in the binary, each overridable by a file of the same name
//! under `<site_dir>/templates/html/` or `<site_dir>/templates/md/`.
//!
//! HTML templates (`*.html`) are autoescaped; Markdown templates (`*.md`) are not, and use
//! the `md_text` / `md_code` filters for rule text instead.

use super::markdown;
use std::collections::HashMap;
use std::path::Path;
use tera::{Tera, Value};

macro_rules! embedded {
    ($($dir:literal / $name:literal),* $(,)?) => {
        &[$(($dir, $name, include_str!(concat!("../../templates/", $dir, "/", $name)))),*]
    };
}

/// (folder, name, text) of every built-in template.
pub const TEMPLATES: &[(&str, &str, &str)] = embedded![
    "html" / "base.html",
    "html" / "macros.html",
    "html" / "index.html",
    "html" / "rule.html",
    "html" / "facet.html",
    "html" / "facet_index.html",
    "html" / "stats.html",
    "html" / "redirect.html",
    "html" / "content.html",
    "html" / "search.html",
    "html" / "reference.html",
    "html" / "matrix.html",
    "html" / "overlap.html",
    "html" / "indicators.html",
    "md" / "base.md",
    "md" / "macros.md",
    "md" / "index.md",
    "md" / "rule.md",
    "md" / "facet.md",
    "md" / "facet_index.md",
    "md" / "stats.md",
    "md" / "redirect.md",
    "md" / "content.md",
    "md" / "reference.md",
    "md" / "matrix.md",
    "md" / "overlap.md",
    "md" / "indicators.md",
];

/// HTML escaping for text and attribute values (tera's default also escapes `/`, which
/// only bloats links).
pub fn escape_html(s: &str) -> String {
    let special = |b: u8| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'');
    let Some(first) = s.bytes().position(special) else {
        return s.to_string();
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    let mut start = first;
    for (i, b) in s.bytes().enumerate().skip(first) {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // Special characters are ASCII, so `i` is a character boundary.
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Loads the templates, each from `<site_dir>/templates/<folder>/<name>` when that file
/// exists, else the built-in one.
pub fn load(site_dir: &Path) -> Result<Tera, String> {
    let mut list: Vec<(String, String)> = Vec::with_capacity(TEMPLATES.len());
    for (dir, name, text) in TEMPLATES {
        let custom = site_dir.join("templates").join(dir).join(name);
        let text = match std::fs::read_to_string(&custom) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => text.to_string(),
            Err(e) => return Err(format!("cannot read {}: {e}", custom.display())),
        };
        list.push((name.to_string(), text));
    }
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.set_escape_fn(escape_html);
    tera.register_filter(
        "md_text",
        |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            Ok(Value::String(markdown::md_text(&as_text(v))))
        },
    );
    tera.register_filter(
        "md_code",
        |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            Ok(Value::String(markdown::md_code(&as_text(v))))
        },
    );
    tera.add_raw_templates(list).map_err(|e| error_chain(&e))?;
    Ok(tera)
}

/// Tera's error with its causes (the cause says which line of which template).
pub fn error_chain(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_load_and_only_sanitised_html_is_marked_safe() {
        load(Path::new("/nonexistent")).unwrap();
        // `| safe` is allowed only on `*_html` fields (sanitiser or highlighter output, both
        // escape every byte of rule text) and on `html`.
        let re = regex::Regex::new(r"\{\{\s*([A-Za-z0-9_.]+)\s*\|\s*safe").unwrap();
        for (dir, name, text) in TEMPLATES {
            if *dir != "html" {
                continue;
            }
            for c in re.captures_iter(text) {
                let field = &c[1];
                assert!(
                    field.ends_with("_html") || field.ends_with(".html") || field == "html",
                    "{name}: `{field} | safe`"
                );
            }
            assert!(!text.contains("autoescape false"), "{name}");
        }
    }

    #[test]
    fn escapes_markup_characters_only() {
        assert_eq!(escape_html("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            escape_html("é<a href=\"x\" title='y'>&</a>"),
            "é&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn overrides_replace_one_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates/html")).unwrap();
        std::fs::write(
            dir.path().join("templates/html/redirect.html"),
            "custom {{ id }}",
        )
        .unwrap();
        let tera = load(dir.path()).unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("id", "<x>");
        assert_eq!(
            tera.render("redirect.html", &ctx).unwrap(),
            "custom &lt;x&gt;"
        );
    }
}
