//! The scenario parser's public face, kept at the path the rest of the workspace uses:
//! [`load_scenario`], [`parse_scenario`] and [`parse_override`] (`load`), and
//! the error they return ([`problem`](super::problem)).
//!
//! Every key a scenario may hold (type, default, allowed values, meaning) is listed in
//! `docs/scenario-reference.md`, generated from [`schema`](super::schema).

pub use super::load::{LoadOptions, load_scenario, parse_override, parse_scenario};
pub use super::problem::{Problem, ScenarioError};
