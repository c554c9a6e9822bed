//! Reading a scenario file: TOML → validated [`Scenario`](super::Scenario). (stub, being written)
