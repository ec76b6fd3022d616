//! The README's "What it finds" table must match the finding catalog, id for id.

use smbtriage::findings::FindingId;

#[test]
fn readme_catalog_table_matches_the_catalog() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let expected: Vec<String> = FindingId::ALL
        .iter()
        .map(|id| {
            let e = id.entry();
            format!(
                "| `{}` | {} | {} | {} |",
                id.as_str(),
                e.severity,
                e.phase,
                e.title
            )
        })
        .collect();
    let found: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        found,
        expected,
        "README.md's finding table is out of date; it should read:\n{}",
        expected.join("\n")
    );
}
