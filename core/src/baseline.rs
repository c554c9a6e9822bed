//! The "hand-written loop" side of the harness-overhead benchmark.
//!
//! `nnbench bench` times an MNIST epoch of mnist_adam's model twice per backend, in the same
//! process: once through the harness (shuffle, batch gathering, target encoding, the
//! [`Trainer`](crate::Trainer) boundary) and once by the loop a user of that framework would
//! write in its own idiomatic style, with nothing of nnbench in between. The ratio is what the
//! harness costs. A backend opts in with [`Backend::hand_written_epoch`](crate::Backend).

/// One epoch of a `features → hidden (relu) → classes` softmax classifier trained with Adam
/// (β1 0.9, β2 0.999, ε 1e-8) over `inputs` in stored order, in consecutive batches.
#[derive(Debug, Clone, Copy)]
pub struct BaselineTask<'a> {
    /// `rows × features`, row-major, already scaled.
    pub inputs: &'a [f32],
    pub labels: &'a [u32],
    pub features: usize,
    pub hidden: usize,
    pub classes: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub threads: usize,
    pub seed: u64,
}

impl BaselineTask<'_> {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Full batches only, as the usual hand-written loop does.
    pub fn batches(&self) -> impl Iterator<Item = (&[f32], &[u32])> {
        self.inputs
            .chunks_exact(self.batch_size * self.features)
            .zip(self.labels.chunks_exact(self.batch_size))
    }
}
