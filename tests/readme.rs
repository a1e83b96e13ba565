//! The README's check list is generated from the catalogue; this keeps it current.

#[test]
fn readme_lists_every_check() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- checks:start")
        .expect("README has the checks:start marker");
    let body_start = start + readme[start..].find("-->\n").unwrap() + 4;
    let end = readme
        .find("<!-- checks:end -->")
        .expect("README has the checks:end marker");
    let listed = &readme[body_start..end];
    let want = ruledex::cli::checks_markdown();
    assert_eq!(
        listed, want,
        "README check list is out of date: run `cargo run -- checks --format markdown` and paste it between the markers"
    );
}
