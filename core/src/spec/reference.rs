//! The scenario reference, `docs/scenario-reference.md`, generated from the
//! [schema](super::schema) and the [quick caps](super::quick): every key with its type,
//! default, allowed range or values and meaning, table by table. A test compares the file with
//! [`markdown`] (`NNBENCH_BLESS=1` rewrites it).

use super::quick;
use super::schema::{DefaultValue, Key, TABLES, Table};
use super::sweep::MAX_VARIANTS;

/// Where the reference lives, from the workspace root.
pub const PATH: &str = "docs/scenario-reference.md";

/// The whole reference.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Scenario reference\n\n");
    out.push_str(
        "<!-- Generated from core/src/spec/schema.rs; do not edit. Regenerate with\n     \
         NNBENCH_BLESS=1 cargo test -p nnbench-core --test scenario_reference -->\n\n",
    );
    out.push_str(
        "A scenario is a TOML file in `scenarios/`; `nnbench show <name>` prints it resolved. \
         Every key nnbench reads is listed below, table by table. A key not listed is an \
         error, and so is a value outside the allowed range; all problems of a file are \
         reported at once, each naming the file, the key, the value and what is allowed.\n\n\
         *required*: the key must be given; *unset*: absent means off or none. A key marked \
         *only for* exists only when the table's selector key has one of the values named.\n",
    );
    for table in TABLES {
        section(&mut out, table);
    }
    sweep_and_quick(&mut out);
    out
}

fn section(out: &mut String, table: &Table) {
    out.push_str(&format!("\n## {}\n\n{}\n", table.title, table.about));
    if !table.also.is_empty() {
        let also: Vec<String> = table.also.iter().map(|path| format!("`{path}`")).collect();
        out.push_str(&format!(
            "\nThe same keys apply to {} as to `{}`.\n",
            also.join(", "),
            table.path
        ));
    }
    out.push_str("\n| key | type | default | allowed | meaning |\n");
    out.push_str("|---|---|---|---|---|\n");
    for key in table.keys() {
        out.push_str(&row(key, table));
    }
}

fn row(key: &Key, table: &Table) -> String {
    let default = match key.default {
        DefaultValue::Required => "*required*".to_string(),
        DefaultValue::Unset => "*unset*".to_string(),
        DefaultValue::Value(text) => format!("`{text}`"),
    };
    let mut meaning = key.meaning.to_string();
    if let (false, Some(selector)) = (key.only_for.is_empty(), table.selector) {
        let values: Vec<String> = key
            .only_for
            .iter()
            .map(|value| format!("`{selector} = \"{value}\"`"))
            .collect();
        meaning = format!("*Only for {}.* {meaning}", values.join(", "));
    }
    format!(
        "| `{}` | {} | {} | {} | {} |\n",
        key.name,
        key.ty.name(),
        default,
        cell(&key.ty.allowed()),
        cell(&meaning)
    )
}

/// A table cell: `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn sweep_and_quick(out: &mut String) {
    out.push_str(&format!(
        "
## [sweep]

A grid over any keys: each entry is an axis, and every combination of one value per axis is a
variant (the first axis outermost; at most {MAX_VARIANTS} variants). Variants are named
`axis=label,axis=label`.

- **Path axis**: `\"dotted.key\" = [values]`, where the key is a path into the scenario:
  `\"optimizer.learning_rate\" = [0.1, 0.01]`, `\"model.layers[1].units\" = [8, 16]`, or
  `\"model.layers[*].activation\" = [\"relu\", \"tanh\"]` (`[*]`: every element). Quote dotted
  keys. A whole table may be a value (`optimizer = [{{ name = \"fast\", kind = \"sgd\",
  learning_rate = 0.5 }}, ...]`); its `name`, if any, is the label and is not set.
- **Bundle axis**: a bare name whose values are tables of paths set together:
  `fix = [{{ name = \"none\" }}, {{ name = \"clip\", \"regularization.clip_value\" = 0.1 }}]`;
  every value needs a `name`.

Labels: a string is its own label; a table its `name` or `kind`; a list of layers reads
`relu64-dropout0.5`; numbers as written.

## [quick]

`nnbench ... --quick` caps the run for a smoke test: {}. Then the file's `[quick]` table, of
`\"dotted.key\" = value` entries, edits it (e.g. `\"training.epochs\" = 1`); it may lower the
caps further, never raise them. Command-line overrides (`--set key=value`) come after and win.
",
        quick::describe()
    ));
}
