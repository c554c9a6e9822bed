//! The shared conformance suite, run against the candle backend.

nnbench_core::conformance_suite!(nnbench_candle::CandleBackend);
