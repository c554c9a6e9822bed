//! The worked backpropagation example the course points to (Mazur's, in
//! `nnbench::worked_examples`): native's gradient of one step from the post's weights equals the
//! post's hand computation, and a `--quick` run writes it to `gradients.csv` and the report.

use std::process::Command;

use nnbench::worked_examples;
use nnbench_core::data::{self, DataOptions, fetch::Silent};
use nnbench_core::spec::parse::{self, LoadOptions};
use nnbench_core::train::{self, Quiet, Status, UnitRequest};
use nnbench_native::NativeBackend;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/backprop_example.toml"
);

#[test]
fn native_gradient_of_the_step_is_the_hand_computation() {
    let hand = worked_examples::for_scenario("backprop_example").unwrap();
    let scenario =
        parse::load_scenario(std::path::Path::new(SCENARIO), &LoadOptions::default()).unwrap();
    let run = &scenario.variants[0].run;
    assert_eq!(run.optimizer.learning_rate, hand.learning_rate);
    let dataset = data::load(
        &run.dataset,
        &DataOptions::resolve(None, true).unwrap(),
        &Silent,
    )
    .unwrap();
    let outcome = train::run_unit(
        &NativeBackend,
        &UnitRequest::new(run, &dataset, 0),
        &mut Quiet,
    );
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.reason);
    let loss = outcome.epochs[0].step_loss;
    assert!(
        (loss - hand.loss).abs() <= hand.tolerance,
        "loss {loss} vs {}",
        hand.loss
    );
    let gradients = outcome.gradients.unwrap();
    for parameter in hand.parameters {
        let tensor = gradients
            .get(&format!("{}.{}", parameter.layer, parameter.tensor))
            .unwrap();
        let got = f64::from(tensor.data[parameter.index as usize]);
        let want = parameter.gradient(hand.learning_rate);
        assert!(
            (got - want).abs() <= hand.tolerance,
            "{}: native {got:.9}, by hand {want:.9}",
            parameter.name
        );
    }
}

#[test]
fn a_quick_run_writes_the_gradients_beside_the_hand_values() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("run");
    let output = Command::new(env!("CARGO_BIN_EXE_nnbench"))
        .args([
            "scenario",
            SCENARIO,
            "--quick",
            "--backends",
            "native",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = std::fs::read_to_string(out.join("gradients.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("variant,backend,seed,layer,tensor,index,gradient")
    );
    // 2·2 + 2 + 2·2 + 2 + 2·3 + 3 parameters.
    assert_eq!(lines.count(), 21, "{csv}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Gradients of the step"), "{report}");
    assert!(
        report.contains("| 1.weight[0] (w5) | 0.082167040 |"),
        "{report}"
    );
}
