//! The parts of the README generated from the definitions they describe: the exit codes
//! (from `exit_codes::TABLE`), the run folder's files and columns (from the run folder's
//! schema), the speed tables (from the `bench.csv` in docs/bench/), the Slurm job script (from
//! `scripts/slurm-shards.sbatch`, which `tests/slurm.rs` submits) and the course's claims (from
//! `course::LESSONS`). Each lives between `<!-- generated: NAME -->` and `<!-- end: NAME -->`;
//! the test
//! fails when the README drifts, and `NNBENCH_BLESS=1 cargo test --test generated_docs`
//! rewrites it.

use std::path::Path;

fn readme() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

/// Checks (or, with NNBENCH_BLESS=1, rewrites) the block `name` of the README.
fn check_block(name: &str, generated: &str) {
    // Tests run in parallel: one README edit at a time.
    static README: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = README
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = readme();
    let text = std::fs::read_to_string(&path).unwrap();
    let start = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end: {name} -->");
    let from = text
        .find(&start)
        .unwrap_or_else(|| panic!("README.md has no `{}` marker", start.trim()))
        + start.len();
    let to = from
        + text[from..]
            .find(&end)
            .unwrap_or_else(|| panic!("README.md has no `{end}` marker"));
    if text[from..to] == *generated {
        return;
    }
    if std::env::var_os("NNBENCH_BLESS").is_some() {
        let updated = format!("{}{generated}{}", &text[..from], &text[to..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "README.md's `{name}` block differs from what the code defines; run \
         `NNBENCH_BLESS=1 cargo test --test generated_docs` to regenerate it.\n\
         --- README ---\n{}\n--- generated ---\n{generated}",
        &text[from..to]
    );
}

#[test]
fn readme_speed_tables_are_those_of_the_committed_bench_csv() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bench/bench.csv");
    let bytes = std::fs::read(&path).unwrap();
    let rows = nnbench::run_folder::read::parse_table::<nnbench::run_folder::schema::BenchRow>(
        &bytes, &path,
    )
    .unwrap();
    assert!(!rows.is_empty());
    check_block("speed", &nnbench::bench::markdown(&rows));
}

#[test]
fn readme_lists_the_exit_codes_of_the_table() {
    check_block("exit-codes", &nnbench::exit_codes::markdown());
}

#[test]
fn readme_lists_the_course_of_the_lessons_table() {
    check_block("course-lessons", &nnbench::course::lessons_markdown());
}

#[test]
fn readme_lists_the_run_folder_files_and_columns_of_the_schema() {
    check_block("run-folder-files", &nnbench::run_folder::files_markdown());
}

#[test]
fn readme_shows_the_slurm_job_script_the_slurm_test_submits() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-shards.sbatch");
    let script = std::fs::read_to_string(path).unwrap();
    check_block("slurm-shards", &format!("```sh\n{script}```\n"));
}

#[test]
fn readme_shows_a_scenario_error_as_the_program_prints_it() {
    // mnist_adam with an out-of-range constant and a required key removed.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mnist_adam.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("beta1 = 0.9", "beta1 = 1.5")
        .lines()
        .filter(|line| !line.trim_start().starts_with("epochs"))
        .collect::<Vec<_>>()
        .join("\n");
    let error = nnbench_core::spec::parse::parse_scenario(
        "bad",
        "scenarios/bad.toml",
        &text,
        &Default::default(),
    )
    .expect_err("the scenario is wrong twice");
    assert_eq!(error.problems.len(), 2, "{error}");
    check_block("scenario-error", &format!("```text\nerror: {error}\n```\n"));
}
