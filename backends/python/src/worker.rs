//! One Python worker process: asked by [`Worker::request`], stopped on drop. A unit checks one
//! out ([`Worker::check_out`]) and hands it back when its trainer is dropped, so that the next
//! unit of the same framework and threads reuses it: starting an interpreter and importing a
//! framework takes seconds (TensorFlow's import alone ≈ 3 s), more than a small unit's whole
//! training. A worker that died, or was dropped in the middle of a request, is not reused.
//!
//! The worker's threads are fixed before its framework starts: `--threads` on its command line
//! and the OpenMP/BLAS variables in its environment. How long it polls its empty input is
//! `REPLY_SPIN`, given as `--input-spin-us`. Its stderr is kept (the last lines), so
//! that a crash that leaves no reply (a missing interpreter library, a segfault) still ends the
//! unit with the interpreter's own last words as the reason.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nnbench_core::BackendError;
use serde_json::{Map, Value};

use crate::Framework;
use crate::peers;
use crate::protocol::{self, ArrayRef, Message};

/// Lines of the worker's stderr kept for the reason of a crash.
const STDERR_LINES: usize = 200;
/// Set to `1` to copy the workers' stderr (framework warnings, tracebacks) to nnbench's.
pub const ECHO_STDERR_VARIABLE: &str = "NNBENCH_PYTHON_STDERR";

/// How long [`Worker::receive`] polls for a lone request's reply before it blocks on the pipe
/// where the worker's threads take every core (see [`REPLY_SPIN_SPARE_CORE`] otherwise).
/// A blocking read that the worker's reply wakes costs tens of µs on a virtual machine (the
/// idle vCPU must be woken): measured with a pipe between two Python processes, a round trip
/// took 65 µs with both sides blocking, 20 µs with one side polling and 5 µs with both (the
/// worker polls its empty input as long: this value, given on its command line). A tiny
/// network's step is one such round trip; while steps are sent ahead (`Trainer::rows_ahead`)
/// the reply awaited is not the only one in flight, so the read blocks at once (only an
/// epoch's last step is waited on alone).
const REPLY_SPIN: Duration = Duration::from_micros(100);

/// How long [`Worker::receive`] polls for a lone reply when the worker's threads leave a core
/// for the polling: longer than a tiny network's whole step in pytorch or keras (250–400 µs),
/// so that the reply never has to wake nnbench. In `bench --workloads xor_step` at 1 thread on
/// 2 cores, two sittings each: pytorch's harness / own loop went from 1.46 to 1.29–1.31 and
/// keras's from 1.63–1.71 to 1.45–1.54 (JAX's 26 µs step was already inside 100 µs). Where the
/// worker's threads take every core, polling this long takes one from the framework: pytorch
/// at 2 threads on 2 cores went from 1.81 to 3.4 (2.2–2.4 even yielding the core between
/// polls), so [`REPLY_SPIN`] stays there.
const REPLY_SPIN_SPARE_CORE: Duration = Duration::from_micros(2000);

/// How long to poll for a lone reply from a worker running `threads` threads: long where
/// every unit running now (`units` of them) leaves a core beside its worker's threads for
/// nnbench's polling.
fn reply_spin(threads: usize, units: usize, cores: usize) -> Duration {
    if units * (threads + 1) <= cores {
        REPLY_SPIN_SPARE_CORE
    } else {
        REPLY_SPIN
    }
}

/// The cores this process may run on, read once (the standard library reads the affinity
/// mask and cgroup limits each time it is asked).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |cores| cores.get()))
}

/// Workers between units, ready for the next one of their framework and threads.
static IDLE: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

pub struct Worker {
    framework: Framework,
    threads: usize,
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
    buffer: Vec<u8>,
    /// Set once the process is gone: every later request fails with this reason.
    dead: Option<String>,
    /// Requests sent whose replies are not read yet: a worker handed back with any is not
    /// reused, since its next reply would answer an old request.
    in_flight: usize,
}

/// A worker lent to one unit, handed back to the idle ones when dropped.
pub struct CheckedOut(Option<Worker>);

impl std::ops::Deref for CheckedOut {
    type Target = Worker;
    fn deref(&self) -> &Worker {
        self.0
            .as_ref()
            .expect("a checked-out worker is present until drop")
    }
}

impl std::ops::DerefMut for CheckedOut {
    fn deref_mut(&mut self) -> &mut Worker {
        self.0
            .as_mut()
            .expect("a checked-out worker is present until drop")
    }
}

impl Drop for CheckedOut {
    fn drop(&mut self) {
        let Some(mut worker) = self.0.take() else {
            return;
        };
        if worker.dead.is_none()
            && worker.in_flight == 0
            && worker.child.try_wait().is_ok_and(|s| s.is_none())
        {
            worker.clear_stderr_tail();
            IDLE.lock().unwrap_or_else(|p| p.into_inner()).push(worker);
        }
    }
}

impl Worker {
    /// An idle worker of `framework` with `threads` threads, or a new one.
    pub fn check_out(framework: Framework, threads: usize) -> Result<CheckedOut, BackendError> {
        let threads = threads.max(1);
        let idle = {
            let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
            idle.iter()
                .position(|w| w.framework == framework && w.threads == threads)
                .map(|index| idle.swap_remove(index))
        };
        if let Some(mut worker) = idle
            && worker.is_running()
        {
            return Ok(CheckedOut(Some(worker)));
        }
        Ok(CheckedOut(Some(Worker::start(framework, threads)?)))
    }

    fn is_running(&mut self) -> bool {
        self.dead.is_none() && self.child.try_wait().is_ok_and(|status| status.is_none())
    }

    fn clear_stderr_tail(&self) {
        self.stderr_tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Starts `python -m nnbench_peers.worker <framework> --threads <threads> --input-spin-us
    /// <REPLY_SPIN>`.
    pub fn start(framework: Framework, threads: usize) -> Result<Worker, BackendError> {
        let peers = peers::locate().map_err(|reason| error(framework, reason))?;
        Worker::start_with(&peers, framework, threads)
    }

    /// [`Worker::start`] with a given interpreter and package directory.
    pub fn start_with(
        peers: &peers::Peers,
        framework: Framework,
        threads: usize,
    ) -> Result<Worker, BackendError> {
        let thread_count = threads.max(1);
        let threads = thread_count.to_string();
        let input_spin_us = REPLY_SPIN.as_micros().to_string();
        let mut command = Command::new(&peers.python);
        command
            .args([
                "-m",
                "nnbench_peers.worker",
                framework.name(),
                "--threads",
                &threads,
                "--input-spin-us",
                &input_spin_us,
            ])
            .env("PYTHONPATH", &peers.package_dir)
            .env("PYTHONNOUSERSITE", "1")
            .env("KERAS_BACKEND", "tensorflow")
            .env("OMP_NUM_THREADS", &threads)
            .env("MKL_NUM_THREADS", &threads)
            .env("OPENBLAS_NUM_THREADS", &threads)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if std::env::var_os("TF_CPP_MIN_LOG_LEVEL").is_none() {
            command.env("TF_CPP_MIN_LOG_LEVEL", "2");
        }
        let mut child = command.spawn().map_err(|io| {
            error(
                framework,
                format!("cannot start {}: {io}", peers.python.display()),
            )
        })?;
        let stdin = child.stdin.take().map(BufWriter::new);
        let stdout = BufReader::with_capacity(1 << 20, child.stdout.take().expect("piped"));
        let stderr = child.stderr.take().expect("piped");
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        let echo = std::env::var(ECHO_STDERR_VARIABLE).is_ok_and(|v| v == "1");
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if echo {
                    eprintln!("[{}] {line}", framework.name());
                }
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Worker {
            framework,
            threads: thread_count,
            in_flight: 0,
            child,
            stdin,
            stdout,
            stderr_tail,
            stderr_reader: Some(stderr_reader),
            buffer: Vec::new(),
            dead: None,
        })
    }

    /// Sends `op` with `fields` and `arrays`, and returns the reply; a Python exception is an
    /// error whose message is the exception's last line, a dead worker one that says how it
    /// ended.
    pub fn request(
        &mut self,
        op: &str,
        fields: Map<String, Value>,
        arrays: &[(&str, &[usize], ArrayRef<'_>)],
    ) -> Result<Message, BackendError> {
        self.send(op, fields, arrays)?;
        self.receive()
    }

    /// Sends a request without waiting for its reply: replies come back in order, one per
    /// [`Worker::receive`]. The worker reads the next request as soon as it has answered the
    /// last, so a request sent ahead waits in its input instead of the worker waiting on a
    /// round trip.
    pub fn send(
        &mut self,
        op: &str,
        mut fields: Map<String, Value>,
        arrays: &[(&str, &[usize], ArrayRef<'_>)],
    ) -> Result<(), BackendError> {
        fields.insert("op".into(), Value::from(op));
        self.send_with(|stdin, buffer| protocol::write_message(stdin, buffer, fields, arrays))
    }

    /// Sends a `train_rows` request in the compact form (see [`protocol::ROW_STEP`]), without
    /// waiting for its reply, as [`Worker::send`] does.
    pub fn send_row_step(&mut self, learning_rate: f32, rows: &[u32]) -> Result<(), BackendError> {
        self.send_with(|stdin, buffer| protocol::write_row_step(stdin, buffer, learning_rate, rows))
    }

    fn send_with(
        &mut self,
        write: impl FnOnce(&mut BufWriter<ChildStdin>, &mut Vec<u8>) -> std::io::Result<()>,
    ) -> Result<(), BackendError> {
        if let Some(reason) = &self.dead {
            return Err(error(self.framework, reason.clone()));
        }
        self.in_flight += 1;
        let sent = match self.stdin.as_mut() {
            Some(stdin) => write(stdin, &mut self.buffer),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        sent.map_err(|io| self.died(&io))
    }

    /// The reply to the oldest request not answered yet.
    pub fn receive(&mut self) -> Result<Message, BackendError> {
        if let Some(reason) = &self.dead {
            return Err(error(self.framework, reason.clone()));
        }
        if self.in_flight == 0 {
            return Err(error(
                self.framework,
                "a reply was read with no request sent",
            ));
        }
        if self.in_flight == 1 && self.stdout.buffer().is_empty() {
            let units = nnbench_core::threads::units_side_by_side();
            poll_for_reply(
                self.stdout.get_ref(),
                reply_spin(self.threads, units, cores()),
            );
        }
        let reply = protocol::read_message(&mut self.stdout).map_err(|io| self.died(&io))?;
        self.in_flight -= 1;
        if reply.header.get("ok") == Some(&Value::Bool(true)) {
            return Ok(reply);
        }
        let text = reply
            .header
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("the worker answered without `ok` or `error`");
        Err(error(self.framework, last_line(text)))
    }

    /// Marks the worker dead after `io` failed on its pipes; the error says how it ended.
    fn died(&mut self, io: &std::io::Error) -> BackendError {
        let reason = self.death_reason(io);
        self.dead = Some(reason.clone());
        error(self.framework, reason)
    }

    /// Why the worker stopped answering: the last line it wrote to stderr, and how it exited.
    fn death_reason(&mut self, io: &std::io::Error) -> String {
        self.stdin = None;
        let status = wait_a_little(&mut self.child, Duration::from_secs(5));
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        let exit = match status {
            Some(status) => describe_exit(status),
            None => format!("stopped answering ({io})"),
        };
        match tail.iter().rev().find(|line| !line.trim().is_empty()) {
            Some(line) => format!("{} (the Python worker {exit})", line.trim()),
            None => format!("the Python worker {exit}"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // End of input tells the worker to exit.
        self.stdin = None;
        if wait_a_little(&mut self.child, Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }
}

/// Returns once `stdout` has something to read or `limit` has passed, without blocking.
#[cfg(unix)]
fn poll_for_reply(stdout: &ChildStdout, limit: Duration) {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: stdout.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let started = Instant::now();
    while started.elapsed() < limit {
        // SAFETY: one valid pollfd for a descriptor `stdout` keeps open; a zero timeout.
        if unsafe { libc::poll(&mut poll, 1, 0) } != 0 {
            return;
        }
        std::hint::spin_loop();
    }
}

#[cfg(not(unix))]
fn poll_for_reply(_stdout: &ChildStdout, _limit: Duration) {}

/// The child's exit status, waiting at most `limit` for it.
fn wait_a_little(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "exited".to_string(),
    }
}

/// The last non-empty line of a Python traceback: the exception and its message.
pub fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("the Python worker reported an empty error")
        .trim()
        .to_string()
}

/// A failure of `framework`, in the harness's terms.
pub fn error(framework: Framework, message: impl Into<String>) -> BackendError {
    BackendError::Framework {
        framework: framework.name(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_tracebacks_last_line() {
        let traceback = "Traceback (most recent call last):\n  File \"x.py\", line 1\n\
                         ValueError: bad shape\n\n";
        assert_eq!(last_line(traceback), "ValueError: bad shape");
    }

    #[test]
    fn nnbench_polls_long_only_beside_every_units_threads() {
        // One unit of one thread on two cores: the second core is free for the polling.
        assert_eq!(reply_spin(1, 1, 2), REPLY_SPIN_SPARE_CORE);
        assert_eq!(reply_spin(3, 1, 4), REPLY_SPIN_SPARE_CORE);
        // Two threads on two cores, two units of one thread, one core: no core to spare.
        assert_eq!(reply_spin(2, 1, 2), REPLY_SPIN);
        assert_eq!(reply_spin(1, 2, 2), REPLY_SPIN);
        assert_eq!(reply_spin(1, 1, 1), REPLY_SPIN);
        assert!(REPLY_SPIN < REPLY_SPIN_SPARE_CORE);
    }
}
