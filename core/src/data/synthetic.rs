//! Small synthetic sets generated from the scenario alone: the truth tables of two-input
//! logic gates, and Gaussian blobs whose separation and spread make them separable or not.

use super::{DataError, Split};
use crate::rng::Rng;
use crate::spec::{BlobsSpec, LogicGate};

/// The four rows `(0,0) (0,1) (1,0) (1,1)` with the gate's output (0 or 1) as label.
pub fn truth_table(gate: LogicGate) -> Split {
    let mut inputs = Vec::with_capacity(8);
    let mut labels = Vec::with_capacity(4);
    for (a, b) in [(false, false), (false, true), (true, false), (true, true)] {
        inputs.extend([f32::from(u8::from(a)), f32::from(u8::from(b))]);
        let out = match gate {
            LogicGate::And => a && b,
            LogicGate::Or => a || b,
            LogicGate::Xor => a != b,
            LogicGate::TruthTable(outputs) => outputs[usize::from(a) * 2 + usize::from(b)] == 1,
        };
        labels.push(u32::from(out));
    }
    Split {
        inputs,
        labels,
        rows: 4,
    }
}

/// Name of a gate in reports (`and`, `or`, `xor`, `truth_table`).
pub fn gate_name(gate: LogicGate) -> &'static str {
    match gate {
        LogicGate::And => "and",
        LogicGate::Or => "or",
        LogicGate::Xor => "xor",
        LogicGate::TruthTable(_) => "truth_table",
    }
}

/// The class centres, `classes × features` row-major. With two or more features they lie on
/// a circle in the first two dimensions, neighbours `separation` apart (the other coordinates
/// are 0); with one feature, on a line, `separation` apart. Either way they are centred on 0.
pub fn blob_centres(spec: &BlobsSpec) -> Vec<f64> {
    let (k, f) = (spec.classes, spec.features);
    let mut centres = vec![0.0; k * f];
    if k < 2 || f == 0 {
        return centres;
    }
    for c in 0..k {
        let centre = &mut centres[c * f..(c + 1) * f];
        if f == 1 {
            centre[0] = (c as f64 - (k - 1) as f64 / 2.0) * spec.separation;
        } else {
            // Chord between neighbours on a circle of radius r: 2 r sin(π/k).
            let radius = spec.separation / (2.0 * (std::f64::consts::PI / k as f64).sin());
            let angle = std::f64::consts::TAU * c as f64 / k as f64;
            // Snapping rounding noise (sin π ≈ 1e-16) keeps exact zeros exact, so that a
            // coordinate all centres share stays constant.
            let snap = |v: f64| if v.abs() < 1e-12 * radius { 0.0 } else { v };
            centre[0] = snap(radius * angle.cos());
            centre[1] = snap(radius * angle.sin());
        }
    }
    centres
}

/// Gaussian blobs: class `c`'s examples are drawn from N(centre_c, spread²) independently
/// per feature. Rows are interleaved by class (0, 1, …, k-1, 0, 1, …) so that any prefix is
/// balanced. Train and test come from separate streams derived from `spec.seed`, so the test
/// set does not change with the training set's size.
pub fn blobs(spec: &BlobsSpec) -> Result<(Split, Split), DataError> {
    if spec.classes == 0 || spec.features == 0 {
        return Err(DataError::Invalid(format!(
            "blobs need at least one class and one feature (got {} classes, {} features)",
            spec.classes, spec.features
        )));
    }
    if !(spec.separation.is_finite() && spec.spread.is_finite() && spec.spread >= 0.0) {
        return Err(DataError::Invalid(format!(
            "blobs need a finite separation and a finite spread ≥ 0 (got separation {}, spread {})",
            spec.separation, spec.spread
        )));
    }
    let centres = blob_centres(spec);
    let train = draw_blobs(
        spec,
        &centres,
        spec.train_per_class,
        &mut Rng::derive(spec.seed, "blobs"),
    );
    let test = draw_blobs(
        spec,
        &centres,
        spec.test_per_class,
        &mut Rng::derive(spec.seed, "blobs/test"),
    );
    Ok((train, test))
}

fn draw_blobs(spec: &BlobsSpec, centres: &[f64], per_class: usize, rng: &mut Rng) -> Split {
    let (k, f) = (spec.classes, spec.features);
    let rows = per_class * k;
    let mut inputs = Vec::with_capacity(rows * f);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..per_class {
        for (c, centre) in centres.chunks_exact(f).enumerate() {
            inputs.extend(
                centre
                    .iter()
                    .map(|&m| (m + spec.spread * rng.normal()) as f32),
            );
            labels.push(c as u32);
        }
    }
    Split {
        inputs,
        labels,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_centres_are_separation_apart() {
        for (k, f) in [(2, 2), (3, 2), (5, 4), (4, 1)] {
            let spec = BlobsSpec {
                classes: k,
                features: f,
                train_per_class: 1,
                test_per_class: 1,
                separation: 3.0,
                spread: 1.0,
                seed: 0,
            };
            let c = blob_centres(&spec);
            let dist = |a: usize, b: usize| {
                (0..f)
                    .map(|j| (c[a * f + j] - c[b * f + j]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            for i in 0..k - 1 {
                assert!((dist(i, i + 1) - 3.0).abs() < 1e-9, "k={k} f={f} i={i}");
            }
        }
    }
}
