//! The site renderer on a fixture catalog: pages exist, hostile rule text is escaped,
//! every internal link resolves, output is deterministic and stays inside the output folder.
//!
//! The fixture `Build` is made by hand from `Rule` values around the files of
//! `tests/fixtures/site/rules` (so the test does not depend on the format readers).

use ruledex::catalog::Catalog;
use ruledex::config::Config;
use ruledex::diag::Diagnostic;
use ruledex::discover::{self, Root, RootSpec};
use ruledex::model::{
    Detection, Expect, Expr, FacetKind, Language, Op, OutputField, Predicate, Query, RelatedRule,
    Rule, RuleTest, Section, Severity, SourceLocation, Value, Vendor,
};
use ruledex::pipeline::{self, Build};
use ruledex::render;
use ruledex::verify::checks::Check;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIXTURE: &str = "tests/fixtures/site/rules";
const HOSTILE_ID: &str = "../../../etc/passwd";

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

fn loc(path: &str) -> SourceLocation {
    SourceLocation {
        root: 0,
        path: path.to_string(),
        line: 1,
    }
}

fn pred(field: &str, op: Op, values: &[&str]) -> Expr {
    Expr::Pred(Predicate::field(
        field,
        op,
        values.iter().map(|v| Value::str(*v)).collect(),
    ))
}

fn test(name: &str, expect: Expect, event: serde_json::Value) -> RuleTest {
    RuleTest {
        name: name.to_string(),
        events: vec![event],
        expect,
        unsupported: None,
        location: None,
    }
}

fn rules(root: &Root) -> Vec<Rule> {
    let raw = |p: &str| root.get(p).expect("fixture file").text.clone();

    let mut office = Rule::new(
        Vendor::Sigma,
        "6f0c1f3e-2b7a-4c55-9a0e-4f1d2c3b4a51",
        loc("sigma/office_cmd.yml"),
    );
    office.title = "Command Shell Started by an Office Application".into();
    office.description = "Detects `cmd.exe` started by Word or Excel with `/c` or `/k`.\n\nSee the **false positives** section.".into();
    office.severity = Some(Severity::High);
    office.status = Some("test".into());
    office.techniques = vec!["T1059.003".into(), "T1204.002".into()];
    office.tactics = vec!["TA0002".into()];
    office.facet(FacetKind::Product, "windows");
    office.facet(FacetKind::Category, "process_creation");
    office.facet(FacetKind::Tag, "attack.t1059.003");
    office.facet(FacetKind::Author, "ruledex tests");
    office.references = vec!["https://attack.mitre.org/techniques/T1059/003/".into()];
    office.created = Some("2024/01/05".into());
    office.modified = Some("2024/03/18".into());
    office.metadata = vec![("Level".into(), "high".into())];
    office.related = vec![
        RelatedRule {
            id: "9a9a9a9a-0000-4000-8000-000000000001".into(),
            relation: "similar".into(),
        },
        RelatedRule {
            id: "00000000-0000-0000-0000-00000000dead".into(),
            relation: "obsolete".into(),
        },
    ];
    office.sections = vec![Section {
        title: "False positives".into(),
        markdown: "- Add-ins that shell out to approved scripts".into(),
    }];
    office.query = Some(Query {
        language: Language::SigmaDetection,
        text: "selection and not filter".into(),
    });
    office.detection = Some(Detection {
        expr: Expr::all(vec![
            Expr::named(
                "selection",
                Expr::all(vec![
                    pred(
                        "ParentImage",
                        Op::EndsWith,
                        &["\\winword.exe", "\\excel.exe"],
                    ),
                    pred("Image", Op::EndsWith, &["\\cmd.exe"]),
                    pred("CommandLine", Op::Contains, &[" /c ", " /k "]),
                ]),
            ),
            Expr::not(Expr::named(
                "filter",
                pred(
                    "CommandLine",
                    Op::Contains,
                    &["C:\\Program Files\\Corp\\approved.bat"],
                ),
            )),
        ]),
        output_fields: vec![
            OutputField::named("CommandLine"),
            OutputField::named("ParentImage"),
        ],
    });
    office.tests = vec![
        test(
            "word starts cmd",
            Expect::Match,
            json!({"ParentImage": "C:\\Office\\WINWORD.EXE", "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami"}),
        ),
        test(
            "explorer starts cmd",
            Expect::NoMatch,
            json!({"ParentImage": "C:\\Windows\\explorer.exe", "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c dir"}),
        ),
        // Written wrong on purpose: the page must show a failing test.
        test(
            "word starts powershell",
            Expect::Match,
            json!({"ParentImage": "C:\\Office\\WINWORD.EXE", "Image": "C:\\Windows\\powershell.exe", "CommandLine": "powershell /c x"}),
        ),
    ];
    office.raw = raw("sigma/office_cmd.yml");
    office.raw_format = "yaml".into();

    let mut hostile = Rule::new(Vendor::Sigma, HOSTILE_ID, loc("sigma/hostile.yml"));
    hostile.title = "=cmd|' /C calc'!A0 <script>alert(\"title\")</script>".into();
    hostile.description = "<script>alert(\"description\")</script> **bold** <img src=x onerror=alert(2)>\n[click](javascript:alert(3)) </pre></code></table>\nSee [the other rule](../other/rule.md) and ![a picture](img/x.png).\n\n```\nunclosed fence".into();
    hostile.severity = Some(Severity::Medium);
    hostile.status = Some("<i>experimental</i>".into());
    hostile.facet(FacetKind::Author, "<b>mallory</b>");
    hostile.facet(FacetKind::Tag, "<b>tag</b>");
    hostile.facet(FacetKind::Tag, "../../../outside");
    hostile.facet(FacetKind::Tag, "index");
    hostile.facet(FacetKind::Product, "windows");
    hostile.metadata = vec![(
        "<i>key</i>".into(),
        "<script>alert(\"meta\")</script>".into(),
    )];
    hostile.references = vec![
        "javascript:alert(4)".into(),
        "https://example.com/a\"onmouseover=\"alert(5)".into(),
    ];
    hostile.detection = Some(Detection {
        expr: Expr::all(vec![
            Expr::named(
                "selection",
                pred(
                    "CommandLine",
                    Op::Contains,
                    &["<script>alert(\"raw\")</script>"],
                ),
            ),
            Expr::opaque(
                "| near other </pre><script>x</script>",
                "<b>unsupported</b> pipe",
            ),
        ]),
        output_fields: vec![OutputField {
            name: "<script>f</script>".into(),
            source: None,
            note: Some("<b>note</b>".into()),
        }],
    });
    hostile.tests = vec![test(
        "<script>test</script>",
        Expect::Match,
        json!({"CommandLine": "<script>alert(\"raw\")</script>"}),
    )];
    hostile.sections = vec![Section {
        title: "<script>s</script>".into(),
        markdown: "<script>alert(\"section\")</script>".into(),
    }];
    hostile.raw = raw("sigma/hostile.yml");
    hostile.raw_format = "yaml".into();
    hostile.companions = vec![(
        "sigma/hostile.yml".into(),
        "</code></pre><script>alert(\"companion\")</script>".into(),
        "\"><script>".into(),
    )];

    let mut splunk = Rule::new(
        Vendor::Splunk,
        "0b6e4c1d-8f52-4b8e-a1c4-5d9e7f3a2c10",
        loc("splunk/cmd_from_office.yml"),
    );
    splunk.title = "Office Application Spawning Windows Shell".into();
    splunk.description = "An Office process starts cmd.exe or powershell.exe.".into();
    splunk.status = Some("production".into());
    splunk.techniques = vec!["T1059.003".into()];
    splunk.facet(FacetKind::DataSource, "Sysmon EventID 1");
    splunk.facet(FacetKind::DataModel, "Endpoint.Processes");
    splunk.facet(FacetKind::Story, "Spearphishing Attachments");
    splunk.created = Some("2024-02-01".into());
    splunk.query = Some(Query {
        language: Language::Spl,
        text: "| tstats count from datamodel=Endpoint.Processes where Processes.process_name IN (\"cmd.exe\", \"powershell.exe\") | where count > 2".into(),
    });
    splunk.detection = Some(Detection {
        expr: Expr::Aggregate {
            description: "count by Processes.dest > 2".into(),
            item: Box::new(Expr::all(vec![
                pred(
                    "Processes.parent_process_name",
                    Op::Eq,
                    &["winword.exe", "excel.exe"],
                ),
                pred(
                    "Processes.process_name",
                    Op::Eq,
                    &["cmd.exe", "powershell.exe"],
                ),
            ])),
        },
        output_fields: vec![OutputField {
            name: "firstTime".into(),
            source: Some("min(_time)".into()),
            note: None,
        }],
    });
    splunk.sections = vec![Section {
        title: "How to implement".into(),
        markdown: "Requires process creation events mapped to the Endpoint data model.".into(),
    }];
    splunk.tests = vec![RuleTest {
        name: "attack data".into(),
        events: vec![],
        expect: Expect::Match,
        unsupported: Some("remote attack data".into()),
        location: None,
    }];
    splunk.raw = raw("splunk/cmd_from_office.yml");
    splunk.raw_format = "yaml".into();

    let mut panther = Rule::new(
        Vendor::Panther,
        "Okta.APIToken.Created.Twice",
        loc("panther/okta_token.yml"),
    );
    panther.title = "Okta API Token Created Then Used".into();
    panther.description = "An API token is created and used from a new place.".into();
    panther.severity = Some(Severity::Medium);
    panther.techniques = vec!["T1528".into()];
    panther.tactics = vec!["TA0006".into()];
    panther.facet(FacetKind::LogType, "Okta.SystemLog");
    panther.detection = Some(Detection {
        expr: Expr::Sequence {
            ordered: true,
            by: vec!["actor.id".into()],
            window: Some("10m".into()),
            steps: vec![
                pred("eventType", Op::Eq, &["system.api_token.create"]),
                pred("eventType", Op::Eq, &["system.api_token.use"]),
            ],
        },
        output_fields: vec![],
    });
    panther.tests = vec![test(
        "token created",
        Expect::NoMatch,
        json!({"eventType": "system.api_token.create"}),
    )];
    panther.raw = raw("panther/okta_token.yml");
    panther.raw_format = "yaml".into();
    panther.companions = vec![(
        "panther/okta_token.py".into(),
        raw("panther/okta_token.py"),
        "python".into(),
    )];

    // Same title as `office` within one vendor: the slug gets a suffix.
    let mut twin = office.clone();
    twin.id = "9a9a9a9a-0000-4000-8000-000000000001".into();
    twin.tests.clear();
    vec![office, hostile, splunk, panther, twin]
}

fn fixture() -> (Build, Config) {
    let mut spec = RootSpec::new(fixture_root());
    spec.repo_url = Some("https://github.com/example/rules".into());
    spec.commit = Some("0123abc".into());
    let (root, _) = discover::read_root(0, spec).expect("fixture root");
    let rules = rules(&root);
    let catalog = Catalog::build(rules);
    let results = catalog
        .rules
        .iter()
        .map(ruledex::verify::matcher::run_tests)
        .collect();
    let hostile_file = root.display("sigma/hostile.yml");
    let diagnostics = vec![
        Diagnostic::new(
            Check::UnsupportedSyntax,
            hostile_file.clone(),
            14,
            "`| near` is not supported: <script>alert(\"diag\")</script>",
        ),
        Diagnostic::new(Check::MissingField, hostile_file, 0, "no <b>date</b>"),
    ];
    let mut files = BTreeMap::new();
    files.insert(Vendor::Sigma, 2);
    files.insert(Vendor::Splunk, 1);
    files.insert(Vendor::Panther, 1);
    let build = Build {
        roots: vec![root],
        catalog,
        results,
        diagnostics,
        files,
        failed_files: BTreeMap::new(),
        unclaimed_files: 1,
        ..Build::default()
    };
    let config = Config {
        title: "Fixture <Catalog>".into(),
        site_dir: PathBuf::from("/nonexistent-site-dir"),
        ..Config::default()
    };
    (build, config)
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        let rel = e
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        out.insert(rel, std::fs::read(&e).unwrap());
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The only `<script` of any HTML page is our own `static/site.js`, and no tag or attribute
/// of rule text made it into the markup.
fn assert_no_injected_markup(out: &Path) {
    for (rel, bytes) in tree(out) {
        if !rel.ends_with(".html") {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        let lower = text.to_ascii_lowercase();
        let scripts = lower.matches("<script").count();
        let own = lower.matches("<script src=\"").count();
        assert_eq!(scripts, own, "{rel}: unexpected <script");
        // Escaped text may say `onerror=`; only a real tag or attribute would run.
        for bad in ["<img", "<b>", "<i>", "onmouseover=\"", "href=\"javascript:"] {
            assert!(!lower.contains(bad), "{rel}: contains {bad}");
        }
    }
}

fn page(out: &Path, rel: &str) -> String {
    std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn rule_page(build: &Build, id: &str) -> String {
    let i = build.catalog.rules.iter().position(|r| r.id == id).unwrap();
    let r = &build.catalog.rules[i];
    format!("rules/{}/{}", r.vendor.key(), build.catalog.slugs[i])
}

#[test]
fn site_pages_links_escaping_determinism() {
    let (build, config) = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let written = render::site(&build, &config, &out).unwrap();
    assert!(written.html_pages > 20, "{written:?}");
    // To look at the fixture site: RULEDEX_KEEP_SITE=/tmp/fixture-site cargo test --test site
    if let Ok(keep) = std::env::var("RULEDEX_KEEP_SITE") {
        render::site(&build, &config, Path::new(&keep)).unwrap();
    }
    assert_eq!(written.html_pages, written.markdown_pages);

    // Pages of every kind, in both formats.
    let office = rule_page(&build, "6f0c1f3e-2b7a-4c55-9a0e-4f1d2c3b4a51");
    let hostile = rule_page(&build, HOSTILE_ID);
    for p in [
        "index",
        "stats",
        office.as_str(),
        hostile.as_str(),
        "vendors/index",
        "vendors/sigma",
        "vendors/splunk",
        "techniques/index",
        "techniques/t1059.003",
        "tactics/ta0002",
        "tags/index",
        "tags/index-",
        "products/windows",
        "data-models/endpoint.processes",
        "log-types/okta.systemlog",
        "pages/about",
        "pages/rule-pages",
        "id/sigma/etc-passwd",
        "id/panther/okta.apitoken.created.twice",
    ] {
        assert!(out.join(format!("{p}.html")).is_file(), "{p}.html");
        let md = if p.ends_with("index") {
            format!("md/{}README.md", p.trim_end_matches("index"))
        } else {
            format!("md/{p}.md")
        };
        assert!(out.join(&md).is_file(), "{md}");
    }
    for f in ["catalog.json", "rules.csv", "indicators.csv"] {
        assert!(out.join("exports").join(f).is_file(), "{f}");
    }
    assert!(out.join("static/style.css").is_file());
    // Same-title rules get distinct pages.
    assert!(out
        .join("rules/sigma/command-shell-started-by-an-office-application-2.html")
        .is_file());

    // The rule page shows what it should.
    let html = page(&out, &format!("{office}.html"));
    for needle in [
        "<h1>Command Shell Started by an Office Application</h1>",
        "Image endswith &quot;\\cmd.exe&quot;",
        "AND NOT filter: CommandLine contains",
        "<strong>false positives</strong>",
        "https://github.com/example/rules/blob/0123abc/sigma/office_cmd.yml",
        "href=\"../../techniques/t1059.003.html\"",
        "href=\"../../rules/sigma/command-shell-started-by-an-office-application-2.html\"",
        "href=\"../../vendors/sigma.html\"",
        "00000000-0000-0000-0000-00000000dead</code> <small>(not in this catalog)",
        "verdict-pass\">pass</span>",
        "id=\"L1\"",
        // The rule file is highlighted at build time (src/render/highlight.rs).
        "id=\"L1\"><span class=\"hl-a\">title</span>: <span class=\"hl-s\">Command Shell",
        "href=\"../../static/highlight.css\"",
        "Add-ins that shell out to approved scripts",
    ] {
        assert!(html.contains(needle), "office page lacks {needle}");
    }
    let tech = page(&out, "techniques/t1059.003.html");
    assert!(tech.contains("id=\"sigma\"") && tech.contains("id=\"splunk\""));
    let panther = page(
        &out,
        &format!("{}.html", rule_page(&build, "Okta.APIToken.Created.Twice")),
    );
    assert!(panther.contains("SEQUENCE by actor.id within 10m"));
    assert!(panther.contains("verdict-unsupported\">unsupported</span>"));
    assert!(html.contains("verdict-fail\">fail</span>"));
    assert!(panther
        .contains("<span class=\"hl-k\">def</span> <span class=\"hl-f\">rule</span>(event):"));
    let redirect = page(&out, "id/sigma/etc-passwd.html");
    assert!(redirect.contains(&format!("url=../../{hostile}.html")));

    // Hostile text is escaped everywhere: the only script element is our own.
    assert_no_injected_markup(&out);
    let h = page(&out, &format!("{hostile}.html"));
    assert!(
        h.contains("&lt;script&gt;alert(&quot;raw&quot;)&lt;&#x2F;script&gt;")
            || h.contains("&lt;script&gt;alert(&quot;raw&quot;)&lt;/script&gt;")
    );
    assert!(h.contains("UNPARSED (&lt;b&gt;unsupported&lt;/b&gt; pipe):"));
    // The highlighted rule file keeps hostile text escaped inside its spans.
    assert!(h.contains(
        "<span class=\"hl-s\">&#39;&lt;script&gt;alert(&quot;raw&quot;)&lt;/script&gt;&#39;</span>"
    ));
    assert!(h.contains("<a rel=\"noopener noreferrer nofollow\">click</a>"));
    let md = page(&out, &format!("md/{hostile}.md"));
    assert!(
        md.starts_with("[Fixture &lt;Catalog&gt;](../../README.md)"),
        "{}",
        &md[..80]
    );
    assert!(md.contains("# =cmd\\|' /C calc'!A0 &lt;script&gt;"));
    // Relative links of a description would break in our tree: they become text.
    assert!(md.contains("See the other rule and a picture."), "{md}");
    // The open fence of the description is closed before the next heading.
    assert!(md.contains("unclosed fence\n```\n"));

    // CSV cells that would run as formulas are neutralised.
    let csv = page(&out, "exports/rules.csv");
    assert!(csv.contains(",\"'=cmd|"), "{csv}");
    let catalog: serde_json::Value =
        serde_json::from_str(&page(&out, "exports/catalog.json")).unwrap();
    assert_eq!(catalog["rules"].as_array().unwrap().len(), 5);

    // Every internal link and anchor of the HTML and Markdown pages resolves.
    let report = render::links::check(&out).unwrap();
    assert!(report.pages > 40 && report.links > 500, "{report:?}");
    assert!(report.broken.is_empty(), "{:#?}", report.broken);

    // Byte-identical on a second build.
    let out2 = tmp.path().join("out2");
    render::site(&build, &config, &out2).unwrap();
    let (a, b) = (tree(&out), tree(&out2));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between builds");
    }

    // Nothing was written outside the output folders.
    let top: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut top = top;
    top.sort();
    assert_eq!(top, vec!["out", "out2"]);
    assert!(a.keys().all(|k| !k.contains("..")));
}

#[test]
fn rebuild_removes_only_its_own_stale_files() {
    let (build, config) = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("CNAME"), "rules.example.com").unwrap();
    render::site(&build, &config, &out).unwrap();
    let hostile = rule_page(&build, HOSTILE_ID);
    assert!(out.join(format!("{hostile}.html")).is_file());

    // The same roots without the hostile rule.
    let mut rules = build.catalog.rules.clone();
    rules.retain(|r| r.id != HOSTILE_ID);
    let catalog = Catalog::build(rules);
    let results = catalog
        .rules
        .iter()
        .map(ruledex::verify::matcher::run_tests)
        .collect();
    let smaller = Build {
        catalog,
        results,
        roots: build.roots,
        ..Build::default()
    };
    let written = render::site(&smaller, &config, &out).unwrap();
    assert!(written.removed >= 4, "{written:?}");
    assert!(!out.join(format!("{hostile}.html")).exists());
    assert!(!out.join("id/sigma/etc-passwd.html").exists());
    assert!(!out.join("tags/index-.html").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("CNAME")).unwrap(),
        "rules.example.com"
    );
    let report = render::links::check(&out).unwrap();
    assert!(report.broken.is_empty(), "{:#?}", report.broken);
}

#[test]
fn site_dir_overrides_templates_static_and_content() {
    let (build, mut config) = fixture();
    let site = tempfile::tempdir().unwrap();
    let d = site.path();
    std::fs::create_dir_all(d.join("templates/html")).unwrap();
    std::fs::create_dir_all(d.join("static/img")).unwrap();
    std::fs::create_dir_all(d.join("content")).unwrap();
    std::fs::write(
        d.join("templates/html/redirect.html"),
        "<p>moved: <a href=\"{{ target }}\">{{ title }}</a></p>",
    )
    .unwrap();
    std::fs::write(d.join("static/style.css"), "body{color:red}").unwrap();
    std::fs::write(d.join("static/img/logo.svg"), "<svg/>").unwrap();
    std::fs::write(d.join("content/team.md"), "# Our team\n\nWe write rules.").unwrap();
    config.site_dir = d.to_path_buf();
    let out = site.path().join("public");
    render::site(&build, &config, &out).unwrap();
    assert!(page(&out, "id/sigma/etc-passwd.html").starts_with("<p>moved: "));
    assert_eq!(page(&out, "static/style.css"), "body{color:red}");
    assert!(out.join("static/img/logo.svg").is_file());
    assert!(page(&out, "pages/team.html").contains("<h1>Our team</h1>"));
    assert!(render::links::check(&out).unwrap().broken.is_empty());
}

/// The fixture through the real pipeline: whatever the loaded formats make of it, the
/// site builds, its links resolve and it is deterministic.
#[test]
fn pipeline_build_of_the_fixture_renders_cleanly() {
    let build = pipeline::run(&[RootSpec::new(fixture_root())], &()).unwrap();
    let config = Config::default();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    render::site(&build, &config, &a).unwrap();
    render::site(&build, &config, &b).unwrap();
    assert_eq!(tree(&a), tree(&b));
    let report = render::links::check(&a).unwrap();
    assert!(report.broken.is_empty(), "{:#?}", report.broken);
    assert!(a.join("index.html").is_file() && a.join("md/README.md").is_file());
    assert_no_injected_markup(&a);
}
