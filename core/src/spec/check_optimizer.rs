//! Checks the `[optimizer]` table into an [`OptimizerSpec`]: the kind, the learning rate and
//! exactly the constants that kind needs.

use toml::Table;

use super::check::{Check, join, needs_hint};
use super::schema::{
    self, Key, OPTIMIZER_ALPHA, OPTIMIZER_BETA1, OPTIMIZER_BETA2, OPTIMIZER_EPSILON,
    OPTIMIZER_KIND, OPTIMIZER_LEARNING_RATE, OPTIMIZER_MOMENTUM, OPTIMIZER_NESTEROV, OPTIMIZERS,
    OptimizerName,
};
use super::{OptimizerKind, OptimizerSpec};

const P: &str = "optimizer";

pub(crate) fn check_optimizer(c: &mut Check, t: &Table) -> Option<OptimizerSpec> {
    c.unknown_keys(t, P, &schema::key_names(P), "");
    let kind = c.required(t, P, &OPTIMIZER_KIND, |c, k, v| {
        c.choice(k, v, &OPTIMIZER_KIND, &OPTIMIZERS)
    });
    let learning_rate = c.required(t, P, &OPTIMIZER_LEARNING_RATE, |c, k, v| {
        c.float(k, v, &OPTIMIZER_LEARNING_RATE)
    });
    let kind = kind?;
    let kind_name = OPTIMIZERS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("", |(name, _)| *name);
    // The constants a kind cannot do without (nesterov's `nesterov` is implied).
    let needed: &[&Key] = match kind {
        OptimizerName::Sgd => &[],
        OptimizerName::Momentum => &[&OPTIMIZER_MOMENTUM, &OPTIMIZER_NESTEROV],
        OptimizerName::Nesterov => &[&OPTIMIZER_MOMENTUM],
        OptimizerName::Rmsprop => &[&OPTIMIZER_ALPHA, &OPTIMIZER_EPSILON],
        OptimizerName::Adam => &[&OPTIMIZER_BETA1, &OPTIMIZER_BETA2, &OPTIMIZER_EPSILON],
    };
    let needed_names: Vec<&str> = needed.iter().map(|key| key.name).collect();
    let constants = schema::KEYS
        .iter()
        .filter(|key| key.table == P && !key.only_for.is_empty());
    for constant in constants {
        if !constant.applies_to(kind_name)
            && let Some(value) = t.get(constant.name)
        {
            c.push(
                &join(P, constant.name),
                Some(value),
                format!("{} does not apply to {kind_name}; remove it", constant.name),
            );
        }
    }
    let need = |c: &mut Check, spec: &Key| -> Option<f64> {
        let hint = needs_hint(kind_name, &needed_names, spec);
        c.required_with(t, P, spec, &hint, |c, k, v| c.float(k, v, spec))
    };
    let optimizer = match kind {
        OptimizerName::Sgd => Some(OptimizerKind::Sgd),
        OptimizerName::Momentum => {
            let momentum = need(c, &OPTIMIZER_MOMENTUM);
            let hint = needs_hint(kind_name, &needed_names, &OPTIMIZER_NESTEROV);
            let nesterov =
                c.required_with(t, P, &OPTIMIZER_NESTEROV, &hint, |c, k, v| c.boolean(k, v));
            Some(OptimizerKind::Momentum {
                momentum: momentum?,
                nesterov: nesterov?,
            })
        }
        OptimizerName::Nesterov => {
            let momentum = need(c, &OPTIMIZER_MOMENTUM);
            let nesterov = match t.get(OPTIMIZER_NESTEROV.name) {
                None => Some(()),
                Some(value) => {
                    let key = join(P, OPTIMIZER_NESTEROV.name);
                    match c.boolean(&key, value)? {
                        true => Some(()),
                        false => {
                            c.push(
                                &key,
                                Some(value),
                                "must be true for kind = \"nesterov\" (or use kind = \"momentum\")",
                            );
                            None
                        }
                    }
                }
            };
            nesterov?;
            Some(OptimizerKind::Momentum {
                momentum: momentum?,
                nesterov: true,
            })
        }
        OptimizerName::Rmsprop => {
            let alpha = need(c, &OPTIMIZER_ALPHA);
            let epsilon = need(c, &OPTIMIZER_EPSILON);
            Some(OptimizerKind::Rmsprop {
                alpha: alpha?,
                epsilon: epsilon?,
            })
        }
        OptimizerName::Adam => {
            let beta1 = need(c, &OPTIMIZER_BETA1);
            let beta2 = need(c, &OPTIMIZER_BETA2);
            let epsilon = need(c, &OPTIMIZER_EPSILON);
            Some(OptimizerKind::Adam {
                beta1: beta1?,
                beta2: beta2?,
                epsilon: epsilon?,
            })
        }
    };
    Some(OptimizerSpec {
        learning_rate: learning_rate?,
        kind: optimizer?,
    })
}
