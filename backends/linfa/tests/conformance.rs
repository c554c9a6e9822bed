//! The shared conformance suite, run on the linfa backend.

nnbench_core::conformance_suite!(nnbench_linfa::LinfaBackend);
