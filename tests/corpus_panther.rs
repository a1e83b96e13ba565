//! Panther: the shared corpus (YAML only) loads completely, and the Python fixtures cover
//! each construct the reader follows.

use ruledex::discover::{read_root, RootSpec};
use ruledex::formats::{self, Format};
use ruledex::model::{Expr, Rule, Vendor};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let Ok(dir) = std::env::var("RULEDEX_CORPUS") else {
        eprintln!("RULEDEX_CORPUS is not set: skipping the Panther corpus test");
        return None;
    };
    let p = PathBuf::from(dir).join("panther");
    if !p.is_dir() {
        eprintln!(
            "{} is missing: skipping the Panther corpus test",
            p.display()
        );
        return None;
    }
    Some(p)
}

fn show(e: &Expr, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match e {
        Expr::All { items } | Expr::Any { items } => {
            let k = if matches!(e, Expr::All { .. }) {
                "ALL"
            } else {
                "ANY"
            };
            out.push_str(&format!("{pad}{k}\n"));
            items.iter().for_each(|i| show(i, depth + 1, out));
        }
        Expr::Not { item } => {
            out.push_str(&format!("{pad}NOT\n"));
            show(item, depth + 1, out);
        }
        Expr::Named { name, item } => {
            out.push_str(&format!("{pad}[{name}]\n"));
            show(item, depth + 1, out);
        }
        Expr::Pred(p) => out.push_str(&format!(
            "{pad}{} {}{} {:?}{}{}\n",
            p.field.as_deref().unwrap_or("*"),
            p.op.as_str(),
            if p.case_sensitive { "" } else { "(i)" },
            p.values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            if p.field_ref { " (field)" } else { "" },
            p.transform.map(|t| format!(" [{t:?}]")).unwrap_or_default()
        )),
        Expr::Const { value } => out.push_str(&format!("{pad}{value}\n")),
        Expr::Opaque { text, reason } => out.push_str(&format!(
            "{pad}OPAQUE {reason}: {}\n",
            text.replace('\n', " ")
                .chars()
                .take(100)
                .collect::<String>()
        )),
        Expr::Sequence { steps, .. } => {
            out.push_str(&format!("{pad}SEQUENCE\n"));
            steps.iter().for_each(|i| show(i, depth + 1, out));
        }
        Expr::AnyElement { field, item } => {
            out.push_str(&format!("{pad}SOME ELEMENT OF {field}\n"));
            show(item, depth + 1, out);
        }
        Expr::Aggregate { description, item } => {
            out.push_str(&format!("{pad}AGG {description}\n"));
            show(item, depth + 1, out);
        }
    }
}

fn load(root: &std::path::Path) -> (Vec<Rule>, Vec<ruledex::diag::Diagnostic>, usize) {
    let (root, diags) = read_root(0, RootSpec::new(root)).expect("root reads");
    let fmt = formats::by_vendor(Vendor::Panther);
    let files: Vec<_> = root.files.iter().filter(|f| fmt.is_rule_file(f)).collect();
    let n = files.len();
    let mut loaded = fmt.load(&root, &files);
    loaded.diagnostics.extend(diags);
    (loaded.rules, loaded.diagnostics, n)
}

/// `PANTHER_DUMP=<root>:<rel path> cargo test --test corpus_panther dump -- --ignored
/// --nocapture` prints what the reader made of one rule (a maintainer's tool).
#[test]
#[ignore]
fn dump() {
    let Ok(spec) = std::env::var("PANTHER_DUMP") else {
        return;
    };
    let (root, rels) = spec.split_once(':').expect("<root>:<rel>[,<rel>...]");
    let (rules, _, _) = load(std::path::Path::new(root));
    for rel in rels.split(',') {
        for r in rules.iter().filter(|r| r.source.path == rel) {
            let mut s = String::new();
            if let Some(d) = &r.detection {
                show(&d.expr, 0, &mut s);
                for o in &d.output_fields {
                    s.push_str(&format!(
                        "  out {} <- {:?} ({:?})\n",
                        o.name, o.source, o.note
                    ));
                }
            }
            let results = ruledex::verify::matcher::run_tests(r);
            for (t, res) in r.tests.iter().zip(results) {
                s.push_str(&format!(
                    "  test {:?} {:?} {}\n",
                    t.name, res.outcome, res.detail
                ));
            }
            println!("== {} ({})\n{s}", r.id, rel);
        }
    }
}

/// `PANTHER_OPAQUE=<root>` prints every opaque node of the root's rules with the number
/// of tests it leaves undecided (a maintainer's tool).
#[test]
#[ignore]
fn opaque_nodes() {
    let Ok(root) = std::env::var("PANTHER_OPAQUE") else {
        return;
    };
    let (rules, _, _) = load(std::path::Path::new(&root));
    for r in &rules {
        let Some(d) = &r.detection else { continue };
        let results = ruledex::verify::matcher::run_tests(r);
        let undecided = results
            .iter()
            .filter(|t| t.outcome == ruledex::verify::Outcome::Unsupported)
            .count();
        if undecided == 0 {
            continue;
        }
        d.expr.walk(&mut |e| {
            if let Expr::Opaque { text, reason } = e {
                println!(
                    "{undecided}\t{reason}\t{}\t{}",
                    r.source.path,
                    text.replace('\n', " ")
                        .chars()
                        .take(160)
                        .collect::<String>()
                );
            }
        });
    }
}

#[test]
fn shared_corpus_yaml_loads() {
    let Some(dir) = corpus() else {
        return;
    };
    let (rules, diags, files) = load(&dir);
    // Every rule file yields a rule or an error diagnostic; nothing panics.
    let internal: Vec<_> = diags
        .iter()
        .filter(|d| d.message.contains("internal error"))
        .collect();
    assert!(internal.is_empty(), "panics: {internal:?}");
    let mut with_rule: std::collections::HashSet<&str> =
        rules.iter().map(|r| r.source.path.as_str()).collect();
    for d in &diags {
        if d.code == ruledex::verify::checks::Check::ParseError {
            with_rule.insert(d.file.rsplit("panther/").next().unwrap_or(&d.file));
        }
    }
    assert!(files > 900, "rule files found: {files}");
    assert_eq!(rules.len(), files, "every rule file yields one rule");
    // The YAML alone gives ids, titles, log types or resource types, and ATT&CK.
    assert!(rules
        .iter()
        .all(|r| !r.id.is_empty() && !r.title.is_empty()));
    let typed = rules
        .iter()
        .filter(|r| {
            r.facet_values(ruledex::model::FacetKind::LogType)
                .next()
                .is_some()
                || r.facet_values(ruledex::model::FacetKind::ResourceType)
                    .next()
                    .is_some()
                || r.facet_values(ruledex::model::FacetKind::RuleType)
                    .any(|t| t == "Correlation rule" || t == "Scheduled rule")
        })
        .count();
    assert!(
        typed * 100 >= rules.len() * 95,
        "{typed} of {} typed",
        rules.len()
    );
    let with_attack = rules.iter().filter(|r| !r.techniques.is_empty()).count();
    assert!(with_attack * 2 >= rules.len(), "{with_attack} with ATT&CK");
    // The Python files are not in the corpus: each rule says so, and its tests are kept.
    let missing = rules
        .iter()
        .filter(|r| r.metadata.iter().any(|(k, _)| k == "Python logic"))
        .count();
    assert!(
        missing * 100 >= rules.len() * 85,
        "{missing} without Python"
    );
    let tests: usize = rules.iter().map(|r| r.tests.len()).sum();
    assert!(tests > 3000, "{tests} tests");
}
