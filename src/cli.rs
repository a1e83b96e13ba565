//! The command line: argument definitions and the commands, over the library.

use crate::config::{self, Config};
use crate::discover::RootSpec;
use crate::pipeline::{self, Build, Progress};
use crate::verify::baseline::Baseline;
use crate::verify::checks::{Check, Level};
use crate::verify::report::Report;
use crate::verify::report::Scope;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Parser)]
#[command(
    name = "ruledex",
    version,
    about = "Detection rules of every vendor in one cross-indexed, tested catalog"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the HTML site, the Markdown tree and the exports.
    ///
    /// Without PATH, builds the roots of ./ruledex.toml, or ./rules when there is none.
    Build {
        /// Rule roots (vendor repository checkouts or any folder).
        paths: Vec<PathBuf>,
        /// Output folder (created; only files inside it are written).
        #[arg(short, long, default_value = "public")]
        output: PathBuf,
        /// Print only errors and the summary line.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Load, verify and lint rules; exit 1 when there is an error-level finding.
    Check {
        /// Rule roots. Without PATH, the roots of ./ruledex.toml, or ./rules.
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Print only the summary line (text and GitHub formats).
        #[arg(short, long)]
        quiet: bool,
        /// Leave passing tests out of the test list (JSON, JUnit).
        #[arg(long)]
        only_failures: bool,
        /// Record today's findings as accepted into FILE (and exit 0).
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<PathBuf>,
        /// Report only findings not recorded in FILE; exit 1 only on new errors.
        #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
        baseline: Option<PathBuf>,
        /// Check only rules whose files (or support files they depend on) changed since
        /// this git ref; indexes such as duplicate ids still see the whole tree.
        #[arg(long, value_name = "REF")]
        changed_since: Option<String>,
    },
    /// Build, serve on 127.0.0.1, rebuild on changes and reload open pages.
    Serve {
        /// Rule roots. Without PATH, the roots of ./ruledex.toml, or ./rules.
        paths: Vec<PathBuf>,
        #[arg(short, long, default_value_t = 8000)]
        port: u16,
        /// Output folder the site is built into and served from.
        #[arg(short, long, default_value = "public")]
        output: PathBuf,
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the lint catalogue: every check with its id, level, vendors and description.
    Checks {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    /// GitHub Actions annotations.
    Github,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ListFormat {
    Text,
    Json,
    /// The Markdown table the README carries.
    Markdown,
}

/// Runs the command line; returns the process exit code (0 ok, 1 findings, 2 usage or I/O).
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run(cli: Cli) -> Result<i32, String> {
    match cli.command {
        Command::Build {
            paths,
            output,
            quiet,
        } => {
            let config = site_config(&paths)?;
            let progress = Bars::new(quiet);
            let mut build = pipeline::run(&config.roots, &progress)?;
            if let Some(dir) = &config.reference {
                build.add_reference(dir)?;
            }
            build.apply_policy(&config.checks);
            let written = crate::render::site(&build, &config, &output)?;
            let report = Report::new(&build);
            if !quiet {
                for d in build
                    .diagnostics
                    .iter()
                    .filter(|d| d.level == Level::Error)
                    .take(20)
                {
                    eprintln!(
                        "{}:{}: {}[{}]: {}",
                        d.file,
                        d.line,
                        d.level.as_str(),
                        d.code.id(),
                        d.message
                    );
                }
            }
            eprintln!(
                "{}; wrote {} HTML and {} Markdown pages to {}",
                report.summary(),
                written.html_pages,
                written.markdown_pages,
                output.display()
            );
            Ok(0)
        }
        Command::Check {
            paths,
            format,
            output,
            quiet,
            only_failures,
            write_baseline,
            baseline,
            changed_since,
        } => {
            let config = site_config(&paths)?;
            let progress = Bars::new(quiet || format != Format::Text);
            let mut build = pipeline::run(&config.roots, &progress)?;
            if let Some(dir) = &config.reference {
                build.add_reference(dir)?;
            }
            build.apply_policy(&config.checks);
            let mut scope = Scope {
                only_failures,
                ..Scope::default()
            };
            if let Some(git_ref) = &changed_since {
                let (rules, files) = changed_scope(&build, git_ref)?;
                scope.rules = Some(rules);
                scope.files = Some(files);
            }
            let mut report = Report::scoped(&build, &scope);
            if let Some(path) = &write_baseline {
                let base = Baseline::record(&report.diagnostics, |d| build.relative(d));
                std::fs::write(path, base.to_json())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                eprintln!(
                    "recorded {} findings in {}",
                    base.entries.len(),
                    path.display()
                );
                return Ok(0);
            }
            if let Some(path) = &baseline {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
                let base =
                    Baseline::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                report.apply_baseline(&base, &build);
            }
            let text = match format {
                Format::Json => report.to_json(),
                Format::Sarif => report.to_sarif(),
                Format::Junit => report.to_junit(),
                Format::Github if quiet => report.summary() + "\n",
                Format::Github => report.to_github(),
                Format::Text if quiet => report.summary() + "\n",
                Format::Text => report.to_text(&build, Level::Note),
            };
            emit(&text, output.as_deref())?;
            Ok(if report.has_errors() { 1 } else { 0 })
        }
        Command::Serve {
            paths,
            port,
            output,
            quiet,
        } => {
            let config = site_config(&paths)?;
            crate::serve::serve(config, output, port, &Bars::new(quiet))?;
            Ok(0)
        }
        Command::Checks { format } => {
            let text = match format {
                ListFormat::Json => checks_json(),
                ListFormat::Markdown => checks_markdown(),
                ListFormat::Text => checks_text(),
            };
            print!("{text}");
            Ok(0)
        }
    }
}

/// Rules whose file or a dependency changed since `git_ref`, and the changed files (shown
/// paths), across every root that is inside a git work tree.
fn changed_scope(
    build: &Build,
    git_ref: &str,
) -> Result<(HashSet<usize>, HashSet<String>), String> {
    let mut changed: HashSet<(usize, String)> = HashSet::new();
    for root in &build.roots {
        let dir = if root.spec.path.is_dir() {
            root.spec.path.clone()
        } else {
            root.spec
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        };
        let git = |args: &[&str]| -> Result<String, String> {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir.as_path()
                })
                .args(args)
                .output()
                .map_err(|e| format!("cannot run git: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "git {} failed in {}: {}",
                    args.join(" "),
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let diff = git(&["diff", "--name-only", "--relative", git_ref, "--", "."])?;
        let untracked = git(&["ls-files", "--others", "--exclude-standard", "."])?;
        for line in diff
            .lines()
            .chain(untracked.lines())
            .filter(|l| !l.is_empty())
        {
            changed.insert((root.index, line.to_string()));
        }
    }
    let mut rules = HashSet::new();
    for (i, r) in build.catalog.rules.iter().enumerate() {
        let root = r.source.root;
        let sidecar_changed = build.catalog.rules[i].tests.iter().any(|t| {
            t.location
                .as_ref()
                .is_some_and(|l| changed.contains(&(l.root, l.path.clone())))
        });
        if changed.contains(&(root, r.source.path.clone()))
            || sidecar_changed
            || r.dependencies
                .iter()
                .any(|d| changed.contains(&(root, d.clone())))
        {
            rules.insert(i);
        }
    }
    let files = changed
        .iter()
        .map(|(root, rel)| build.roots[*root].display(rel))
        .collect();
    Ok((rules, files))
}

fn emit(text: &str, output: Option<&Path>) -> Result<(), String> {
    match output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Roots from the command line, else `ruledex.toml`, else `rules/`.
fn site_config(paths: &[PathBuf]) -> Result<Config, String> {
    let mut config = config::load(Path::new("."))?.unwrap_or_default();
    if !paths.is_empty() {
        config.roots = paths.iter().map(RootSpec::new).collect();
    }
    if config.roots.is_empty() {
        let default = PathBuf::from("rules");
        if !default.is_dir() {
            return Err("no rule roots: give PATH arguments, add [[roots]] to ruledex.toml, or run where ./rules exists".into());
        }
        config.roots.push(RootSpec::new(default));
    }
    Ok(config)
}

pub fn checks_text() -> String {
    let mut out = String::new();
    for c in Check::ALL {
        out.push_str(&format!(
            "{:<24} {:<8} {:<10} {}\n",
            c.id(),
            c.default_level().as_str(),
            c.vendors(),
            c.description()
        ));
    }
    out
}

/// The catalogue as the Markdown table the README carries.
pub fn checks_markdown() -> String {
    let mut out = String::from("| id | level | vendors | what it finds |\n|---|---|---|---|\n");
    for c in Check::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.id(),
            c.default_level().as_str(),
            c.vendors(),
            c.description().replace('|', "\\|")
        ));
    }
    out
}

pub fn checks_json() -> String {
    let list: Vec<serde_json::Value> = Check::ALL
        .iter()
        .map(|c| {
            serde_json::json!({"id": c.id(), "level": c.default_level().as_str(), "vendors": c.vendors(), "description": c.description()})
        })
        .collect();
    serde_json::to_string_pretty(&list).expect("catalogue serialises") + "\n"
}

/// Progress bars on a terminal; silent with `-q` or when stderr is not a terminal.
struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        Bars {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn stage(&self, name: &str, total: usize) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(name.to_string());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }
    fn advance(&self, n: usize) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.inc(n as u64);
        }
    }
    fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}
