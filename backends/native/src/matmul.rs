//! Matrix products for the dense layers, on the `gemm` crate's cache-blocked SIMD kernels.
//!
//! Every matrix is row-major; a transposed operand is described by swapping its strides, so
//! no product ever copies or allocates on our side.
//!
//! On more than one thread a product large enough to pay for it is split by rows of the
//! destination, one band per thread, each band a one-thread `gemm` call: for a layer's shapes
//! (a batch of 128 rows, widths of a few hundred) `gemm`'s own rayon splitting gained little
//! (2 threads 1.22× faster than 1 on a quiet machine). Every element of the destination is
//! still the same dot product over the same `k` blocks, so the numbers do not depend on the
//! thread count.

use gemm::Parallelism;

/// A read-only view of an `rows × cols` matrix inside a slice.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a> MatRef<'a> {
    /// The row-major `rows × cols` matrix at the start of `data`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> MatRef<'a> {
        assert!(data.len() >= rows * cols, "matrix view out of bounds");
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    /// Rows `start..start + rows` of this view, as a view of the same memory.
    pub fn row_band(self, start: usize, rows: usize) -> MatRef<'a> {
        assert!(start + rows <= self.rows, "row band out of bounds");
        MatRef {
            data: &self.data[offset(start, self.row_stride)..],
            rows,
            ..self
        }
    }

    /// The transpose, as a view of the same memory.
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// How many threads the products use.
#[derive(Debug, Clone, Copy)]
pub struct Threads(pub usize);

impl Threads {
    fn parallelism(self) -> Parallelism {
        if self.0 > 1 {
            Parallelism::Rayon(self.0)
        } else {
            Parallelism::None
        }
    }

    /// The thread count.
    pub fn count(self) -> usize {
        self.0.max(1)
    }
}

/// Products below this many multiply-adds run on one thread: splitting costs more than it
/// saves.
const PARALLEL_MIN_MACS: usize = 1 << 17;

/// Row bands start on a multiple of the `gemm` micro-kernel's row tile (16 f32 rows on AVX2).
const BAND_ALIGN: usize = 16;

/// Where row `row` of a view with `row_stride` starts in its slice (strides are never
/// negative here).
fn offset(row: usize, row_stride: isize) -> usize {
    row * row_stride.unsigned_abs()
}

/// Rows per band when `rows` rows, each costing `work_per_row` multiply-adds, are shared
/// by `threads`: all of them (one band) when the work is too small to pay for splitting,
/// else whole micro-kernel row tiles, so that each band is tiled as the whole would be.
pub fn band_rows(rows: usize, work_per_row: usize, threads: Threads) -> usize {
    let bands = threads.0.min(rows.div_ceil(BAND_ALIGN)).max(1);
    if bands == 1 || rows * work_per_row < PARALLEL_MIN_MACS {
        return rows.max(1);
    }
    rows.div_ceil(bands).div_ceil(BAND_ALIGN) * BAND_ALIGN
}

/// `dst = a · b` (or `dst += a · b` when `accumulate`), with `dst` row-major `a.rows × b.cols`.
pub fn matmul(dst: &mut [f32], a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, threads: Threads) {
    assert_eq!(a.cols, b.rows, "inner dimensions differ");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert!(dst.len() >= m * n, "destination too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let band_rows = band_rows(m, n * k, threads);
    if band_rows < m {
        rayon::scope(|scope| {
            for (index, band) in dst[..m * n].chunks_mut(band_rows * n).enumerate() {
                let a_band = a.row_band(index * band_rows, band.len() / n);
                scope.spawn(move |_| matmul(band, a_band, b, accumulate, Threads(1)));
            }
        });
        return;
    }
    // Small products on one thread: gemm's splitting costs more than it saves there.
    let parallelism = if m * n * k >= PARALLEL_MIN_MACS {
        threads.parallelism()
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above guarantee that every index gemm touches, (i, j) of dst with
    // i < m, j < n and (i, l), (l, j) of the operands with l < k, lies inside its slice; the
    // destination does not alias the operands since it is borrowed mutably.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride,
            a.row_stride,
            b.data.as_ptr(),
            b.col_stride,
            b.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn row_bands_on_threads_give_the_same_numbers_as_one_thread() {
        let (m, k, n) = (200, 300, 70);
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|v| (v as f32 * 0.11).cos()).collect();
        let product = |threads: usize, transposed: bool| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut out = vec![0.0; m * n];
            pool.install(|| {
                let a = if transposed {
                    MatRef::new(&a, k, m).t()
                } else {
                    MatRef::new(&a, m, k)
                };
                matmul(&mut out, a, MatRef::new(&b, k, n), false, Threads(threads));
            });
            out
        };
        for transposed in [false, true] {
            let one = product(1, transposed);
            assert_eq!(one, product(2, transposed));
            assert_eq!(one, product(3, transposed));
        }
    }

    #[test]
    fn products_and_transposes_match_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|v| (v as f32 * 0.11).cos()).collect();
        let expected = naive(&a, &b, m, k, n);
        for threads in [1, 2] {
            let mut out = vec![0.0; m * n];
            matmul(
                &mut out,
                MatRef::new(&a, m, k),
                MatRef::new(&b, k, n),
                false,
                Threads(threads),
            );
            for (x, y) in out.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-5);
            }
        }
        // (aᵀ)ᵀ · b through a transposed view of aᵀ stored row-major.
        let mut a_t = vec![0.0; k * m];
        for i in 0..m {
            for l in 0..k {
                a_t[l * m + i] = a[i * k + l];
            }
        }
        let mut out = vec![1.0; m * n];
        matmul(
            &mut out,
            MatRef::new(&a_t, k, m).t(),
            MatRef::new(&b, k, n),
            true,
            Threads(1),
        );
        for (x, y) in out.iter().zip(&expected) {
            assert!((x - (y + 1.0)).abs() < 1e-5);
        }
    }
}
