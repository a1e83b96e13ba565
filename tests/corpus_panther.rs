//! Panther: the shared corpus (YAML only) loads completely, and the Python fixtures cover
//! each construct the reader follows.

use ruledex::discover::{read_root, RootSpec};
use ruledex::formats;
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

/// The upstream panther-analysis checkout (with its Python files), when
/// `PANTHER_UPSTREAM` names it: the reader's figures on the real rules.
#[test]
fn upstream_python_figures() {
    let Ok(dir) = std::env::var("PANTHER_UPSTREAM") else {
        eprintln!("PANTHER_UPSTREAM is not set: skipping the upstream Python measurement");
        return;
    };
    let (rules, diags, _) = load(std::path::Path::new(&dir));
    assert!(!diags.iter().any(|d| d.message.contains("internal error")));
    let python: Vec<&Rule> = rules.iter().filter(|r| !r.companions.is_empty()).collect();
    let with_ind = python
        .iter()
        .filter(|r| !ruledex::catalog::indicators::of_rule(r).is_empty())
        .count();
    let (mut pass, mut fail, mut unsupported) = (0usize, 0usize, 0usize);
    let (mut simple_pass, mut simple_total) = (0usize, 0usize);
    for r in &rules {
        let simple = r.query.as_ref().is_some_and(|q| {
            q.language == ruledex::model::Language::PantherDetection
                && !q.text.contains("Sequence:")
                && !q.text.contains("Group:")
        });
        for t in ruledex::verify::matcher::run_tests(r) {
            match t.outcome {
                ruledex::verify::Outcome::Pass => pass += 1,
                ruledex::verify::Outcome::Fail => {
                    fail += 1;
                    eprintln!("FAIL {} {}: {}", r.source.path, t.name, t.detail);
                }
                ruledex::verify::Outcome::Unsupported => unsupported += 1,
            }
            if simple {
                simple_total += 1;
                simple_pass += usize::from(t.outcome == ruledex::verify::Outcome::Pass);
            }
        }
    }
    let total = pass + fail + unsupported;
    eprintln!(
        "python rules {} with indicators {with_ind}; tests {total}: pass {pass} fail {fail} \
         unsupported {unsupported}; simple detections {simple_pass}/{simple_total}",
        python.len()
    );
    assert!(with_ind * 100 >= python.len() * 90);
    assert!(pass * 100 >= total * 85);
    assert!(fail * 200 <= total);
    assert_eq!(simple_pass, simple_total);
}

fn fixture_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panther")
}

fn rule<'a>(rules: &'a [Rule], id: &str) -> &'a Rule {
    rules
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} loaded"))
}

fn outcomes(r: &Rule) -> Vec<(String, ruledex::verify::Outcome)> {
    ruledex::verify::matcher::run_tests(r)
        .into_iter()
        .map(|t| (t.name, t.outcome))
        .collect()
}

#[test]
fn fixture_python_rules_pass_their_tests() {
    use ruledex::verify::Outcome::{Pass, Unsupported};
    let (rules, _, _) = load(&fixture_root());
    for id in [
        "Acme.Admin.LoginWithoutMFA",
        "Acme.Bucket.MadePublic",
        "Acme.Bucket.Versioning",
        "Acme.FailedLogins.Scheduled",
    ] {
        let r = rule(&rules, id);
        assert!(!r.tests.is_empty(), "{id} has tests");
        for (name, o) in outcomes(r) {
            assert_eq!(o, Pass, "{id}: {name}");
        }
    }
    // The first rule of a repeated id is the token rule.
    let token = rules
        .iter()
        .find(|r| r.source.path == "rules/acme_api_token_created.yml")
        .unwrap();
    assert!(outcomes(token).iter().all(|(_, o)| *o == Pass));
    // A mocked constant the condition reads: unsupported, never passed.
    let secret = rule(&rules, "Acme.Git.SecretPushed");
    let out = outcomes(secret);
    assert_eq!(out.iter().filter(|(_, o)| *o == Pass).count(), 3);
    assert_eq!(out.last().unwrap().1, Unsupported);
    // Correlation tests run on Panther's backend.
    let corr = rule(&rules, "Acme.Token.Then.AdminLogin");
    assert!(outcomes(corr).iter().all(|(_, o)| *o == Unsupported));
}

#[test]
fn fixture_conditions_and_indicators() {
    let (rules, _, _) = load(&fixture_root());
    let token = rules
        .iter()
        .find(|r| r.source.path == "rules/acme_api_token_created.yml")
        .unwrap();
    let inds: Vec<String> = ruledex::catalog::indicators::of_rule(token)
        .into_iter()
        .map(|i| format!("{} {} {}", i.field, i.op, i.value))
        .collect();
    assert_eq!(
        inds,
        vec![
            "actor.name not eq svc-deploy",
            "actor.name not eq svc-backup",
            "source_type eq api_token",
            "action eq create",
            "action eq destroy"
        ]
    );
    // One element of a list satisfies both conditions, regexes and suffixes in a loop.
    let secret = rule(&rules, "Acme.Git.SecretPushed");
    let mut any_element = false;
    secret.detection.as_ref().unwrap().expr.walk(&mut |e| {
        if let Expr::AnyElement { field, .. } = e {
            any_element |= field == "commits";
        }
    });
    assert!(any_element);
    assert!(secret.detection.as_ref().unwrap().expr.fully_parsed());
    // The correlation rule carries the conditions of the rules it correlates.
    let corr = rule(&rules, "Acme.Token.Then.AdminLogin");
    assert_eq!(corr.related.len(), 2);
    assert!(matches!(
        &corr.detection.as_ref().unwrap().expr,
        Expr::Sequence { ordered: true, steps, .. } if steps.len() == 2
    ));
}

#[test]
fn fixture_metadata_outputs_and_facets() {
    use ruledex::model::FacetKind;
    let (rules, _, _) = load(&fixture_root());
    let token = rules
        .iter()
        .find(|r| r.source.path == "rules/acme_api_token_created.yml")
        .unwrap();
    assert_eq!(token.techniques, vec!["T1098.001"]);
    assert_eq!(token.tactics, vec!["TA0003"]);
    assert_eq!(
        token.facet_values(FacetKind::LogType).collect::<Vec<_>>(),
        ["Acme.Audit"]
    );
    assert_eq!(
        token.facet_values(FacetKind::RuleType).collect::<Vec<_>>(),
        ["Rule"]
    );
    assert!(token.sections.iter().any(|s| s.title == "Runbook"));
    assert!(token
        .metadata
        .iter()
        .any(|(k, v)| k == "Reports: CIS" && v == "1.2"));
    assert_eq!(token.companions.len(), 1);
    assert!(token
        .query
        .as_ref()
        .unwrap()
        .text
        .starts_with("def rule(event):"));
    let outs: Vec<(String, Option<String>, Option<String>)> = token
        .detection
        .as_ref()
        .unwrap()
        .output_fields
        .iter()
        .map(|o| (o.name.clone(), o.source.clone(), o.note.clone()))
        .collect();
    for want in [
        ("client_ip", Some("client.address"), "alert_context"),
        ("actor.name", None, "title"),
        ("client.address", None, "summary attribute"),
    ] {
        assert!(
            outs.contains(&(want.0.into(), want.1.map(String::from), Some(want.2.into()))),
            "{want:?} in {outs:?}"
        );
    }
    let policy = rule(&rules, "Acme.Bucket.Versioning");
    assert_eq!(
        policy
            .facet_values(FacetKind::ResourceType)
            .collect::<Vec<_>>(),
        ["Acme.Storage.Bucket"]
    );
    assert_eq!(
        policy.facet_values(FacetKind::RuleType).collect::<Vec<_>>(),
        ["Policy"]
    );
    let scheduled = rule(&rules, "Acme.FailedLogins.Scheduled");
    assert!(scheduled.sections.iter().any(
        |s| s.title == "Query: Acme Failed Logins Per Actor" && s.markdown.contains("GROUP BY")
    ));
    let missing = rule(&rules, "Acme.Missing.Python");
    assert!(missing.detection.is_none());
    assert!(missing.metadata.iter().any(|(k, _)| k == "Python logic"));
    assert_eq!(missing.tests.len(), 1);
}

#[test]
fn fixture_lints() {
    use ruledex::verify::checks::Check;
    let build = ruledex::pipeline::run(&[RootSpec::new(fixture_root())], &()).expect("builds");
    let has = |code: Check, file: &str, text: &str| {
        build
            .diagnostics
            .iter()
            .any(|d| d.code == code && d.file.ends_with(file) && d.message.contains(text))
    };
    assert!(has(
        Check::PantherPythonMissing,
        "rules/acme_missing_python.yml",
        "acme_missing_python.py"
    ));
    assert!(has(
        Check::MissingField,
        "rules/acme_no_expected.yml",
        "no `ExpectedResult`"
    ));
    assert!(has(
        Check::DuplicateId,
        "rules/acme_no_expected.yml",
        "Acme.APIToken.Changed"
    ));
    let syntax = build
        .diagnostics
        .iter()
        .find(|d| d.code == Check::ParseError && d.file.ends_with("rules/acme_bad_python.py"))
        .expect("a syntax error diagnostic");
    assert!(syntax.line >= 2 && syntax.column.is_some(), "{syntax:?}");
    // Every rule file gives a rule; nothing fails.
    assert!(!build
        .diagnostics
        .iter()
        .any(|d| d.code == Check::TestFailed));
    assert_eq!(build.catalog.rules.len(), 10);
}
