//! Sweep expansion. (stub, being written)
