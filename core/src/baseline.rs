//! The "hand-written loop" side of the harness-overhead benchmark.
//!
//! `nnbench bench` times an MNIST epoch of mnist_adam's model two ways per backend, in
//! alternating rounds: through the harness (shuffle, batch gathering, target encoding, the
//! [`Trainer`](crate::Trainer) boundary), and by the loop a user of that framework would write
//! in its own idiomatic style, with nothing of nnbench in between. The ratio is what the
//! harness costs. A backend opts in with [`Backend::hand_written_epoch`](crate::Backend).

/// The model a hand-written loop trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineModel {
    /// mnist_adam's `features → hidden (relu) → classes`.
    Mlp,
    /// mnist_cnn's LeNet-5 on `[1, 28, 28]` images: conv 6@5×5 (padding 2) → relu → max pool
    /// 2 → conv 16@5×5 → relu → max pool 2 → flatten → 120 relu → 84 relu → classes.
    LeNet,
}

/// One epoch of a softmax classifier ([`BaselineModel`]) trained with Adam (β1 0.9, β2 0.999,
/// ε 1e-8) over `inputs`, reshuffled each epoch like the scenario.
#[derive(Debug, Clone, Copy)]
pub struct BaselineTask<'a> {
    pub model: BaselineModel,
    /// `rows × features`, row-major, already scaled.
    pub inputs: &'a [f32],
    pub labels: &'a [u32],
    pub features: usize,
    /// The hidden width of [`BaselineModel::Mlp`].
    pub hidden: usize,
    pub classes: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub threads: usize,
    pub seed: u64,
    /// The run the harness side of the bench trains (the same model and optimizer), for
    /// backends whose own loop is built from a run description (the Python frameworks).
    pub run: &'a crate::spec::RunSpec,
}

impl BaselineTask<'_> {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Calls `step` on each full batch of one epoch, in a seeded shuffled order gathered
    /// into one reused buffer, as a framework's shuffling data loader does (burn's
    /// `DataLoader`, tch's `Iter2::shuffle`): the harness shuffles and gathers too, so the
    /// ratio leaves that out. Full batches only, as the usual hand-written loop does.
    pub fn for_each_shuffled_batch<E>(
        &self,
        mut step: impl FnMut(&[f32], &[u32]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut order: Vec<usize> = (0..self.rows()).collect();
        crate::rng::Rng::derive(self.seed, "baseline-shuffle").shuffle(&mut order);
        let batch_size = self.batch_size.max(1);
        let mut inputs = Vec::with_capacity(batch_size * self.features);
        let mut labels = Vec::with_capacity(batch_size);
        for chunk in order.chunks_exact(batch_size) {
            inputs.clear();
            labels.clear();
            for &row in chunk {
                inputs.extend_from_slice(&self.inputs[row * self.features..][..self.features]);
                labels.push(self.labels[row]);
            }
            step(&inputs, &labels)?;
        }
        Ok(())
    }
}

/// The latency-bound side of `nnbench bench`: `steps` plain SGD steps of a
/// `features → hidden (tanh) → 1` network with a sigmoid binary cross-entropy head on the
/// same `rows` examples every step (XOR's four points), written the way a user of the
/// framework writes it. At this size a step is all per-call overhead, so its time says what
/// the framework costs per operation, apart from arithmetic.
#[derive(Debug, Clone, Copy)]
pub struct TinyTask<'a> {
    /// `rows × features`, row-major.
    pub inputs: &'a [f32],
    /// `rows` targets, 0 or 1.
    pub targets: &'a [f32],
    pub features: usize,
    pub hidden: usize,
    pub learning_rate: f64,
    pub steps: usize,
    pub threads: usize,
    pub seed: u64,
    /// The run the harness side trains (the same model and optimizer).
    pub run: &'a crate::spec::RunSpec,
}

impl TinyTask<'_> {
    pub fn rows(&self) -> usize {
        self.targets.len()
    }
}
