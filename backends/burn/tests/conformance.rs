//! The shared conformance suite, run on the burn backend.

nnbench_core::conformance_suite!(nnbench_burn::BurnBackend);
