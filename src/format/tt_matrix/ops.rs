//! TT-matrix arithmetic without densifying: transpose, sum, rounding and the TT × TT product.

use super::TtMatrix;
use crate::error::{Error, Result};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

impl<T: Scalar> TtMatrix<T> {
    /// `Wᵀ`: every core `r_{k-1} × m_k × n_k × r_k` becomes `r_{k-1} × n_k × m_k × r_k`.
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[6, 4], 2)?;
    /// let (tt, _) = TtSvd::new().fit_matrix(&w, &[2, 3], &[2, 2])?;
    /// let t = tt.transpose();
    /// assert_eq!((t.nrows(), t.ncols()), (4, 6));
    /// assert!((t.get(3, 5)? - w.get(&[5, 3])?).abs() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn transpose(&self) -> Self {
        let cores = self
            .cores
            .iter()
            .map(|c| {
                let s = c.shape();
                let (r0, m, n, r1) = (s[0], s[1], s[2], s[3]);
                let src = c.as_slice();
                let mut out = Vec::with_capacity(src.len());
                for a in 0..r0 {
                    for j in 0..n {
                        for i in 0..m {
                            let off = ((a * m + i) * n + j) * r1;
                            out.extend_from_slice(&src[off..off + r1]);
                        }
                    }
                }
                Tensor::from_parts_unchecked(vec![r0, n, m, r1], out)
            })
            .collect();
        Self::from_cores_unchecked(cores)
    }

    /// `self + other` without densifying: block-diagonal cores (the ranks add), as
    /// [`crate::format::tt::add`] on the cores viewed as `r_{k-1} × (m_k n_k) × r_k`. Recompress
    /// with [`TtMatrix::round`].
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[4, 9], 3)?;
    /// let (a, _) = TtSvd::new().fit_matrix(&w, &[2, 2], &[3, 3])?;
    /// let s = a.add(&a)?;
    /// assert!(s.to_dense()?.sub(&w.scale(2.0))?.norm() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the row or column modes differ.
    pub fn add(&self, other: &Self) -> Result<Self> {
        self.check_same_modes("TtMatrix::add", other)?;
        let sum = self.to_tt_tensor().add(&other.to_tt_tensor())?;
        Self::from_tt_tensor(sum, &self.row_modes(), &self.col_modes())
    }

    /// `alpha · W`: the first core scaled.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if `alpha` is NaN or infinite.
    pub fn scale(&self, alpha: T) -> Result<Self> {
        if !alpha.is_finite() {
            return Err(Error::NonFinite {
                op: "TtMatrix::scale",
                position: 0,
                value: alpha.as_f64(),
            });
        }
        let mut cores = self.cores.clone();
        cores[0] = cores[0].scale(alpha);
        Ok(Self::from_cores_unchecked(cores))
    }

    /// TT rounding (Oseledets 2011, Alg. 2) of the cores viewed as a TT tensor with modes
    /// `m_k n_k`: right-orthogonalization, then truncated SVDs left to right, so that
    /// `‖W − Ŵ‖_F ≤ eps · ‖W‖_F` unless `max_rank` binds. The report holds the achieved error.
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[4, 9], 3)?;
    /// let (a, _) = TtSvd::new().fit_matrix(&w, &[2, 2], &[3, 3])?;
    /// let (r, report) = a.add(&a)?.round(1e-10, None)?;
    /// assert_eq!(r.ranks(), a.ranks());
    /// assert!(report.rel_error < 1e-10);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`crate::format::TtTensor::round`].
    pub fn round(&self, eps: f64, max_rank: Option<usize>) -> Result<(Self, FitReport)> {
        let (tt, report) = self.to_tt_tensor().round(eps, max_rank)?;
        Ok((Self::from_tt_tensor(tt, &self.row_modes(), &self.col_modes())?, report))
    }

    /// The product `C = A · B` of TT-matrices `A` (`M × K`, modes `m`, `k`) and `B` (`K × N`,
    /// modes `k`, `n`) without densifying: `C_k[(a, b), i, j, (a', b')] =
    /// Σ_t A_k[a, i, t, a'] · B_k[b, t, j, b']`, so the ranks multiply. Recompress with
    /// [`TtMatrix::round`].
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let (x, y) = (Tensor::<f64>::random_normal(&[4, 6], 1)?, Tensor::random_normal(&[6, 9], 2)?);
    /// let (a, _) = TtSvd::new().fit_matrix(&x, &[2, 2], &[2, 3])?;
    /// let (b, _) = TtSvd::new().fit_matrix(&y, &[2, 3], &[3, 3])?;
    /// let c = a.matmul(&b)?.to_dense()?;
    /// let xy = Tensor::from_fn(&[4, 9], |i| (0..6).map(|t| x.get(&[i[0], t]).unwrap() * y.get(&[t, i[1]]).unwrap()).sum())?;
    /// assert!(c.sub(&xy)?.norm() < 1e-12 * xy.norm());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the numbers of cores differ or the column modes of `self` are
    /// not the row modes of `other`; [`Error::SizeOverflow`] if a core gets too large.
    pub fn matmul(&self, other: &Self) -> Result<Self> {
        if self.col_modes() != other.row_modes() {
            return Err(Error::ShapeMismatch {
                op: "TtMatrix::matmul",
                left: self.col_modes(),
                right: other.row_modes(),
                detail: "the column modes of the left factor must equal the row modes of the right"
                    .into(),
            });
        }
        let mut cores = Vec::with_capacity(self.ndim());
        for (ca, cb) in self.cores.iter().zip(&other.cores) {
            let (sa, sb) = (ca.shape(), cb.shape());
            let (ra0, m, kk, ra1) = (sa[0], sa[1], sa[2], sa[3]);
            let (rb0, n, rb1) = (sb[0], sb[2], sb[3]);
            let overflow = || Error::SizeOverflow { shape: vec![ra0, rb0, m, n, ra1, rb1] };
            let r0 = ra0.checked_mul(rb0).ok_or_else(overflow)?;
            let r1 = ra1.checked_mul(rb1).ok_or_else(overflow)?;
            let mut c = Tensor::zeros(&[r0, m, n, r1])?;
            let (da, db) = (ca.as_slice(), cb.as_slice());
            let out = c.as_mut_slice();
            for a in 0..ra0 {
                for b in 0..rb0 {
                    for i in 0..m {
                        for j in 0..n {
                            let dst = (((a * rb0 + b) * m + i) * n + j) * r1;
                            for t in 0..kk {
                                let arow = &da[((a * m + i) * kk + t) * ra1..][..ra1];
                                let brow = &db[((b * kk + t) * n + j) * rb1..][..rb1];
                                for (ap, &va) in arow.iter().enumerate() {
                                    let o = &mut out[dst + ap * rb1..dst + (ap + 1) * rb1];
                                    for (x, &vb) in o.iter_mut().zip(brow) {
                                        *x += va * vb;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            cores.push(c);
        }
        Ok(Self::from_cores_unchecked(cores))
    }

    fn check_same_modes(&self, op: &'static str, other: &Self) -> Result<()> {
        if self.row_modes() == other.row_modes() && self.col_modes() == other.col_modes() {
            return Ok(());
        }
        Err(Error::ShapeMismatch {
            op,
            left: self.row_modes().into_iter().chain(self.col_modes()).collect(),
            right: other.row_modes().into_iter().chain(other.col_modes()).collect(),
            detail: "both TT-matrices need the same row modes and column modes \
                     (listed as [m_1..m_d, n_1..n_d])"
                .into(),
        })
    }
}
