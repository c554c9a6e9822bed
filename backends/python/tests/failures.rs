//! A Python failure ends the unit, never the run: an exception, a missing module and a crashed
//! interpreter each become an error whose message is the Python side's last line. The crash
//! and the missing module are staged with stand-in interpreters, so they need no peers.

use std::path::{Path, PathBuf};

use nnbench_core::BackendError;
use nnbench_python::Framework;
use nnbench_python::peers::{self, Peers};
use nnbench_python::worker::Worker;
use serde_json::Map;

fn message(error: BackendError) -> String {
    match error {
        BackendError::Framework { framework, message } => {
            assert_eq!(framework, "pytorch");
            message
        }
        other => panic!("not a framework error: {other}"),
    }
}

/// A stand-in interpreter: a shell script with `body`.
fn script(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("python");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnbench-python-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_crashed_interpreter_is_reported_with_its_last_words() {
    let dir = scratch("crash");
    let python = script(
        &dir,
        "echo 'Fatal Python error: Segmentation fault' >&2\nkill -SEGV $$",
    );
    let peers = Peers {
        python,
        package_dir: dir.clone(),
    };
    let mut worker = Worker::start_with(&peers, Framework::Pytorch, 1).unwrap();
    let reason = message(worker.request("build", Map::new(), &[]).unwrap_err());
    assert!(
        reason.contains("Fatal Python error: Segmentation fault"),
        "{reason}"
    );
    assert!(reason.contains("signal 11"), "{reason}");
    // Later requests fail the same way instead of hanging.
    let again = message(worker.request("weights", Map::new(), &[]).unwrap_err());
    assert_eq!(again, reason);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_module_is_reported_by_name() {
    let Ok(real) = peers::locate() else {
        println!("skipped: {}", peers::locate().unwrap_err());
        return;
    };
    let dir = scratch("missing");
    let peers = Peers {
        python: real.python,
        package_dir: dir.clone(),
    };
    let mut worker = Worker::start_with(&peers, Framework::Pytorch, 1).unwrap();
    let reason = message(worker.request("build", Map::new(), &[]).unwrap_err());
    assert!(
        reason.contains("No module named 'nnbench_peers'"),
        "{reason}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_python_exception_is_an_error_and_the_worker_goes_on() {
    if !peers::ready_for_tests(Framework::Pytorch) {
        return;
    }
    let mut worker = Worker::start(Framework::Pytorch, 1).unwrap();
    let reason = message(
        worker
            .request("no_such_request", Map::new(), &[])
            .unwrap_err(),
    );
    assert_eq!(reason, "ValueError: unknown request 'no_such_request'");
    let versions = worker.request("versions", Map::new(), &[]).unwrap();
    assert!(
        versions.header["versions"]["torch"].is_string(),
        "{versions:?}"
    );
    // `weights` before `build`: a KeyError on the Python side, still just an error.
    let reason = message(worker.request("weights", Map::new(), &[]).unwrap_err());
    assert!(reason.starts_with("KeyError"), "{reason}");
    // A compact row step that fails (no split kept yet) is answered in JSON, and the next
    // request still reads its own reply.
    worker.send_row_step(0.1, &[0, 1]).unwrap();
    let reason = message(worker.receive().unwrap_err());
    assert!(reason.starts_with("KeyError"), "{reason}");
    let versions = worker.request("versions", Map::new(), &[]).unwrap();
    assert!(versions.header["versions"].is_object(), "{versions:?}");
}
