//! Convolution and pooling on NCHW images, written out. A convolution is im2col (every
//! receptive field as one column of a matrix) followed by one matrix product with the
//! kernels, on the same `gemm` kernels as the dense layers; its backward pass is two more
//! products and col2im, which adds each column of the patch gradient back where the patch
//! came from. Pooling keeps, per output, the window's largest value (and where it was, for
//! the backward pass) or the window's mean.
//!
//! The columns are patch-major (`patch × positions`, Caffe's layout), so that the product
//! `W · col` runs along the long dimension (the positions) in the SIMD lanes: the other
//! way round the lanes hold the 6 or 16 output channels of a small net, and most of each
//! vector is padding. The rows of a patch are shifted copies of the input's lines, so
//! im2col and col2im are slice copies and adds.
//!
//! The batch is cut into chunks of [`CHUNK`] examples, each done start to end (im2col,
//! product, layout) by one thread: a chunk's columns stay in cache between the steps, and
//! two threads share the work without splitting small products. The weight gradient adds
//! the chunks' parts in chunk order, so the numbers do not depend on the thread count.

use nnbench_core::network::Image;
use rayon::prelude::*;

use crate::matmul::{MatRef, Threads, matmul};

/// Examples per chunk of a convolution: small enough that a chunk's columns stay in a
/// core's L2 cache (LeNet's first layer: 25 × 8·784 floats, 627 KiB).
pub const CHUNK: usize = 8;

/// The shapes of one convolution or pooling window layer.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub input: Image,
    pub output: Image,
    /// Kernel or window size.
    pub size: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Geometry {
    /// Values in one receptive field over every input channel: the rows of im2col.
    pub fn patch(&self) -> usize {
        self.input.channels * self.size * self.size
    }

    /// Output positions of one example: its columns of im2col.
    pub fn positions(&self) -> usize {
        self.output.area()
    }

    /// The input coordinate of kernel offset `k` at output coordinate `o`, if inside the
    /// image (outside it lies the zero padding).
    #[inline]
    fn source(&self, o: usize, k: usize, size: usize) -> Option<usize> {
        (o * self.stride + k)
            .checked_sub(self.padding)
            .filter(|&i| i < size)
    }

    /// The output coordinates `o` whose input `o·stride + k − padding` lies inside `0..size`
    /// (a range, since the input coordinate grows with `o`).
    fn inside(&self, k: usize, size: usize, outputs: usize) -> std::ops::Range<usize> {
        let first = (0..outputs).find(|&o| self.source(o, k, size).is_some());
        match first {
            Some(first) => {
                let end = (first..outputs)
                    .find(|&o| self.source(o, k, size).is_none())
                    .unwrap_or(outputs);
                first..end
            }
            None => 0..0,
        }
    }
}

/// A convolution's kernels (`[out, in·k·k]` row-major, the canonical `[out, in, kh, kw]`)
/// and biases.
#[derive(Clone, Copy)]
pub struct Kernels<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
}

/// Per-layer buffers of a convolution, sized by [`Buffers::reserve`].
#[derive(Default)]
pub struct Buffers {
    /// im2col of the input, chunk by chunk (`patch × CHUNK·positions` each); the patch
    /// gradient in the backward pass.
    col: Vec<f32>,
    /// The product `W · col`, chunk by chunk (`out × CHUNK·positions`); its gradient in the
    /// backward pass.
    product: Vec<f32>,
    /// Each chunk's part of the kernels' gradient.
    partial_grads: Vec<f32>,
}

impl Buffers {
    pub fn reserve(&mut self, g: &Geometry, rows: usize) {
        let grow = |buffer: &mut Vec<f32>, len: usize| {
            if buffer.len() < len {
                buffer.resize(len, 0.0);
            }
        };
        grow(&mut self.col, rows * g.positions() * g.patch());
        grow(&mut self.product, rows * g.output.len());
        grow(
            &mut self.partial_grads,
            rows.div_ceil(CHUNK) * g.output.channels * g.patch(),
        );
    }
}

/// Runs `work(chunk index, first slice's chunk, second's, third's)` over matching chunks
/// of three buffers, on the current rayon pool when `threads` allows.
fn per_chunk<F>(
    threads: Threads,
    (a, a_len): (&mut [f32], usize),
    (b, b_len): (&mut [f32], usize),
    (c, c_len): (&mut [f32], usize),
    work: F,
) where
    F: Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync + Send,
{
    if threads.0 > 1 {
        a.par_chunks_mut(a_len)
            .zip(b.par_chunks_mut(b_len))
            .zip(c.par_chunks_mut(c_len))
            .enumerate()
            .for_each(|(index, ((a, b), c))| work(index, a, b, c));
    } else {
        a.chunks_mut(a_len)
            .zip(b.chunks_mut(b_len))
            .zip(c.chunks_mut(c_len))
            .enumerate()
            .for_each(|(index, ((a, b), c))| work(index, a, b, c));
    }
}

/// `z` (NCHW, `rows` examples) = the convolution of `x` with the kernels, plus the biases.
pub fn forward(
    g: &Geometry,
    kernels: Kernels<'_>,
    x: &[f32],
    rows: usize,
    buffers: &mut Buffers,
    z: &mut [f32],
    threads: Threads,
) {
    let (patch, positions, channels) = (g.patch(), g.positions(), g.output.channels);
    let out_len = g.output.len();
    let weight = MatRef::new(kernels.weight, channels, patch);
    per_chunk(
        threads,
        (
            &mut buffers.col[..rows * positions * patch],
            CHUNK * positions * patch,
        ),
        (&mut buffers.product[..rows * out_len], CHUNK * out_len),
        (&mut z[..rows * out_len], CHUNK * out_len),
        |index, col, product, z| {
            let examples = z.len() / out_len;
            let first = index * CHUNK;
            let x = &x[first * g.input.len()..(first + examples) * g.input.len()];
            let columns = examples * positions;
            im2col(g, x, examples, col);
            matmul(
                product,
                weight,
                MatRef::new(col, patch, columns),
                false,
                Threads(1),
            );
            // [out, example, position] → [example, out, position], adding the bias.
            for (c, (line, &bias)) in product.chunks_exact(columns).zip(kernels.bias).enumerate() {
                for (n, plane) in line.chunks_exact(positions).enumerate() {
                    let start = n * out_len + c * positions;
                    let z = &mut z[start..start + positions];
                    z.iter_mut().zip(plane).for_each(|(z, p)| *z = p + bias);
                }
            }
        },
    );
}

/// The backward pass of [`forward`] from `delta` (∂loss/∂z, NCHW): the kernels' and biases'
/// gradients, and ∂loss/∂x into `dx` (overwritten) when given. Uses the columns [`forward`]
/// left in `buffers`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    g: &Geometry,
    weight: &[f32],
    delta: &[f32],
    rows: usize,
    buffers: &mut Buffers,
    (weight_grad, bias_grad): (&mut [f32], &mut [f32]),
    dx: Option<&mut [f32]>,
    threads: Threads,
) {
    let (patch, positions, channels) = (g.patch(), g.positions(), g.output.channels);
    let (out_len, in_len) = (g.output.len(), g.input.len());
    bias_grad.fill(0.0);
    for example in delta[..rows * out_len].chunks_exact(out_len) {
        for (grad, plane) in bias_grad.iter_mut().zip(example.chunks_exact(positions)) {
            *grad += plane.iter().sum::<f32>();
        }
    }
    let kernel_len = channels * patch;
    let chunks = rows.div_ceil(CHUNK);
    let dx_chunks: Vec<Option<&mut [f32]>> = match dx {
        Some(dx) => dx[..rows * in_len]
            .chunks_mut(CHUNK * in_len)
            .map(Some)
            .collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let work = |index: usize,
                ((col, d_product), partial): ((&mut [f32], &mut [f32]), &mut [f32]),
                dx: Option<&mut [f32]>| {
        let first = index * CHUNK;
        let examples = col.len() / (positions * patch);
        let columns = examples * positions;
        // [example, out, position] → [out, example, position], as the product was.
        let delta = &delta[first * out_len..(first + examples) * out_len];
        for (c, line) in d_product.chunks_exact_mut(columns).enumerate() {
            for (n, plane) in line.chunks_exact_mut(positions).enumerate() {
                let start = n * out_len + c * positions;
                plane.copy_from_slice(&delta[start..start + positions]);
            }
        }
        let d_product = MatRef::new(d_product, channels, columns);
        let columns_view = MatRef::new(col, patch, columns);
        matmul(partial, d_product, columns_view.t(), false, Threads(1));
        if let Some(dx) = dx {
            // The columns are spent: the patch gradient takes their place.
            let weight = MatRef::new(weight, channels, patch);
            matmul(col, weight.t(), d_product, false, Threads(1));
            col2im(g, col, examples, dx);
        }
    };
    let chunk_parts = buffers.col[..rows * positions * patch]
        .chunks_mut(CHUNK * positions * patch)
        .zip(buffers.product[..rows * out_len].chunks_mut(CHUNK * out_len))
        .zip(buffers.partial_grads[..chunks * kernel_len].chunks_mut(kernel_len));
    if threads.0 > 1 {
        let parts: Vec<_> = chunk_parts.zip(dx_chunks).collect();
        parts
            .into_par_iter()
            .enumerate()
            .for_each(|(index, (buffers, dx))| work(index, buffers, dx));
    } else {
        chunk_parts
            .zip(dx_chunks)
            .enumerate()
            .for_each(|(index, (buffers, dx))| work(index, buffers, dx));
    }
    let partial_grads = &buffers.partial_grads[..chunks * kernel_len];
    weight_grad.copy_from_slice(&partial_grads[..kernel_len]);
    for partial in partial_grads[kernel_len..].chunks_exact(kernel_len) {
        weight_grad
            .iter_mut()
            .zip(partial)
            .for_each(|(g, p)| *g += p);
    }
}

/// Fills `col` (`patch × examples·positions`, row-major) with the receptive fields of `x`
/// (`examples` images): column `n·positions + oh·out_w + ow` holds, channel by channel and
/// kernel row by kernel row, the inputs that kernel position (oh, ow) of example n sees.
fn im2col(g: &Geometry, x: &[f32], examples: usize, col: &mut [f32]) {
    let (image, out, k) = (g.input, g.output, g.size);
    let columns = examples * g.positions();
    for (row, line) in col.chunks_exact_mut(columns).enumerate() {
        let (c, kh, kw) = (row / (k * k), row / k % k, row % k);
        let inside = g.inside(kw, image.width, out.width);
        for (n, plane) in line.chunks_exact_mut(g.positions()).enumerate() {
            let channel = &x[(n * image.channels + c) * image.area()..][..image.area()];
            for (oh, dst) in plane.chunks_exact_mut(out.width).enumerate() {
                let Some(ih) = g.source(oh, kh, image.height) else {
                    dst.fill(0.0);
                    continue;
                };
                let src = &channel[ih * image.width..(ih + 1) * image.width];
                dst[..inside.start].fill(0.0);
                dst[inside.end..].fill(0.0);
                if g.stride == 1 {
                    let from = inside.start + kw - g.padding;
                    dst[inside.clone()].copy_from_slice(&src[from..from + inside.len()]);
                } else {
                    for ow in inside.clone() {
                        dst[ow] = src[ow * g.stride + kw - g.padding];
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dx` (`examples` images, overwritten) gets the sum, over
/// every patch, of the gradients in `dcol` of the inputs the patch saw.
fn col2im(g: &Geometry, dcol: &[f32], examples: usize, dx: &mut [f32]) {
    let (image, out, k) = (g.input, g.output, g.size);
    let columns = examples * g.positions();
    dx.fill(0.0);
    for (row, line) in dcol.chunks_exact(columns).enumerate() {
        let (c, kh, kw) = (row / (k * k), row / k % k, row % k);
        let inside = g.inside(kw, image.width, out.width);
        for (n, plane) in line.chunks_exact(g.positions()).enumerate() {
            let channel = &mut dx[(n * image.channels + c) * image.area()..][..image.area()];
            for (oh, src) in plane.chunks_exact(out.width).enumerate() {
                let Some(ih) = g.source(oh, kh, image.height) else {
                    continue;
                };
                let dst = &mut channel[ih * image.width..(ih + 1) * image.width];
                if g.stride == 1 {
                    let from = inside.start + kw - g.padding;
                    let dst = &mut dst[from..from + inside.len()];
                    dst.iter_mut()
                        .zip(&src[inside.clone()])
                        .for_each(|(d, s)| *d += s);
                } else {
                    for ow in inside.clone() {
                        dst[ow * g.stride + kw - g.padding] += src[ow];
                    }
                }
            }
        }
    }
}

/// Max pooling: `out` gets each window's largest value and `argmax` (one per output) the
/// index of that input inside its image, so the backward pass routes the gradient there.
/// Ties go to the first in row-major order, as in PyTorch.
pub fn max_pool_forward(
    g: &Geometry,
    x: &[f32],
    rows: usize,
    out: &mut [f32],
    argmax: &mut [u32],
    threads: Threads,
) {
    let (input, output) = (g.input, g.output);
    let work = |n: usize, (out, argmax): (&mut [f32], &mut [u32])| {
        let x = &x[n * input.len()..(n + 1) * input.len()];
        for c in 0..output.channels {
            for oh in 0..output.height {
                let at = (c * output.height + oh) * output.width;
                let out = &mut out[at..at + output.width];
                let argmax = &mut argmax[at..at + output.width];
                // The top-left input of the first window of this output row, in the image.
                let top = (c * input.height + oh * g.stride) * input.width;
                if g.size == 2 && g.stride == 2 {
                    // The usual 2×2 window, without the general loop's index arithmetic.
                    let upper = &x[top..top + input.width];
                    let lower = &x[top + input.width..top + 2 * input.width];
                    for (ow, (out, argmax)) in out.iter_mut().zip(argmax.iter_mut()).enumerate() {
                        let left = 2 * ow;
                        let (mut best, mut index) = (upper[left], top + left);
                        let others = [
                            (upper[left + 1], top + left + 1),
                            (lower[left], top + input.width + left),
                            (lower[left + 1], top + input.width + left + 1),
                        ];
                        for (value, at) in others {
                            if value > best {
                                (best, index) = (value, at);
                            }
                        }
                        *out = best;
                        *argmax = index as u32;
                    }
                    continue;
                }
                for (ow, (out, argmax)) in out.iter_mut().zip(argmax.iter_mut()).enumerate() {
                    let (mut best, mut index) = (f32::NEG_INFINITY, 0);
                    for kh in 0..g.size {
                        let start = top + kh * input.width + ow * g.stride;
                        for (kw, &value) in x[start..start + g.size].iter().enumerate() {
                            if value > best || kh + kw == 0 {
                                (best, index) = (value, start + kw);
                            }
                        }
                    }
                    *out = best;
                    *argmax = index as u32;
                }
            }
        }
    };
    let len = output.len();
    let out = out[..rows * len].chunks_mut(len);
    let argmax = argmax[..rows * len].chunks_mut(len);
    if threads.0 > 1 {
        let parts: Vec<_> = out.zip(argmax).collect();
        parts
            .into_par_iter()
            .enumerate()
            .for_each(|(n, part)| work(n, part));
    } else {
        out.zip(argmax)
            .enumerate()
            .for_each(|(n, part)| work(n, part));
    }
}

/// Routes each output's gradient in `delta` to its window's largest input (`dx` is
/// overwritten).
pub fn max_pool_backward(g: &Geometry, delta: &[f32], argmax: &[u32], rows: usize, dx: &mut [f32]) {
    let (input, output) = (g.input, g.output);
    dx[..rows * input.len()].fill(0.0);
    for n in 0..rows {
        let dx = &mut dx[n * input.len()..(n + 1) * input.len()];
        let range = n * output.len()..(n + 1) * output.len();
        for (&d, &at) in delta[range.clone()].iter().zip(&argmax[range]) {
            dx[at as usize] += d;
        }
    }
}

/// Average pooling: each window's mean.
pub fn avg_pool_forward(g: &Geometry, x: &[f32], rows: usize, out: &mut [f32]) {
    let (input, output, k) = (g.input, g.output, g.size);
    let scale = 1.0 / (k * k) as f32;
    for n in 0..rows {
        let x = &x[n * input.len()..(n + 1) * input.len()];
        let out = &mut out[n * output.len()..(n + 1) * output.len()];
        for c in 0..output.channels {
            for oh in 0..output.height {
                for ow in 0..output.width {
                    let mut sum = 0.0;
                    for kh in 0..k {
                        let start =
                            (c * input.height + oh * g.stride + kh) * input.width + ow * g.stride;
                        sum += x[start..start + k].iter().sum::<f32>();
                    }
                    out[(c * output.height + oh) * output.width + ow] = sum * scale;
                }
            }
        }
    }
}

/// Spreads each output's gradient evenly over its window (`dx` is overwritten).
pub fn avg_pool_backward(g: &Geometry, delta: &[f32], rows: usize, dx: &mut [f32]) {
    let (input, output, k) = (g.input, g.output, g.size);
    let scale = 1.0 / (k * k) as f32;
    dx[..rows * input.len()].fill(0.0);
    for n in 0..rows {
        let dx = &mut dx[n * input.len()..(n + 1) * input.len()];
        let delta = &delta[n * output.len()..(n + 1) * output.len()];
        for c in 0..output.channels {
            for oh in 0..output.height {
                for ow in 0..output.width {
                    let d = delta[(c * output.height + oh) * output.width + ow] * scale;
                    for kh in 0..k {
                        let start =
                            (c * input.height + oh * g.stride + kh) * input.width + ow * g.stride;
                        dx[start..start + k].iter_mut().for_each(|v| *v += d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(channels: usize, height: usize, width: usize) -> Image {
        Image {
            channels,
            height,
            width,
        }
    }

    /// Stride 2 and padding 1, and stride 1 with "same" padding, as LeNet's first layer.
    fn geometries() -> [Geometry; 2] {
        [
            Geometry {
                input: image(2, 5, 4),
                output: image(3, 3, 2),
                size: 3,
                stride: 2,
                padding: 1,
            },
            Geometry {
                input: image(2, 6, 7),
                output: image(3, 6, 7),
                size: 5,
                stride: 1,
                padding: 2,
            },
        ]
    }

    fn on_threads<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(work)
    }

    /// `rows` input images and the kernels of `g`, smooth and free of ties.
    fn inputs_and_kernels(g: &Geometry, rows: usize) -> (Vec<f32>, Vec<f32>) {
        let x = (0..rows * g.input.len())
            .map(|v| (v as f32 * 0.3).sin())
            .collect();
        let w = (0..g.output.channels * g.patch())
            .map(|v| (v as f32 * 0.7).cos())
            .collect();
        (x, w)
    }

    /// The convolution by its definition, for comparison with im2col + product, over more
    /// examples than one chunk holds.
    #[test]
    fn forward_is_the_convolution() {
        for g in geometries() {
            let rows = CHUNK + 3;
            let channels = g.output.channels;
            let (x, w) = inputs_and_kernels(&g, rows);
            let bias = [0.1, -0.2, 0.3];
            for threads in [1, 2] {
                let mut buffers = Buffers::default();
                buffers.reserve(&g, rows);
                let mut z = vec![0.0; rows * g.output.len()];
                let kernels = Kernels {
                    weight: &w,
                    bias: &bias,
                };
                on_threads(threads, || {
                    forward(
                        &g,
                        kernels,
                        &x,
                        rows,
                        &mut buffers,
                        &mut z,
                        Threads(threads),
                    )
                });
                let (image, out, k) = (g.input, g.output, g.size);
                for n in 0..rows {
                    for o in 0..channels {
                        for oh in 0..out.height {
                            for ow in 0..out.width {
                                let mut expected = bias[o];
                                for c in 0..image.channels {
                                    for kh in 0..k {
                                        for kw in 0..k {
                                            let ih =
                                                (oh * g.stride + kh) as isize - g.padding as isize;
                                            let iw =
                                                (ow * g.stride + kw) as isize - g.padding as isize;
                                            if ih < 0
                                                || iw < 0
                                                || ih >= image.height as isize
                                                || iw >= image.width as isize
                                            {
                                                continue;
                                            }
                                            let xi = ((n * image.channels + c) * image.height
                                                + ih as usize)
                                                * image.width
                                                + iw as usize;
                                            expected += x[xi]
                                                * w[((o * image.channels + c) * k + kh) * k + kw];
                                        }
                                    }
                                }
                                let got =
                                    z[((n * channels + o) * out.height + oh) * out.width + ow];
                                assert!((got - expected).abs() < 1e-4, "{got} vs {expected}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// col2im is the adjoint of im2col: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        for g in geometries() {
            let examples = 3;
            let x: Vec<f32> = (0..examples * g.input.len())
                .map(|v| (v as f32 * 0.13).sin())
                .collect();
            let c: Vec<f32> = (0..examples * g.positions() * g.patch())
                .map(|v| (v as f32 * 0.29).cos())
                .collect();
            let mut col = vec![0.0; c.len()];
            im2col(&g, &x, examples, &mut col);
            let mut dx = vec![1.0; x.len()];
            col2im(&g, &c, examples, &mut dx);
            let left: f64 = col.iter().zip(&c).map(|(a, b)| f64::from(a * b)).sum();
            let right: f64 = x.iter().zip(&dx).map(|(a, b)| f64::from(a * b)).sum();
            assert!((left - right).abs() < 1e-3, "{left} vs {right}");
        }
    }

    /// The chunks' parts of the kernels' gradient are added in chunk order whoever computes
    /// them, so two threads give one thread's numbers exactly.
    #[test]
    fn the_backward_pass_gives_the_same_numbers_on_any_thread_count() {
        let g = geometries()[1];
        let rows = 2 * CHUNK + 1;
        let channels = g.output.channels;
        let (x, w) = inputs_and_kernels(&g, rows);
        let delta: Vec<f32> = (0..rows * g.output.len())
            .map(|v| (v as f32 * 0.17).cos())
            .collect();
        let run = |threads: usize| {
            let mut buffers = Buffers::default();
            buffers.reserve(&g, rows);
            let mut z = vec![0.0; delta.len()];
            let mut grads = vec![0.0; w.len() + channels];
            let mut dx = vec![0.0; x.len()];
            on_threads(threads, || {
                let kernels = Kernels {
                    weight: &w,
                    bias: &[0.0; 3],
                };
                forward(
                    &g,
                    kernels,
                    &x,
                    rows,
                    &mut buffers,
                    &mut z,
                    Threads(threads),
                );
                let grads = grads.split_at_mut(w.len());
                let dx = Some(&mut dx[..]);
                backward(
                    &g,
                    &w,
                    &delta,
                    rows,
                    &mut buffers,
                    grads,
                    dx,
                    Threads(threads),
                );
            });
            (grads, dx)
        };
        assert_eq!(run(1), run(2));
    }
}
