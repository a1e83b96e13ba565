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

/// Untrusted Markdown made safe to paste into a page of the Markdown tree: links and images
/// to relative addresses (which would point into our own tree and break) become their
/// text, and a code fence left open is closed.
pub fn for_md_tree(md: &str) -> String {
    close_fences(&strip_relative_links(md))
}

/// Replaces `[text](relative)` and `![alt](relative)` by their text: every destination
/// without a URL scheme (`../x.md`, `other.md`, `#part`, a bare `example.com`).
pub fn strip_relative_links(md: &str) -> String {
    if !md.contains("](") && !md.contains("][") && !md.contains("]:") {
        return md.to_string();
    }
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // (outer range, inner range) of every relative link, outermost first.
    let mut cuts: Vec<(std::ops::Range<usize>, Option<std::ops::Range<usize>>)> = Vec::new();
    let mut open: Option<(
        std::ops::Range<usize>,
        Option<std::ops::Range<usize>>,
        usize,
    )> = None;
    for (ev, range) in Parser::new_ext(md, opts).into_offset_iter() {
        match (&ev, open.as_mut()) {
            (Event::Start(Tag::Link { dest_url, .. }), None)
            | (Event::Start(Tag::Image { dest_url, .. }), None) => {
                let d = dest_url.trim();
                // `#part` names a heading of the vendor's page, not of ours.
                if !super::links::is_external(d) {
                    open = Some((range, None, 0));
                }
            }
            (Event::Start(_), Some((_, inner, depth))) => {
                *depth += 1;
                extend(inner, &range);
            }
            (Event::End(TagEnd::Link), Some((_, _, 0)))
            | (Event::End(TagEnd::Image), Some((_, _, 0))) => {
                let (outer, inner, _) = open.take().expect("open link");
                cuts.push((outer, inner));
            }
            (Event::End(_), Some((_, inner, depth))) => {
                *depth = depth.saturating_sub(1);
                extend(inner, &range);
            }
            (_, Some((_, inner, _))) => extend(inner, &range),
            _ => {}
        }
    }
    let mut out = String::with_capacity(md.len());
    let mut at = 0;
    for (outer, inner) in cuts {
        if outer.start < at {
            continue;
        }
        out.push_str(&md[at..outer.start]);
        if let Some(i) = inner {
            out.push_str(&md[i]);
        }
        at = outer.end;
    }
    out.push_str(&md[at..]);
    out
}

fn extend(inner: &mut Option<std::ops::Range<usize>>, r: &std::ops::Range<usize>) {
    *inner = Some(match inner.take() {
        Some(i) => i.start.min(r.start)..i.end.max(r.end),
        None => r.clone(),
    });
}

/// Closes a code fence that untrusted Markdown leaves open, so it cannot swallow the rest
/// of a Markdown page.
pub fn close_fences(md: &str) -> String {
    let mut open: Option<(char, usize)> = None;
    for line in md.lines() {
        let t = line.trim_start();
        let Some(c) = t.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let n = t.chars().take_while(|x| *x == c).count();
        if n < 3 {
            continue;
        }
        match open {
            None => open = Some((c, n)),
            Some((oc, on)) if oc == c && n >= on && t[n..].trim().is_empty() => open = None,
            Some(_) => {}
        }
    }
    match open {
        Some((c, n)) => format!("{}\n{}\n", md.trim_end(), c.to_string().repeat(n)),
        None => md.to_string(),
    }
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
    fn relative_links_become_text_in_the_markdown_tree() {
        let md = "See [the **other** rule](../x/y.md), [ok](https://e.com/a), [top](#t),\n![pic](img/a.png) and [ref][r].\n\n[r]: other.md\n";
        assert_eq!(
            strip_relative_links(md),
            "See the **other** rule, [ok](https://e.com/a), top,\npic and ref.\n\n[r]: other.md\n"
        );
        let md = "See [the other rule](../Execution/x.md), [site](KQLQuery.com), \
                  [part](#a), ![img](pic.png) and [ATT&CK](https://attack.mitre.org/) \
                  or <https://example.com>.";
        assert_eq!(
            strip_relative_links(md),
            "See the other rule, site, part, img and [ATT&CK](https://attack.mitre.org/) \
             or <https://example.com>."
        );
        assert_eq!(strip_relative_links("[**bold** x](a.md)"), "**bold** x");
        assert_eq!(strip_relative_links("no links"), "no links");
        assert_eq!(for_md_tree("a\n```py\nx"), "a\n```py\nx\n```\n");
    }

    #[test]
    fn open_fences_are_closed() {
        assert_eq!(close_fences("a\n```py\nx"), "a\n```py\nx\n```\n");
        assert_eq!(close_fences("```\nx\n```\n"), "```\nx\n```\n");
        assert_eq!(close_fences("~~~~\n```\n"), "~~~~\n```\n~~~~\n");
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
