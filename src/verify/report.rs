//! The `ruledex check` report: JSON (the yardstick of every format), text and SARIF 2.1.0.

use crate::diag::Diagnostic;
use crate::pipeline::Build;
use crate::verify::checks::{Check, Level};
use crate::verify::Outcome;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct TestCounts {
    pub pass: usize,
    pub fail: usize,
    pub unsupported: usize,
}

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Rule files found.
    pub files: usize,
    /// Rules loaded.
    pub rules: usize,
    /// Rule files that yielded no rule and an error.
    pub load_errors: usize,
    /// Rules with at least one (field, operator, value) indicator.
    pub with_indicators: usize,
    /// Rules whose condition has no opaque node.
    pub fully_parsed: usize,
    pub tests: TestCounts,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.files += o.files;
        self.rules += o.rules;
        self.load_errors += o.load_errors;
        self.with_indicators += o.with_indicators;
        self.fully_parsed += o.fully_parsed;
        self.tests.pass += o.tests.pass;
        self.tests.fail += o.tests.fail;
        self.tests.unsupported += o.tests.unsupported;
    }
}

/// One test result, named by its rule and the rule's page.
#[derive(Debug, Serialize)]
pub struct TestRow {
    pub vendor: &'static str,
    pub rule: String,
    pub page: String,
    pub name: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Which rules and findings a report covers (`--changed-since`, `--only-failures`).
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// Only these rules (indexes into the catalog); `None`: all.
    pub rules: Option<std::collections::HashSet<usize>>,
    /// Only findings in these files (shown paths) besides those of the rules in scope.
    pub files: Option<std::collections::HashSet<String>>,
    /// Leave passing tests out of the test list.
    pub only_failures: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub vendors: BTreeMap<&'static str, Counts>,
    pub totals: Counts,
    pub diagnostics: Vec<Diagnostic>,
    /// Every test result (only failed and unsupported ones with `--only-failures`).
    pub tests: Vec<TestRow>,
    /// With `--baseline`: findings the baseline accepted, and baseline entries now fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineCounts>,
}

#[derive(Debug, Serialize, Clone, Copy)]
pub struct BaselineCounts {
    pub suppressed: usize,
    pub fixed: usize,
}

impl Report {
    pub fn new(build: &Build) -> Report {
        Report::scoped(build, &Scope::default())
    }

    pub fn scoped(build: &Build, scope: &Scope) -> Report {
        let in_scope = |i: usize| scope.rules.as_ref().is_none_or(|s| s.contains(&i));
        let mut vendors: BTreeMap<&'static str, Counts> = BTreeMap::new();
        for (v, n) in &build.files {
            vendors.entry(v.key()).or_default().files = *n;
        }
        for (v, n) in &build.failed_files {
            vendors.entry(v.key()).or_default().load_errors = *n;
        }
        let cat = &build.catalog;
        let mut tests = Vec::new();
        for (i, r) in cat.rules.iter().enumerate() {
            if !in_scope(i) {
                continue;
            }
            for t in &build.results[i] {
                if scope.only_failures && t.outcome == Outcome::Pass {
                    continue;
                }
                tests.push(TestRow {
                    vendor: r.vendor.key(),
                    rule: r.id.clone(),
                    page: cat.rule_page(i),
                    name: t.name.clone(),
                    outcome: t.outcome,
                    detail: t.detail.clone(),
                });
            }
            let c = vendors.entry(r.vendor.key()).or_default();
            c.rules += 1;
            if !cat.indicators[i].is_empty() {
                c.with_indicators += 1;
            }
            if r.detection.as_ref().is_some_and(|d| d.expr.fully_parsed()) {
                c.fully_parsed += 1;
            }
            for t in &build.results[i] {
                match t.outcome {
                    Outcome::Pass => c.tests.pass += 1,
                    Outcome::Fail => c.tests.fail += 1,
                    Outcome::Unsupported => c.tests.unsupported += 1,
                }
            }
        }
        let mut totals = Counts::default();
        for c in vendors.values() {
            totals.add(c);
        }
        let diagnostics = match (&scope.rules, &scope.files) {
            (None, None) => build.diagnostics.clone(),
            _ => {
                let by_file = build.rules_by_file();
                build
                    .diagnostics
                    .iter()
                    .filter(|d| {
                        scope.files.as_ref().is_some_and(|f| f.contains(&d.file))
                            || by_file
                                .get(&d.file)
                                .is_some_and(|rs| rs.iter().any(|&i| in_scope(i)))
                            || d.rule.as_deref().is_some_and(|id| {
                                cat.rules
                                    .iter()
                                    .enumerate()
                                    .any(|(i, r)| r.id == id && in_scope(i))
                            })
                    })
                    .cloned()
                    .collect()
            }
        };
        Report {
            version: 1,
            vendors,
            totals,
            diagnostics,
            tests,
            baseline: None,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises") + "\n"
    }

    /// Diagnostics grouped by file with the offending line and a caret, then a summary.
    pub fn to_text(&self, build: &Build, min_level: Level) -> String {
        let texts = file_texts(build);
        let mut out = String::new();
        let mut current = "";
        for d in self.diagnostics.iter().filter(|d| d.level >= min_level) {
            if d.file != current {
                current = &d.file;
                let _ = writeln!(out, "\n{}", d.file);
            }
            let loc = match (d.line, d.column) {
                (0, _) => d.file.clone(),
                (l, Some(c)) => format!("{}:{l}:{c}", d.file),
                (l, None) => format!("{}:{l}", d.file),
            };
            let _ = writeln!(
                out,
                "{loc}: {}[{}]: {}",
                d.level.as_str(),
                d.code.id(),
                d.message
            );
            if d.line > 0 {
                if let Some(line) = texts
                    .get(d.file.as_str())
                    .and_then(|t| t.lines().nth(d.line - 1))
                {
                    let _ = writeln!(out, "  {:>5} | {}", d.line, line);
                    if let Some(c) = d.column {
                        let _ = writeln!(out, "        | {}^", " ".repeat(c.saturating_sub(1)));
                    }
                }
            }
        }
        let _ = writeln!(out, "\n{}", self.summary());
        out
    }

    pub fn summary(&self) -> String {
        let t = &self.totals;
        let count = |l: Level| self.diagnostics.iter().filter(|d| d.level == l).count();
        let mut s = format!(
            "{} rules from {} files ({} load errors); tests: {} pass, {} fail, {} unsupported; {} errors, {} warnings, {} notes",
            t.rules,
            t.files,
            t.load_errors,
            t.tests.pass,
            t.tests.fail,
            t.tests.unsupported,
            count(Level::Error),
            count(Level::Warning),
            count(Level::Note)
        );
        if let Some(b) = self.baseline {
            let _ = write!(
                s,
                "; baseline: {} suppressed, {} fixed",
                b.suppressed, b.fixed
            );
        }
        s
    }

    /// SARIF 2.1.0 with the lint catalogue as the tool's rules.
    pub fn to_sarif(&self) -> String {
        let rules: Vec<serde_json::Value> = Check::ALL
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id(),
                    "shortDescription": {"text": c.description()},
                    "defaultConfiguration": {"level": c.default_level().as_str()},
                    "properties": {"vendors": c.vendors()},
                })
            })
            .collect();
        let index: HashMap<&str, usize> = Check::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id(), i))
            .collect();
        let results: Vec<serde_json::Value> = self
            .diagnostics
            .iter()
            .map(|d| {
                let mut loc = serde_json::json!({"artifactLocation": {"uri": sarif_uri(&d.file)}});
                if d.line > 0 {
                    let mut region = serde_json::json!({"startLine": d.line});
                    if let Some(c) = d.column {
                        region["startColumn"] = c.into();
                    }
                    loc["region"] = region;
                }
                serde_json::json!({
                    "ruleId": d.code.id(),
                    "ruleIndex": index[d.code.id()],
                    "level": d.level.as_str(),
                    "message": {"text": d.message},
                    "locations": [{"physicalLocation": loc}],
                })
            })
            .collect();
        let doc = serde_json::json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "ruledex",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/ruledex/ruledex",
                    "rules": rules,
                }},
                "results": results,
            }],
        });
        serde_json::to_string_pretty(&doc).expect("sarif serialises")
    }
}

impl Report {
    /// Keeps only findings that are not in the baseline.
    pub fn apply_baseline(&mut self, base: &crate::verify::baseline::Baseline, build: &Build) {
        let cmp = base.compare(std::mem::take(&mut self.diagnostics), |d| build.relative(d));
        self.diagnostics = cmp.new;
        self.baseline = Some(BaselineCounts {
            suppressed: cmp.suppressed,
            fixed: cmp.fixed,
        });
    }

    /// GitHub Actions workflow commands: one annotation per finding.
    pub fn to_github(&self) -> String {
        let esc_data = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let esc_prop = |s: &str| esc_data(s).replace(':', "%3A").replace(',', "%2C");
        let mut out = String::new();
        for d in &self.diagnostics {
            let cmd = match d.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Note => "notice",
            };
            let mut props = format!("file={}", esc_prop(&d.file));
            if d.line > 0 {
                let _ = write!(props, ",line={}", d.line);
            }
            if let Some(c) = d.column {
                let _ = write!(props, ",col={c}");
            }
            let _ = write!(props, ",title={}", esc_prop(d.code.id()));
            let mut msg = d.message.clone();
            if let Some(p) = &d.page {
                let _ = write!(msg, " (page: {p})");
            }
            let _ = writeln!(out, "::{cmd} {props}::{}", esc_data(&msg));
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// JUnit XML: a suite of rule tests per vendor, and a suite with one case per check.
    pub fn to_junit(&self) -> String {
        let mut suites = String::new();
        let (mut all_tests, mut all_fail) = (0usize, 0usize);
        let mut by_vendor: BTreeMap<&str, Vec<&TestRow>> = BTreeMap::new();
        for t in &self.tests {
            by_vendor.entry(t.vendor).or_default().push(t);
        }
        for (vendor, rows) in by_vendor {
            let fail = rows.iter().filter(|t| t.outcome == Outcome::Fail).count();
            let skip = rows
                .iter()
                .filter(|t| t.outcome == Outcome::Unsupported)
                .count();
            all_tests += rows.len();
            all_fail += fail;
            let _ = writeln!(
                suites,
                "  <testsuite name=\"{vendor} tests\" tests=\"{}\" failures=\"{fail}\" errors=\"0\" skipped=\"{skip}\">",
                rows.len()
            );
            for t in rows {
                let _ = write!(
                    suites,
                    "    <testcase classname=\"{}.{}\" name=\"{}\"",
                    xml(vendor),
                    xml(&t.rule),
                    xml(&t.name)
                );
                match t.outcome {
                    Outcome::Pass => suites.push_str("/>\n"),
                    Outcome::Fail => {
                        let _ = writeln!(
                            suites,
                            ">\n      <failure message=\"{}\" type=\"test_failed\">page: {}</failure>\n    </testcase>",
                            xml(&t.detail),
                            xml(&t.page)
                        );
                    }
                    Outcome::Unsupported => {
                        let _ = writeln!(
                            suites,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(&t.detail)
                        );
                    }
                }
            }
            suites.push_str("  </testsuite>\n");
        }
        let mut check_fail = 0;
        let mut cases = String::new();
        for c in Check::ALL {
            let found: Vec<&Diagnostic> =
                self.diagnostics.iter().filter(|d| d.code == *c).collect();
            let errors = found.iter().filter(|d| d.level == Level::Error).count();
            let _ = write!(
                cases,
                "    <testcase classname=\"checks\" name=\"{}\"",
                c.id()
            );
            if found.is_empty() {
                cases.push_str("/>\n");
                continue;
            }
            let mut body = String::new();
            for d in &found {
                let _ = writeln!(
                    body,
                    "{}:{}: {}: {}",
                    d.file,
                    d.line,
                    d.level.as_str(),
                    d.message
                );
            }
            if errors > 0 {
                check_fail += 1;
                let _ = writeln!(
                    cases,
                    ">\n      <failure message=\"{errors} findings at error level\" type=\"{}\">{}</failure>\n    </testcase>",
                    c.id(),
                    xml(&body)
                );
            } else {
                let _ = writeln!(
                    cases,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml(&body)
                );
            }
        }
        let _ = writeln!(
            suites,
            "  <testsuite name=\"checks\" tests=\"{}\" failures=\"{check_fail}\" errors=\"0\" skipped=\"0\">\n{cases}  </testsuite>",
            Check::ALL.len()
        );
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ruledex\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n{suites}</testsuites>\n",
            all_tests + Check::ALL.len(),
            all_fail + check_fail
        )
    }
}

/// SARIF wants URI references: forward slashes, spaces and other specials escaped.
fn sarif_uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.trim_start_matches("./").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Escapes text for XML attributes and content; drops characters XML 1.0 forbids.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn file_texts(build: &Build) -> HashMap<String, &str> {
    let mut m = HashMap::new();
    for root in &build.roots {
        for f in &root.files {
            m.insert(root.display(&f.rel), f.text.as_str());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_escaped() {
        assert_eq!(sarif_uri("./a b/c%.yml"), "a%20b/c%25.yml");
    }

    #[test]
    fn xml_escapes_markup_and_control_chars() {
        assert_eq!(
            xml("<a href=\"x\">&\u{1}</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
