//! The shared conformance suite on the tch backend.

nnbench_core::conformance_suite!(nnbench_tch::TchBackend);
