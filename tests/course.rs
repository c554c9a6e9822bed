//! `nnbench course --quick`: the whole course in one command, killed half-way (running two
//! units side by side) and resumed, runs every scenario and every unit exactly once and writes
//! the index in the course's order.

mod common;
use common::{nnbench, read_csv, stderr};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn data_rows(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|text| text.matches('\n').count().saturating_sub(1))
        .unwrap_or(0)
}

/// The scenario folders of a course folder, in the course's order (from `course.json`).
fn planned(dir: &Path) -> Option<Vec<(String, PathBuf)>> {
    let text = std::fs::read_to_string(dir.join("course.json")).ok()?;
    let plan: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(
        plan["scenarios"]
            .as_array()?
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    dir.join(s["folder"].as_str().unwrap()),
                )
            })
            .collect(),
    )
}

/// The (variant, backend, seed) of every unit the scenario folder's resolved scenario holds.
fn expected_units(folder: &Path) -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(folder.join("scenario.resolved.json")).unwrap();
    let resolved: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut units = BTreeSet::new();
    for variant in resolved["variants"].as_array().unwrap() {
        let run = &variant["run"];
        for backend in run["backends"].as_array().unwrap() {
            for seed in run["training"]["seeds"].as_array().unwrap() {
                units.insert((
                    variant["name"].as_str().unwrap().to_string(),
                    backend.as_str().unwrap().to_string(),
                    seed.to_string(),
                ));
            }
        }
    }
    units
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        }
        out.push(path);
    }
}

/// The quick course on two backends (native and a framework): every chapter, in about half
/// the time of the default backends.
const COURSE: [&str; 5] = [
    "course",
    "--quick",
    "--backends",
    "native,burn",
    "--no-fetch",
];

#[test]
fn a_killed_quick_course_resumes_running_every_scenario_and_unit_once() {
    let temp = tempfile::tempdir().unwrap();
    let course = temp.path().join("course");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnbench"))
        .args(COURSE)
        .args(["--jobs", "2", "--out", path(&course)])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the middle scenario has finished its first unit.
    let middle = loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the course ended before it was killed"
        );
        assert!(started.elapsed() < Duration::from_secs(600), "no progress");
        if let Some(plan) = planned(&course) {
            let (_, folder) = &plan[plan.len() / 2];
            if data_rows(&folder.join("units.csv")) >= 1 {
                break folder.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first_part = started.elapsed();
    let plan = planned(&course).unwrap();
    assert!(!middle.join("summary.csv").exists(), "cut mid-scenario");
    let finished_before: Vec<(PathBuf, String)> = plan
        .iter()
        .filter(|(_, folder)| folder.join("summary.csv").exists())
        .map(|(_, folder)| {
            (
                folder.clone(),
                std::fs::read_to_string(folder.join("units.csv")).unwrap(),
            )
        })
        .collect();
    assert!(!finished_before.is_empty());
    assert!(!course.join("index.md").exists());

    // Resuming with other options is refused; writing over it with --out too.
    let refused = nnbench(&["course", "--resume", path(&course), "--backends", "native"]);
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    let refused = nnbench(&["course", "--quick", "--out", path(&course)]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("never overwritten"),
        "{}",
        stderr(&refused)
    );

    let resumed_at = Instant::now();
    let resumed = nnbench(&["course", "--resume", path(&course), "--no-fetch"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    eprintln!(
        "quick course: {:.1} s before the kill, {:.1} s to resume ({} scenarios)",
        first_part.as_secs_f64(),
        resumed_at.elapsed().as_secs_f64(),
        plan.len()
    );

    // Every scenario once, every unit once.
    for (name, folder) in &plan {
        assert!(folder.join("summary.csv").is_file(), "{name} finished");
        let (header, rows) = read_csv(&folder.join("units.csv"));
        assert_eq!(&header[..3], ["variant", "backend", "seed"]);
        let keys: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
            .collect();
        let distinct: BTreeSet<_> = keys.iter().cloned().collect();
        assert_eq!(distinct.len(), keys.len(), "{name}: a unit ran twice");
        assert_eq!(distinct, expected_units(folder), "{name}: every unit");
    }
    // What had finished before the kill was kept, not run again, and says it ran two units
    // side by side (the resumed run ran one at a time).
    for (folder, units) in &finished_before {
        let (header, rows) = read_csv(&folder.join("units.csv"));
        let jobs = header.iter().position(|h| h == "jobs").unwrap();
        assert!(
            rows.iter().all(|row| row[jobs] == "2"),
            "{}",
            folder.display()
        );
        assert_eq!(
            &std::fs::read_to_string(folder.join("units.csv")).unwrap(),
            units,
            "{} ran again",
            folder.display()
        );
    }
    let scenario_folders = std::fs::read_dir(&course)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(scenario_folders, plan.len());

    // The index: the course's chapters in order, each scenario once, every picture there.
    let index = std::fs::read_to_string(course.join("index.md")).unwrap();
    let chapters = [
        "The Rosenblatt perceptron",
        "The multi-layer perceptron",
        "Backpropagation",
        "Activation functions",
        "Vanishing and exploding gradients",
        "Optimizers",
        "MNIST",
        "Regularization",
        "MLP with scikit-learn",
    ];
    let positions: Vec<usize> = chapters
        .iter()
        .map(|c| {
            index
                .find(&format!(". {c}\n"))
                .unwrap_or_else(|| panic!("chapter {c} in the index"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "course order");
    for (name, _) in &plan {
        assert_eq!(
            index.matches(&format!("\n### {name}\n")).count(),
            1,
            "{name} once in the index"
        );
    }
    assert!(index.contains("XOR 0/"), "the perceptron's XOR figure");
    assert!(index.contains("first-layer gradient norm / last layer's"));
    let pictures: Vec<&str> = index
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|link| link.ends_with(".svg"))
        .collect();
    assert!(pictures.len() >= plan.len() - 2, "{pictures:?}");
    for picture in pictures {
        assert!(course.join(picture).is_file(), "{picture}");
    }

    // A scenario killed while drawing its report gets it drawn again on resume, nothing rerun.
    let (_, first) = &plan[0];
    let units = std::fs::read_to_string(first.join("units.csv")).unwrap();
    std::fs::remove_file(first.join("report.md")).unwrap();
    std::fs::remove_dir_all(first.join("plots")).unwrap();
    let again = nnbench(&["course", "--resume", path(&course), "--no-fetch"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(first.join("report.md").is_file());
    assert!(first.join("plots").read_dir().unwrap().count() > 0);
    assert_eq!(
        std::fs::read_to_string(first.join("units.csv")).unwrap(),
        units
    );

    // No file name in the course folder longer than 80 characters.
    let mut all = Vec::new();
    files(&course, &mut all);
    for file in &all {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(name.chars().count() <= 80, "{}", file.display());
    }
}

/// A scenario the course table does not list still runs, placed by its `course_section`; one
/// whose dataset is missing does not stop the others: the index says why, the exit code is 6.
#[test]
fn an_unlisted_scenario_is_placed_by_its_section_and_a_missing_dataset_is_reported() {
    let temp = tempfile::tempdir().unwrap();
    let scenarios = temp.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let shipped = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml")),
        )
        .unwrap()
    };
    let section = |text: String, section: &str| {
        text.lines()
            .map(|line| {
                if line.starts_with("course_section") {
                    format!("course_section = \"{section}\"")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    std::fs::write(
        scenarios.join("zz_new_xor.toml"),
        section(
            shipped("xor_mlp"),
            "Multi-layer perceptron: a new experiment",
        ),
    )
    .unwrap();
    std::fs::write(scenarios.join("mnist_sgd.toml"), shipped("mnist_sgd")).unwrap();
    let empty = temp.path().join("no-data");
    std::fs::create_dir_all(&empty).unwrap();
    let course = temp.path().join("course");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "course",
            "--backends",
            "native",
            "--no-fetch",
            "--data-dir",
            path(&empty),
        ];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_nnbench"))
            .args(&args)
            .env("NNBENCH_SCENARIOS", &scenarios)
            .current_dir(temp.path())
            .output()
            .unwrap()
    };
    let output = run(&["--quick", "--out", path(&course)]);
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let index = std::fs::read_to_string(course.join("index.md")).unwrap();
    let new = index.find("### zz_new_xor").expect("the new scenario");
    let mlp = index.find(". The multi-layer perceptron").unwrap();
    let mnist = index.find(". MNIST").unwrap();
    assert!(mlp < new && new < mnist, "{index}");
    assert!(index.contains("not in nnbench's course table"), "{index}");
    assert!(index.contains("**Not run:**"), "{index}");
    assert!(index.contains("mnist"), "{index}");
    // Resuming keeps what ran and tries the missing one again.
    let units = std::fs::read_to_string(course.join("01_zz_new_xor/units.csv")).unwrap();
    let output = run(&["--resume", path(&course)]);
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(course.join("01_zz_new_xor/units.csv")).unwrap(),
        units
    );
}
