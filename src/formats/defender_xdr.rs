//! Defender XDR advanced-hunting queries, and Sentinel hunting queries published outside
//! Azure-Sentinel, as vendor "Defender XDR".
//!
//! Files read: under a `defender-xdr/` folder, Markdown pages with KQL in fenced blocks
//! (one rule per query fence; the title from the page's first heading, plus the heading
//! above the fence when the page holds several queries), bare `.kql`/`.txt` query files and
//! Sentinel-style YAML with `query:`; elsewhere, `.kql` files that read like KQL (not under
//! a `Parsers/` folder). READMEs and other repository documents are never claimed.
//! Tables, filters and output fields come from the same KQL front end as Sentinel's.

use crate::attack::tactic_id_by_name;
use crate::diag::Diagnostic;
use crate::discover::{Root, SourceFile};
use crate::formats::sentinel::{self, in_defender_folder, meta::in_parsers_folder, RootInfo};
use crate::formats::{load_each, sidecar_tests, Format, Loaded};
use crate::model::{FacetKind, Rule, SourceLocation, Vendor};

pub struct DefenderXdr;

/// Repository documents that are never queries.
const NOT_QUERIES: &[&str] = &[
    "readme",
    "license",
    "security",
    "code_of_conduct",
    "contributing",
    "changelog",
    "support",
    "query_template",
];

/// Fence languages that are not KQL.
const OTHER_LANGS: &[&str] = &[
    "powershell",
    "ps",
    "ps1",
    "pwsh",
    "bash",
    "sh",
    "shell",
    "zsh",
    "cmd",
    "bat",
    "batch",
    "json",
    "yaml",
    "yml",
    "xml",
    "html",
    "python",
    "py",
    "javascript",
    "js",
    "text",
    "txt",
    "plaintext",
    "console",
    "http",
    "csv",
    "markdown",
    "md",
    "ini",
    "toml",
    "diff",
    "output",
];

/// Fence languages written for KQL (FalconFriday labels its KQL `C#`).
const KQL_LANGS: &[&str] = &["", "kql", "kusto", "c#", "csharp", "cs", "sql", "query"];

/// First words that open a KQL statement without a pipe.
const KQL_OPENERS: &[&str] = &[
    "let",
    "union",
    "search",
    "find",
    "datatable",
    "externaldata",
    "print",
    "range",
    "evaluate",
    "materialize",
];

impl Format for DefenderXdr {
    fn vendor(&self) -> Vendor {
        Vendor::DefenderXdr
    }
    fn is_rule_file(&self, file: &SourceFile) -> bool {
        if crate::formats::is_sidecar(&file.rel) || is_document(file) {
            return false;
        }
        let in_dx = in_defender_folder(&file.rel);
        match file.ext().to_ascii_lowercase().as_str() {
            "md" | "markdown" => {
                let fences = query_fences(&file.text);
                if in_dx {
                    !fences.is_empty()
                } else {
                    fences
                        .iter()
                        .any(|f| f.explicit_kql && reads_defender_table(&f.query))
                }
            }
            "kql" | "csl" => !in_parsers_folder(&file.rel) && looks_like_kql(&file.text),
            "txt" => in_dx && looks_like_kql(&file.text),
            "yaml" | "yml" => in_dx && file.text.lines().any(|l| l.starts_with("query:")),
            _ => false,
        }
    }
    fn load(&self, root: &Root, files: &[&SourceFile]) -> Loaded {
        let info = RootInfo::read(root);
        load_each(root, files, |f| load_file(root, f, &info))
    }
}

fn is_document(file: &SourceFile) -> bool {
    let name = file.file_name().to_ascii_lowercase();
    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name);
    NOT_QUERIES
        .iter()
        .any(|d| stem == *d || stem.starts_with(&format!("{d}.")))
}

/// A Defender XDR advanced-hunting table opens the query (for Markdown outside
/// `defender-xdr/`, which must prove it is a Defender query).
fn reads_defender_table(q: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "Device",
        "Email",
        "Identity",
        "CloudAppEvents",
        "AlertInfo",
        "AlertEvidence",
        "UrlClickEvents",
        "BehaviorInfo",
        "BehaviorEntities",
        "ExposureGraph",
        "AADSignInEventsBeta",
    ];
    let a = crate::query::kql::analyze(q, &Default::default());
    a.tables
        .iter()
        .any(|t| PREFIXES.iter().any(|p| t.starts_with(p)))
}

/// The text reads like a KQL query: after comments, a `let`/`union`/... statement, or a
/// name followed by a `|` pipeline.
pub(crate) fn looks_like_kql(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\u{200b}'))
        .filter(|l| !l.is_empty() && !l.starts_with("//"));
    let Some(first) = lines.next() else {
        return false;
    };
    let word: String = first
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() || word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    let rest = first[word.len()..].trim_start_matches(|c: char| c.is_whitespace());
    if KQL_OPENERS.iter().any(|o| word.eq_ignore_ascii_case(o)) {
        return rest.starts_with(|c: char| {
            c.is_alphabetic() || c == '(' || c == '_' || c == '"' || c == '\'' || c == '*'
        }) || rest.is_empty();
    }
    if rest.starts_with('|') {
        return true;
    }
    if rest.is_empty() {
        return lines.next().is_some_and(|l| l.starts_with('|'));
    }
    // `arg("").Resources | ...`, `imDns(...) | ...`, `Table\t| where`
    (rest.starts_with('(') || rest.starts_with('.')) && text.contains('|')
}

/// The KQL runs a query or defines a query or function, rather than only setting values
/// (`let Regex = '...';` snippets).
fn runs_query(q: &str) -> bool {
    use crate::query::kql::ast::{ExKind, Stmt};
    let (script, _) = crate::query::kql::parser::parse(q);
    script.stmts.iter().any(|s| match s {
        Stmt::Query(_) => true,
        Stmt::Let { value, .. } => matches!(
            value.kind,
            ExKind::Pipe { .. }
                | ExKind::Union(_)
                | ExKind::Function { .. }
                | ExKind::Search { .. }
        ),
        Stmt::Other { .. } | Stmt::Broken { .. } => false,
    })
}

/// A fenced query of a Markdown page.
#[derive(Debug, Clone)]
pub(crate) struct Fence {
    pub query: String,
    /// 1-based line of the query's first line.
    pub line: usize,
    /// Nearest heading above the fence.
    pub heading: Option<String>,
    /// The fence is labelled `kql`/`kusto`.
    pub explicit_kql: bool,
}

/// Heading text without Markdown emphasis.
fn heading_text(line: &str) -> Option<(usize, String)> {
    let t = line.trim_start();
    let level = t.chars().take_while(|c| *c == '#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let text = rest
        .trim()
        .trim_end_matches('#')
        .trim()
        .replace(['*', '`'], "")
        .trim_matches('_')
        .trim()
        .to_string();
    (!text.is_empty()).then_some((level, text))
}

/// Every fenced block of a page that holds a KQL query.
pub(crate) fn query_fences(text: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let t = line.trim_start();
        let fence_char = if t.starts_with("```") {
            '`'
        } else if t.starts_with("~~~") {
            '~'
        } else {
            if let Some((_, h)) = heading_text(line) {
                heading = Some(h);
            }
            continue;
        };
        let len = t.chars().take_while(|c| *c == fence_char).count();
        let info = t[len..].trim().to_string();
        if fence_char == '`' && info.contains('`') {
            continue; // inline code, not a fence
        }
        let mut body = String::new();
        while let Some((_, l)) = lines.peek() {
            let lt = l.trim();
            let closes = lt.chars().take_while(|c| *c == fence_char).count() >= len
                && lt.trim_start_matches(fence_char).trim().is_empty();
            if closes {
                lines.next();
                break;
            }
            body.push_str(l);
            lines.next();
        }
        let lang = info.to_ascii_lowercase();
        let lang = lang
            .trim_start_matches('{')
            .trim_end_matches('}')
            .to_string();
        if OTHER_LANGS.contains(&lang.as_str()) {
            continue;
        }
        let (query, line_no) = if KQL_LANGS.contains(&lang.as_str()) {
            (body, i + 2)
        } else {
            // The author wrote the first line of the query on the fence line.
            (format!("{info}\n{body}"), i + 1)
        };
        if !looks_like_kql(&query) || !runs_query(&query) {
            continue;
        }
        out.push(Fence {
            query,
            line: line_no,
            heading: heading.clone(),
            explicit_kql: lang == "kql" || lang == "kusto",
        });
    }
    out
}

fn load_file(root: &Root, file: &SourceFile, info: &RootInfo) -> Loaded {
    match file.ext().to_ascii_lowercase().as_str() {
        "md" | "markdown" => load_markdown(root, file, info),
        "yaml" | "yml" => sentinel::load_yaml(root, file, info, Vendor::DefenderXdr),
        _ => load_query_file(root, file, info),
    }
}

/// Collection (first folder under `defender-xdr/`) and folder of a file.
fn place(rule: &mut Rule, rel: &str) {
    let parts: Vec<&str> = rel.split('/').collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    match dirs.iter().position(|p| {
        p.eq_ignore_ascii_case("defender-xdr") || p.eq_ignore_ascii_case("defender_xdr")
    }) {
        Some(i) if dirs.len() > i + 1 => {
            rule.metadata
                .push(("Collection".into(), dirs[i + 1].to_string()));
            if dirs.len() > i + 2 {
                rule.metadata
                    .push(("Folder".into(), dirs[i + 2..].join("/")));
            }
        }
        _ => {
            if !dirs.is_empty() {
                rule.metadata.push(("Folder".into(), dirs.join("/")));
            }
        }
    }
}

fn new_rule(root: &Root, file: &SourceFile, id: String, line: usize) -> Rule {
    let mut r = Rule::new(
        Vendor::DefenderXdr,
        id,
        SourceLocation {
            root: root.index,
            path: file.rel.clone(),
            line,
        },
    );
    r.facet(FacetKind::RuleType, sentinel::HUNTING);
    place(&mut r, &file.rel);
    r.raw = file.text.clone();
    r
}

fn file_stem(file: &SourceFile) -> String {
    let n = file.file_name();
    n.rsplit_once('.').map(|(s, _)| s).unwrap_or(n).to_string()
}

/// A bare `.kql`/`.txt` query: title from the file name, description from the comment
/// lines it opens with.
fn load_query_file(root: &Root, file: &SourceFile, info: &RootInfo) -> Loaded {
    let mut out = Loaded::default();
    let mut rule = new_rule(root, file, file.rel.clone(), 1);
    rule.title = file_stem(file).replace('_', " ");
    let comments: Vec<&str> = file
        .text
        .lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with("//"))
        .filter_map(|l| l.strip_prefix("//"))
        .map(str::trim)
        .collect();
    rule.description = comments.join("\n").trim().to_string();
    rule.references = sentinel::urls(&rule.description);
    let desc = rule.description.clone();
    attack_ids(&mut rule, &desc, false);
    rule.raw_format = "kql".into();
    let mut diags = Vec::new();
    sentinel::apply_kql(&mut rule, &file.text, info, root, &file.rel, 1, &mut diags);
    let (tests, d) = sidecar_tests(root, &file.rel);
    rule.tests = tests;
    diags.extend(d);
    out.rules.push(rule);
    out.diagnostics = diags;
    out
}

fn load_markdown(root: &Root, file: &SourceFile, info: &RootInfo) -> Loaded {
    let mut out = Loaded::default();
    let text = &file.text;
    let fences = query_fences(text);
    if fences.is_empty() {
        out.diagnostics.push(Diagnostic::new(
            crate::verify::checks::Check::ParseError,
            root.display(&file.rel),
            1,
            "no KQL query in a fenced code block",
        ));
        return out;
    }
    // Prose only: fences removed.
    let mut prose = String::new();
    let mut last = 0;
    let all_fences = fence_spans(text);
    for (a, b) in &all_fences {
        prose.push_str(&text[last..*a]);
        last = *b;
    }
    prose.push_str(&text[last..]);

    let title = prose
        .lines()
        .find_map(|l| heading_text(l).filter(|(lvl, _)| *lvl == 1).map(|(_, t)| t))
        .or_else(|| prose.lines().find_map(|l| heading_text(l).map(|(_, t)| t)))
        .unwrap_or_else(|| file_stem(file).replace(['_', '-'], " "));
    let description = describe(&prose);
    let fields = bold_fields(&prose);
    let base_id = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| file.rel.clone());
    let (tests, test_diags) = sidecar_tests(root, &file.rel);
    out.diagnostics.extend(test_diags);
    let many = fences.len() > 1;
    let mut titles: Vec<String> = Vec::new();
    for (n, f) in fences.iter().enumerate() {
        let id = if many {
            format!("{base_id}#{}", n + 1)
        } else {
            base_id.clone()
        };
        let mut rule = new_rule(root, file, id, f.line.saturating_sub(1).max(1));
        let mut t = title.clone();
        if many {
            let suffix = f
                .heading
                .clone()
                .filter(|h| h != &title && !is_generic_heading(h))
                .unwrap_or_else(|| format!("query {}", n + 1));
            t = format!("{title} — {suffix}");
        }
        if titles.contains(&t) {
            t = format!("{t} ({})", n + 1);
        }
        titles.push(t.clone());
        rule.title = t;
        rule.description = description.clone();
        rule.references = sentinel::urls(&prose);
        attack_ids(&mut rule, &prose, true);
        for (k, v) in &fields {
            match k.to_ascii_lowercase().as_str() {
                "id" => {}
                "contributor" | "author" => rule.facet(FacetKind::Author, v.clone()),
                "os" | "platform" | "language" => rule.metadata.push((k.clone(), v.clone())),
                _ => {}
            }
        }
        if let Some(name) = author_section(&prose) {
            rule.facet(FacetKind::Author, name);
        }
        rule.raw_format = "markdown".into();
        let mut diags = Vec::new();
        sentinel::apply_kql(
            &mut rule, &f.query, info, root, &file.rel, f.line, &mut diags,
        );
        rule.tests = tests.clone();
        out.diagnostics.extend(diags);
        out.rules.push(rule);
    }
    out
}

/// Byte ranges of every fenced block (KQL or not), for cutting the prose out.
fn fence_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    let mut open: Option<(usize, char, usize)> = None;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let t = line.trim();
        match open {
            None => {
                for c in ['`', '~'] {
                    let n = t.chars().take_while(|x| *x == c).count();
                    if n >= 3 && !(c == '`' && t[n..].contains('`')) {
                        open = Some((start, c, n));
                        break;
                    }
                }
            }
            Some((s, c, n)) => {
                if t.chars().take_while(|x| *x == c).count() >= n
                    && t.trim_start_matches(c).trim().is_empty()
                {
                    out.push((s, offset));
                    open = None;
                }
            }
        }
    }
    if let Some((s, _, _)) = open {
        out.push((s, text.len()));
    }
    out
}

fn is_generic_heading(h: &str) -> bool {
    let h = h.to_ascii_lowercase();
    matches!(
        h.as_str(),
        "query"
            | "queries"
            | "detection"
            | "hunting query"
            | "kql"
            | "the query"
            | "detection query"
    )
}

/// `**Key:** value` lines of a page.
fn bold_fields(prose: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for l in prose.lines() {
        let t = l.trim().trim_start_matches(['-', '*', ' ']).trim();
        let Some(rest) = l.trim().trim_start_matches("- ").strip_prefix("**") else {
            continue;
        };
        let _ = t;
        let Some((key, value)) = rest.split_once("**") else {
            continue;
        };
        let key = key.trim().trim_end_matches(':').trim();
        let value = value.trim().trim_start_matches(':').trim();
        if !key.is_empty() && !value.is_empty() && key.len() < 40 {
            out.push((key.to_string(), value.to_string()));
        }
    }
    out
}

/// The `**Name:**` line of an `Author` section.
fn author_section(prose: &str) -> Option<String> {
    let mut in_author = false;
    for l in prose.lines() {
        if let Some((_, h)) = heading_text(l) {
            in_author = h.eq_ignore_ascii_case("author") || h.eq_ignore_ascii_case("authors");
            continue;
        }
        if in_author {
            if let Some(v) = bold_fields(l)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("name"))
                .map(|(_, v)| v)
            {
                return Some(v);
            }
        }
    }
    None
}

/// The page's description: a section titled "...description...", else the prose between
/// the first heading and the next.
fn describe(prose: &str) -> String {
    let lines: Vec<&str> = prose.lines().collect();
    let section = |start: usize, level: usize| -> String {
        let mut body = Vec::new();
        for l in &lines[start + 1..] {
            if let Some((lv, _)) = heading_text(l) {
                if lv <= level || level == 0 {
                    break;
                }
            }
            body.push(*l);
        }
        body.join("\n").trim().to_string()
    };
    for (i, l) in lines.iter().enumerate() {
        if let Some((lv, h)) = heading_text(l) {
            if h.to_ascii_lowercase().contains("description") {
                let s = section(i, lv);
                if !s.is_empty() {
                    return s;
                }
            }
        }
    }
    let first = lines.iter().position(|l| heading_text(l).is_some());
    let s = match first {
        Some(i) => section(i, 0),
        None => lines.join("\n").trim().to_string(),
    };
    // Drop a leading metadata block (`## Metadata`, `**ID:**` lines) if nothing else.
    s
}

/// ATT&CK ids in prose: `T1059.001`, technique URLs, `| T1550 | 003 |` table rows, `TA0006`,
/// and (with `tables`) tactic names ticked in a "Covered?" table.
fn attack_ids(rule: &mut Rule, prose: &str, tables: bool) {
    let mut techniques: Vec<String> = Vec::new();
    let mut tactics: Vec<String> = Vec::new();
    let bytes = prose.as_bytes();
    let digits = |s: &[u8], n: usize| s.len() >= n && s[..n].iter().all(u8::is_ascii_digit);
    let boundary = |i: usize| i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'T' && boundary(i) {
            let rest = &bytes[i + 1..];
            if rest.starts_with(b"A")
                && digits(&rest[1..], 4)
                && !rest.get(5).is_some_and(u8::is_ascii_alphanumeric)
            {
                let id = format!("TA{}", &prose[i + 2..i + 6]);
                if !tactics.contains(&id) {
                    tactics.push(id);
                }
                i += 6;
                continue;
            }
            if digits(rest, 4) && !rest.get(4).is_some_and(u8::is_ascii_digit) {
                let mut id = format!("T{}", &prose[i + 1..i + 5]);
                let after = &prose[i + 5..];
                // `.001`, `/001` (URL), `| 001 |` (table columns)
                let sub =
                    if let Some(s) = after.strip_prefix('.').or_else(|| after.strip_prefix('/')) {
                        Some(s)
                    } else {
                        let t = after.trim_start_matches([' ', '\t']);
                        t.strip_prefix('|')
                            .map(|s| s.trim_start_matches([' ', '\t']))
                    };
                if let Some(s) = sub {
                    if digits(s.as_bytes(), 3)
                        && !s.as_bytes().get(3).is_some_and(u8::is_ascii_digit)
                    {
                        id = format!("{id}.{}", &s[..3]);
                    }
                }
                if !techniques.contains(&id) {
                    techniques.push(id);
                }
                i += 5;
                continue;
            }
        }
        i += 1;
    }
    if tables && prose.contains("Covered?") {
        for l in prose.lines() {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            if cells.len() >= 4 && cells[0].is_empty() {
                let (name, mark) = (cells[1], cells[2]);
                if !mark.is_empty() && mark.len() <= 3 && !mark.starts_with('-') {
                    if let Some(id) = tactic_id_by_name(name) {
                        if !tactics.iter().any(|t| t == id) {
                            tactics.push(id.to_string());
                        }
                    }
                }
            }
        }
    }
    rule.techniques = techniques;
    rule.tactics = tactics;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kql_looking_text() {
        assert!(looks_like_kql("// c\nDeviceProcessEvents\n| where A == 1"));
        assert!(looks_like_kql("DeviceInfo | take 10"));
        assert!(looks_like_kql("let x = 1;\nT | where a == x"));
        assert!(looks_like_kql("union DeviceEvents, DeviceFileEvents"));
        assert!(looks_like_kql("arg(\"\").Resources | take 1"));
        assert!(!looks_like_kql(
            r"rundll32.exe \\10.0.0.1\share\x.dll,Entry"
        ));
        assert!(!looks_like_kql(
            "powershell -exec bypass -c \"iwr x | iex\""
        ));
        assert!(!looks_like_kql(r"HKLM:\SOFTWARE\Run"));
        assert!(!looks_like_kql("SigninLogs"));
        assert!(!looks_like_kql("Remember to tune the thresholds."));
    }

    #[test]
    fn fences_and_their_languages() {
        let page = "# T\n\n## A\n```kql\nT | where a == 1\n```\n\n```powershell\nGet-Thing | x\n```\n\n~~~\nlet v = 'x';\n~~~\n\n## B\n```DeviceEvents\n| where b == 2\n```\n";
        let f = query_fences(page);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].heading.as_deref(), Some("A"));
        assert_eq!(f[0].line, 5);
        assert!(f[0].explicit_kql);
        assert_eq!(f[1].query, "DeviceEvents\n| where b == 2\n");
        assert_eq!(f[1].line, 17);
        assert_eq!(f[1].heading.as_deref(), Some("B"));
        // An unclosed fence runs to the end of the page.
        assert_eq!(query_fences("```\nT | where a == 1\n").len(), 1);
    }

    #[test]
    fn attack_ids_from_prose_and_tables() {
        let mut r = Rule::new(Vendor::DefenderXdr, "x", SourceLocation::default());
        let prose = "| TA0005 - Defense Evasion | T1550 | 003 | x |\nSee https://attack.mitre.org/techniques/T1021/002/ and T1059.001; not T12345.\n| Technique, tactic, or state | Covered? (v=yes) | Notes |\n| Execution | v | |\n| Impact |  | |\n";
        attack_ids(&mut r, prose, true);
        assert_eq!(r.techniques, vec!["T1550.003", "T1021.002", "T1059.001"]);
        assert_eq!(r.tactics, vec!["TA0005", "TA0002"]);
    }
}
