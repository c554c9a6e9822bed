//! Matrix products for the dense layers, on the `gemm` crate's cache-blocked SIMD kernels.
//!
//! Every matrix is row-major; a transposed operand is described by swapping its strides, so
//! no product ever copies or allocates on our side.

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
            threads.parallelism(),
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
