//! The shared conformance suite on each Python backend; skipped (passing, with the reason
//! printed) where the peers are not installed, unless `NNBENCH_REQUIRE_PEERS=1`.

mod pytorch {
    use nnbench_python::{Framework, PythonBackend, peers};
    nnbench_core::conformance_suite!(
        PythonBackend::PYTORCH,
        run_if = peers::ready_for_tests(Framework::Pytorch)
    );
}

mod jax {
    use nnbench_python::{Framework, PythonBackend, peers};
    nnbench_core::conformance_suite!(
        PythonBackend::JAX,
        run_if = peers::ready_for_tests(Framework::Jax)
    );
}

mod keras {
    use nnbench_python::{Framework, PythonBackend, peers};
    nnbench_core::conformance_suite!(
        PythonBackend::KERAS,
        run_if = peers::ready_for_tests(Framework::Keras)
    );
}
