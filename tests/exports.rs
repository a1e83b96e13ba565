//! The exports of a build of the sample rules against their schemas: every ATT&CK Navigator
//! layer against the layer format 4.5 schema (tests/schemas, written from MITRE's spec),
//! `catalog.json` against our own `catalog.schema.json`; plus the cross-vendor pages.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One build of the sample rules (`rules/`) shared by the tests of this file.
fn site() -> &'static Path {
    static SITE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &SITE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("site");
            let run = Command::new(env!("CARGO_BIN_EXE_ruledex"))
                .current_dir(manifest())
                .arg("build")
                .arg("-o")
                .arg(&out)
                .output()
                .expect("ruledex runs");
            assert!(
                run.status.success(),
                "build failed: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            (dir, out)
        })
        .1
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn layer_schema() -> Value {
    read_json(&manifest().join("tests/schemas/navigator-layer-4.5.schema.json"))
}

#[test]
fn navigator_layers_validate_against_the_layer_schema() {
    let schema = layer_schema();
    let dir = site().join("exports/navigator");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // One per vendor of the sample rules, and the combined one.
    for want in [
        "all.json",
        "sigma.json",
        "splunk.json",
        "sentinel.json",
        "elastic.json",
        "panther.json",
        "chronicle.json",
        "defender_xdr.json",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let catalog = read_json(&site().join("exports/catalog.json"));
    let rules = catalog["rules"].as_array().unwrap();
    for n in &names {
        let layer = read_json(&dir.join(n));
        let errs = errors(&schema, &layer);
        assert!(errs.is_empty(), "{n} does not validate: {errs:#?}");
        assert_eq!(layer["versions"]["layer"], "4.5");
        assert_eq!(layer["versions"]["attack"], "19");
        assert_eq!(layer["domain"], "enterprise-attack");
        let techniques = layer["techniques"].as_array().unwrap();
        assert!(!techniques.is_empty(), "{n} has no technique");
        // Scores are rule counts: a single-tactic technique scores the rules tagged with it
        // or its sub-techniques.
        let vendor = n.trim_end_matches(".json");
        for t in techniques {
            let id = t["techniqueID"].as_str().unwrap();
            let tactics = ruledex::attack::db().technique(id).unwrap().tactics.len();
            if tactics != 1 {
                continue;
            }
            let want = rules
                .iter()
                .filter(|r| vendor == "all" || r["vendor"] == vendor)
                .filter(|r| {
                    r["techniques"].as_array().unwrap().iter().any(|x| {
                        let x = x.as_str().unwrap();
                        x == id || x.strip_prefix(id).is_some_and(|rest| rest.starts_with('.'))
                    })
                })
                .count();
            assert_eq!(t["score"], json!(want), "{n} {id}");
        }
        let max = layer["gradient"]["maxValue"].as_f64().unwrap();
        assert!(max > layer["gradient"]["minValue"].as_f64().unwrap());
    }
}

#[test]
fn the_layer_schema_rejects_broken_layers() {
    let schema = layer_schema();
    let good = read_json(&site().join("exports/navigator/all.json"));
    assert!(errors(&schema, &good).is_empty());
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("domain");
    cases.push(("no domain", v));
    let mut v = good.clone();
    v["versions"]["layer"] = json!("4.4");
    cases.push(("old layer version", v));
    let mut v = good.clone();
    v["techniques"][0]["score"] = json!("3");
    cases.push(("score as text", v));
    let mut v = good.clone();
    v["techniques"][0]["techniqueID"] = json!("1059");
    cases.push(("bad technique id", v));
    let mut v = good.clone();
    v["gradient"]["colors"] = json!(["#ffffff"]);
    cases.push(("one colour", v));
    let mut v = good.clone();
    v["domain"] = json!("mitre-enterprise");
    cases.push(("v3 domain", v));
    for (what, doc) in cases {
        assert!(!errors(&schema, &doc).is_empty(), "accepted: {what}");
    }
    // A list of layers is a layer file too.
    assert!(errors(&schema, &json!([good.clone(), good])).is_empty());
}

#[test]
fn catalog_json_validates_against_its_schema() {
    let schema = read_json(&manifest().join("data/catalog.schema.json"));
    // The schema shipped beside the catalog is ours, byte for byte.
    assert_eq!(
        std::fs::read(site().join("exports/catalog.schema.json")).unwrap(),
        std::fs::read(manifest().join("data/catalog.schema.json")).unwrap()
    );
    let catalog = read_json(&site().join("exports/catalog.json"));
    let errs = errors(&schema, &catalog);
    assert!(errs.is_empty(), "catalog.json does not validate: {errs:#?}");
    let rules = catalog["rules"].as_array().unwrap();
    assert!(rules.len() >= 40);
    // Overlap is part of the catalog: some rule has a close rule on another platform.
    assert!(rules.iter().any(|r| r["overlap"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["vendor"] != r["vendor"])));
    assert!(!catalog["groups"].as_array().unwrap().is_empty());
    // The schema is strict: an unknown key or a wrong type is refused.
    let mut bad = catalog.clone();
    bad["rules"][0]["surprise"] = json!(1);
    assert!(!errors(&schema, &bad).is_empty());
    let mut bad = catalog.clone();
    bad["rules"][0]["tests"] = json!([{ "name": "x", "outcome": "maybe", "detail": "" }]);
    assert!(!errors(&schema, &bad).is_empty());
    let mut bad = catalog;
    bad["rules"][0]["overlap"] = json!([{ "vendor": "sigma" }]);
    assert!(!errors(&schema, &bad).is_empty());
}

#[test]
fn cross_vendor_pages_are_linked_and_charts_are_static_svg() {
    let home = std::fs::read_to_string(site().join("index.html")).unwrap();
    for p in [
        "matrix.html",
        "overlap.html",
        "indicators.html",
        "stats.html",
    ] {
        assert!(home.contains(&format!("href=\"{p}\"")), "home lacks {p}");
        assert!(site().join(p).is_file());
        let md = p.replace(".html", ".md");
        assert!(site().join("md").join(md).is_file());
    }
    let stats = std::fs::read_to_string(site().join("stats.html")).unwrap();
    assert_eq!(stats.matches("<svg ").count(), 6, "six charts");
    assert_eq!(stats.matches(r#"role="img""#).count(), 6);
    for id in [
        "vendors", "severity", "tactics", "sources", "verdicts", "parsed",
    ] {
        let svg = std::fs::read_to_string(site().join(format!("charts/{id}.svg"))).unwrap();
        assert!(svg.starts_with("<svg ") && svg.contains("<title"));
        assert!(!svg.contains("<script"));
    }
    let matrix = std::fs::read_to_string(site().join("matrix.html")).unwrap();
    assert!(matrix.contains(r#"id="mv-all" checked"#));
    assert!(matrix.contains(r#"id="mv-sigma""#));
    assert!(matrix.contains("l-sigma-1") || matrix.contains("l-sigma-2"));
    assert!(matrix.contains("Techniques no rule covers"));
    let overlap = std::fs::read_to_string(site().join("overlap.html")).unwrap();
    assert!(overlap.contains("<table class=\"overlap"));
}
