//! Every check of the catalogue is reachable: some fixture (or sample rule) triggers it.

use ruledex::discover::RootSpec;
use ruledex::verify::checks::Check;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_check_is_triggered_by_a_fixture() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let roots: Vec<RootSpec> = ["tests/fixtures", "rules"]
        .iter()
        .map(|p| RootSpec::new(base.join(p)))
        .collect();
    let build = ruledex::pipeline::run(&roots, &()).expect("fixtures load");
    let seen: BTreeSet<&str> = build.diagnostics.iter().map(|d| d.code.id()).collect();
    let missing: Vec<&str> = Check::ALL
        .iter()
        .map(|c| c.id())
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "checks no fixture triggers (add one under tests/fixtures/): {missing:?}"
    );
}
