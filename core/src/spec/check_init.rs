//! Checks the `[init]` table (weight and bias schemes) into an [`InitSpec`].

use toml::Value;

use super::check::Check;
use super::schema::{
    self, INIT_BIASES, INIT_FROM_FILE, INIT_LIMIT, INIT_SCHEME, INIT_STD, INIT_TABLE_FORMS,
    INIT_TABLE_SCHEMES, INIT_WEIGHTS, Key, NAMED_BIAS_INITS, NAMED_WEIGHT_INITS,
};
use super::{InitFile, InitScheme, InitSpec};
use crate::weights::Weights;

const P: &str = "init";
const SCHEME_TABLE: &str = "init.weights";

pub(crate) fn check_init(c: &mut Check, t: &toml::Table) -> Option<InitSpec> {
    c.unknown_keys(t, P, &schema::key_names(P), "");
    let weights = c.defaulted(t, P, &INIT_WEIGHTS, |c, k, v| {
        check_scheme(c, k, v, ("weight", &INIT_WEIGHTS), &NAMED_WEIGHT_INITS)
    });
    let biases = c.defaulted(t, P, &INIT_BIASES, |c, k, v| {
        check_scheme(c, k, v, ("bias", &INIT_BIASES), &NAMED_BIAS_INITS)
    });
    let from_file = c.optional(t, P, &INIT_FROM_FILE, |c, k, v| {
        c.string(k, v).map(str::to_owned)
    });
    if let Some(Some(_)) = &from_file {
        for key in [&INIT_WEIGHTS, &INIT_BIASES] {
            if let Some(value) = t.get(key.name) {
                c.push(
                    &key.path(),
                    Some(value),
                    "does not apply with init.from_file (the file gives every weight and bias); \
                     remove one of them",
                );
            }
        }
    }
    // The file is read against the network in the cross-section checks ([`super::check_run`]).
    Some(InitSpec {
        weights: weights?,
        biases: biases?,
        from_file: from_file?.map(|path| InitFile {
            path,
            weights: Weights::default(),
        }),
    })
}

/// The parameter key of a scheme of the table form (`limit` for uniform, `std` for normal).
fn parameter(scheme: &str) -> Option<&'static Key> {
    [&INIT_LIMIT, &INIT_STD]
        .into_iter()
        .find(|key| key.applies_to(scheme) && !key.only_for.is_empty())
}

fn check_scheme(
    c: &mut Check,
    key: &str,
    value: &Value,
    (noun, spec): (&str, &Key),
    named: &[(&str, InitScheme)],
) -> Option<InitScheme> {
    let names = spec.choices();
    let quoted_schemes = INIT_TABLE_SCHEMES
        .iter()
        .map(|scheme| format!("\"{scheme}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    match value {
        Value::String(text) => {
            if names.contains(&text.as_str())
                && let Some((_, scheme)) = named.iter().find(|(name, _)| name == text)
            {
                return Some(*scheme);
            }
            if INIT_TABLE_SCHEMES.contains(&text.as_str())
                && let Some(param) = parameter(text)
            {
                c.push(
                    key,
                    Some(value),
                    format!(
                        "{text} needs a {}; write {{ scheme = \"{text}\", {} = {} }}",
                        param.name, param.name, param.example
                    ),
                );
                return None;
            }
            let message = match names {
                [only] => {
                    format!("unknown {noun} init; expected {only} or a table {INIT_TABLE_FORMS}")
                }
                _ => format!(
                    "unknown {noun} init; expected one of {}, or a table {INIT_TABLE_FORMS}",
                    names.join(", ")
                ),
            };
            c.push(key, Some(value), message);
            None
        }
        Value::Table(t) => {
            let scheme = c.required(t, key, &INIT_SCHEME, |c, k, v| {
                let Value::String(text) = v else {
                    c.push(k, Some(v), format!("must be {quoted_schemes}"));
                    return None;
                };
                if let Some(scheme) = INIT_TABLE_SCHEMES.iter().find(|s| *s == text) {
                    return Some(*scheme);
                }
                if names.contains(&text.as_str()) {
                    c.push(
                        k,
                        Some(v),
                        format!(
                            "write a named scheme as a string: {} = \"{text}\"",
                            key.rsplit('.').next().unwrap_or(key)
                        ),
                    );
                } else {
                    c.push(
                        k,
                        Some(v),
                        format!(
                            "unknown scheme for the table form; expected {}",
                            INIT_TABLE_SCHEMES.join(" or ")
                        ),
                    );
                }
                None
            })?;
            c.unknown_keys(
                t,
                key,
                &schema::key_names_for(SCHEME_TABLE, scheme),
                &format!(" for scheme {scheme}"),
            );
            let param = parameter(scheme)?;
            let x = c.required(t, key, param, |c, k, v| c.float(k, v, param))?;
            Some(if param.name == INIT_LIMIT.name {
                InitScheme::Uniform { limit: x }
            } else {
                InitScheme::Normal { std: x }
            })
        }
        other => {
            c.push(
                key,
                Some(other),
                format!(
                    "must be a string ({}) or a table {INIT_TABLE_FORMS}",
                    names.join(", ")
                ),
            );
            None
        }
    }
}
