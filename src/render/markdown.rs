//! Markdown helpers: untrusted Markdown to safe HTML, and escaping for the Markdown tree.

use pulldown_cmark::{html, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::sync::OnceLock;

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        // Relative links would point into our own site and break; images would be
        // requests to other hosts.
        b.url_relative(ammonia::UrlRelative::Deny)
            .rm_tags(["img"])
            .link_rel(Some("noopener noreferrer nofollow"));
        b
    })
}

fn shift(level: HeadingLevel, by: usize) -> HeadingLevel {
    match (level as usize + by).min(6) {
        1 => HeadingLevel::H1,
        2 => HeadingLevel::H2,
        3 => HeadingLevel::H3,
        4 => HeadingLevel::H4,
        5 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// Renders untrusted Markdown to sanitised HTML. Headings move down `shift_headings`
/// levels so a description's `# Title` does not compete with the page's own headings.
pub fn to_html(md: &str, shift_headings: usize) -> String {
    if md.trim().is_empty() {
        return String::new();
    }
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(md, opts).map(|ev| match ev {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: shift(level, shift_headings),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => {
            Event::End(TagEnd::Heading(shift(level, shift_headings)))
        }
        other => other,
    });
    let mut out = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut out, events);
    sanitizer().clean(&out).to_string()
}

/// Untrusted Markdown for the Markdown tree with its relative links and images (no URL
/// scheme: `../x.md`, `other.md`, `/y.md`, `#part`, a bare `example.com`) turned into
/// their text: they point into the rule's own repository, not into this tree, and would
/// break. Absolute links (`https:`, `mailto:`) are kept.
pub fn drop_relative_links(md: &str) -> String {
    fn has_scheme(url: &str) -> bool {
        match url.find(':') {
            Some(i) => {
                let scheme = &url[..i];
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            }
            None => false,
        }
    }
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // (whole link range, inner text range) of each relative link, outermost only.
    let mut edits: Vec<(std::ops::Range<usize>, Option<std::ops::Range<usize>>)> = Vec::new();
    let mut open: Option<(std::ops::Range<usize>, Option<std::ops::Range<usize>>)> = None;
    let mut depth = 0usize;
    for (ev, range) in Parser::new_ext(md, opts).into_offset_iter() {
        match ev {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                if depth == 0 && !has_scheme(&dest_url) {
                    open = Some((range, None));
                }
                depth += 1;
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if let Some(e) = open.take() {
                        edits.push(e);
                    }
                }
            }
            _ => {
                if let Some((_, inner)) = open.as_mut() {
                    *inner = Some(match inner.take() {
                        Some(r) => r.start.min(range.start)..r.end.max(range.end),
                        None => range,
                    });
                }
            }
        }
    }
    if edits.is_empty() {
        return md.to_string();
    }
    let mut out = String::with_capacity(md.len());
    let mut at = 0;
    for (whole, inner) in edits {
        if whole.start < at {
            continue;
        }
        out.push_str(&md[at..whole.start]);
        if let Some(inner) = inner.filter(|r| r.start >= whole.start && r.end <= whole.end) {
            out.push_str(&md[inner]);
        }
        at = whole.end;
    }
    out.push_str(&md[at..]);
    out
}

/// Escapes text for inline Markdown: characters that start inline markup get a backslash,
/// `<`, `>` and `&` become entities, line breaks become spaces, and a start that would
/// open a block (`#`, `-`, `+`, `1.`) is escaped.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' | '+' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if digits > 0 && i == digits => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that shows `s` exactly (safe inside a table cell).
pub fn md_code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let one: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    // Pipes end table cells even inside code spans (GFM); `\|` shows as `|`.
    let one = one.replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&one, '`') + 1);
    let pad = if one.starts_with('`') || one.ends_with('`') || one.starts_with(' ') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{one}{pad}{ticks}")
}

/// A code fence longer than any backtick run in `s` (at least three).
pub fn fence(s: &str) -> String {
    "`".repeat((longest_run(s, '`') + 1).max(3))
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_markdown_is_sanitised() {
        let h = to_html(
            "# T\n<script>alert(1)</script>\n[x](javascript:alert(1)) [y](../../etc) ![i](https://e/x.png) <b onclick=\"x\">b</b>",
            2,
        );
        assert!(h.contains("<h3>T</h3>"), "{h}");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("javascript:"), "{h}");
        assert!(!h.contains("../../etc"), "{h}");
        assert!(!h.contains("<img"), "{h}");
        assert!(!h.contains("onclick"), "{h}");
        assert!(to_html("[ok](https://example.com)", 0).contains("href=\"https://example.com\""));
    }

    #[test]
    fn relative_links_become_text() {
        let md = "See [the other rule](../Execution/x.md), [site](KQLQuery.com), \
                  [part](#a), ![img](pic.png) and [ATT&CK](https://attack.mitre.org/) \
                  or <https://example.com>.";
        let out = drop_relative_links(md);
        assert_eq!(
            out,
            "See the other rule, site, part, img and [ATT&CK](https://attack.mitre.org/) \
             or <https://example.com>."
        );
        assert_eq!(drop_relative_links("plain"), "plain");
        assert_eq!(drop_relative_links("[**bold** x](a.md)"), "**bold** x");
    }

    #[test]
    fn markdown_escapes() {
        assert_eq!(md_text("a|b *c* <x>"), "a\\|b \\*c\\* &lt;x&gt;");
        assert_eq!(md_text("- a-b.c"), "\\- a-b.c");
        assert_eq!(md_text("12. x"), "12\\. x");
        assert_eq!(md_text("# h"), "\\# h");
        assert_eq!(md_code("a|b"), "`a\\|b`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`a"), "`` `a ``");
        assert_eq!(fence("x ```` y"), "`````");
        assert_eq!(fence("x"), "```");
    }
}
