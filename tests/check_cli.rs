//! `ruledex check` as a rule repository's CI runs it: exit codes, SARIF and JUnit against
//! their schemas, baselines, `--changed-since`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check")
}

fn ruledex(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruledex"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("ruledex runs")
}

/// A copy of the fixtures in a fresh folder, so tests can edit them.
fn copy_fixtures(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    for n in names {
        std::fs::copy(fixtures().join(n), dir.path().join("rules").join(n)).unwrap();
    }
    dir
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exit_codes() {
    let clean = copy_fixtures(&["good.yml", "good.tests.yml"]);
    let out = ruledex(clean.path(), &["check", "rules"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = ruledex(&fixtures(), &["check", "."]);
    assert_eq!(out.status.code(), Some(1));
    let out = ruledex(&fixtures(), &["check", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/folder"));
    let out = ruledex(&fixtures(), &["check", "--format", "yaml", "."]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_report_names_findings_and_pages() {
    let out = ruledex(&fixtures(), &["check", ".", "--format", "json"]);
    let r = json(&out);
    assert_eq!(r["version"], 1);
    let sigma = &r["vendors"]["sigma"];
    assert_eq!(sigma["files"], 4);
    assert_eq!(sigma["rules"], 3);
    assert_eq!(sigma["load_errors"], 1);
    assert_eq!(sigma["tests"]["pass"], 3);
    assert_eq!(sigma["tests"]["fail"], 1);
    let c = codes(&r);
    for want in ["parse_error", "duplicate_id", "test_failed"] {
        assert!(c.iter().any(|x| x == want), "no {want} in {c:?}");
    }
    let failed = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "test_failed")
        .unwrap();
    assert_eq!(failed["file"], "failing.tests.yml");
    assert!(failed["line"].as_u64().unwrap() > 1);
    assert!(failed["page"].as_str().unwrap().starts_with("rules/sigma/"));
    let broken = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "parse_error")
        .unwrap();
    assert_eq!(broken["file"], "broken.yml");
    assert!(broken["line"].as_u64().unwrap() >= 7);
}

#[test]
fn sarif_validates_against_the_schema() {
    let out = ruledex(&fixtures(), &["check", ".", "--format", "sarif"]);
    let doc = json(&out);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "SARIF does not validate: {errors:#?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "test_failed"));
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), ruledex::verify::checks::Check::ALL.len());
}

#[test]
fn junit_validates_against_the_xsd() {
    let out = ruledex(&fixtures(), &["check", ".", "--format", "junit"]);
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("<testcase classname=\"sigma.0f9a8c1d-2b3e-4f5a-8b6c-7d8e9f0a1b2c\" name=\"wrong expectation on purpose\">"));
    assert!(xml.contains("<failure"));
    assert!(xml.contains("name=\"duplicate_id\""));
    let only = ruledex(
        &fixtures(),
        &["check", ".", "--format", "junit", "--only-failures"],
    );
    let only = String::from_utf8(only.stdout).unwrap();
    assert!(
        !only.contains("certutil fetches a payload"),
        "passing tests hidden"
    );
    assert!(only.contains("wrong expectation on purpose"));
    let Ok(lint) = Command::new("xmllint").arg("--version").output() else {
        println!("skipped XSD validation: xmllint is not installed (Debian package libxml2-utils)");
        return;
    };
    assert!(lint.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, &xml).unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit-10.xsd");
    let v = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "JUnit does not validate: {}",
        String::from_utf8_lossy(&v.stderr)
    );
}

#[test]
fn baseline_round_trip_reports_only_new_findings() {
    let dir = copy_fixtures(&[
        "good.yml",
        "good.tests.yml",
        "failing.yml",
        "failing.tests.yml",
        "duplicate.yml",
    ]);
    let out = ruledex(
        dir.path(),
        &["check", "rules", "--write-baseline", "base.json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = ruledex(
        dir.path(),
        &[
            "check",
            "rules",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = json(&out);
    assert!(r["diagnostics"].as_array().unwrap().is_empty());
    // The failing test, the duplicate id, and the three file names outside SigmaHQ's
    // convention (`sigma_filename`).
    assert_eq!(r["baseline"]["suppressed"], 5);
    assert_eq!(r["baseline"]["fixed"], 0);
    // Moving lines does not make findings new.
    let path = dir.path().join("rules/failing.tests.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("# moved down\n# by two lines\n{text}")).unwrap();
    let out = ruledex(
        dir.path(),
        &[
            "check",
            "rules",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(json(&out)["diagnostics"].as_array().unwrap().is_empty());
    // A new failing test is new.
    let good = dir.path().join("rules/good.tests.yml");
    let text = std::fs::read_to_string(&good).unwrap();
    std::fs::write(
        &good,
        format!("{text}  - name: newly broken\n    match: true\n    event:\n      Image: 'C:\\\\Windows\\\\notepad.exe'\n"),
    )
    .unwrap();
    let out = ruledex(
        dir.path(),
        &[
            "check",
            "rules",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    let diags = r["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("newly broken"));
}

#[test]
fn changed_since_checks_only_changed_rules() {
    let dir = copy_fixtures(&[
        "good.yml",
        "good.tests.yml",
        "failing.yml",
        "failing.tests.yml",
    ]);
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(dir.path())
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    // Nothing changed: the failing rule is out of scope.
    let out = ruledex(
        dir.path(),
        &[
            "check",
            "rules",
            "--changed-since",
            "HEAD",
            "--format",
            "json",
        ],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["totals"]["rules"], 0);
    // Touch the good rule: only it is checked.
    let path = dir.path().join("rules/good.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("level: medium", "level: high")).unwrap();
    let out = ruledex(
        dir.path(),
        &[
            "check",
            "rules",
            "--changed-since",
            "HEAD",
            "--format",
            "json",
        ],
    );
    let r = json(&out);
    assert_eq!(r["totals"]["rules"], 1);
    assert_eq!(r["totals"]["tests"]["pass"], 2);
    assert_eq!(out.status.code(), Some(0));
    // Touch the failing rule's tests: it comes into scope and fails.
    let t = dir.path().join("rules/failing.tests.yml");
    let text = std::fs::read_to_string(&t).unwrap();
    std::fs::write(&t, format!("# edited\n{text}")).unwrap();
    let out = ruledex(
        dir.path(),
        &[
            "check",
            "rules",
            "--changed-since",
            "HEAD",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["totals"]["rules"], 2);
}

#[test]
fn checks_lists_the_catalogue() {
    let out = ruledex(&fixtures(), &["checks", "--format", "json"]);
    let list = json(&out);
    assert_eq!(
        list.as_array().unwrap().len(),
        ruledex::verify::checks::Check::ALL.len()
    );
    let text = String::from_utf8(ruledex(&fixtures(), &["checks"]).stdout).unwrap();
    for c in ruledex::verify::checks::Check::ALL {
        assert!(text.contains(c.id()));
    }
}
