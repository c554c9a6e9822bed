//! `docs/scenario-reference.md` is generated from the scenario schema, the table the parser
//! checks against; this test fails when the file and the schema drift apart.

use std::path::Path;

use nnbench_core::spec::reference;

#[test]
fn scenario_reference_matches_the_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(reference::PATH);
    let expected = reference::markdown();
    if std::env::var_os("NNBENCH_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    if found != expected {
        let line = found
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || found.lines().count().min(expected.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "{} differs from the scenario schema (first difference at line {line}); \
             regenerate it with NNBENCH_BLESS=1 cargo test -p nnbench-core --test scenario_reference",
            reference::PATH
        );
    }
}

#[test]
fn the_reference_lists_every_key_of_the_schema() {
    let text = reference::markdown();
    for key in nnbench_core::spec::schema::KEYS {
        assert!(
            text.contains(&format!("| `{}` |", key.name)),
            "{} is missing",
            key.path()
        );
    }
}
