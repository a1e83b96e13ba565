//! The Elastic format on the real corpus (`$RULEDEX_CORPUS/elastic`), with the issue's
//! figures as thresholds: every rule file loads or gets a diagnostic, no panic, at least
//! 90% of query-based rules have an indicator; machine-learning rules are counted apart.
//! Skipped (with a message) when `RULEDEX_CORPUS` is unset.
//!
//! Without the corpus: the sample rules under `rules/elastic` pass their tests, hostile
//! fixtures under `tests/fixtures/elastic` get diagnostics (never a panic), and random
//! and truncated queries never panic a front end.

use ruledex::catalog::indicators;
use ruledex::discover::{read_root, RootSpec};
use ruledex::formats::Loaded;
use ruledex::formats::{elastic::Elastic, Format};
use ruledex::model::Language;
use ruledex::verify::checks::Check;
use ruledex::verify::{matcher, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn load_dir(path: &Path) -> (ruledex::discover::Root, Loaded) {
    let (root, _) = read_root(0, RootSpec::new(path)).expect("folder");
    let files: Vec<_> = root
        .files
        .iter()
        .filter(|f| Elastic.is_rule_file(f))
        .collect();
    let loaded = Elastic.load(&root, &files);
    (root, loaded)
}

/// Every front end (and the matcher on its IR) on one text; none may panic.
fn all_front_ends(text: &str) {
    let ev = serde_json::json!({"process": {"name": "cmd.exe", "args": ["a", "b"]}, "event": {"category": ["process"]}});
    let mut exprs = Vec::new();
    if let Ok(e) = ruledex::query::kuery::parse(text) {
        exprs.push(e);
    }
    if let Ok(e) = ruledex::query::lucene::parse(text) {
        exprs.push(e);
    }
    if let Ok(d) = ruledex::query::eql::parse(text, "event.category") {
        exprs.push(d.expr);
    }
    if let Ok(p) = ruledex::query::esql::parse(text) {
        exprs.push(p.detection.expr);
    }
    for e in &exprs {
        let _ = matcher::eval(e, &ev);
        let _ = e.fully_parsed();
    }
}

fn corpus() -> Option<PathBuf> {
    let Some(base) = std::env::var_os("RULEDEX_CORPUS") else {
        eprintln!("RULEDEX_CORPUS is not set: skipping the Elastic corpus test");
        return None;
    };
    let p = PathBuf::from(base).join("elastic");
    if !p.is_dir() {
        eprintln!(
            "{} is not a folder: skipping the Elastic corpus test",
            p.display()
        );
        return None;
    }
    Some(p)
}

#[test]
fn elastic_corpus_figures() {
    let Some(path) = corpus() else { return };
    let (root, _) = read_root(0, RootSpec::new(&path)).expect("corpus root");
    let toml_files = root.files.iter().filter(|f| f.ext() == "toml").count();
    let files: Vec<_> = root
        .files
        .iter()
        .filter(|f| Elastic.is_rule_file(f))
        .collect();
    assert_eq!(
        files.len(),
        toml_files,
        "every TOML file of the corpus is a rule file"
    );
    let loaded = Elastic.load(&root, &files);

    let verbose = std::env::var_os("RULEDEX_VERBOSE").is_some();
    let panics = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("internal error"))
        .count();
    let loaded_paths: BTreeSet<&str> = loaded
        .rules
        .iter()
        .map(|r| r.source.path.as_str())
        .collect();
    let diag_files: BTreeSet<String> = loaded.diagnostics.iter().map(|d| d.file.clone()).collect();
    let unaccounted: Vec<&str> = files
        .iter()
        .filter(|f| {
            !loaded_paths.contains(f.rel.as_str()) && !diag_files.contains(&root.display(&f.rel))
        })
        .map(|f| f.rel.as_str())
        .collect();
    let load_errors = files.len() - loaded_paths.len();

    let ml = loaded.rules.iter().filter(|r| r.query.is_none()).count();
    let query_rules: Vec<_> = loaded.rules.iter().filter(|r| r.query.is_some()).collect();
    let with_indicators = query_rules
        .iter()
        .filter(|r| !indicators::of_rule(r).is_empty())
        .count();
    let fully = query_rules
        .iter()
        .filter(|r| r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()))
        .count();
    let mut by_lang: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for r in &query_rules {
        let lang = r
            .query
            .as_ref()
            .map(|q| q.language)
            .unwrap_or(Language::Kuery);
        let e = by_lang.entry(lang.name()).or_default();
        e.0 += 1;
        if !indicators::of_rule(r).is_empty() {
            e.1 += 1;
        }
        if r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()) {
            e.2 += 1;
        }
    }
    let syntax: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Check::ElasticQuerySyntax)
        .collect();
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &loaded.diagnostics {
        *by_code.entry(d.code.id()).or_default() += 1;
    }
    eprintln!(
        "elastic corpus: {} rule files, {} rules, {} load errors, {} panics, {} ML rules (no query), \
         {} query rules: {} with indicators ({:.1}%), {} fully parsed ({:.1}%), {} query syntax findings",
        files.len(),
        loaded.rules.len(),
        load_errors,
        panics,
        ml,
        query_rules.len(),
        with_indicators,
        100.0 * with_indicators as f64 / query_rules.len().max(1) as f64,
        fully,
        100.0 * fully as f64 / query_rules.len().max(1) as f64,
        syntax.len()
    );
    for (lang, (n, ind, full)) in &by_lang {
        eprintln!("  {lang}: {n} rules, {ind} with indicators, {full} fully parsed");
    }
    eprintln!("  diagnostics by check: {by_code:?}");
    // `RULEDEX_DUMP=<path part>` prints the IR of matching rules.
    if let Some(want) = std::env::var_os("RULEDEX_DUMP") {
        let want = want.to_string_lossy().to_string();
        for r in loaded
            .rules
            .iter()
            .filter(|r| r.source.path.contains(&want))
        {
            eprintln!("== {}", r.source.path);
            eprintln!(
                "{}",
                serde_json::to_string(&r.detection).unwrap_or_default()
            );
        }
    }
    if verbose {
        for d in &loaded.diagnostics {
            if d.code == Check::InvalidValue || d.code == Check::MissingField {
                eprintln!("{}:{}: {}", d.file, d.line, d.message);
            }
        }
        for r in &query_rules {
            if indicators::of_rule(r).is_empty() {
                eprintln!("no indicator: {}", r.source.path);
            }
        }
        for d in &loaded.diagnostics {
            if d.code == Check::ElasticQuerySyntax || d.code == Check::UnsupportedSyntax {
                eprintln!("{}:{}: {}", d.file, d.line, d.message);
            }
        }
    }

    assert!(
        unaccounted.is_empty(),
        "files neither loaded nor diagnosed: {unaccounted:?}"
    );
    assert_eq!(panics, 0, "no panic on any rule file");
    assert!(ml > 0, "machine-learning rules are counted apart");
    assert!(
        with_indicators * 100 >= query_rules.len() * 90,
        "at least 90% of query-based rules have an indicator ({with_indicators} of {})",
        query_rules.len()
    );
    // Every rule of the corpus loads (none is broken TOML).
    assert_eq!(load_errors, 0);
}

#[test]
fn sample_rules_pass_their_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/elastic");
    let (root, loaded) = load_dir(&dir);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let sidecars = root
        .files
        .iter()
        .filter(|f| f.rel.ends_with(".tests.yml"))
        .count();
    assert!(loaded.rules.len() >= 5);
    assert_eq!(
        sidecars,
        loaded.rules.len(),
        "every sample rule has test events"
    );
    let mut languages = BTreeSet::new();
    for r in &loaded.rules {
        languages.insert(r.query.as_ref().expect("a query").language.name());
        assert!(
            r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()),
            "{}",
            r.id
        );
        let results = matcher::run_tests(r);
        use ruledex::model::Expect;
        assert!(
            r.tests.iter().any(|t| t.expect == Expect::Match),
            "{}: a positive test",
            r.id
        );
        assert!(
            r.tests.iter().any(|t| t.expect == Expect::NoMatch),
            "{}: a negative test",
            r.id
        );
        for t in results {
            assert_eq!(
                t.outcome,
                Outcome::Pass,
                "{} / {}: {}",
                r.title,
                t.name,
                t.detail
            );
        }
    }
    assert_eq!(
        languages.len(),
        4,
        "a sample rule in each language: {languages:?}"
    );
}

#[test]
fn hostile_fixtures_get_diagnostics_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/elastic");
    let (root, loaded) = load_dir(&dir);
    let claimed: BTreeSet<String> = root
        .files
        .iter()
        .filter(|f| Elastic.is_rule_file(f))
        .map(|f| f.rel.clone())
        .collect();
    assert!(!claimed.contains("not_a_rule.toml"));
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| !d.message.contains("internal error")),
        "no panic: {:#?}",
        loaded.diagnostics
    );
    let of = |file: &str| -> Vec<(&'static str, usize, String)> {
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.file.ends_with(&format!("/{file}")))
            .map(|d| (d.code.id(), d.line, d.message.clone()))
            .collect()
    };
    // Every claimed file loads or has a diagnostic.
    for f in &claimed {
        let loaded_rule = loaded.rules.iter().any(|r| &r.source.path == f);
        assert!(
            loaded_rule || !of(f).is_empty(),
            "{f}: neither a rule nor a finding"
        );
    }
    // Broken TOML: a parse error on the line of the unterminated string.
    let d = of("broken_toml.toml");
    assert_eq!((d[0].0, d[0].1), ("parse_error", 6), "{d:?}");
    let d = of("rule_is_an_array.toml");
    assert_eq!(d[0].0, "parse_error", "{d:?}");
    // Wrong types and values: one finding each, on their lines.
    let d = of("wrong_types.toml");
    let has = |code: &str, line: usize| d.iter().any(|x| x.0 == code && x.1 == line);
    for (code, line) in [
        ("invalid_value", 2),  // creation_date
        ("invalid_value", 3),  // maturity
        ("invalid_value", 4),  // updated_date
        ("missing_field", 8),  // description empty
        ("invalid_value", 10), // risk_score
        ("invalid_value", 11), // rule_id
        ("invalid_value", 12), // severity
        ("invalid_value", 13), // tags
        ("invalid_value", 16), // query
        ("invalid_value", 17), // building_block_type
        ("invalid_value", 22), // tactic id
        ("invalid_value", 25), // technique id
        ("invalid_value", 31), // sub-technique under the wrong technique
    ] {
        assert!(has(code, line), "{code} at line {line} in {d:#?}");
    }
    // Query syntax errors point into the file.
    let d = of("query_syntax_error.toml");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].0, d[0].1), ("elastic_query_syntax", 18), "{d:?}");
    let d = of("unicode_and_odd_values.toml");
    assert!(
        d.iter().any(|x| x.0 == "elastic_query_syntax" && x.1 == 17),
        "{d:?}"
    );
    let d = of("unknown_language_and_type.toml");
    assert!(
        d.iter().filter(|x| x.0 == "invalid_value").count() >= 2,
        "{d:?}"
    );
    let d = of("ml_without_job.toml");
    assert!(
        d.iter()
            .any(|x| x.0 == "missing_field" && x.2.contains("machine_learning_job_id")),
        "{d:?}"
    );
    // Nesting beyond the limit is a syntax finding, not a stack overflow.
    for f in [
        "deep_kuery.toml",
        "deep_kuery_not.toml",
        "deep_kuery_values.toml",
        "deep_eql.toml",
        "deep_eql_minus.toml",
        "long_eql_sum.toml",
        "deep_esql.toml",
        "deep_lucene.toml",
        "deep_lucene_fields.toml",
    ] {
        let d = of(f);
        assert!(
            d.iter().any(|x| x.0 == "elastic_query_syntax"
                && (x.2.contains("deeper than") || x.2.contains("in a row"))),
            "{f}: {d:?}"
        );
        assert!(
            loaded.rules.iter().any(|r| r.source.path == f),
            "{f} still loads"
        );
    }
}

/// A tiny deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn random_token_soup_never_panics() {
    const PIECES: &[&str] = &[
        "process where ",
        "sequence by a ",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        "\"",
        "'",
        "`",
        "\"\"\"",
        "?",
        "~",
        "and ",
        "or ",
        "not ",
        "in ",
        "in~ ",
        "like~ ",
        ":",
        "==",
        "!=",
        ">=",
        "<",
        "a.b",
        "x",
        "*",
        "\\",
        "/",
        "|",
        "| where ",
        "from logs-* ",
        "| stats c = count(*) by a ",
        "1",
        "5m",
        "-",
        "+",
        ",",
        "é",
        "🔥",
        "\n",
        " ",
        "with maxspan=1m ",
        "until ",
        "!",
        "KQL(\"a:1\")",
        "cidrMatch(a, \"10.0.0.0/8\")",
        "[1 TO *]",
        "_exists_:",
        "^2",
        "::",
        "=",
        "| eval y = to_lower(x) ",
        "is not null ",
        "\\u{",
        "/* ",
        "// ",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let n = 1 + rng.next() % 24;
        let text: String = (0..n).map(|_| rng.pick(PIECES)).collect();
        all_front_ends(&text);
    }
}

#[test]
fn truncated_corpus_queries_never_panic() {
    let Some(path) = corpus() else { return };
    let (_, loaded) = load_dir(&path);
    for r in &loaded.rules {
        let Some(q) = &r.query else { continue };
        let chars: Vec<(usize, char)> = q.text.char_indices().collect();
        for k in 1..6 {
            let cut = chars.get(chars.len() * k / 6).map(|c| c.0).unwrap_or(0);
            all_front_ends(&q.text[..cut]);
        }
    }
}
