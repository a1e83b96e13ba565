//! The build pipeline as plain functions: read roots → load rules → catalog → verify.

use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::discover::{self, Root, RootSpec, SourceFile};
use crate::formats::{self, Format, Loaded};
use crate::model::{Rule, Vendor};
use crate::verify::checks::Check;
use crate::verify::{self, TestResult};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Everything a build knows: renderers and reports are pure functions of it.
#[derive(Debug, Default)]
pub struct Build {
    pub roots: Vec<Root>,
    pub catalog: Catalog,
    /// Test results of each rule, parallel to `catalog.rules`.
    pub results: Vec<Vec<TestResult>>,
    /// Load errors, lints and test findings, sorted by file and line.
    pub diagnostics: Vec<Diagnostic>,
    /// Rule files found per vendor.
    pub files: BTreeMap<Vendor, usize>,
    /// Files with a load error, per vendor (files that yielded no rule and an error).
    pub failed_files: BTreeMap<Vendor, usize>,
    /// Files no format claimed (support files, docs, unknown).
    pub unclaimed_files: usize,
    /// Microsoft's Solutions Analyzer reference (table facts, solution ↔ connector ↔ table
    /// map, parsers), from folders of the roots or the one `ruledex.toml` names.
    pub reference: crate::catalog::reference::Reference,
    /// Solutions, connectors and parsers of the Sentinel / Defender XDR roots, merged.
    pub sentinel: crate::formats::sentinel::RootInfo,
}

/// Progress callbacks for long work (the CLI draws bars; tests pass `&()`).
pub trait Progress: Sync {
    fn stage(&self, _name: &str, _total: usize) {}
    fn advance(&self, _n: usize) {}
    fn finish(&self) {}
}

impl Progress for () {}

/// Reads, loads, indexes and verifies the given roots.
pub fn run(specs: &[RootSpec], progress: &dyn Progress) -> Result<Build, String> {
    let mut build = Build::default();
    let mut rules: Vec<Rule> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let (root, diags) = discover::read_root(i, spec.clone())?;
        build.diagnostics.extend(diags);
        build.roots.push(root);
    }
    let total: usize = build.roots.iter().map(|r| r.files.len()).sum();
    progress.stage("loading", total);
    for root in &build.roots {
        let (loaded, stats) = load_root(root);
        for (v, n) in stats.files {
            *build.files.entry(v).or_insert(0) += n;
        }
        for (v, n) in stats.failed_files {
            *build.failed_files.entry(v).or_insert(0) += n;
        }
        build.unclaimed_files += stats.unclaimed_files;
        progress.advance(root.files.len());
        rules.extend(loaded.rules);
        build.diagnostics.extend(loaded.diagnostics);
    }
    progress.finish();
    let (reference, diags) = crate::catalog::reference::Reference::from_roots(&build.roots);
    build.reference = reference;
    build.diagnostics.extend(diags);
    build.sentinel = sentinel_info(&build.roots, &rules);
    build
        .diagnostics
        .extend(duplicate_ids(&rules, &build.roots));
    // Lint ATT&CK ids as written, then file rules under the replacements of revoked ids.
    let roots = &build.roots;
    let attack =
        crate::verify::attack_lint::lint(&rules, |r| roots[r.source.root].display(&r.source.path));
    build.diagnostics.extend(attack);
    rules
        .par_iter_mut()
        .for_each(crate::verify::attack_lint::resolve_rule);
    build.catalog = Catalog::build(rules);
    progress.stage("verifying", build.catalog.rules.len());
    build.results = build
        .catalog
        .rules
        .par_iter()
        .map(|r| {
            let res = verify::matcher::run_tests(r);
            progress.advance(1);
            res
        })
        .collect();
    progress.finish();
    let test_diags = test_findings(&build);
    build.diagnostics.extend(test_diags);
    link_pages(&mut build);
    build.diagnostics.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.code, &a.message)
            .cmp(&(&b.file, b.line, b.column, b.code, &b.message))
    });
    build.diagnostics.dedup_by(|a, b| {
        a.file == b.file && a.line == b.line && a.code == b.code && a.message == b.message
    });
    Ok(build)
}

/// Assigns each file of the root to the first format that claims it, then loads per format.
#[derive(Default)]
struct LoadStats {
    files: Vec<(Vendor, usize)>,
    failed_files: Vec<(Vendor, usize)>,
    unclaimed_files: usize,
}

fn load_root(root: &Root) -> (Loaded, LoadStats) {
    let mut stats = LoadStats::default();
    let formats: Vec<&dyn Format> = match root.spec.vendor {
        Some(v) => vec![formats::by_vendor(v)],
        None => formats::all(),
    };
    let claims: Vec<Option<usize>> = root
        .files
        .par_iter()
        .map(|f| {
            if formats::is_sidecar(&f.rel) {
                return None;
            }
            formats.iter().position(|fmt| fmt.is_rule_file(f))
        })
        .collect();
    let mut per_format: Vec<Vec<&SourceFile>> = vec![Vec::new(); formats.len()];
    for (f, c) in root.files.iter().zip(&claims) {
        match c {
            Some(i) => per_format[*i].push(f),
            None => stats.unclaimed_files += 1,
        }
    }
    let outputs: Vec<(Vendor, usize, Loaded)> = formats
        .par_iter()
        .zip(per_format.par_iter())
        .filter(|(_, files)| !files.is_empty())
        .map(|(fmt, files)| (fmt.vendor(), files.len(), fmt.load(root, files)))
        .collect();
    let mut all = Loaded::default();
    for (vendor, n, loaded) in outputs {
        stats.files.push((vendor, n));
        // A file with an error-level load diagnostic and no rule counts as a load error.
        let mut with_rules: HashMap<&str, usize> = HashMap::new();
        for r in &loaded.rules {
            *with_rules.entry(r.source.path.as_str()).or_insert(0) += 1;
        }
        let mut failed: Vec<&str> = loaded
            .diagnostics
            .iter()
            .filter(|d| {
                d.code == Check::ParseError && d.level == crate::verify::checks::Level::Error
            })
            .filter_map(|d| {
                let rel = d.file.strip_prefix(&root.display("")).unwrap_or(&d.file);
                (!with_rules.contains_key(rel)).then_some(rel)
            })
            .collect();
        failed.sort();
        failed.dedup();
        stats.failed_files.push((vendor, failed.len()));
        all.extend(loaded);
    }
    (all, stats)
}

/// The solutions, connectors and parsers of the roots that hold Sentinel or Defender XDR
/// rules, merged (the first root defining a name wins).
fn sentinel_info(roots: &[Root], rules: &[Rule]) -> crate::formats::sentinel::RootInfo {
    use std::collections::BTreeSet;
    let wanted: BTreeSet<usize> = rules
        .iter()
        .filter(|r| matches!(r.vendor, Vendor::Sentinel | Vendor::DefenderXdr))
        .map(|r| r.source.root)
        .collect();
    let infos: Vec<_> = roots
        .par_iter()
        .filter(|r| wanted.contains(&r.index))
        .map(crate::formats::sentinel::RootInfo::read)
        .collect();
    let mut out = crate::formats::sentinel::RootInfo::default();
    for info in infos {
        out.merge(info);
    }
    out
}

/// Two rules of one vendor with the same native id.
fn duplicate_ids(rules: &[Rule], roots: &[Root]) -> Vec<Diagnostic> {
    let mut seen: BTreeMap<(Vendor, &str), Vec<&Rule>> = BTreeMap::new();
    for r in rules {
        seen.entry((r.vendor, r.id.as_str())).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((_, id), list) in seen {
        if list.len() < 2 {
            continue;
        }
        let mut list = list;
        list.sort_by(|a, b| a.source.cmp(&b.source));
        let first = &list[0].source;
        let first_path = roots[first.root].display(&first.path);
        for r in &list[1..] {
            out.push(
                Diagnostic::new(
                    Check::DuplicateId,
                    roots[r.source.root].display(&r.source.path),
                    r.source.line,
                    format!("id `{id}` is also used by {}:{}", first_path, first.line),
                )
                .for_rule(id),
            );
        }
    }
    out
}

impl Build {
    /// The root-relative path of a diagnostic's file (its shown path when no root matches).
    pub fn relative(&self, d: &Diagnostic) -> String {
        for root in &self.roots {
            let prefix = root.display("");
            if let Some(rel) = d.file.strip_prefix(&prefix).filter(|_| !prefix.is_empty()) {
                return rel.to_string();
            }
        }
        d.file.clone()
    }

    /// Adds the reference folder `ruledex.toml` names (its row diagnostics included).
    pub fn add_reference(&mut self, dir: &std::path::Path) -> Result<(), String> {
        let mut diags = Vec::new();
        self.reference.add_dir(dir, &mut diags)?;
        self.diagnostics.extend(diags);
        Ok(())
    }

    /// Applies the `[[checks]]` policy of `ruledex.toml` to the diagnostics.
    pub fn apply_policy(&mut self, rules: &[crate::verify::policy::CheckRule]) {
        let diags = std::mem::take(&mut self.diagnostics);
        self.diagnostics = crate::verify::policy::apply(rules, diags, |d| self.relative(d));
    }

    /// Index of the rules defined in a file, by shown path.
    pub fn rules_by_file(&self) -> HashMap<String, Vec<usize>> {
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in self.catalog.rules.iter().enumerate() {
            m.entry(self.roots[r.source.root].display(&r.source.path))
                .or_default()
                .push(i);
        }
        m
    }
}

/// Names each finding's rule page: the rule of that id, else the file's first rule.
fn link_pages(build: &mut Build) {
    let by_file = build.rules_by_file();
    let cat = &build.catalog;
    for d in &mut build.diagnostics {
        let in_file = by_file.get(&d.file).map(Vec::as_slice).unwrap_or(&[]);
        let by_id = d.rule.as_deref().and_then(|id| {
            in_file
                .iter()
                .copied()
                .find(|&i| cat.rules[i].id == id)
                .or_else(|| Vendor::ALL.iter().find_map(|v| cat.find(*v, id)))
        });
        if let Some(i) = by_id.or_else(|| in_file.first().copied()) {
            d.page = Some(cat.rule_page(i));
        }
    }
}

/// A diagnostic for each failed or unsupported test.
fn test_findings(build: &Build) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (rule, results) in build.catalog.rules.iter().zip(&build.results) {
        for (test, res) in rule.tests.iter().zip(results) {
            let check = match res.outcome {
                verify::Outcome::Fail => Check::TestFailed,
                verify::Outcome::Unsupported => Check::TestUnsupported,
                verify::Outcome::Pass => continue,
            };
            let loc = test.location.as_ref().unwrap_or(&rule.source);
            out.push(
                Diagnostic::new(
                    check,
                    build.roots[loc.root].display(&loc.path),
                    loc.line,
                    format!("test `{}`: {}", res.name, res.detail),
                )
                .for_rule(rule.id.clone()),
            );
        }
    }
    out
}
