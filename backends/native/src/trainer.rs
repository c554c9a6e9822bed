//! The native network: forward and backward written out by hand, layer by layer, the chain
//! rule as the course writes it (δ of a layer = δ of the next one times its weights,
//! times the derivative of the activation).
//!
//! Parameters and their gradients live in two flat vectors, so that regularization,
//! clipping and the optimizer are plain loops over all of them. Every buffer is sized on
//! the first batch of a given size and reused after, so a training step does not allocate.

use std::ops::Range;

use nnbench_core::rng::Rng;
use nnbench_core::spec::{Activation, OutputHead, RegularizationSpec};
use nnbench_core::weights::{Tensor, Weights};
use nnbench_core::{
    BackendError, Batch, Layer, Network, StepStats, Trainer, TrainerSetup, TrainingSplit,
};

use crate::activation;
use crate::conv::{self, Geometry};
use crate::head;
use crate::matmul::{MatRef, Threads, band_rows, matmul};
use crate::optimizer::{Optimizer, Update, clip_values, penalize, regularize};

struct Dense {
    fan_in: usize,
    fan_out: usize,
    activation: Activation,
    /// A residual block: the output is x + f(z) (and `fan_in == fan_out`).
    residual: bool,
    weight: Range<usize>,
    bias: Range<usize>,
    /// Pre-activation x·W + b.
    z: Vec<f32>,
    /// f(z); unused for the identity.
    out: Vec<f32>,
    /// A residual block's output x + f(z); unused for a dense layer.
    sum: Vec<f32>,
    /// δ at the pre-activation z, kept for the weight gradients (the row-band step only).
    dz: Vec<f32>,
}

impl Dense {
    fn new(
        fan_in: usize,
        fan_out: usize,
        activation: Activation,
        residual: bool,
        take: &mut impl FnMut(usize) -> Range<usize>,
    ) -> Dense {
        Dense {
            fan_in,
            fan_out,
            activation,
            residual,
            weight: take(fan_in * fan_out),
            bias: take(fan_out),
            z: Vec::new(),
            out: Vec::new(),
            sum: Vec::new(),
            dz: Vec::new(),
        }
    }

    fn shape(&self) -> DenseShape {
        DenseShape {
            fan_in: self.fan_in,
            fan_out: self.fan_out,
            activation: self.activation,
            weight: self.weight.clone(),
            bias: self.bias.clone(),
        }
    }
}

/// What a dense layer's step reads besides its buffers.
#[derive(Clone)]
struct DenseShape {
    fan_in: usize,
    fan_out: usize,
    activation: Activation,
    weight: Range<usize>,
    bias: Range<usize>,
}

struct BatchNorm {
    features: usize,
    momentum: f32,
    epsilon: f32,
    gamma: Range<usize>,
    beta: Range<usize>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    x_hat: Vec<f32>,
    out: Vec<f32>,
}

/// A convolution and its activation; the kernels are `[out, in·k·k]` row-major (the
/// canonical `[out, in, kh, kw]`).
struct Conv {
    geometry: Geometry,
    activation: Activation,
    weight: Range<usize>,
    bias: Range<usize>,
    /// im2col, the product and their gradients.
    buffers: conv::Buffers,
    /// Pre-activation, NCHW.
    z: Vec<f32>,
    /// f(z); unused for the identity.
    out: Vec<f32>,
}

enum Node {
    Dense(Dense),
    Conv(Conv),
    MaxPool {
        geometry: Geometry,
        /// Index, inside its image, of the input each output came from.
        argmax: Vec<u32>,
        out: Vec<f32>,
    },
    AvgPool {
        geometry: Geometry,
        out: Vec<f32>,
    },
    Flatten {
        out: Vec<f32>,
    },
    Activation {
        function: Activation,
        out: Vec<f32>,
    },
    Dropout {
        rate: f32,
        /// 0 for a dropped unit, 1/(1 − rate) for a kept one.
        mask: Vec<f32>,
        out: Vec<f32>,
    },
    BatchNorm(BatchNorm),
}

impl Node {
    fn output(&self, len: usize) -> &[f32] {
        let buffer = match self {
            Node::Dense(dense) if dense.residual => &dense.sum,
            Node::Dense(dense) if dense.activation == Activation::Identity => &dense.z,
            Node::Dense(dense) => &dense.out,
            Node::Conv(conv) if conv.activation == Activation::Identity => &conv.z,
            Node::Conv(conv) => &conv.out,
            Node::Activation { out, .. }
            | Node::Dropout { out, .. }
            | Node::MaxPool { out, .. }
            | Node::AvgPool { out, .. }
            | Node::Flatten { out } => out,
            Node::BatchNorm(norm) => &norm.out,
        };
        &buffer[..len]
    }

    /// Grows every buffer to hold `len` values (rows × this layer's width).
    fn reserve(&mut self, len: usize) {
        fn grow_to<T: Clone + Default>(buffer: &mut Vec<T>, len: usize) {
            if buffer.len() < len {
                buffer.resize(len, T::default());
            }
        }
        let grow = |buffer: &mut Vec<f32>| grow_to(buffer, len);
        match self {
            Node::Conv(conv) => {
                let g = conv.geometry;
                conv.buffers.reserve(&g, len / g.output.len());
                grow_to(&mut conv.z, len);
                if conv.activation != Activation::Identity {
                    grow_to(&mut conv.out, len);
                }
            }
            Node::MaxPool { argmax, out, .. } => {
                grow_to(argmax, len);
                grow(out);
            }
            Node::AvgPool { out, .. } | Node::Flatten { out } => grow(out),
            Node::Dense(dense) => {
                grow(&mut dense.z);
                grow(&mut dense.dz);
                if dense.activation != Activation::Identity {
                    grow(&mut dense.out);
                }
                if dense.residual {
                    grow(&mut dense.sum);
                }
            }
            Node::Activation { out, .. } => grow(out),
            Node::Dropout { mask, out, .. } => {
                grow(mask);
                grow(out);
            }
            Node::BatchNorm(norm) => {
                grow(&mut norm.x_hat);
                grow(&mut norm.out);
            }
        }
    }
}

pub struct NativeTrainer {
    network: Network,
    /// The step head's threshold.
    threshold: f32,
    nodes: Vec<Node>,
    params: Vec<f32>,
    grads: Vec<f32>,
    /// Ranges of dense weights in `params`: where L1/L2 apply.
    weight_ranges: Vec<Range<usize>>,
    /// First layer with parameters: backpropagation stops there.
    first_trainable: usize,
    optimizer: Optimizer,
    regularization: RegularizationSpec,
    record_grad_norms: bool,
    dropout_rng: Rng,
    delta: Vec<f32>,
    delta_next: Vec<f32>,
    /// δ at a residual block's output, carried past the block by its skip connection.
    skip: Vec<f32>,
    threads: Threads,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// The layers of a network of plain dense layers only, which steps by bands of rows
    /// ([`NativeTrainer::step_by_row_bands`]); None for any other network.
    row_band_layers: Option<Vec<DenseShape>>,
    /// Each row's loss in the row-band step, summed in row order afterwards.
    row_losses: Vec<f64>,
    /// The scenario's batch size, to tell whether its steps split into row bands.
    batch_size: nnbench_core::spec::BatchSize,
    /// The training split, kept by a row-band trainer so that each thread gathers its own
    /// rows of a step (see [`Trainer::keep_training_split`]).
    kept: Option<KeptSplit>,
    /// The rows of a step gathered from `kept`: inputs, then targets.
    kept_batch: (Vec<f32>, Vec<f32>),
}

/// The training split as the harness offered it.
struct KeptSplit {
    inputs: Vec<f32>,
    targets: Vec<f32>,
    rows: usize,
}

/// Where a step's rows come from.
#[derive(Clone, Copy)]
enum StepRows<'a> {
    /// A batch the harness gathered.
    Gathered(&'a Batch<'a>),
    /// Indices into the kept split, which each band of rows gathers itself.
    Kept(&'a [usize]),
}

impl StepRows<'_> {
    fn len(&self) -> usize {
        match self {
            StepRows::Gathered(batch) => batch.rows,
            StepRows::Kept(rows) => rows.len(),
        }
    }
}

impl NativeTrainer {
    pub fn new(setup: &TrainerSetup<'_>) -> Result<NativeTrainer, BackendError> {
        let network = setup.network.clone();
        let mut nodes = Vec::with_capacity(network.layers.len());
        let mut size = 0;
        let mut take = |len: usize| {
            let range = size..size + len;
            size += len;
            range
        };
        for layer in &network.layers {
            nodes.push(match *layer {
                Layer::Dense {
                    fan_in,
                    fan_out,
                    activation,
                } => Node::Dense(Dense::new(fan_in, fan_out, activation, false, &mut take)),
                Layer::Residual { width, activation } => {
                    Node::Dense(Dense::new(width, width, activation, true, &mut take))
                }
                Layer::Activation { function, .. } => Node::Activation {
                    function,
                    out: Vec::new(),
                },
                Layer::Conv2d {
                    input,
                    output,
                    kernel_size,
                    stride,
                    padding,
                    activation,
                } => {
                    let geometry = Geometry {
                        input,
                        output,
                        size: kernel_size,
                        stride,
                        padding,
                    };
                    Node::Conv(Conv {
                        geometry,
                        activation,
                        weight: take(output.channels * geometry.patch()),
                        bias: take(output.channels),
                        buffers: conv::Buffers::default(),
                        z: Vec::new(),
                        out: Vec::new(),
                    })
                }
                Layer::MaxPool2d {
                    input,
                    output,
                    size,
                    stride,
                } => Node::MaxPool {
                    geometry: Geometry {
                        input,
                        output,
                        size,
                        stride,
                        padding: 0,
                    },
                    argmax: Vec::new(),
                    out: Vec::new(),
                },
                Layer::AvgPool2d {
                    input,
                    output,
                    size,
                    stride,
                } => Node::AvgPool {
                    geometry: Geometry {
                        input,
                        output,
                        size,
                        stride,
                        padding: 0,
                    },
                    out: Vec::new(),
                },
                Layer::Flatten { .. } => Node::Flatten { out: Vec::new() },
                Layer::Dropout { rate, .. } => Node::Dropout {
                    rate,
                    mask: Vec::new(),
                    out: Vec::new(),
                },
                Layer::BatchNorm {
                    features,
                    momentum,
                    epsilon,
                } => Node::BatchNorm(BatchNorm {
                    features,
                    momentum,
                    epsilon,
                    gamma: take(features),
                    beta: take(features),
                    running_mean: vec![0.0; features],
                    running_var: vec![1.0; features],
                    mean: vec![0.0; features],
                    inv_std: vec![0.0; features],
                    x_hat: Vec::new(),
                    out: Vec::new(),
                }),
            });
        }
        let weight_ranges = nodes
            .iter()
            .filter_map(|node| match node {
                Node::Dense(dense) => Some(dense.weight.clone()),
                _ => None,
            })
            .collect();
        let first_trainable = nodes
            .iter()
            .position(|node| matches!(node, Node::Dense(_) | Node::Conv(_) | Node::BatchNorm(_)))
            .unwrap_or(0);
        let row_band_layers = nodes
            .iter()
            .map(|node| match node {
                Node::Dense(dense) if !dense.residual => Some(dense.shape()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .filter(|layers| !layers.is_empty());
        let threads = setup.threads.max(1);
        let pool = if threads > 1 {
            Some(nnbench_core::threads::rayon_pool(threads)?)
        } else {
            None
        };
        let mut trainer = NativeTrainer {
            network,
            threshold: setup.run.model.threshold as f32,
            nodes,
            params: vec![0.0; size],
            grads: vec![0.0; size],
            weight_ranges,
            first_trainable,
            optimizer: Optimizer::new(setup.run.optimizer.kind, size),
            regularization: setup.run.regularization,
            record_grad_norms: setup.run.training.record_grad_norms,
            dropout_rng: Rng::derive(setup.seed, "dropout"),
            delta: Vec::new(),
            delta_next: Vec::new(),
            skip: Vec::new(),
            threads: Threads(threads),
            pool,
            row_band_layers,
            row_losses: Vec::new(),
            batch_size: setup.run.training.batch,
            kept: None,
            kept_batch: (Vec::new(), Vec::new()),
        };
        match setup.init {
            Some(weights) => trainer
                .load(weights)
                .map_err(BackendError::WeightsMismatch)?,
            None => trainer.default_init(setup.seed),
        }
        Ok(trainer)
    }

    /// Loads weights in the canonical layout (which is also the native one: W is [in, out]).
    fn load(&mut self, weights: &Weights) -> Result<(), String> {
        for (index, node) in self.nodes.iter_mut().enumerate() {
            match node {
                Node::Dense(dense) => {
                    let shape = [dense.fan_in, dense.fan_out];
                    let w = weights.expect(&format!("{index}.weight"), &shape)?;
                    self.params[dense.weight.clone()].copy_from_slice(&w.data);
                    let b = weights.expect(&format!("{index}.bias"), &[dense.fan_out])?;
                    self.params[dense.bias.clone()].copy_from_slice(&b.data);
                }
                Node::BatchNorm(norm) => {
                    let shape = [norm.features];
                    let get = |kind: &str| weights.expect(&format!("{index}.{kind}"), &shape);
                    self.params[norm.gamma.clone()].copy_from_slice(&get("gamma")?.data);
                    self.params[norm.beta.clone()].copy_from_slice(&get("beta")?.data);
                    norm.running_mean
                        .copy_from_slice(&get("running_mean")?.data);
                    norm.running_var.copy_from_slice(&get("running_var")?.data);
                }
                Node::Conv(conv) => {
                    let g = conv.geometry;
                    let (k, out) = (g.size, g.output.channels);
                    let shape = [out, g.input.channels, k, k];
                    let w = weights.expect(&format!("{index}.weight"), &shape)?;
                    self.params[conv.weight.clone()].copy_from_slice(&w.data);
                    let b = weights.expect(&format!("{index}.bias"), &[out])?;
                    self.params[conv.bias.clone()].copy_from_slice(&b.data);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The native default: U(±1/√fan_in) for weights and biases (PyTorch's `nn.Linear` and
    /// `nn.Conv2d`, where a kernel's fan-in is in·k·k), γ = 1 and β = 0 for batch norm.
    fn default_init(&mut self, seed: u64) {
        let mut rng = Rng::derive(seed, "native-init");
        for node in &self.nodes {
            match node {
                Node::Dense(dense) => {
                    let bound = 1.0 / (dense.fan_in.max(1) as f64).sqrt();
                    for range in [dense.weight.clone(), dense.bias.clone()] {
                        for value in &mut self.params[range] {
                            *value = rng.uniform_in(-bound, bound) as f32;
                        }
                    }
                }
                Node::Conv(conv) => {
                    let bound = 1.0 / (conv.geometry.patch().max(1) as f64).sqrt();
                    for range in [conv.weight.clone(), conv.bias.clone()] {
                        for value in &mut self.params[range] {
                            *value = rng.uniform_in(-bound, bound) as f32;
                        }
                    }
                }
                Node::BatchNorm(norm) => {
                    self.params[norm.gamma.clone()].fill(1.0);
                    self.params[norm.beta.clone()].fill(0.0);
                }
                _ => {}
            }
        }
    }

    fn reserve(&mut self, rows: usize) {
        let mut widest = self.network.inputs;
        for (node, layer) in self.nodes.iter_mut().zip(&self.network.layers) {
            node.reserve(rows * layer.width());
            widest = widest.max(layer.width());
        }
        for buffer in [&mut self.delta, &mut self.delta_next, &mut self.skip] {
            if buffer.len() < rows * widest {
                buffer.resize(rows * widest, 0.0);
            }
        }
    }

    fn forward(&mut self, inputs: &[f32], rows: usize, training: bool) {
        self.reserve(rows);
        let mut width = self.network.inputs;
        for index in 0..self.nodes.len() {
            let (before, after) = self.nodes.split_at_mut(index);
            let x = match before.last() {
                Some(previous) => previous.output(rows * width),
                None => &inputs[..rows * width],
            };
            let node = &mut after[0];
            match node {
                Node::Dense(dense) => {
                    let len = rows * dense.fan_out;
                    let z = &mut dense.z[..len];
                    let bias = &self.params[dense.bias.clone()];
                    z.chunks_exact_mut(dense.fan_out)
                        .for_each(|row| row.copy_from_slice(bias));
                    let w = MatRef::new(&self.params[dense.weight.clone()], width, dense.fan_out);
                    matmul(z, MatRef::new(x, rows, width), w, true, self.threads);
                    if dense.activation != Activation::Identity {
                        activation::forward(dense.activation, z, &mut dense.out[..len]);
                    }
                    if dense.residual {
                        let f = if dense.activation == Activation::Identity {
                            &dense.z[..len]
                        } else {
                            &dense.out[..len]
                        };
                        let sum = dense.sum[..len].iter_mut().zip(f).zip(x);
                        sum.for_each(|((s, f), x)| *s = f + x);
                    }
                    width = dense.fan_out;
                }
                Node::Conv(conv) => {
                    let g = conv.geometry;
                    let len = rows * g.output.len();
                    let kernels = conv::Kernels {
                        weight: &self.params[conv.weight.clone()],
                        bias: &self.params[conv.bias.clone()],
                    };
                    let z = &mut conv.z[..len];
                    conv::forward(&g, kernels, x, rows, &mut conv.buffers, z, self.threads);
                    if conv.activation != Activation::Identity {
                        activation::forward(conv.activation, &conv.z[..len], &mut conv.out[..len]);
                    }
                    width = len / rows;
                }
                Node::MaxPool {
                    geometry,
                    argmax,
                    out,
                } => {
                    conv::max_pool_forward(geometry, x, rows, out, argmax, self.threads);
                    width = geometry.output.len();
                }
                Node::AvgPool { geometry, out } => {
                    conv::avg_pool_forward(geometry, x, rows, out);
                    width = geometry.output.len();
                }
                Node::Flatten { out } => out[..x.len()].copy_from_slice(x),
                Node::Activation { function, out } => {
                    activation::forward(*function, x, &mut out[..x.len()]);
                }
                Node::Dropout { rate, mask, out } => {
                    let out = &mut out[..x.len()];
                    if training && *rate > 0.0 {
                        let keep = 1.0 / (1.0 - *rate);
                        let rate = f64::from(*rate);
                        for ((o, m), &v) in out.iter_mut().zip(mask.iter_mut()).zip(x) {
                            *m = if self.dropout_rng.uniform() < rate {
                                0.0
                            } else {
                                keep
                            };
                            *o = v * *m;
                        }
                    } else {
                        out.copy_from_slice(x);
                    }
                }
                Node::BatchNorm(norm) => {
                    let params = &self.params;
                    batch_norm_forward(norm, params, x, rows, training);
                }
            }
        }
    }

    /// Backpropagates the loss gradient held in `self.delta` (rows × outputs) and fills
    /// `self.grads`.
    fn backward(&mut self, inputs: &[f32], rows: usize) {
        for index in (self.first_trainable..self.nodes.len()).rev() {
            let input_width = if index == 0 {
                self.network.inputs
            } else {
                self.network.layers[index - 1].width()
            };
            let (before, after) = self.nodes.split_at_mut(index);
            let x = match before.last() {
                Some(previous) => previous.output(rows * input_width),
                None => &inputs[..rows * input_width],
            };
            let propagate = index > self.first_trainable;
            match &mut after[0] {
                Node::Dense(dense) => {
                    let len = rows * dense.fan_out;
                    if dense.residual && propagate {
                        // The skip connection passes δ on unchanged; the block's path adds
                        // its own part below.
                        self.skip[..len].copy_from_slice(&self.delta[..len]);
                    }
                    let delta = &mut self.delta[..len];
                    if dense.activation != Activation::Identity {
                        activation::backward(dense.activation, &dense.z[..len], &dense.out, delta);
                    }
                    let delta = MatRef::new(delta, rows, dense.fan_out);
                    let x = MatRef::new(x, rows, dense.fan_in);
                    matmul(
                        &mut self.grads[dense.weight.clone()],
                        x.t(),
                        delta,
                        false,
                        self.threads,
                    );
                    let bias_grad = &mut self.grads[dense.bias.clone()];
                    bias_grad.fill(0.0);
                    for row in self.delta[..len].chunks_exact(dense.fan_out) {
                        bias_grad.iter_mut().zip(row).for_each(|(g, d)| *g += d);
                    }
                    if propagate {
                        let w = MatRef::new(
                            &self.params[dense.weight.clone()],
                            dense.fan_in,
                            dense.fan_out,
                        );
                        let delta = MatRef::new(&self.delta[..len], rows, dense.fan_out);
                        let next = &mut self.delta_next[..rows * dense.fan_in];
                        matmul(next, delta, w.t(), false, self.threads);
                        if dense.residual {
                            next.iter_mut()
                                .zip(&self.skip[..len])
                                .for_each(|(n, s)| *n += s);
                        }
                        std::mem::swap(&mut self.delta, &mut self.delta_next);
                    }
                }
                Node::Conv(conv) => {
                    let g = conv.geometry;
                    let len = rows * g.output.len();
                    let delta = &mut self.delta[..len];
                    if conv.activation != Activation::Identity {
                        activation::backward(conv.activation, &conv.z[..len], &conv.out, delta);
                    }
                    // The kernels and biases were taken one after the other.
                    debug_assert_eq!(conv.weight.end, conv.bias.start);
                    let grads = &mut self.grads[conv.weight.start..conv.bias.end];
                    conv::backward(
                        &g,
                        &self.params[conv.weight.clone()],
                        delta,
                        rows,
                        &mut conv.buffers,
                        grads.split_at_mut(conv.weight.len()),
                        propagate.then_some(&mut self.delta_next[..]),
                        self.threads,
                    );
                    if propagate {
                        std::mem::swap(&mut self.delta, &mut self.delta_next);
                    }
                }
                Node::MaxPool {
                    geometry, argmax, ..
                } => {
                    conv::max_pool_backward(
                        geometry,
                        &self.delta,
                        argmax,
                        rows,
                        &mut self.delta_next,
                    );
                    std::mem::swap(&mut self.delta, &mut self.delta_next);
                }
                Node::AvgPool { geometry, .. } => {
                    conv::avg_pool_backward(geometry, &self.delta, rows, &mut self.delta_next);
                    std::mem::swap(&mut self.delta, &mut self.delta_next);
                }
                Node::Flatten { .. } => {}
                Node::Activation { function, out } => {
                    let len = x.len();
                    activation::backward(*function, x, &out[..len], &mut self.delta[..len]);
                }
                Node::Dropout { mask, .. } => {
                    let len = x.len();
                    let delta = self.delta[..len].iter_mut();
                    delta.zip(mask.iter()).for_each(|(d, m)| *d *= m);
                }
                Node::BatchNorm(norm) => {
                    batch_norm_backward(norm, &self.params, &mut self.grads, &mut self.delta, rows);
                }
            }
        }
    }

    fn grad_norms(&self) -> Vec<f32> {
        self.weight_ranges
            .iter()
            .map(|range| {
                let sum: f64 = self.grads[range.clone()]
                    .iter()
                    .map(|&g| f64::from(g) * f64::from(g))
                    .sum();
                sum.sqrt() as f32
            })
            .collect()
    }

    fn step(&mut self, rows: StepRows<'_>, learning_rate: f32) -> StepStats {
        // Clipping by global norm and recording norms need every gradient before the first
        // update; otherwise a row-band step updates each part as soon as its gradient is in.
        let update_in_place = self.regularization.clip_norm.is_none() && !self.record_grad_norms;
        let loss = match rows {
            _ if self.row_bands(rows.len()) > 1 => {
                if update_in_place {
                    let loss = self.gradients_by_row_bands(rows, Some(learning_rate));
                    return StepStats {
                        loss,
                        grad_norms: None,
                    };
                }
                self.gradients_by_row_bands(rows, None)
            }
            StepRows::Gathered(batch) => self.gradients(batch),
            StepRows::Kept(indices) => {
                // A step too small to split (an epoch's last batch): gathered here, on one
                // thread, as the harness would have.
                let (mut inputs, mut targets) = std::mem::take(&mut self.kept_batch);
                let split = self.kept.as_ref().expect("a kept split");
                let (features, outputs) = (self.network.inputs, self.network.outputs);
                inputs.resize(indices.len() * features, 0.0);
                targets.resize(indices.len() * outputs, 0.0);
                let labels = vec![0; indices.len()];
                BandInput::Gather {
                    split,
                    indices,
                    inputs: &mut inputs,
                    targets: &mut targets,
                }
                .rows();
                let batch = Batch {
                    inputs: &inputs,
                    rows: indices.len(),
                    features,
                    labels: &labels,
                    targets: &targets,
                };
                let loss = self.gradients(&batch);
                self.kept_batch = (inputs, targets);
                loss
            }
        };
        let grad_norms = self.record_grad_norms.then(|| self.grad_norms());
        regularize(
            &self.regularization,
            &self.params,
            &mut self.grads,
            &self.weight_ranges,
        );
        self.optimizer.step(
            &mut self.params,
            &self.grads,
            learning_rate,
            self.threads.count(),
        );
        StepStats { loss, grad_norms }
    }

    /// The batch's loss; fills `self.grads`, layer by layer as the course writes it.
    fn gradients(&mut self, batch: &Batch<'_>) -> f32 {
        let rows = batch.rows;
        self.forward(batch.inputs, rows, true);
        let outputs = self.network.outputs;
        let len = rows * outputs;
        let last = self.nodes.len() - 1;
        let (nodes, delta) = (&self.nodes, &mut self.delta);
        delta[..len].copy_from_slice(nodes[last].output(len));
        let loss = head::loss_and_gradient(
            self.network.head,
            &mut delta[..len],
            &batch.targets[..len],
            outputs,
            self.threshold,
        );
        self.backward(batch.inputs, rows);
        loss
    }

    /// Into how many bands of rows a step of `rows` rows splits: 1 (a step layer by layer)
    /// unless the network is made of dense layers only and the step's products are large
    /// enough to share between threads.
    fn row_bands(&self, rows: usize) -> usize {
        match &self.row_band_layers {
            Some(layers) if self.threads.count() > 1 => rows.div_ceil(band_rows(
                rows,
                row_work(layers, self.network.inputs),
                self.threads,
            )),
            _ => 1,
        }
    }

    /// [`NativeTrainer::gradients`] for a network of dense layers, in two parts that each
    /// thread does a share of with no hand-over in between: first every row-local pass
    /// (products, bias, activation, head, δ back to the first layer) on a band of the batch's
    /// rows, then the weight and bias gradients, by bands of their own rows. Each value is
    /// the same product or sum in the same order as on one thread, so the numbers do not
    /// depend on the thread count.
    ///
    /// With `update_at` (a learning rate), each part of the gradient is regularized and its
    /// parameters take the optimizer's step right after it is computed, while it is still
    /// in cache and on the same thread: the same operations on each element as regularizing
    /// and stepping afterwards, one pass over the parameters fewer, and no third hand-over.
    fn gradients_by_row_bands(&mut self, source: StepRows<'_>, update_at: Option<f32>) -> f32 {
        let rows = source.len();
        self.reserve(rows);
        if self.row_losses.len() < rows {
            self.row_losses.resize(rows, 0.0);
        }
        let layers = self.row_band_layers.as_deref().expect("a dense network");
        let (features, outputs) = (self.network.inputs, self.network.outputs);
        let band = band_rows(rows, row_work(layers, features), self.threads);
        let params = &self.params[..];
        let head = HeadOf {
            head: self.network.head,
            threshold: self.threshold,
            scale: 1.0 / rows.max(1) as f32,
        };

        let (kept_inputs, kept_targets) = &mut self.kept_batch;
        let inputs: Vec<BandInput<'_>> = match source {
            StepRows::Gathered(batch) => batch.inputs[..rows * features]
                .chunks(band * features)
                .zip(batch.targets[..rows * outputs].chunks(band * outputs))
                .map(|(inputs, targets)| BandInput::Given { inputs, targets })
                .collect(),
            StepRows::Kept(indices) => {
                let split = self.kept.as_ref().expect("a kept split");
                kept_inputs.resize(rows * features, 0.0);
                kept_targets.resize(rows * outputs, 0.0);
                indices
                    .chunks(band)
                    .zip(kept_inputs.chunks_mut(band * features))
                    .zip(kept_targets.chunks_mut(band * outputs))
                    .map(|((indices, inputs), targets)| BandInput::Gather {
                        split,
                        indices,
                        inputs,
                        targets,
                    })
                    .collect()
            }
        };
        let mut bands: Vec<RowBand<'_>> = inputs
            .into_iter()
            .zip(self.row_losses[..rows].chunks_mut(band))
            .map(|(input, losses)| RowBand {
                input,
                losses,
                layers: Vec::with_capacity(layers.len()),
            })
            .collect();
        for node in &mut self.nodes {
            let Node::Dense(dense) = node else {
                unreachable!("a dense network")
            };
            let len = rows * dense.fan_out;
            let chunk = band * dense.fan_out;
            let out_len = len.min(dense.out.len());
            let mut outs = dense.out[..out_len].chunks_mut(chunk);
            let pieces = dense.z[..len]
                .chunks_mut(chunk)
                .zip(dense.dz[..len].chunks_mut(chunk));
            for (row_band, (z, dz)) in bands.iter_mut().zip(pieces) {
                let out = if dense.activation == Activation::Identity {
                    None
                } else {
                    outs.next()
                };
                row_band.layers.push(LayerBand { z, out, dz });
            }
        }
        on_each(&mut bands, |row_band| row_band.step(layers, params, &head));
        drop(bands);

        // Every layer's input and δ, whole, for the gradients.
        let mut inputs: Vec<&[f32]> = Vec::with_capacity(layers.len());
        let mut deltas: Vec<&[f32]> = Vec::with_capacity(layers.len());
        let mut input = match source {
            StepRows::Gathered(batch) => &batch.inputs[..rows * features],
            StepRows::Kept(_) => &self.kept_batch.0[..rows * features],
        };
        for node in &self.nodes {
            let Node::Dense(dense) = node else {
                unreachable!("a dense network")
            };
            inputs.push(input);
            deltas.push(&dense.dz[..rows * dense.fan_out]);
            input = node.output(rows * dense.fan_out);
        }
        let shares = self.threads.count();
        let mut tasks: Vec<Vec<GradientTask<'_>>> = (0..shares).map(|_| Vec::new()).collect();
        let mut grads = &mut self.grads[..];
        let (update, mut params, mut first, mut second) = match update_at {
            Some(learning_rate) => {
                let step = self.optimizer.begin_step(learning_rate);
                let params = &mut self.params[..];
                (Some(step.update), params, step.first, step.second)
            }
            None => (None, &mut [][..], &mut [][..], &mut [][..]),
        };
        // Dense layers take their weights, then their biases, one layer after the other: each
        // part is taken off the front of every vector in turn.
        let mut part_of = |len: usize, kind: TaskKind| GradientTask {
            kind,
            grad: take_front(&mut grads, len),
            params: take_front(&mut params, len),
            first: take_front(&mut first, len),
            second: take_front(&mut second, len),
        };
        for (index, layer) in layers.iter().enumerate() {
            debug_assert_eq!(layer.bias.start, layer.weight.end);
            let band = band_rows(layer.fan_in, layer.fan_out * rows, self.threads);
            for (part, first_row) in (0..layer.fan_in).step_by(band).enumerate() {
                let band_len = band.min(layer.fan_in - first_row) * layer.fan_out;
                let kind = TaskKind::Weight {
                    layer: index,
                    first_row,
                };
                tasks[(index + part) % shares].push(part_of(band_len, kind));
            }
            let kind = TaskKind::Bias { layer: index };
            tasks[(index + 1) % shares].push(part_of(layer.bias.len(), kind));
        }
        let whole = WholeBatch {
            rows,
            layers,
            inputs: &inputs,
            deltas: &deltas,
            regularization: &self.regularization,
            update,
        };
        on_each(&mut tasks, |share| {
            share.iter_mut().for_each(|task| whole.gradient(task))
        });
        head::mean_loss(self.row_losses[..rows].iter().sum(), rows)
    }
}

/// A rough count of one row's multiply-adds in a dense network's step, to decide whether
/// its rows are worth sharing between threads.
fn row_work(layers: &[DenseShape], inputs: usize) -> usize {
    let widest = layers.iter().map(|l| l.fan_in.max(l.fan_out)).max();
    2 * widest.unwrap_or(1) * inputs
}

/// Runs `work` on every item, each on a thread of the current rayon pool when there are
/// several, in place when there is one.
fn on_each<T: Send>(items: &mut [T], work: impl Fn(&mut T) + Sync) {
    match items {
        [] => {}
        [one] => work(one),
        _ => rayon::scope(|scope| {
            let work = &work;
            for item in items.iter_mut() {
                scope.spawn(move |_| work(item));
            }
        }),
    }
}

/// The output head and what a row's gradient needs of the batch.
struct HeadOf {
    head: OutputHead,
    threshold: f32,
    /// 1 / the batch's rows.
    scale: f32,
}

/// A dense layer's buffers for one band of rows.
struct LayerBand<'a> {
    z: &'a mut [f32],
    /// f(z), None for the identity.
    out: Option<&'a mut [f32]>,
    dz: &'a mut [f32],
}

impl LayerBand<'_> {
    fn output(&self) -> &[f32] {
        self.out.as_deref().unwrap_or(self.z)
    }
}

/// A band's inputs and targets.
enum BandInput<'a> {
    /// Rows the harness gathered.
    Given {
        inputs: &'a [f32],
        targets: &'a [f32],
    },
    /// Rows of the kept split, to gather into `inputs` and `targets` first.
    Gather {
        split: &'a KeptSplit,
        indices: &'a [usize],
        inputs: &'a mut [f32],
        targets: &'a mut [f32],
    },
}

impl BandInput<'_> {
    /// The inputs and targets, gathered first where they are to be.
    fn rows(&mut self) -> (&[f32], &[f32]) {
        match self {
            BandInput::Given { inputs, targets } => (inputs, targets),
            BandInput::Gather {
                split,
                indices,
                inputs,
                targets,
            } => {
                let features = inputs.len() / indices.len().max(1);
                let outputs = targets.len() / indices.len().max(1);
                let rows = inputs
                    .chunks_exact_mut(features.max(1))
                    .zip(targets.chunks_exact_mut(outputs.max(1)));
                let row_of = |row: usize| &split.inputs[row * features..(row + 1) * features];
                for (index, ((input, target), &row)) in rows.zip(indices.iter()).enumerate() {
                    if let Some(&ahead) = indices.get(index + PREFETCH_ROWS) {
                        prefetch(row_of(ahead));
                    }
                    input.copy_from_slice(row_of(row));
                    target.copy_from_slice(&split.targets[row * outputs..(row + 1) * outputs]);
                }
                (inputs, targets)
            }
        }
    }
}

/// How many rows ahead a gather asks for the rows it will copy: the split is far larger than
/// the caches, and a row's copy alone waits on memory line after line.
const PREFETCH_ROWS: usize = 2;

/// Asks the CPU to start loading `values` into its caches (a hint: no effect on results).
fn prefetch(values: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in values.chunks(16) {
        // SAFETY: a prefetch reads nothing the program sees and cannot fault.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// One band of the batch's rows and every layer's buffers for them.
struct RowBand<'a> {
    input: BandInput<'a>,
    losses: &'a mut [f64],
    layers: Vec<LayerBand<'a>>,
}

impl RowBand<'_> {
    /// Forward, the head's loss and gradient, and δ back to the first layer, for these rows.
    fn step(&mut self, shapes: &[DenseShape], params: &[f32], head: &HeadOf) {
        let rows = self.losses.len();
        let (inputs, targets) = self.input.rows();
        for (index, shape) in shapes.iter().enumerate() {
            let (before, after) = self.layers.split_at_mut(index);
            let x = before.last().map_or(inputs, |previous| previous.output());
            let layer = &mut after[0];
            let bias = &params[shape.bias.clone()];
            layer
                .z
                .chunks_exact_mut(shape.fan_out)
                .for_each(|row| row.copy_from_slice(bias));
            let w = MatRef::new(&params[shape.weight.clone()], shape.fan_in, shape.fan_out);
            let x = MatRef::new(x, rows, shape.fan_in);
            matmul(layer.z, x, w, true, Threads(1));
            if let Some(out) = layer.out.as_deref_mut() {
                activation::forward(shape.activation, layer.z, out);
            }
        }
        let last = self.layers.last_mut().expect("a dense network");
        let width = shapes[shapes.len() - 1].fan_out;
        last.dz
            .copy_from_slice(last.out.as_deref().unwrap_or(last.z));
        let rows_of = last.dz.chunks_exact_mut(width);
        for ((dz, target), loss) in rows_of
            .zip(targets.chunks_exact(width))
            .zip(self.losses.iter_mut())
        {
            *loss = head::row_loss_and_gradient(head.head, dz, target, head.threshold, head.scale);
        }
        for (index, shape) in shapes.iter().enumerate().rev() {
            let (before, after) = self.layers.split_at_mut(index);
            let layer = &mut after[0];
            if let Some(out) = layer.out.as_deref() {
                activation::backward(shape.activation, layer.z, out, layer.dz);
            }
            if let Some(previous) = before.last_mut() {
                let w = MatRef::new(&params[shape.weight.clone()], shape.fan_in, shape.fan_out);
                let dz = MatRef::new(layer.dz, rows, shape.fan_out);
                matmul(previous.dz, dz, w.t(), false, Threads(1));
            }
        }
    }
}

/// Which part of the gradients a task computes.
#[derive(Clone, Copy)]
enum TaskKind {
    /// A band of a layer's weight rows.
    Weight { layer: usize, first_row: usize },
    /// A layer's biases.
    Bias { layer: usize },
}

/// A part of the gradients, with its parameters and optimizer state when it is updated in
/// place (each empty otherwise, or where the rule keeps no such state).
struct GradientTask<'a> {
    kind: TaskKind,
    grad: &'a mut [f32],
    params: &'a mut [f32],
    first: &'a mut [f32],
    second: &'a mut [f32],
}

/// The first `len` values of `rest` (none when `rest` is empty), leaving the others.
fn take_front<'a>(rest: &mut &'a mut [f32], len: usize) -> &'a mut [f32] {
    if rest.is_empty() {
        return &mut [];
    }
    let (front, back) = std::mem::take(rest).split_at_mut(len);
    *rest = back;
    front
}

/// Every layer's input and δ over the whole batch, and the step's update when it is made
/// part by part.
struct WholeBatch<'a> {
    rows: usize,
    layers: &'a [DenseShape],
    inputs: &'a [&'a [f32]],
    deltas: &'a [&'a [f32]],
    regularization: &'a RegularizationSpec,
    update: Option<Update>,
}

impl WholeBatch<'_> {
    fn gradient(&self, task: &mut GradientTask<'_>) {
        let grad = &mut *task.grad;
        match task.kind {
            TaskKind::Weight { layer, first_row } => {
                let shape = &self.layers[layer];
                let x = MatRef::new(self.inputs[layer], self.rows, shape.fan_in);
                let band = x.t().row_band(first_row, grad.len() / shape.fan_out);
                let delta = MatRef::new(self.deltas[layer], self.rows, shape.fan_out);
                matmul(grad, band, delta, false, Threads(1));
            }
            TaskKind::Bias { layer } => {
                grad.fill(0.0);
                for row in self.deltas[layer].chunks_exact(grad.len()) {
                    grad.iter_mut().zip(row).for_each(|(g, d)| *g += d);
                }
            }
        }
        let Some(update) = self.update else { return };
        if let TaskKind::Weight { .. } = task.kind {
            penalize(self.regularization, task.params, grad);
        }
        clip_values(self.regularization, grad);
        update.apply(task.params, grad, task.first, task.second);
    }
}

fn batch_norm_forward(
    norm: &mut BatchNorm,
    params: &[f32],
    x: &[f32],
    rows: usize,
    training: bool,
) {
    let features = norm.features;
    let len = rows * features;
    if training {
        norm.mean.fill(0.0);
        for row in x.chunks_exact(features) {
            norm.mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        let scale = 1.0 / rows as f32;
        norm.mean.iter_mut().for_each(|m| *m *= scale);
        // Reuse inv_std to accumulate the biased variance first.
        norm.inv_std.fill(0.0);
        for row in x.chunks_exact(features) {
            for ((s, m), v) in norm.inv_std.iter_mut().zip(&norm.mean).zip(row) {
                *s += (v - m) * (v - m);
            }
        }
        let unbiased = if rows > 1 {
            rows as f32 / (rows - 1) as f32
        } else {
            1.0
        };
        let momentum = norm.momentum;
        for j in 0..features {
            let variance = norm.inv_std[j] * scale;
            norm.running_mean[j] =
                (1.0 - momentum) * norm.running_mean[j] + momentum * norm.mean[j];
            norm.running_var[j] =
                (1.0 - momentum) * norm.running_var[j] + momentum * variance * unbiased;
            norm.inv_std[j] = 1.0 / (variance + norm.epsilon).sqrt();
        }
    } else {
        norm.mean.copy_from_slice(&norm.running_mean);
        for (s, v) in norm.inv_std.iter_mut().zip(&norm.running_var) {
            *s = 1.0 / (v + norm.epsilon).sqrt();
        }
    }
    let gamma = &params[norm.gamma.clone()];
    let beta = &params[norm.beta.clone()];
    let rows_out = norm.x_hat[..len]
        .chunks_exact_mut(features)
        .zip(norm.out[..len].chunks_exact_mut(features))
        .zip(x.chunks_exact(features));
    for ((x_hat, out), x) in rows_out {
        for j in 0..features {
            x_hat[j] = (x[j] - norm.mean[j]) * norm.inv_std[j];
            out[j] = gamma[j] * x_hat[j] + beta[j];
        }
    }
}

/// dx = γ/(σ·n) · (n·δ − Σδ − x̂·Σ(δ·x̂)), with Σδ = ∂β and Σ(δ·x̂) = ∂γ.
fn batch_norm_backward(
    norm: &BatchNorm,
    params: &[f32],
    grads: &mut [f32],
    delta: &mut [f32],
    rows: usize,
) {
    let features = norm.features;
    let len = rows * features;
    let (gamma_range, beta_range) = (norm.gamma.clone(), norm.beta.clone());
    grads[gamma_range.clone()].fill(0.0);
    grads[beta_range.clone()].fill(0.0);
    for (d, x_hat) in delta[..len]
        .chunks_exact(features)
        .zip(norm.x_hat[..len].chunks_exact(features))
    {
        for j in 0..features {
            grads[gamma_range.start + j] += d[j] * x_hat[j];
            grads[beta_range.start + j] += d[j];
        }
    }
    let gamma = &params[gamma_range.clone()];
    let n = rows as f32;
    for (d, x_hat) in delta[..len]
        .chunks_exact_mut(features)
        .zip(norm.x_hat[..len].chunks_exact(features))
    {
        for j in 0..features {
            let d_gamma = grads[gamma_range.start + j];
            let d_beta = grads[beta_range.start + j];
            d[j] = gamma[j] * norm.inv_std[j] / n * (n * d[j] - d_beta - x_hat[j] * d_gamma);
        }
    }
}

impl Trainer for NativeTrainer {
    fn train_batch(
        &mut self,
        batch: &Batch<'_>,
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        batch.check(&self.network).map_err(framework_error)?;
        Ok(self.step_in_pool(StepRows::Gathered(batch), learning_rate))
    }

    /// A network whose steps split into row bands keeps the split, so that each thread gathers its
    /// own rows of a step instead of the harness gathering them all on one.
    fn keep_training_split(&mut self, split: &TrainingSplit<'_>) -> Result<bool, BackendError> {
        if self.row_bands(self.batch_size.rows(split.rows)) < 2 {
            return Ok(false);
        }
        let (rows, features, outputs) = (split.rows, split.features, self.network.outputs);
        if features != self.network.inputs
            || split.inputs.len() != rows * features
            || split.targets.len() != rows * outputs
        {
            return Err(framework_error(format!(
                "the training split has {} inputs and {} targets for {rows} rows of {features} \
                 features and {outputs} outputs, for a network of {} inputs",
                split.inputs.len(),
                split.targets.len(),
                self.network.inputs
            )));
        }
        self.kept = Some(KeptSplit {
            inputs: split.inputs.to_vec(),
            targets: split.targets.to_vec(),
            rows,
        });
        Ok(true)
    }

    fn train_rows(
        &mut self,
        rows: &[usize],
        learning_rate: f32,
    ) -> Result<StepStats, BackendError> {
        let kept = self.kept.as_ref().map_or(0, |split| split.rows);
        if self.kept.is_none() || rows.is_empty() {
            return Err(framework_error(format!(
                "train_rows with {} rows and {} kept",
                rows.len(),
                if self.kept.is_some() {
                    "a split"
                } else {
                    "no split"
                }
            )));
        }
        if let Some(&row) = rows.iter().find(|&&row| row >= kept) {
            return Err(framework_error(format!(
                "row {row} is outside the kept training split of {kept} rows"
            )));
        }
        Ok(self.step_in_pool(StepRows::Kept(rows), learning_rate))
    }

    fn predict(&mut self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, BackendError> {
        let features = self.network.inputs;
        self.network
            .check_inputs(inputs.len(), rows, features)
            .map_err(framework_error)?;
        // A convolution's im2col buffer holds k² copies of its input: predict a large set
        // in slices so that it stays a few tens of MB.
        let slice = if self.network.is_convolutional() {
            PREDICT_ROWS
        } else {
            rows
        };
        let pool = self.pool.take();
        let mut outputs = Vec::with_capacity(rows * self.network.outputs);
        for start in (0..rows).step_by(slice.max(1)) {
            let n = slice.min(rows - start);
            let x = &inputs[start * features..(start + n) * features];
            match &pool {
                Some(pool) => pool.install(|| self.forward(x, n, false)),
                None => self.forward(x, n, false),
            }
            let last = self.nodes.len() - 1;
            outputs.extend_from_slice(self.nodes[last].output(n * self.network.outputs));
        }
        self.pool = pool;
        head::predict(
            self.network.head,
            &mut outputs,
            self.network.outputs,
            self.threshold,
        );
        Ok(outputs)
    }

    fn weights(&self) -> Result<Weights, BackendError> {
        let mut tensors = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let mut push = |kind: &str, shape: Vec<usize>, data: &[f32]| {
                tensors.push(Tensor {
                    name: format!("{index}.{kind}"),
                    shape,
                    data: data.to_vec(),
                });
            };
            match node {
                Node::Dense(dense) => {
                    let shape = vec![dense.fan_in, dense.fan_out];
                    push("weight", shape, &self.params[dense.weight.clone()]);
                    push(
                        "bias",
                        vec![dense.fan_out],
                        &self.params[dense.bias.clone()],
                    );
                }
                Node::BatchNorm(norm) => {
                    let shape = vec![norm.features];
                    push("gamma", shape.clone(), &self.params[norm.gamma.clone()]);
                    push("beta", shape.clone(), &self.params[norm.beta.clone()]);
                    push("running_mean", shape.clone(), &norm.running_mean);
                    push("running_var", shape, &norm.running_var);
                }
                Node::Conv(conv) => {
                    let g = conv.geometry;
                    let (k, out) = (g.size, g.output.channels);
                    let shape = vec![out, g.input.channels, k, k];
                    push("weight", shape, &self.params[conv.weight.clone()]);
                    push("bias", vec![out], &self.params[conv.bias.clone()]);
                }
                _ => {}
            }
        }
        Ok(Weights { tensors })
    }
}

impl NativeTrainer {
    /// One step, inside this trainer's thread pool when it has one.
    fn step_in_pool(&mut self, rows: StepRows<'_>, learning_rate: f32) -> StepStats {
        match self.pool.take() {
            Some(pool) => {
                let stats = pool.install(|| self.step(rows, learning_rate));
                self.pool = Some(pool);
                stats
            }
            None => self.step(rows, learning_rate),
        }
    }
}

/// Rows per forward pass when a convolutional network predicts.
const PREDICT_ROWS: usize = 256;

fn framework_error(message: String) -> BackendError {
    BackendError::Framework {
        framework: "native",
        message,
    }
}

#[cfg(test)]
mod tests {
    use nnbench_core::metrics::encode_targets;
    use nnbench_core::rng::Rng;
    use nnbench_core::spec::{LayerSpec, OptimizerKind, RunSpec};

    use super::*;

    type Trained = (Vec<f32>, Vec<f32>, Vec<Option<Vec<f32>>>);

    /// Parameters, losses and gradient norms after a few steps on a dense net whose weight
    /// gradients are large enough to be split too, on `threads`, by row bands or layer by
    /// layer, with the regularization and optimizer that `adjust` sets.
    #[derive(Clone, Copy, PartialEq)]
    enum How {
        LayerByLayer,
        RowBands,
        /// Row bands, each gathering its rows from the kept split.
        KeptRows,
    }

    fn trained(threads: usize, how: How, adjust: fn(&mut RunSpec)) -> Trained {
        let dense = |units, activation| LayerSpec::Dense { units, activation };
        let layers = vec![dense(64, Activation::Relu), dense(32, Activation::Sigmoid)];
        let adam = OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        };
        let mut run = nnbench_core::step_parity::run(layers, OutputHead::SoftmaxCrossEntropy, adam);
        run.training.record_grad_norms = false;
        adjust(&mut run);
        let network = Network::shaped(&run.model, &[200], 6).unwrap();
        let init = nnbench_core::init::initial_weights(&network, &run.init, 5).unwrap();
        let rows = 50;
        let mut rng = Rng::new(9);
        let inputs: Vec<f32> = (0..rows * 200).map(|_| rng.normal() as f32).collect();
        let labels: Vec<u32> = (0..rows as u32).map(|row| row % 6).collect();
        let targets = encode_targets(&labels, 6);
        let setup = TrainerSetup {
            run: &run,
            network: &network,
            init: Some(&init),
            seed: 0,
            threads,
        };
        let mut trainer = NativeTrainer::new(&setup).unwrap();
        assert!(
            trainer.row_band_layers.is_some(),
            "a dense net steps by row bands"
        );
        if how == How::LayerByLayer {
            trainer.row_band_layers = None;
        }
        if how == How::KeptRows {
            let split = TrainingSplit {
                inputs: &inputs,
                rows,
                features: 200,
                labels: &labels,
                targets: &targets,
            };
            assert!(trainer.keep_training_split(&split).unwrap());
        }
        // Every row once, in an order of their own, as the harness hands them.
        let order: Vec<usize> = (0..rows).map(|row| (row * 7) % rows).collect();
        let gathered = |rows: &[usize], width: usize, values: &[f32]| -> Vec<f32> {
            rows.iter()
                .flat_map(|&row| values[row * width..(row + 1) * width].iter().copied())
                .collect()
        };
        let inputs = gathered(&order, 200, &inputs);
        let targets = gathered(&order, 6, &targets);
        let labels: Vec<u32> = order.iter().map(|&row| labels[row]).collect();
        let batch = Batch {
            inputs: &inputs,
            rows,
            features: 200,
            labels: &labels,
            targets: &targets,
        };
        let (losses, norms) = (0..3)
            .map(|_| {
                let stats = match how {
                    How::KeptRows => trainer.train_rows(&order, 0.01).unwrap(),
                    _ => trainer.train_batch(&batch, 0.01).unwrap(),
                };
                (stats.loss, stats.grad_norms)
            })
            .unzip();
        (trainer.params.clone(), losses, norms)
    }

    #[test]
    fn only_a_step_that_splits_keeps_the_split_and_rows_outside_it_are_an_error() {
        let dense = |units| LayerSpec::Dense {
            units,
            activation: Activation::Tanh,
        };
        let keeps = |layers: Vec<LayerSpec>, features: usize, rows: usize, threads: usize| {
            let run = nnbench_core::step_parity::run(
                layers,
                OutputHead::SoftmaxCrossEntropy,
                OptimizerKind::Sgd,
            );
            let network = Network::shaped(&run.model, &[features], 2).unwrap();
            let setup = TrainerSetup {
                run: &run,
                network: &network,
                init: None,
                seed: 0,
                threads,
            };
            let mut trainer = NativeTrainer::new(&setup).unwrap();
            let inputs = vec![0.5; rows * features];
            let labels: Vec<u32> = (0..rows as u32).map(|row| row % 2).collect();
            let targets = encode_targets(&labels, 2);
            let split = TrainingSplit {
                inputs: &inputs,
                rows,
                features,
                labels: &labels,
                targets: &targets,
            };
            let kept = trainer.keep_training_split(&split).unwrap();
            (trainer, kept)
        };
        // XOR's four rows, and any step on one thread, are not worth splitting.
        assert!(!keeps(vec![dense(4)], 2, 4, 2).1);
        assert!(!keeps(vec![dense(64)], 200, 50, 1).1);
        let (mut trainer, kept) = keeps(vec![dense(64)], 200, 50, 2);
        assert!(kept);
        let error = trainer.train_rows(&[1, 50], 0.1).unwrap_err().to_string();
        assert!(
            error.contains("row 50 is outside the kept training split of 50 rows"),
            "{error}"
        );
        let all: Vec<usize> = (0..50).rev().collect();
        assert!(trainer.train_rows(&all, 0.1).is_ok());
        // A step too small to split (an epoch's last batch) still trains from the kept rows.
        assert!(trainer.train_rows(&[3, 1], 0.1).is_ok());
        let (mut not_kept, _) = keeps(vec![dense(4)], 2, 4, 2);
        let error = not_kept.train_rows(&[0], 0.1).unwrap_err().to_string();
        assert!(error.contains("no split"), "{error}");
    }

    #[test]
    fn row_bands_give_the_layer_by_layer_numbers_on_any_thread_count() {
        let adjustments: [fn(&mut RunSpec); 5] = [
            |_| {},
            |run| {
                run.regularization.l1 = 1e-3;
                run.regularization.l2 = 1e-2;
                run.regularization.clip_value = Some(0.01);
            },
            |run| run.regularization.clip_norm = Some(0.1),
            |run| run.training.record_grad_norms = true,
            |run| {
                run.optimizer.kind = OptimizerKind::Momentum {
                    momentum: 0.9,
                    nesterov: true,
                }
            },
        ];
        for adjust in adjustments {
            let layer_by_layer = trained(1, How::LayerByLayer, adjust);
            assert_eq!(trained(2, How::LayerByLayer, adjust), layer_by_layer);
            for threads in [2, 3] {
                assert_eq!(trained(threads, How::RowBands, adjust), layer_by_layer);
                assert_eq!(trained(threads, How::KeptRows, adjust), layer_by_layer);
            }
        }
    }
}
