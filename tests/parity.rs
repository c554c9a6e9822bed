//! The cross-backend parity check: a 2-hidden-layer tanh MLP on blobs, 200 steps from the same
//! initial weights and batches on every built backend, against the native reference.

use std::process::Command;

#[test]
fn every_backend_follows_the_native_loss_curve() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parity");
    let output = Command::new(env!("CARGO_BIN_EXE_nnbench"))
        .args(["parity", "parity_tanh_blobs", "--steps", "200", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("nnbench runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut reader = csv::Reader::from_path(out.join("parity.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let field = |row: &csv::StringRecord, name: &str| -> String {
        let index = header.iter().position(|h| h == name).unwrap();
        row[index].to_string()
    };
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let built = nnbench::registry::built()
        .iter()
        .filter(|backend| !backend.is_reference_model())
        .count();
    assert_eq!(
        rows.len(),
        5 * (built - 1),
        "one row per optimizer and backend"
    );
    // A framework installed outside cargo (the Python peers) may be missing here: its rows say
    // not_built, unless CI asked for every peer (NNBENCH_REQUIRE_PEERS=1).
    let require_peers = std::env::var("NNBENCH_REQUIRE_PEERS").is_ok_and(|v| v == "1");
    for row in &rows {
        let backend = field(row, "backend");
        let optimizer = field(row, "optimizer");
        if field(row, "status") == "not_built" && !require_peers {
            eprintln!(
                "{backend} {optimizer}: not_built here ({})",
                field(row, "note")
            );
            continue;
        }
        assert_eq!(field(row, "status"), "ok", "{backend} {optimizer}");
        assert_eq!(field(row, "steps"), "200", "{backend} {optimizer}");
        let drift: f64 = field(row, "max_rel_loss_diff").parse().unwrap();
        let note = field(row, "note");
        // Plain SGD leaves nothing but float rounding; stateful optimizers may differ by a
        // formula the backend names.
        let limit = if optimizer == "sgd" { 1e-4 } else { 1e-3 };
        assert!(
            drift <= limit || (optimizer != "sgd" && !note.is_empty()),
            "{backend} {optimizer}: loss drifts {drift:e} from native (limit {limit:e}) {note}"
        );
    }
}
