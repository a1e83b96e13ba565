//! Site rendering on synthetic catalogs of growing size (as Zola does), so the cost per
//! page is visible. Run: `cargo bench --bench render` (sizes via `RULEDEX_BENCH_SIZES`,
//! default `1000,10000`; keep the last site with `RULEDEX_BENCH_OUT=/tmp/site`).
//!
//! With `RULEDEX_BENCH_ROOTS=path:path...` it loads real rule roots through the pipeline
//! instead and renders them (load time printed apart), then checks every link.

use ruledex::catalog::Catalog;
use ruledex::config::Config;
use ruledex::discover::{Root, RootSpec};
use ruledex::model::{
    Detection, Expect, Expr, FacetKind, Language, Op, OutputField, Predicate, Query, Rule,
    RuleTest, Section, Severity, SourceLocation, Value, Vendor,
};
use ruledex::pipeline::Build;
use ruledex::render;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// A small deterministic generator (no dependency, same catalog on every run).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const FIELDS: &[&str] = &[
    "Image",
    "CommandLine",
    "ParentImage",
    "TargetFilename",
    "DestinationHostname",
    "eventType",
    "actor.alternateId",
    "OperationName",
    "Processes.process_name",
    "process.name",
    "process.args",
    "file.path",
    "registry.path",
    "url.domain",
    "user.name",
    "source.ip",
    "destination.port",
    "QueryName",
    "ServiceName",
    "ScriptBlockText",
];
const OPS: &[Op] = &[
    Op::Eq,
    Op::Contains,
    Op::EndsWith,
    Op::StartsWith,
    Op::Regex,
    Op::Glob,
];
const PRODUCTS: &[&str] = &[
    "windows", "linux", "macos", "aws", "azure", "gcp", "okta", "m365", "github", "zeek",
];
const WORDS: &[&str] = &[
    "suspicious",
    "process",
    "created",
    "remote",
    "credential",
    "token",
    "service",
    "registry",
    "powershell",
    "encoded",
    "download",
    "scheduled",
    "task",
    "lateral",
    "admin",
    "login",
    "failure",
    "mailbox",
    "rule",
    "bucket",
    "policy",
    "changed",
    "disabled",
    "execution",
];

fn words(g: &mut Gen, n: usize) -> String {
    (0..n).map(|_| *g.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

fn rule(g: &mut Gen, i: usize) -> Rule {
    let vendor = Vendor::ALL[i % Vendor::ALL.len()];
    let mut r = Rule::new(
        vendor,
        format!("{:08x}-{:04x}-4000-8000-{:012x}", g.next(), i % 65536, i),
        SourceLocation {
            root: 0,
            path: format!("{}/rule_{i}.yml", vendor.key()),
            line: 1,
        },
    );
    let mut title = words(g, 5);
    title[..1].make_ascii_uppercase();
    r.title = title;
    r.description = format!(
        "Detects {}.\n\n- {}\n- {}\n\nSee [the reference](https://example.com/{i}).",
        words(g, 20),
        words(g, 6),
        words(g, 6)
    );
    r.severity = Some(
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ][g.below(4)],
    );
    r.status = Some(["stable", "test", "experimental", "production"][g.below(4)].into());
    for _ in 0..1 + g.below(3) {
        let t = if g.below(3) == 0 {
            format!("T{}.{:03}", 1000 + g.below(600), 1 + g.below(8))
        } else {
            format!("T{}", 1000 + g.below(600))
        };
        r.techniques.push(t);
    }
    r.tactics.push(format!(
        "TA{:04}",
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40][g.below(12)]
    ));
    r.facet(FacetKind::Product, *g.pick(PRODUCTS));
    r.facet(FacetKind::Category, format!("category_{}", g.below(40)));
    for _ in 0..3 {
        r.facet(FacetKind::Tag, format!("tag.{}", g.below(400)));
    }
    r.facet(FacetKind::Author, format!("Author {}", g.below(150)));
    r.facet(
        FacetKind::DataSource,
        format!("Data source {}", g.below(80)),
    );
    r.facet(FacetKind::Table, format!("Table{}", g.below(60)));
    r.created = Some(format!(
        "2024-{:02}-{:02}",
        1 + g.below(12),
        1 + g.below(28)
    ));
    r.references = vec![format!("https://example.com/ref/{i}")];
    r.metadata = vec![("Version".into(), (1 + g.below(5)).to_string())];
    r.sections = vec![Section {
        title: "False positives".into(),
        markdown: format!("- {}", words(g, 8)),
    }];
    let mut preds = Vec::new();
    for _ in 0..2 + g.below(4) {
        let values = (0..1 + g.below(4))
            .map(|_| Value::str(format!("{}-{}", g.pick(WORDS), g.below(2000))))
            .collect();
        preds.push(Expr::Pred(Predicate::field(
            *g.pick(FIELDS),
            *g.pick(OPS),
            values,
        )));
    }
    let mut items = vec![Expr::named("selection", Expr::all(preds))];
    if g.below(2) == 0 {
        items.push(Expr::not(Expr::named(
            "filter",
            Expr::Pred(Predicate::field(
                *g.pick(FIELDS),
                Op::Eq,
                vec![Value::str(words(g, 2))],
            )),
        )));
    }
    if g.below(20) == 0 {
        items.push(Expr::opaque(
            "| stats count by user | where count > 5",
            "aggregation",
        ));
    }
    r.detection = Some(Detection {
        expr: Expr::all(items),
        output_fields: vec![
            OutputField::named("CommandLine"),
            OutputField::named("user.name"),
        ],
    });
    r.query = Some(Query {
        language: Language::SigmaDetection,
        text: "selection and not filter".into(),
    });
    r.tests = vec![
        RuleTest {
            name: "positive".into(),
            events: vec![
                serde_json::json!({"Image": "C:\\Windows\\cmd.exe", "CommandLine": words(g, 6)}),
            ],
            expect: Expect::Match,
            unsupported: None,
            location: None,
        },
        RuleTest {
            name: "negative".into(),
            events: vec![serde_json::json!({"Image": "C:\\Windows\\explorer.exe"})],
            expect: Expect::NoMatch,
            unsupported: None,
            location: None,
        },
    ];
    let mut raw = format!(
        "title: {}\nid: {}\nstatus: test\ndescription: |\n",
        r.title, r.id
    );
    for _ in 0..8 {
        raw.push_str(&format!("  {}\n", words(g, 12)));
    }
    raw.push_str("detection:\n  selection:\n");
    for _ in 0..30 {
        raw.push_str(&format!("    - '{}'\n", words(g, 3)));
    }
    raw.push_str("  condition: selection and not filter\nlevel: high\n");
    r.raw = raw;
    r.raw_format = "yaml".into();
    r
}

fn build(n: usize) -> Build {
    let mut g = Gen(42);
    let rules: Vec<Rule> = (0..n).map(|i| rule(&mut g, i)).collect();
    let catalog = Catalog::build(rules);
    let results = catalog
        .rules
        .iter()
        .map(ruledex::verify::matcher::run_tests)
        .collect();
    let mut files = BTreeMap::new();
    for r in &catalog.rules {
        *files.entry(r.vendor).or_insert(0) += 1;
    }
    Build {
        roots: vec![Root::from_files(0, RootSpec::new("synthetic"), Vec::new())],
        catalog,
        results,
        files,
        ..Build::default()
    }
}

fn dir_size(p: &std::path::Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += m.len();
            }
        }
    }
    (files, bytes)
}

/// (user, system) CPU seconds of this process so far (Linux; zeros elsewhere).
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of the file (utime, stime) in clock ticks of 1/100 s.
    (
        f.get(11).copied().unwrap_or(0.0) / 100.0,
        f.get(12).copied().unwrap_or(0.0) / 100.0,
    )
}

/// Wall, user and system seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, [f64; 3]) {
    let (u0, s0) = cpu();
    let t = Instant::now();
    let v = f();
    let wall = t.elapsed().as_secs_f64();
    let (u1, s1) = cpu();
    (v, [wall, u1 - u0, s1 - s0])
}

fn main() {
    let sizes: Vec<usize> = std::env::var("RULEDEX_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let keep = std::env::var("RULEDEX_BENCH_OUT").ok().map(PathBuf::from);
    let config = Config::default();
    println!(
        "{:>7} {:>7} {:>7} {:>7} | {:>23} | {:>23} | {:>6}",
        "rules",
        "pages",
        "files",
        "MB",
        "fresh wall/user/sys s",
        "rebuild wall/user/sys s",
        "links s"
    );
    let real = std::env::var("RULEDEX_BENCH_ROOTS").ok().map(|roots| {
        let specs: Vec<RootSpec> = roots.split(':').map(RootSpec::new).collect();
        let (b, t) = timed(|| ruledex::pipeline::run(&specs, &()).unwrap());
        eprintln!(
            "loaded {} rules in {:.2}s wall",
            b.catalog.rules.len(),
            t[0]
        );
        b
    });
    let builds: Vec<Box<dyn Fn() -> Build>> = match real {
        Some(b) => {
            let cell = std::cell::RefCell::new(Some(b));
            vec![Box::new(move || {
                cell.borrow_mut().take().expect("used once")
            })]
        }
        None => sizes
            .iter()
            .map(|&n| Box::new(move || build(n)) as Box<dyn Fn() -> Build>)
            .collect(),
    };
    for make in builds {
        let b = make();
        let n = b.catalog.rules.len();
        let tmp = tempfile::tempdir().unwrap();
        let out = keep.clone().unwrap_or_else(|| tmp.path().join("site"));
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        // Fresh: an empty output folder. Rebuild: the same input again (nothing changed).
        let (w, fresh) = timed(|| render::site(&b, &config, &out).unwrap());
        let (_, again) = timed(|| render::site(&b, &config, &out).unwrap());
        let (links, l) = timed(|| render::links::check(&out).unwrap());
        assert!(
            links.broken.is_empty(),
            "{:?}",
            &links.broken[..links.broken.len().min(5)]
        );
        let (files, bytes) = dir_size(&out);
        let f = |t: [f64; 3]| format!("{:>7.2} {:>7.2} {:>7.2}", t[0], t[1], t[2]);
        println!(
            "{:>7} {:>7} {:>7} {:>7.1} | {} | {} | {:>6.2} {:>8} {:>6}",
            n,
            w.html_pages + w.markdown_pages,
            files,
            bytes as f64 / 1e6,
            f(fresh),
            f(again),
            l[0],
            links.links,
            links.broken.len()
        );
    }
}
