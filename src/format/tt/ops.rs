//! Arithmetic on tensor trains without densifying: inner product, sum, Hadamard product, scaling.

use faer::{Accum, MatMut, MatRef};

use super::{core_dims, TtTensor};
use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::kernels::gemm::gemm;
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

fn check_same_shape<T: Scalar>(
    op: &'static str,
    a: &TtTensor<T>,
    b: &TtTensor<T>,
) -> Result<Vec<usize>> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa == sb {
        Ok(sa)
    } else {
        Err(Error::ShapeMismatch {
            op,
            left: sa,
            right: sb,
            detail: "both tensor trains must represent tensors of the same shape".into(),
        })
    }
}

/// The Frobenius inner product `⟨A, B⟩ = Σ_{i_1…i_d} A[i_1…i_d] B[i_1…i_d]` of two tensor
/// trains, without densifying.
///
/// Contracts from the left: `M_0 = [1]`, `M_k = Σ_{i} A_k[:, i, :]ᵀ · M_{k-1} · B_k[:, i, :]`
/// (an `r^A_k × r^B_k` matrix), computed as two GEMMs per core, `T = M_{k-1} · B_k^{R}` and
/// `M_k = (A_k^{L})ᵀ · T`, in `O(d n r³)` operations; `⟨A, B⟩ = M_d`.
///
/// ```
/// use tensorize::format::{tt, TtTensor};
/// use tensorize::decomp::tt_svd;
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[3, 4, 2], 1)?;
/// let y = Tensor::<f64>::random_normal(&[3, 4, 2], 2)?;
/// let (a, _) = tt_svd(&x, 0.0)?;
/// let (b, _) = tt_svd(&y, 0.0)?;
/// assert!((tt::dot(&a, &b)? - x.inner(&y)?).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if the represented shapes differ.
pub fn dot<T: Scalar>(a: &TtTensor<T>, b: &TtTensor<T>) -> Result<T> {
    let flops: f64 = a
        .cores()
        .iter()
        .zip(b.cores())
        .map(|(x, y)| 2.0 * (x.numel() * y.shape()[0] + x.numel() * y.shape()[2]) as f64)
        .sum();
    dot_with(a, b, auto_par(flops))
}

/// [`dot`] with explicit parallelism `par`.
///
/// # Errors
/// [`Error::ShapeMismatch`] if the represented shapes differ.
pub fn dot_with<T: Scalar>(a: &TtTensor<T>, b: &TtTensor<T>, par: Par) -> Result<T> {
    check_same_shape("tt::dot", a, b)?;
    let mut m = vec![T::one()];
    for (ca, cb) in a.cores().iter().zip(b.cores()) {
        let [ra0, n, ra1] = core_dims(ca);
        let [rb0, _, rb1] = core_dims(cb);
        let mut t = vec![T::zero(); ra0 * n * rb1];
        gemm(
            MatMut::from_row_major_slice_mut(&mut t, ra0, n * rb1),
            MatRef::from_row_major_slice(&m, ra0, rb0),
            MatRef::from_row_major_slice(cb.as_slice(), rb0, n * rb1),
            Accum::Replace,
            par,
        );
        let mut next = vec![T::zero(); ra1 * rb1];
        gemm(
            MatMut::from_row_major_slice_mut(&mut next, ra1, rb1),
            MatRef::from_row_major_slice(ca.as_slice(), ra0 * n, ra1).transpose(),
            MatRef::from_row_major_slice(&t, ra0 * n, rb1),
            Accum::Replace,
            par,
        );
        m = next;
    }
    Ok(m[0])
}

/// The sum `A + B` of two tensor trains, without densifying: the cores are block-diagonal,
///
/// `C_1[i] = [A_1[i]  B_1[i]]`, `C_k[i] = diag(A_k[i], B_k[i])`, `C_d[i] = [A_d[i]; B_d[i]]`,
///
/// so the ranks add (`r^C_k = r^A_k + r^B_k` inside). For one core the cores are summed.
/// Recompress the result with [`TtTensor::round`].
///
/// ```
/// use tensorize::format::tt;
/// use tensorize::decomp::tt_svd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[3, 4, 2], 1)?;
/// let (a, _) = tt_svd(&x, 0.0)?;
/// let twice = tt::add(&a, &a)?;
/// assert_eq!(twice.ranks(), vec![1, 6, 4, 1]);
/// let dense = twice.to_dense()?;
/// assert!(dense.sub(&x.scale(2.0))?.norm() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if the represented shapes differ; [`Error::SizeOverflow`] if a core
/// gets too large.
pub fn add<T: Scalar>(a: &TtTensor<T>, b: &TtTensor<T>) -> Result<TtTensor<T>> {
    let shape = check_same_shape("tt::add", a, b)?;
    let d = shape.len();
    let mut cores = Vec::with_capacity(d);
    for (k, (ca, cb)) in a.cores().iter().zip(b.cores()).enumerate() {
        let [ra0, n, ra1] = core_dims(ca);
        let [rb0, _, rb1] = core_dims(cb);
        // Offsets of B's block: it shares the boundary rank-1 index at the ends.
        let o0 = if k == 0 { 0 } else { ra0 };
        let o1 = if k == d - 1 { 0 } else { ra1 };
        let (r0, r1) = (o0 + rb0, o1 + rb1);
        let mut c = Tensor::zeros(&[r0, n, r1])?;
        let data = c.as_mut_slice();
        for (src, (p0, p1), [s0, _, s1]) in
            [(ca, (0, 0), [ra0, n, ra1]), (cb, (o0, o1), [rb0, n, rb1])]
        {
            let s = src.as_slice();
            for x in 0..s0 {
                for i in 0..n {
                    let dst = ((p0 + x) * n + i) * r1 + p1;
                    let from = (x * n + i) * s1;
                    for (o, &v) in data[dst..dst + s1].iter_mut().zip(&s[from..from + s1]) {
                        *o += v;
                    }
                }
            }
        }
        cores.push(c);
    }
    Ok(TtTensor::from_cores_unchecked(cores))
}

/// The Hadamard (elementwise) product `A ∘ B` of two tensor trains, without densifying: the
/// cores are Kronecker products of the core slices, `C_k[:, i, :] = A_k[:, i, :] ⊗ B_k[:, i, :]`,
/// so the ranks multiply (`r^C_k = r^A_k · r^B_k`).
///
/// ```
/// use tensorize::format::tt;
/// use tensorize::decomp::tt_svd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[3, 4, 2], 1)?;
/// let y = Tensor::<f64>::random_normal(&[3, 4, 2], 2)?;
/// let (a, _) = tt_svd(&x, 0.0)?;
/// let (b, _) = tt_svd(&y, 0.0)?;
/// let prod = tt::hadamard(&a, &b)?.to_dense()?;
/// assert!(prod.sub(&x.hadamard(&y)?)?.norm() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if the represented shapes differ; [`Error::SizeOverflow`] if the
/// rank products overflow or a core gets too large.
pub fn hadamard<T: Scalar>(a: &TtTensor<T>, b: &TtTensor<T>) -> Result<TtTensor<T>> {
    check_same_shape("tt::hadamard", a, b)?;
    let mut cores = Vec::with_capacity(a.ndim());
    for (ca, cb) in a.cores().iter().zip(b.cores()) {
        let [ra0, n, ra1] = core_dims(ca);
        let [rb0, _, rb1] = core_dims(cb);
        let overflow = || Error::SizeOverflow { shape: vec![ra0, rb0, n, ra1, rb1] };
        let r0 = ra0.checked_mul(rb0).ok_or_else(overflow)?;
        let r1 = ra1.checked_mul(rb1).ok_or_else(overflow)?;
        let mut c = Tensor::zeros(&[r0, n, r1])?;
        let data = c.as_mut_slice();
        let (sa, sb) = (ca.as_slice(), cb.as_slice());
        for x in 0..ra0 {
            for y in 0..rb0 {
                for i in 0..n {
                    let row = ((x * rb0 + y) * n + i) * r1;
                    for xp in 0..ra1 {
                        let va = sa[(x * n + i) * ra1 + xp];
                        let bro = &sb[(y * n + i) * rb1..(y * n + i + 1) * rb1];
                        let dst = &mut data[row + xp * rb1..row + (xp + 1) * rb1];
                        for (o, &vb) in dst.iter_mut().zip(bro) {
                            *o = va * vb;
                        }
                    }
                }
            }
        }
        cores.push(c);
    }
    Ok(TtTensor::from_cores_unchecked(cores))
}

impl<T: Scalar> TtTensor<T> {
    /// `alpha · X`: the first core scaled by `alpha`, the others shared unchanged.
    ///
    /// ```
    /// use tensorize::decomp::tt_svd;
    /// use tensorize::{Factorized, Tensor};
    /// let x = Tensor::<f64>::random_normal(&[2, 3], 1)?;
    /// let (a, _) = tt_svd(&x, 0.0)?;
    /// assert!((a.scale(-3.0)?.norm() - 3.0 * x.norm()).abs() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NonFinite`] if `alpha` is NaN or infinite.
    pub fn scale(&self, alpha: T) -> Result<Self> {
        if !alpha.is_finite() {
            return Err(Error::NonFinite {
                op: "TtTensor::scale",
                position: 0,
                value: alpha.as_f64(),
            });
        }
        let mut cores = self.cores().to_vec();
        cores[0] = cores[0].scale(alpha);
        Ok(Self::from_cores_unchecked(cores))
    }

    /// `⟨self, other⟩`; see [`dot`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the represented shapes differ.
    pub fn dot(&self, other: &Self) -> Result<T> {
        dot(self, other)
    }

    /// `self + other`; see [`add`].
    ///
    /// # Errors
    /// As [`add`].
    pub fn add(&self, other: &Self) -> Result<Self> {
        add(self, other)
    }

    /// `self ∘ other`; see [`hadamard`].
    ///
    /// # Errors
    /// As [`hadamard`].
    pub fn hadamard(&self, other: &Self) -> Result<Self> {
        hadamard(self, other)
    }
}
