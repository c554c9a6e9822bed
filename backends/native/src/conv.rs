//! Convolution and pooling on NCHW images, written out: a convolution is im2col (every
//! receptive field of the batch as one row of a matrix) followed by one matrix product with
//! the kernels for the whole batch, on the same `gemm` kernels as the dense layers; its
//! backward pass is two more products and col2im, which adds each row of the patch gradient
//! back where the patch came from. Pooling keeps, per output, the window's largest value (and
//! where it was, for the backward pass) or the window's mean.
//!
//! Loops over the examples of a batch run on the trainer's rayon pool when it has more than
//! one thread.

use nnbench_core::network::Image;
use rayon::prelude::*;

use crate::matmul::Threads;

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
    /// Values in one im2col row: one receptive field over every input channel.
    pub fn patch(&self) -> usize {
        self.input.channels * self.size * self.size
    }

    /// im2col rows of one example: its output positions.
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
}

/// Runs `work(example, chunk)` on each `len`-sized chunk of `data`, in parallel on the
/// current rayon pool when `threads` allows.
fn per_example<F>(data: &mut [f32], len: usize, threads: Threads, work: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    if threads.0 > 1 {
        data.par_chunks_exact_mut(len)
            .enumerate()
            .for_each(|(n, chunk)| work(n, chunk));
    } else {
        data.chunks_exact_mut(len)
            .enumerate()
            .for_each(|(n, chunk)| work(n, chunk));
    }
}

/// Fills `col` (`rows·positions × patch`, row-major) with the receptive fields of `x`
/// (`rows` images): row `n·positions + oh·out_w + ow` holds, channel by channel and kernel
/// row by kernel row, the inputs kernel position (oh, ow) of example n sees.
pub fn im2col(g: &Geometry, x: &[f32], rows: usize, col: &mut [f32], threads: Threads) {
    let (patch, positions) = (g.patch(), g.positions());
    let (image, k) = (g.input, g.size);
    per_example(
        &mut col[..rows * positions * patch],
        positions * patch,
        threads,
        |n, col| {
            let x = &x[n * image.len()..(n + 1) * image.len()];
            for (position, row) in col.chunks_exact_mut(patch).enumerate() {
                let (oh, ow) = (position / g.output.width, position % g.output.width);
                for (c, row) in row.chunks_exact_mut(k * k).enumerate() {
                    let channel = &x[c * image.area()..(c + 1) * image.area()];
                    for (kh, row) in row.chunks_exact_mut(k).enumerate() {
                        let Some(ih) = g.source(oh, kh, image.height) else {
                            row.fill(0.0);
                            continue;
                        };
                        let line = &channel[ih * image.width..(ih + 1) * image.width];
                        for (kw, value) in row.iter_mut().enumerate() {
                            *value = g.source(ow, kw, image.width).map_or(0.0, |iw| line[iw]);
                        }
                    }
                }
            }
        },
    );
}

/// The inverse scatter of [`im2col`]: `dx` (`rows` images, overwritten) gets the sum, over
/// every patch, of the gradients in `dcol` of the inputs the patch saw.
pub fn col2im(g: &Geometry, dcol: &[f32], rows: usize, dx: &mut [f32], threads: Threads) {
    let (patch, positions) = (g.patch(), g.positions());
    let (image, k) = (g.input, g.size);
    per_example(
        &mut dx[..rows * image.len()],
        image.len(),
        threads,
        |n, dx| {
            dx.fill(0.0);
            let dcol = &dcol[n * positions * patch..(n + 1) * positions * patch];
            for (position, row) in dcol.chunks_exact(patch).enumerate() {
                let (oh, ow) = (position / g.output.width, position % g.output.width);
                for (c, row) in row.chunks_exact(k * k).enumerate() {
                    let channel = &mut dx[c * image.area()..(c + 1) * image.area()];
                    for (kh, row) in row.chunks_exact(k).enumerate() {
                        let Some(ih) = g.source(oh, kh, image.height) else {
                            continue;
                        };
                        let line = &mut channel[ih * image.width..(ih + 1) * image.width];
                        for (kw, &value) in row.iter().enumerate() {
                            if let Some(iw) = g.source(ow, kw, image.width) {
                                line[iw] += value;
                            }
                        }
                    }
                }
            }
        },
    );
}

/// `nchw[n, c, p] = f(nhwc[n·positions + p, c])` for `rows` examples of `channels` channels:
/// the product's position-major result back into the channel-major layout.
pub fn to_nchw(
    nhwc: &[f32],
    rows: usize,
    channels: usize,
    positions: usize,
    nchw: &mut [f32],
    threads: Threads,
    f: impl Fn(usize, f32) -> f32 + Sync + Send,
) {
    let len = channels * positions;
    per_example(&mut nchw[..rows * len], len, threads, |n, out| {
        let src = &nhwc[n * len..(n + 1) * len];
        for (c, plane) in out.chunks_exact_mut(positions).enumerate() {
            for (p, value) in plane.iter_mut().enumerate() {
                *value = f(c, src[p * channels + c]);
            }
        }
    });
}

/// The transpose of [`to_nchw`] without a function.
pub fn to_nhwc(
    nchw: &[f32],
    rows: usize,
    channels: usize,
    positions: usize,
    nhwc: &mut [f32],
    threads: Threads,
) {
    let len = channels * positions;
    per_example(&mut nhwc[..rows * len], len, threads, |n, out| {
        let src = &nchw[n * len..(n + 1) * len];
        for (p, row) in out.chunks_exact_mut(channels).enumerate() {
            for (c, value) in row.iter_mut().enumerate() {
                *value = src[c * positions + p];
            }
        }
    });
}

/// Max pooling: `out` gets each window's largest value and `argmax` (one per output) the
/// index of that input inside its image, so the backward pass routes the gradient there.
/// Ties go to the first in row-major order, as in PyTorch.
pub fn max_pool_forward(g: &Geometry, x: &[f32], rows: usize, out: &mut [f32], argmax: &mut [u32]) {
    let (input, output, k) = (g.input, g.output, g.size);
    for n in 0..rows {
        let x = &x[n * input.len()..(n + 1) * input.len()];
        let base = n * output.len();
        for c in 0..output.channels {
            for oh in 0..output.height {
                for ow in 0..output.width {
                    let mut best = f32::NEG_INFINITY;
                    let mut at = 0;
                    for kh in 0..k {
                        let ih = oh * g.stride + kh;
                        for kw in 0..k {
                            let i = (c * input.height + ih) * input.width + ow * g.stride + kw;
                            if x[i] > best || kh + kw == 0 {
                                best = x[i];
                                at = i;
                            }
                        }
                    }
                    let o = base + (c * output.height + oh) * output.width + ow;
                    out[o] = best;
                    argmax[o] = at as u32;
                }
            }
        }
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

    /// The convolution by its definition, for comparison with im2col + product.
    #[test]
    fn im2col_times_kernels_is_the_convolution() {
        let g = Geometry {
            input: image(2, 5, 4),
            output: image(3, 3, 2),
            size: 3,
            stride: 2,
            padding: 1,
        };
        let rows = 2;
        let x: Vec<f32> = (0..rows * g.input.len())
            .map(|v| (v as f32 * 0.3).sin())
            .collect();
        let w: Vec<f32> = (0..3 * g.patch()).map(|v| (v as f32 * 0.7).cos()).collect();
        let mut col = vec![0.0; rows * g.positions() * g.patch()];
        im2col(&g, &x, rows, &mut col, Threads(1));
        for n in 0..rows {
            for o in 0..3 {
                for oh in 0..3 {
                    for ow in 0..2 {
                        let mut expected = 0.0;
                        for c in 0..2 {
                            for kh in 0..3 {
                                for kw in 0..3 {
                                    let ih = (oh * 2 + kh) as isize - 1;
                                    let iw = (ow * 2 + kw) as isize - 1;
                                    if ih < 0 || iw < 0 || ih >= 5 || iw >= 4 {
                                        continue;
                                    }
                                    let xi = ((n * 2 + c) * 5 + ih as usize) * 4 + iw as usize;
                                    expected += x[xi] * w[((o * 2 + c) * 3 + kh) * 3 + kw];
                                }
                            }
                        }
                        let row = n * g.positions() + oh * 2 + ow;
                        let patch = &col[row * g.patch()..(row + 1) * g.patch()];
                        let got: f32 = patch
                            .iter()
                            .zip(&w[o * g.patch()..(o + 1) * g.patch()])
                            .map(|(a, b)| a * b)
                            .sum();
                        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
                    }
                }
            }
        }
    }

    /// col2im is the adjoint of im2col: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let g = Geometry {
            input: image(2, 6, 5),
            output: image(1, 3, 3),
            size: 3,
            stride: 2,
            padding: 1,
        };
        let rows = 3;
        let x: Vec<f32> = (0..rows * g.input.len())
            .map(|v| (v as f32 * 0.13).sin())
            .collect();
        let c: Vec<f32> = (0..rows * g.positions() * g.patch())
            .map(|v| (v as f32 * 0.29).cos())
            .collect();
        for threads in [1, 2] {
            let mut col = vec![0.0; c.len()];
            im2col(&g, &x, rows, &mut col, Threads(threads));
            let mut dx = vec![1.0; x.len()];
            col2im(&g, &c, rows, &mut dx, Threads(threads));
            let left: f64 = col.iter().zip(&c).map(|(a, b)| f64::from(a * b)).sum();
            let right: f64 = x.iter().zip(&dx).map(|(a, b)| f64::from(a * b)).sum();
            assert!((left - right).abs() < 1e-3, "{left} vs {right}");
        }
    }
}
