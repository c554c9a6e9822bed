//! The modules of `core/src/spec` form layers: no module imports, directly or through others,
//! one that imports it back. The import graph is read from the sources (`use super::…`,
//! `use crate::spec::…` and inline `super::module::` paths) and searched for a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/spec");

/// The modules of `spec` (file stems; `mod` is `mod.rs`, the parent).
fn modules() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(SPEC).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            out.insert(stem, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The code of `source` without comments (doc links may name any module).
fn code(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every item a `use` tree names: `a::b` → `a`, `{a::b, c}` → `a, c`,
/// `self` and `*` → the parent.
fn heads(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let mut items = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[start..]);
        return items
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .flat_map(heads)
            .collect();
    }
    let head = tree
        .split("::")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    vec![head.to_string()]
}

/// The use tree at the start of `text`: a braced group, or a path.
fn use_tree(text: &str) -> &str {
    if text.starts_with('{') {
        let mut depth = 0;
        for (i, c) in text.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                return &text[..=i];
            }
        }
        return text;
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The modules of `spec` that `source` (of module `this`) refers to.
fn imports(this: &str, source: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code(source);
    let mut out = BTreeSet::new();
    let mut add = |head: &str| {
        let target = if names.contains(head) { head } else { "mod" };
        if target != this {
            out.insert(target.to_string());
        }
    };
    let prefixes: &[&str] = if this == "mod" {
        &["self::", "crate::spec::"]
    } else {
        &["super::", "crate::spec::"]
    };
    for prefix in prefixes {
        for (at, _) in code.match_indices(prefix) {
            for head in heads(use_tree(&code[at + prefix.len()..])) {
                add(&head);
            }
        }
    }
    // `mod.rs` declares the others; a declaration is not an import.
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, source)| (name.clone(), imports(name, source, &names)))
        .collect()
}

/// A cycle of the graph, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn spec_modules_import_each_other_without_cycles() {
    let graph = graph();
    assert!(
        graph.len() > 10,
        "expected the split spec modules: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "core/src/spec has an import cycle: {}\nthe whole graph: {graph:#?}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_graph_reader_sees_imports_and_cycles() {
    let names: BTreeSet<String> = ["a", "b", "schema", "mod"].map(String::from).into();
    let found = imports(
        "a",
        "//! see super::b\nuse super::{schema::{self, Key}, Scenario};\nfn f() { super::b::g() }\n",
        &names,
    );
    assert_eq!(found, ["b", "mod", "schema"].map(String::from).into());
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), ["b".to_string()].into());
    graph.insert("b".to_string(), ["a".to_string()].into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
    assert!(Path::new(SPEC).join("mod.rs").exists());
}
