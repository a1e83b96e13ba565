use super::*;

/// The text of every span of class `css` in the rendered lines.
fn marked(lines: &[String], css: &str) -> Vec<String> {
    let open = format!("<span class=\"{css}\">");
    let mut out = Vec::new();
    for l in lines {
        let mut rest = l.as_str();
        while let Some(p) = rest.find(&open) {
            rest = &rest[p + open.len()..];
            let e = rest.find("</span>").unwrap();
            out.push(rest[..e].to_string());
            rest = &rest[e..];
        }
    }
    out
}

/// Removing the markup and unescaping gives the text back, line for line.
fn plain(lines: &[String]) -> String {
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut in_tag = false;
        for c in l.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn check_roundtrip(text: &str, hint: &str, emb: Option<&str>) -> Vec<String> {
    let lines = lines(text, hint, emb);
    assert_eq!(
        plain(&lines),
        text.strip_suffix('\n').unwrap_or(text),
        "{hint}"
    );
    assert_eq!(
        lines.len(),
        text.strip_suffix('\n').unwrap_or(text).split('\n').count()
    );
    for l in &lines {
        assert_eq!(
            l.matches("<span").count(),
            l.matches("</span>").count(),
            "{l}"
        );
        assert!(!l.contains('\n'));
    }
    lines
}

#[test]
fn yaml_keys_strings_comments_and_block_scalars() {
    let text = "# top\ntitle: Office spawns cmd # note\nlevel: 3\nenabled: true\ntags:\n  - attack.t1059\ndescription: |\n  line one\n\n  line two\nnext: 'it''s'\n";
    let l = check_roundtrip(text, "yaml", None);
    assert_eq!(
        marked(&l, "hl-a"),
        ["title", "level", "enabled", "tags", "description", "next"]
    );
    assert_eq!(marked(&l, "hl-c"), ["# top", "# note"]);
    assert!(marked(&l, "hl-s").contains(&"Office spawns cmd".to_string()));
    assert!(marked(&l, "hl-s").contains(&"  line two".to_string()));
    assert!(marked(&l, "hl-s").contains(&"&#39;it&#39;&#39;s&#39;".to_string()));
    assert_eq!(marked(&l, "hl-n"), ["3"]);
    assert_eq!(marked(&l, "hl-l"), ["true"]);
    // Ids are text, numbers in any radix are numbers.
    let l = check_roundtrip(
        "id: 3b6ab547-8ec2-4991\nn: [0x1F, 1.5e3, 2019-01-16]\n",
        "yaml",
        None,
    );
    assert_eq!(marked(&l, "hl-n"), ["0x1F", "1.5e3", "2019-01-16"]);
}

#[test]
fn yaml_query_key_is_highlighted_as_the_query_language() {
    let text = "name: x\nquery: |\n  SecurityEvent // logons\n  | where EventID == 4625\n  | summarize count() by Account\nseverity: High\n";
    let l = check_roundtrip(text, "yaml", Some("kql"));
    assert_eq!(marked(&l, "hl-k"), ["|", "where", "|", "summarize", "by"]);
    assert_eq!(marked(&l, "hl-c"), ["// logons"]);
    assert_eq!(marked(&l, "hl-f"), ["count"]);
    assert_eq!(marked(&l, "hl-n"), ["4625"]);
    assert_eq!(marked(&l, "hl-a"), ["name", "query", "severity"]);
    // Without a query language the block is a plain string.
    let l = check_roundtrip(text, "yaml", None);
    assert_eq!(marked(&l, "hl-s").len(), 5);
}

#[test]
fn splunk_search_in_a_quoted_yaml_value() {
    let text = "search: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=\"cmd.exe\" by Processes.dest | `drop_dm_object_name(Processes)`'\n";
    let l = check_roundtrip(text, "yaml", Some("spl"));
    assert_eq!(
        marked(&l, "hl-k"),
        ["|", "tstats", "from", "where", "by", "|"]
    );
    assert_eq!(marked(&l, "hl-v"), ["`drop_dm_object_name(Processes)`"]);
    assert!(marked(&l, "hl-a").contains(&"Processes.process_name".to_string()));
    assert!(marked(&l, "hl-s").contains(&"&quot;cmd.exe&quot;".to_string()));
}

#[test]
fn toml_tables_keys_and_multiline_query() {
    let text = "[metadata]\ncreation_date = \"2020/01/01\"\n\n[rule]\nrisk_score = 47\ntags = [\"A\", \"B\"]\nquery = '''\nprocess where process.name : \"cmd.exe\" // x\n'''\n";
    let l = check_roundtrip(text, "toml", Some("eql"));
    assert_eq!(marked(&l, "hl-m"), ["[metadata]", "[rule]", "process"]);
    assert_eq!(
        marked(&l, "hl-a"),
        ["creation_date", "risk_score", "tags", "query"]
    );
    assert_eq!(marked(&l, "hl-n"), ["47"]);
    assert!(marked(&l, "hl-k").contains(&"where".to_string()));
    assert_eq!(marked(&l, "hl-c"), ["// x"]);
    assert_eq!(
        marked(&l, "hl-s").first().map(String::as_str),
        Some("&quot;2020/01/01&quot;")
    );
}

#[test]
fn python_and_json() {
    let text = "import re\n\n@decorator\ndef rule(event):\n    # why\n    return event.get(\"x\") in ('a', \"\"\"b\nc\"\"\") and True\n";
    let l = check_roundtrip(text, "python", None);
    assert_eq!(marked(&l, "hl-k"), ["import", "def", "return", "in", "and"]);
    assert_eq!(marked(&l, "hl-f"), ["rule", "get"]);
    assert_eq!(marked(&l, "hl-m"), ["@decorator"]);
    assert_eq!(marked(&l, "hl-l"), ["True"]);
    assert_eq!(marked(&l, "hl-c"), ["# why"]);
    // A string over two lines is closed and reopened.
    assert!(l[5].ends_with("<span class=\"hl-s\">&quot;&quot;&quot;b</span>"));
    assert!(l[6].starts_with("<span class=\"hl-s\">c&quot;&quot;&quot;</span>"));

    let l = check_roundtrip(
        "{\n  \"a\": [1, -2.5e3, null],\n  \"b\": \"x\"\n}",
        "json",
        None,
    );
    assert_eq!(marked(&l, "hl-a"), ["&quot;a&quot;", "&quot;b&quot;"]);
    assert_eq!(marked(&l, "hl-n"), ["1", "-2.5e3"]);
    assert_eq!(marked(&l, "hl-l"), ["null"]);
}

#[test]
fn yaral_uses_the_yaral_lexer() {
    let text = "rule demo {\n  meta:\n    author = \"x\"\n  events:\n    $e.metadata.event_type = \"PROCESS_LAUNCH\" // launch\n    re.regex($e.target.process.file.full_path, `cmd\\.exe`) nocase\n  condition:\n    #e > 2\n}\n";
    let l = check_roundtrip(text, "yaral", None);
    assert_eq!(
        marked(&l, "hl-k"),
        ["rule", "meta", "events", "nocase", "condition"]
    );
    assert_eq!(marked(&l, "hl-f"), ["demo", "re", "regex"]);
    assert_eq!(marked(&l, "hl-v"), ["$e", "$e", "#e"]);
    assert_eq!(marked(&l, "hl-c"), ["// launch"]);
}

#[test]
fn malformed_queries_fall_back_and_never_panic() {
    // Unterminated strings, stray bytes, multi-byte text after backslashes, lone quotes.
    let nasty = [
        "process where \"unterminated",
        "rule x { events: $e.a = \"é\\é",
        "a\\é=1 | eval x='é\\é",
        "\"\\",
        "'''\n\\é",
        "key: \"\\é\n- [a, {b: c}, 'd\n",
        "x = \"\"\"é\\",
        "@\u{1F600}\n\t\r\n",
    ];
    for hint in [
        "yaml", "toml", "json", "python", "spl", "kql", "kuery", "lucene", "eql", "esql", "yaral",
    ] {
        for t in nasty {
            check_roundtrip(t, hint, Some("spl"));
            check_roundtrip(t, hint, Some("kql"));
        }
    }
}

#[test]
fn hostile_text_is_escaped_in_every_language() {
    let hostile = "title: <script>alert('x')</script>\nq: \"</span><img src=x onerror=alert(1)>\"\n# <b>bold</b> & \"quotes\"\nrule <i> { events: $e = \"<svg onload=alert(2)>\" }\n| eval a=\"<iframe>\" `<x>`\n";
    for hint in [
        "yaml", "toml", "json", "python", "spl", "kql", "kuery", "lucene", "eql", "esql", "yaral",
        "markdown", "",
    ] {
        let lines = check_roundtrip(hostile, hint, Some("spl"));
        let html = lines.join("\n");
        let without_spans = html
            .replace("</span>", "")
            .split("<span class=\"hl-")
            .map(|p| p.split_once("\">").map_or(p, |(_, rest)| rest))
            .collect::<String>();
        assert!(!without_spans.contains('<'), "{hint}: {html}");
        assert!(!without_spans.contains('>'), "{hint}: {html}");
        assert!(!without_spans.contains('"'), "{hint}: {html}");
        assert!(!without_spans.contains('\''), "{hint}: {html}");
    }
}

#[test]
fn unknown_languages_are_escaped_plain_text() {
    let l = lines("a <b>\nc & d\n", "markdown", None);
    assert_eq!(l, ["a &lt;b&gt;", "c &amp; d"]);
}
