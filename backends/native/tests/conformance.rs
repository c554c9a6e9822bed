//! The shared conformance suite, run against the native backend.

nnbench_core::conformance_suite!(nnbench_native::NativeBackend);
