//! The README's Slurm job array, run on a real Slurm: the test starts a one-node cluster
//! (Debian's `munge`, `slurmctld`, `slurmd` and `slurm-client`) in a temporary folder with a
//! `slurm.conf` of its own, submits `scripts/slurm-shards.sbatch` (the script the README shows)
//! for a small scenario, requeues one array task half-way so that it resumes its shard, runs
//! `nnbench merge` as a job that waits for the array (`--dependency=afterok`), and checks the
//! merged run folder against a one-process run: every unit once, the same results.
//!
//! It needs the packages and root (slurmd starts each job as the user who submitted it);
//! without them it prints why and passes, unless `NNBENCH_REQUIRE_SLURM=1` (CI sets it after
//! installing the packages), which makes the skip a failure.

mod common;
use common::{nnbench, stderr};

use std::collections::{HashMap, HashSet};
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nnbench::run_folder::{EpochRow, RunFolder, SummaryRow, UnitRow, UnitTable};

const REQUIRE: &str = "NNBENCH_REQUIRE_SLURM";

/// 4 variants × 6 seeds on the native backend: 24 units of ≈ 0.3 s, 6 to a shard (so that
/// a task is still running some time after its first unit).
const SCENARIO: &str = "mlp_xor";
const OPTIONS: [&str; 6] = [
    "--backends",
    "native",
    "--seeds",
    "0,1,2,3,4,5",
    "--epochs",
    "5000",
];
const UNITS: usize = 24;

/// Every Slurm step of the test (the shards, the requeue, the merge) ends well within this.
const PATIENCE: Duration = Duration::from_secs(150);

const TOOLS: [&str; 8] = [
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "scontrol",
    "squeue",
    "scancel",
    "sinfo",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The programs the test runs, or `None` (after saying why) where they or root are missing.
fn tools_or_skip() -> Option<HashMap<&'static str, PathBuf>> {
    let search: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .collect();
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for tool in TOOLS {
        match search
            .iter()
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
        {
            Some(program) => {
                found.insert(tool, program);
            }
            None => missing.push(tool),
        }
    }
    let reason = if !missing.is_empty() {
        format!(
            "{} not installed (Debian: apt-get install slurmctld slurmd slurm-client munge)",
            missing.join(", ")
        )
    } else if fs::metadata("/proc/self").map_or(1, |m| m.uid()) != 0 {
        "not running as root: slurmd starts each job as the user who submitted it".to_string()
    } else {
        return Some(found);
    };
    let required = std::env::var(REQUIRE).is_ok_and(|v| v == "1");
    assert!(!required, "${REQUIRE}=1 but {reason}");
    eprintln!(
        "SKIPPED the Slurm job array test: {reason}. ${REQUIRE}=1 makes this a failure \
         (see README, Long runs)."
    );
    None
}

/// The number of shards the script's array makes (`#SBATCH --array=1-N`).
fn array_size(script: &str) -> usize {
    script
        .lines()
        .find_map(|line| line.strip_prefix("#SBATCH --array=1-"))
        .and_then(|n| n.trim().parse().ok())
        .expect("the script has an `#SBATCH --array=1-N` line")
}

/// Whole lines after the header.
fn data_rows(path: &Path) -> usize {
    fs::read_to_string(path)
        .map(|text| text.matches('\n').count().saturating_sub(1))
        .unwrap_or(0)
}

/// A one-node Slurm cluster living in one folder; dropping it cancels its jobs and stops its
/// daemons.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    tools: HashMap<&'static str, PathBuf>,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    fn start(dir: &Path, tools: HashMap<&'static str, PathBuf>) -> Cluster {
        for sub in ["munge", "state", "spool"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // munged refuses a key or socket folder that others can read or write.
        fs::set_permissions(dir.join("munge"), fs::Permissions::from_mode(0o700)).unwrap();
        let key = dir.join("munge/munge.key");
        let mut random = vec![0u8; 1024];
        std::io::Read::read_exact(&mut fs::File::open("/dev/urandom").unwrap(), &mut random)
            .unwrap();
        fs::write(&key, &random).unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        let socket = dir.join("munge/munge.socket");

        // slurmctld runs only on the host that slurm.conf names.
        let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let host = host.trim().split('.').next().unwrap().to_string();
        let listeners: Vec<TcpListener> = (0..2)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        drop(listeners);
        // At least two CPUs, so that the script's --cpus-per-task=2 fits on any machine.
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let d = dir.display();
        let conf = dir.join("slurm.conf");
        fs::write(
            &conf,
            format!(
                "# A one-node cluster for tests/slurm.rs: no cgroups (the process tracker and task\n\
                 # plugin below), no accounting (the default).\n\
                 ClusterName=nnbench\n\
                 SlurmctldHost={host}(127.0.0.1)\n\
                 SlurmctldPort={ctld}\n\
                 SlurmdPort={slurmd}\n\
                 SlurmUser=root\n\
                 SlurmdUser=root\n\
                 AuthType=auth/munge\n\
                 CredType=cred/munge\n\
                 # cred_expire is also how long a requeued job waits to start again (120 s by default).\n\
                 AuthInfo=socket={socket},cred_expire=5\n\
                 StateSaveLocation={d}/state\n\
                 SlurmdSpoolDir={d}/spool\n\
                 SlurmctldPidFile={d}/slurmctld.pid\n\
                 SlurmdPidFile={d}/slurmd.pid\n\
                 SlurmctldLogFile={d}/slurmctld.log\n\
                 SlurmdLogFile={d}/slurmd.log\n\
                 ProctrackType=proctrack/linuxproc\n\
                 TaskPlugin=task/none\n\
                 SchedulerType=sched/builtin\n\
                 SelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_Core\n\
                 ReturnToService=2\n\
                 SlurmdParameters=config_overrides\n\
                 NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
                 PartitionName=nnbench Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
                ctld = ports[0],
                slurmd = ports[1],
                socket = socket.display(),
            ),
        )
        .unwrap();

        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            conf,
            tools,
            daemons: Vec::new(),
        };
        cluster.spawn(
            "munged",
            &[
                "--foreground",
                "--force",
                &format!("--socket={}", socket.display()),
                &format!("--key-file={}", key.display()),
                &format!("--log-file={d}/munged.log"),
                &format!("--pid-file={d}/munge/munged.pid"),
                &format!("--seed-file={d}/munge/munged.seed"),
            ],
        );
        cluster.wait_until("munged to open its socket", Duration::from_secs(20), |_| {
            socket.exists()
        });
        cluster.spawn("slurmctld", &["-D"]);
        cluster.spawn("slurmd", &["-D"]);
        cluster.wait_until("the node to be idle", Duration::from_secs(60), |c| {
            c.output("sinfo", &["-h", "-N", "-o", "%T"]).trim() == "idle"
        });
        cluster
    }

    /// Starts a daemon in the foreground under `timeout`, so that it cannot outlive a test
    /// that is itself killed by more than a few minutes.
    fn spawn(&mut self, name: &'static str, args: &[&str]) {
        let log = fs::File::create(self.dir.join(format!("{name}.stderr"))).unwrap();
        let child = self
            .command("timeout")
            .arg("600")
            .arg(&self.tools[name])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.daemons.push((name, child));
    }

    /// A command that talks to this cluster only: its slurm.conf, none of the caller's
    /// Slurm variables (the test may itself run inside a Slurm job).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for (name, _) in std::env::vars_os() {
            let name_text = name.to_string_lossy();
            if ["SLURM_", "SBATCH_", "SALLOC_", "SRUN_"]
                .iter()
                .any(|prefix| name_text.starts_with(prefix))
            {
                command.env_remove(&name);
            }
        }
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// A client command's standard output; panics, with the cluster's logs, if it fails.
    fn output(&self, tool: &str, args: &[&str]) -> String {
        let output = self.command(&self.tools[tool]).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}\n{}",
            stderr(&output),
            self.diagnostics()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Submits a batch job from `workdir` with the nnbench under test first on its PATH;
    /// returns the job id.
    fn submit(&self, workdir: &Path, args: &[&str]) -> String {
        let bin = Path::new(env!("CARGO_BIN_EXE_nnbench")).parent().unwrap();
        let search = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let output = self
            .command(&self.tools["sbatch"])
            .arg("--parsable")
            .args(args)
            .current_dir(workdir)
            .env("PATH", search)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "sbatch {args:?} failed: {}\n{}",
            stderr(&output),
            self.diagnostics()
        );
        let id = String::from_utf8_lossy(&output.stdout);
        id.trim().split(';').next().unwrap().to_string()
    }

    /// A field of a job as `scontrol show job` gives it (`JobState`, `Restarts`, …).
    fn job_field(&self, job: &str, field: &str) -> String {
        let text = self.output("scontrol", &["-o", "show", "job", job]);
        let prefix = format!("{field}=");
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("job {job} has no {field}: {text}"))
            .to_string()
    }

    /// Polls `done` until it holds; panics with the cluster's logs after `limit`, or as soon
    /// as a daemon has died.
    fn wait_until(&mut self, what: &str, limit: Duration, mut done: impl FnMut(&Cluster) -> bool) {
        let started = Instant::now();
        loop {
            if done(self) {
                return;
            }
            for (name, child) in &mut self.daemons {
                if let Some(status) = child.try_wait().unwrap() {
                    let name = *name;
                    panic!(
                        "{name} exited ({status}) while waiting for {what}\n{}",
                        self.diagnostics()
                    );
                }
            }
            assert!(
                started.elapsed() < limit,
                "waited {limit:?} for {what}\n{}",
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of every log of the cluster and of its jobs, for a failure message.
    fn diagnostics(&self) -> String {
        let mut text = String::new();
        let mut files: Vec<PathBuf> = Vec::new();
        for folder in [self.dir.clone(), self.dir.with_file_name("work")] {
            if let Ok(entries) = fs::read_dir(&folder) {
                files.extend(entries.flatten().map(|e| e.path()).filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.ends_with(".log") || name.ends_with(".stderr") || name.ends_with(".out")
                }));
            }
        }
        files.sort();
        for file in files {
            let content = fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<&str> = content.lines().collect();
            let tail = &lines[lines.len().saturating_sub(25)..];
            text.push_str(&format!(
                "--- {} ---\n{}\n",
                file.display(),
                tail.join("\n")
            ));
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Jobs first (a failed test may leave some running), then the daemons, politely:
        // `timeout` passes SIGTERM on to the daemon it runs.
        if let Ok(output) = self
            .command(&self.tools["squeue"])
            .args(["-h", "-o", "%A"])
            .output()
        {
            let jobs: Vec<String> = String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            if !jobs.is_empty() {
                let _ = self.command(&self.tools["scancel"]).args(&jobs).status();
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("sh")
                .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
                .status();
            let started = Instant::now();
            while child.try_wait().ok().flatten().is_none()
                && started.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn untimed_units(rows: &[UnitRow]) -> Vec<UnitRow> {
    rows.iter()
        .map(|row| UnitRow {
            epoch_s_median: None,
            ..row.clone()
        })
        .collect()
}

fn untimed_epochs(rows: &[EpochRow]) -> Vec<EpochRow> {
    rows.iter()
        .map(|row| EpochRow {
            epoch_s: 0.0,
            eval_s: 0.0,
            samples_per_s: 0.0,
            ..row.clone()
        })
        .collect()
}

fn untimed_summary(rows: &[SummaryRow]) -> Vec<SummaryRow> {
    rows.iter()
        .map(|row| SummaryRow {
            epoch_s_median: None,
            ..row.clone()
        })
        .collect()
}

#[test]
fn the_readme_job_array_runs_on_slurm_with_a_task_killed_and_requeued() {
    let Some(tools) = tools_or_skip() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();

    // The one-process run the merged shards must equal, beside the cluster to save time
    // (no timing is compared).
    let whole = temp.path().join("whole");
    let one_process = {
        let whole = whole.clone();
        std::thread::spawn(move || {
            let mut args = vec!["scenario", SCENARIO];
            args.extend(OPTIONS);
            args.extend(["--out", path(&whole)]);
            let output = nnbench(&args);
            assert!(output.status.success(), "{}", stderr(&output));
        })
    };

    let script = root().join("scripts/slurm-shards.sbatch");
    let shards = array_size(&fs::read_to_string(&script).unwrap());
    let work = temp.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let mut cluster = Cluster::start(&temp.path().join("slurm"), tools);

    // As the README submits it: the array, then the merge once every task has succeeded.
    let mut args = vec![path(&script), SCENARIO];
    args.extend(OPTIONS);
    let array = cluster.submit(&work, &args);
    let merge = cluster.submit(
        &work,
        &[
            &format!("--dependency=afterok:{array}"),
            "--wrap",
            &format!("nnbench merge results/{SCENARIO}/all results/{SCENARIO}/shard-*"),
        ],
    );

    // Task 1 is killed half-way (a unit of its shard written, not the last) and requeued.
    let first_shard = work.join(format!("results/{SCENARIO}/shard-1/units.csv"));
    let first_shard_units = UNITS.div_ceil(shards);
    let task = format!("{array}_1");
    cluster.wait_until("shard 1 to finish a unit", PATIENCE, |c| {
        data_rows(&first_shard) >= 1
            || !["PENDING", "RUNNING", "CONFIGURING"]
                .contains(&c.job_field(&task, "JobState").as_str())
    });
    assert_eq!(
        cluster.job_field(&task, "JobState"),
        "RUNNING",
        "task 1 ended before it could be killed\n{}",
        cluster.diagnostics()
    );
    cluster.output("scontrol", &["requeue", &task]);
    cluster.wait_until("task 1 to be pending again", PATIENCE, |c| {
        c.job_field(&task, "Restarts") == "1" && c.job_field(&task, "JobState") == "PENDING"
    });
    let finished_when_killed = data_rows(&first_shard);
    assert!(
        finished_when_killed < first_shard_units,
        "task 1 was requeued after its shard had finished ({finished_when_killed} units)"
    );

    // A failed task leaves the merge pending for ever, its dependency never satisfied.
    cluster.wait_until("the merge job to end", PATIENCE, |c| {
        !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING"]
            .contains(&c.job_field(&merge, "JobState").as_str())
            || c.job_field(&merge, "Reason") == "DependencyNeverSatisfied"
    });
    for k in 1..=shards {
        let state = cluster.job_field(&format!("{array}_{k}"), "JobState");
        assert_eq!(state, "COMPLETED", "task {k}\n{}", cluster.diagnostics());
    }
    assert_eq!(cluster.job_field(&task, "Restarts"), "1");
    let state = cluster.job_field(&merge, "JobState");
    assert_eq!(state, "COMPLETED", "merge\n{}", cluster.diagnostics());
    // The requeued task resumed its shard (the script says which it does).
    let log = fs::read_to_string(work.join(format!("slurm-{array}_1.out"))).unwrap_or_default();
    assert!(
        log.contains(&format!("--resume results/{SCENARIO}/shard-1")),
        "task 1 after its requeue: {log}"
    );
    drop(cluster);
    one_process.join().unwrap();

    // Every unit exactly once, with the results of the one-process run.
    let merged = RunFolder::read(&work.join(format!("results/{SCENARIO}/all"))).unwrap();
    let one = RunFolder::read(&whole).unwrap();
    assert!(merged.repeated.is_empty(), "{:?}", merged.repeated);
    let keys: HashSet<_> = merged.units.iter().map(UnitRow::key).collect();
    assert_eq!((keys.len(), merged.units.len()), (UNITS, UNITS));
    assert_eq!(untimed_units(&merged.units), untimed_units(&one.units));
    assert_eq!(untimed_epochs(&merged.epochs), untimed_epochs(&one.epochs));
    assert_eq!(
        untimed_summary(merged.summary().unwrap()),
        untimed_summary(one.summary().unwrap())
    );
    eprintln!(
        "Slurm: {shards} array tasks, task 1 requeued after {finished_when_killed} of its \
         {first_shard_units} units, merged {UNITS} units equal the one-process run"
    );
}
