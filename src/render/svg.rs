//! Static SVG charts (no script): horizontal bar charts with text labels, drawn in Rust and
//! inlined in pages (or written as `.svg` files for the Markdown tree).
//!
//! Every piece of text is escaped; the chart is one `role="img"` element named by its
//! `<title>` and described by a `<desc>` that lists the values, so a screen reader gets
//! the numbers without the drawing. Text uses `currentColor`, so the page's colour scheme
//! (light or dark) applies.

use super::templates::escape_html;
use std::fmt::Write as _;

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as shown beside the bar (`1,234`, `87.5%`).
    pub text: String,
}

impl Bar {
    /// A bar for a count.
    pub fn count(label: impl Into<String>, n: usize) -> Bar {
        Bar {
            label: label.into(),
            value: n as f64,
            text: n.to_string(),
        }
    }
    /// A bar for a share `n / of` shown as a percentage (scale 0 to 100).
    pub fn percent(label: impl Into<String>, n: usize, of: usize) -> Bar {
        let p = if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        };
        Bar {
            label: label.into(),
            value: p,
            text: format!("{p:.1}% ({n} of {of})"),
        }
    }
}

const WIDTH: f64 = 780.0;
const LABEL_W: f64 = 260.0;
const BAR_MAX: f64 = 340.0;
const ROW: f64 = 22.0;
const BAR_H: f64 = 15.0;
const TOP: f64 = 6.0;
/// Labels longer than this are cut (the full label stays in the bar's tooltip and `<desc>`).
const LABEL_CHARS: usize = 32;
const BAR_FILL: &str = "#3f7fbf";

/// A horizontal bar chart. `id` must be unique in the page (it names `<title>`/`<desc>`);
/// `max` is the value of a full bar (`None`: the largest value).
pub fn bar_chart(id: &str, title: &str, bars: &[Bar], max: Option<f64>) -> String {
    let max = max
        .unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max))
        .max(f64::MIN_POSITIVE);
    let height = TOP * 2.0 + ROW * bars.len().max(1) as f64;
    let id = escape_html(id);
    let mut s = String::with_capacity(256 + bars.len() * 300);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="system-ui, sans-serif" font-size="13">"#
    );
    let _ = write!(s, r#"<title id="{id}-t">{}</title>"#, escape_html(title));
    let desc: Vec<String> = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect();
    let desc = if desc.is_empty() {
        "No data.".to_string()
    } else {
        desc.join("; ")
    };
    let _ = write!(s, r#"<desc id="{id}-d">{}</desc>"#, escape_html(&desc));
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let w = (b.value.max(0.0) / max * BAR_MAX).min(BAR_MAX);
        // A non-zero value always shows a sliver.
        let w = if b.value > 0.0 { w.max(1.0) } else { 0.0 };
        let label = cut(&b.label, LABEL_CHARS);
        let mid = y + ROW / 2.0;
        let _ = write!(
            s,
            r#"<g><title>{full}: {text}</title><text x="{lx}" y="{mid}" dy="0.35em" text-anchor="end" fill="currentColor">{label}</text><rect x="{LABEL_W}" y="{by:.1}" width="{w:.1}" height="{BAR_H}" fill="{BAR_FILL}"/><text x="{tx:.1}" y="{mid}" dy="0.35em" fill="currentColor">{text}</text></g>"#,
            full = escape_html(&b.label),
            text = escape_html(&b.text),
            lx = LABEL_W - 8.0,
            label = escape_html(&label),
            by = y + (ROW - BAR_H) / 2.0,
            tx = LABEL_W + w + 6.0,
        );
    }
    s.push_str("</svg>");
    s
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_escaped_accessible_and_scaled() {
        let svg = bar_chart(
            "c1",
            "Rules <by> vendor",
            &[Bar::count("Sigma & co", 10), Bar::count("<script>", 5)],
            None,
        );
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="c1-t c1-d""#));
        assert!(svg.contains("<title id=\"c1-t\">Rules &lt;by&gt; vendor</title>"));
        assert!(svg.contains("Sigma &amp; co: 10; &lt;script&gt;: 5"));
        assert!(!svg.contains("<script>"));
        // The largest bar is full length, the other half of it.
        assert!(svg.contains(r#"width="340.0""#));
        assert!(svg.contains(r#"width="170.0""#));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn percent_bars_and_long_labels() {
        let b = Bar::percent("x", 1, 3);
        assert_eq!(b.text, "33.3% (1 of 3)");
        assert_eq!(Bar::percent("x", 0, 0).value, 0.0);
        let svg = bar_chart("c", "t", &[Bar::count("a".repeat(50), 0)], Some(100.0));
        assert!(svg.contains(&format!("{}…", "a".repeat(LABEL_CHARS - 1))));
        assert!(svg.contains(r#"width="0.0""#));
        assert!(bar_chart("e", "t", &[], None).contains("No data."));
    }
}
