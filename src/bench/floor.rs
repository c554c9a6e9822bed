//! The GEMM floor of an epoch: the matrix products of one epoch of a one-hidden-layer MLP,
//! timed alone with the best product this build has (native's, on the `gemm` crate). No
//! framework can train that epoch faster with the same kernels, so a backend's epoch divided
//! by the floor measured in the same sitting says how close to the machine's own limit it is,
//! and travels between machines where seconds do not.
//!
//! Per step, for a batch X (rows × features), hidden width h and c classes:
//! forward H = X·W1 and Z = H·W2; backward ∂W2 = Hᵀ·∂Z, ∂H = ∂Z·W2ᵀ and ∂W1 = Xᵀ·∂H.

use std::time::Instant;

use nnbench_native::matmul::{MatRef, Threads, matmul};

/// The shapes of one epoch: `rows` training rows in batches of `batch` (the last one
/// partial, as the harness trains it).
#[derive(Debug, Clone, Copy)]
pub struct EpochShape {
    pub rows: usize,
    pub batch: usize,
    pub features: usize,
    pub hidden: usize,
    pub classes: usize,
}

/// Reused operands: their values do not change the time of a product.
pub struct Floor {
    shape: EpochShape,
    x: Vec<f32>,
    w1: Vec<f32>,
    w2: Vec<f32>,
    h: Vec<f32>,
    z: Vec<f32>,
    d_h: Vec<f32>,
    d_w1: Vec<f32>,
    d_w2: Vec<f32>,
}

impl Floor {
    pub fn new(shape: EpochShape) -> Floor {
        let EpochShape {
            batch,
            features,
            hidden,
            classes,
            ..
        } = shape;
        let mut rng = nnbench_core::rng::Rng::new(11);
        let mut values = |len: usize| -> Vec<f32> {
            (0..len).map(|_| rng.uniform_in(-1.0, 1.0) as f32).collect()
        };
        Floor {
            shape,
            x: values(batch * features),
            w1: values(features * hidden),
            w2: values(hidden * classes),
            h: values(batch * hidden),
            z: values(batch * classes),
            d_h: values(batch * hidden),
            d_w1: values(features * hidden),
            d_w2: values(hidden * classes),
        }
    }

    /// Seconds of one epoch's products on `threads` threads. Call it where those threads
    /// live (inside the rayon pool of that size), as the backends' steps run.
    pub fn epoch_s(&mut self, threads: usize) -> f64 {
        let EpochShape {
            rows,
            batch,
            features,
            hidden,
            classes,
        } = self.shape;
        let threads = Threads(threads.max(1));
        let started = Instant::now();
        let mut left = rows;
        while left > 0 {
            let m = left.min(batch);
            left -= m;
            let x = MatRef::new(&self.x, m, features);
            let w1 = MatRef::new(&self.w1, features, hidden);
            let w2 = MatRef::new(&self.w2, hidden, classes);
            matmul(&mut self.h, x, w1, false, threads);
            let h = MatRef::new(&self.h, m, hidden);
            matmul(&mut self.z, h, w2, false, threads);
            // ∂Z is Z's buffer: only its shape matters.
            let d_z = MatRef::new(&self.z, m, classes);
            matmul(&mut self.d_w2, h.t(), d_z, false, threads);
            matmul(&mut self.d_h, d_z, w2.t(), false, threads);
            let d_h = MatRef::new(&self.d_h, m, hidden);
            matmul(&mut self.d_w1, x.t(), d_h, false, threads);
        }
        started.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_of_products_takes_time_and_ends() {
        let mut floor = Floor::new(EpochShape {
            rows: 300,
            batch: 128,
            features: 20,
            hidden: 8,
            classes: 3,
        });
        assert!(floor.epoch_s(1) > 0.0);
        assert!(floor.epoch_s(2) > 0.0);
    }
}
