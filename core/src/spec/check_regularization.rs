//! Checks the `[regularization]` table (penalties and clipping) into a [`RegularizationSpec`].

use toml::Table;

use super::RegularizationSpec;
use super::check::Check;
use super::schema::{
    self, REGULARIZATION_CLIP_NORM, REGULARIZATION_CLIP_VALUE, REGULARIZATION_L1, REGULARIZATION_L2,
};

const P: &str = "regularization";

pub(crate) fn check_regularization(c: &mut Check, t: &Table) -> Option<RegularizationSpec> {
    c.unknown_keys(t, P, &schema::key_names(P), "");
    let l1 = c.defaulted(t, P, &REGULARIZATION_L1, |c, k, v| {
        c.float(k, v, &REGULARIZATION_L1)
    });
    let l2 = c.defaulted(t, P, &REGULARIZATION_L2, |c, k, v| {
        c.float(k, v, &REGULARIZATION_L2)
    });
    let clip_value = c.optional(t, P, &REGULARIZATION_CLIP_VALUE, |c, k, v| {
        c.float(k, v, &REGULARIZATION_CLIP_VALUE)
    });
    let clip_norm = c.optional(t, P, &REGULARIZATION_CLIP_NORM, |c, k, v| {
        c.float(k, v, &REGULARIZATION_CLIP_NORM)
    });
    Some(RegularizationSpec {
        l1: l1?,
        l2: l2?,
        clip_value: clip_value?,
        clip_norm: clip_norm?,
    })
}
