//! Each Python framework's capability table, read from its file
//! `py/nnbench_peers/capabilities/<framework>.toml` (embedded at build time, so `nnbench
//! backends` needs no Python):
//!
//! ```toml
//! [layer]
//! dense = "framework"            # "framework" | "adapter" | "unsupported: <reason>"
//! [activation]                   # every name of core's tables, in each category
//! [formula_difference]           # optional: feature name → how this framework's formula differs
//! adam = "..."
//! ```
//!
//! A file not written yet reads as everything unsupported ("not written yet"). [`problems`]
//! lists what a file gets wrong (a missing or unknown name, a bad value); the tests hold every
//! file to it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use nnbench_core::capability::{self, CONV_LAYERS, LAYERS, OPTIMIZERS, REGULARIZERS};
use nnbench_core::spec::{Activation, OutputHead, RunSpec};
use nnbench_core::{Capability, Category, Support};

use crate::Framework;

mod files {
    include!(concat!(env!("OUT_DIR"), "/capability_files.rs"));
}

/// A framework's table and its formula differences.
#[derive(Debug, Clone)]
pub struct CapabilityTable {
    pub capabilities: Vec<Capability>,
    /// Feature name (`adam`, `batch_norm`, `clip_norm`, ...) → what differs from the spec.
    pub formula_differences: BTreeMap<String, String>,
}

impl CapabilityTable {
    /// The differences of every feature `run` uses, joined; `None` when there are none.
    pub fn formula_difference(&self, run: &RunSpec) -> Option<String> {
        let texts: Vec<String> = capability::features_used(run)
            .into_iter()
            .filter_map(|(_, name)| {
                self.formula_differences
                    .get(name)
                    .map(|text| format!("{name}: {text}"))
            })
            .collect();
        (!texts.is_empty()).then(|| texts.join("; "))
    }
}

/// Every (category, name) a table must list, in display order.
pub fn expected_names() -> Vec<(Category, &'static str)> {
    let mut names: Vec<(Category, &'static str)> = LAYERS
        .iter()
        .chain(&CONV_LAYERS)
        .map(|&n| (Category::Layer, n))
        .collect();
    names.extend(Activation::ALL.map(|a| (Category::Activation, a.name())));
    names.extend(OutputHead::ALL.map(|h| (Category::Head, h.name())));
    names.extend(OPTIMIZERS.iter().map(|&n| (Category::Optimizer, n)));
    names.extend(REGULARIZERS.iter().map(|&n| (Category::Regularizer, n)));
    names.push((Category::Init, "framework_default"));
    names
}

/// The capability file's text for `framework`, `None` when it is not written yet.
pub fn file_text(framework: Framework) -> Option<&'static str> {
    match framework {
        Framework::Pytorch => files::PYTORCH,
        Framework::Jax => files::JAX,
        Framework::Keras => files::KERAS,
    }
}

/// `framework`'s table, parsed once.
pub fn table(framework: Framework) -> &'static CapabilityTable {
    static TABLES: [OnceLock<CapabilityTable>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let index = Framework::ALL
        .iter()
        .position(|&f| f == framework)
        .expect("every framework is in ALL");
    TABLES[index].get_or_init(|| parse(framework, file_text(framework)).0)
}

/// What is wrong with `framework`'s capability file (empty when nothing is).
pub fn problems(framework: Framework) -> Vec<String> {
    match file_text(framework) {
        Some(text) => parse(framework, Some(text)).1,
        None => vec![format!(
            "capabilities/{}.toml is not written yet",
            framework.name()
        )],
    }
}

fn parse(framework: Framework, text: Option<&str>) -> (CapabilityTable, Vec<String>) {
    let file = format!("capabilities/{}.toml", framework.name());
    let mut problems = Vec::new();
    let Some(text) = text else {
        let capabilities = expected_names()
            .into_iter()
            .map(|(category, name)| {
                Capability::new(
                    category,
                    name,
                    Support::Unsupported("not written yet".into()),
                )
            })
            .collect();
        return (
            CapabilityTable {
                capabilities,
                formula_differences: BTreeMap::new(),
            },
            problems,
        );
    };
    let root: toml::Table = toml::from_str(text).unwrap_or_else(|error| {
        problems.push(format!("{file}: {error}"));
        toml::Table::new()
    });
    let expected = expected_names();
    let mut capabilities = Vec::new();
    for &(category, name) in &expected {
        let value = root
            .get(category.name())
            .and_then(|section| section.get(name));
        let support = match value.and_then(toml::Value::as_str).map(support_from) {
            Some(Ok(support)) => support,
            Some(Err(message)) => {
                problems.push(format!("{file}: {}.{name}: {message}", category.name()));
                Support::Unsupported(format!("{file}: {message}"))
            }
            None => {
                problems.push(format!("{file}: {}.{name} is missing", category.name()));
                Support::Unsupported(format!("not listed in {file}"))
            }
        };
        capabilities.push(Capability::new(category, name, support));
    }
    let mut formula_differences = BTreeMap::new();
    for (section, entries) in &root {
        let Some(entries) = entries.as_table() else {
            problems.push(format!("{file}: `{section}` is not a table"));
            continue;
        };
        if section == "formula_difference" {
            for (key, text) in entries {
                match text.as_str() {
                    Some(text) if expected.iter().any(|&(_, name)| name == key) => {
                        formula_differences.insert(key.clone(), text.to_string());
                    }
                    Some(_) => problems.push(format!(
                        "{file}: formula_difference.{key}: not a feature name"
                    )),
                    None => {
                        problems.push(format!("{file}: formula_difference.{key}: not a string"))
                    }
                }
            }
            continue;
        }
        for key in entries.keys() {
            let known = expected
                .iter()
                .any(|&(category, name)| category.name() == section && name == key);
            if !known {
                problems.push(format!("{file}: unknown entry {section}.{key}"));
            }
        }
    }
    (
        CapabilityTable {
            capabilities,
            formula_differences,
        },
        problems,
    )
}

fn support_from(text: &str) -> Result<Support, String> {
    match text.trim() {
        "framework" => Ok(Support::Framework),
        "adapter" => Ok(Support::Adapter),
        other => match other.strip_prefix("unsupported:") {
            Some(reason) if !reason.trim().is_empty() => {
                Ok(Support::Unsupported(reason.trim().to_string()))
            }
            _ => Err(format!(
                "`{other}` is not \"framework\", \"adapter\" or \"unsupported: <reason>\""
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_file_lists_every_feature_once_and_nothing_else() {
        for framework in Framework::ALL {
            if file_text(framework).is_none() {
                println!("{}: capability file not written yet", framework.name());
                continue;
            }
            let problems = problems(framework);
            assert!(problems.is_empty(), "{problems:#?}");
        }
        assert!(
            file_text(Framework::Pytorch).is_some(),
            "pytorch's capability file is part of this crate"
        );
    }

    #[test]
    fn a_missing_file_marks_everything_unsupported() {
        let (table, problems) = parse(Framework::Jax, None);
        assert!(problems.is_empty());
        assert_eq!(table.capabilities.len(), expected_names().len());
        assert!(
            table
                .capabilities
                .iter()
                .all(|cap| cap.support == Support::Unsupported("not written yet".into()))
        );
    }

    #[test]
    fn bad_values_and_unknown_names_are_reported() {
        let text =
            "[layer]\ndense = \"maybe\"\nconv = \"framework\"\n[formula_difference]\nfoo = \"x\"\n";
        let (table, problems) = parse(Framework::Pytorch, Some(text));
        assert!(
            problems.iter().any(|p| p.contains("layer.dense")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("layer.conv")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("formula_difference.foo")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("activation.relu is missing"))
        );
        assert!(matches!(
            table.capabilities[0].support,
            Support::Unsupported(_)
        ));
    }
}
