//! Dependencies between the modules of the `nnbench` crate run one way: a module may use
//! those below it, never one that (directly or not) uses it back. The argument definitions
//! and the exit-code table sit at the bottom and use no other module of the crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module each file of src/ belongs to, and the crate modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
            (!["lib", "main"].contains(&module.as_str())).then_some(module)
        })
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut text = String::new();
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            text.push_str(&std::fs::read_to_string(&file).unwrap());
        }
        let dir = src.join(module);
        if dir.is_dir() {
            for entry in walk(&dir) {
                text.push_str(&std::fs::read_to_string(entry).unwrap());
            }
        }
        let uses: BTreeSet<String> = crate_paths(&text)
            .into_iter()
            .filter(|used| used != module && modules.contains(used))
            .collect();
        graph.insert(module.clone(), uses);
    }
    graph
}

/// The first segment of every path that starts with `crate::`, groups included
/// (`crate::{a, b::c}` names `a` and `b`). Comments count too: a doc link is a dependency of
/// the reader's mind if not of the compiler's.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    _ if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            items.push(item);
            for item in items {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// A cycle through `start`, if any, as the modules on it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_of_src_depends_on_one_that_depends_on_it() {
    let graph = graph();
    assert!(graph.len() > 10, "{graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle(&graph, module) {
            panic!("circular imports: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn arguments_and_exit_codes_are_leaves() {
    let graph = graph();
    for leaf in ["args", "exit_codes", "stats", "clock", "worked_examples"] {
        assert!(
            graph[leaf].is_empty(),
            "{leaf} uses {:?}; it must depend on no other module of the crate",
            graph[leaf]
        );
    }
}
