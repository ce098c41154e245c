//! One weight compressed: the rank its target asks for, the factors, and what they cost and
//! lose (parameters, FLOPs, relative Frobenius and spectral errors).

use faer::MatRef;
use tensorize::decomp::TtSvd;
use tensorize::format::{TtMatrix, TtTensor};
use tensorize::linalg::{svd_truncated, GramSvd, TruncatedSvd, Truncation};
use tensorize::nn::{Conv2d, Layer, Linear, Tensorized, TtLinear};
use tensorize::par::auto_par;
use tensorize::rank::{evbmf_from_spectrum, svd_rank_for_error};
use tensorize::tensorization::{
    deal_balanced, plan, plan_ranks, Compress, CompressedWeight, Method, WeightShape,
};
use tensorize::{Budget, Result, Scalar, Tensor};

use super::method::CliMethod;
use crate::spectrum;

/// What one layer is asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// This rank (SVD rank, or the uniform rank of the method).
    Rank(usize),
    /// At most this many parameters, or this fraction / factor of the layer's.
    Budget(Budget),
    /// The smallest size with a relative Frobenius error of at most ε.
    Eps(f64),
    /// The rank EVBMF finds in the `[out, rest]` spectrum.
    Vbmf,
}

/// The factors of a compressed weight.
pub enum Decomposed<T> {
    /// `W ≈ L·Rᵀ`: `left` is `[out, r]` (`U√Σ`), `right` is `[in·kh·kw, r]` (`V√Σ`).
    Svd {
        /// `U√Σ`.
        left: Tensor<T>,
        /// `V√Σ`.
        right: Tensor<T>,
    },
    /// Tucker-2, CP, TT and the tensorized methods (the format of the reshaped weight).
    Weight(Box<CompressedWeight<T>>),
    /// A TT-matrix of a 2-D weight.
    TtMatrix(TtMatrix<T>),
}

/// A compressed weight and its numbers.
pub struct Fitted<T> {
    /// The factors.
    pub decomposed: Decomposed<T>,
    /// The ranks, in the method's convention.
    pub ranks: Vec<usize>,
    /// Parameters of the factors.
    pub params: usize,
    /// FLOPs of applying the factors to one input (a linear layer) or at one output position
    /// (a convolution), counting a multiply–add as two.
    pub flops: f64,
    /// `‖W − Ŵ‖_F / ‖W‖_F`.
    pub rel_error: f64,
    /// `‖W − Ŵ‖₂ / ‖W‖₂` of the `[out, rest]` matrices.
    pub spectral_error: f64,
}

/// A layer's result: compressed, or kept dense with the reason.
pub enum LayerFit<T> {
    /// Compressed.
    Fitted(Box<Fitted<T>>),
    /// Kept dense: no size within the target is smaller than the weight.
    Kept(String),
}

/// Dense FLOPs of the weight (per input / per output position): `2 · params`.
pub fn dense_flops(params: usize) -> f64 {
    2.0 * params as f64
}

/// Compresses `w` with `method` (`factors` channel factors for the tensorized methods and
/// TT-matrix modes) to `target`.
pub fn fit<T: Scalar>(
    w: &Tensor<T>,
    method: CliMethod,
    factors: usize,
    target: Target,
) -> Result<LayerFit<T>> {
    let dense = w.numel();
    let fit = match method.method(factors) {
        Some(Method::Svd) => svd(w, target)?,
        Some(m) => weight(w, m, target)?,
        None => tt_matrix(w, factors, target)?,
    };
    Ok(match fit {
        LayerFit::Fitted(f) if f.params >= dense => {
            LayerFit::Kept(format!("would not shrink ({} parameters for {dense})", f.params))
        }
        other => other,
    })
}

/// The rows and the rest of `w` as a matrix.
fn dims<T: Scalar>(w: &Tensor<T>) -> (usize, usize) {
    let m = w.shape().first().copied().unwrap_or(1).max(1);
    (m, w.numel() / m)
}

/// The EVBMF rank of `w`'s `[out, rest]` spectrum.
fn vbmf_rank<T: Scalar>(w: &Tensor<T>) -> Result<usize> {
    let (m, n) = dims(w);
    let s = spectrum::of_tensor(w)?;
    Ok(evbmf_from_spectrum(&s, m, n)?.rank.max(1))
}

/// The budget that an SVD of rank `r` would take, as a fraction of the weight: how the other
/// methods follow EVBMF's rank.
fn vbmf_budget<T: Scalar>(w: &Tensor<T>) -> Result<Budget> {
    let (m, n) = dims(w);
    let r = vbmf_rank(w)?;
    Ok(Budget::KeepFraction((r as f64 * (m + n) as f64 / (m * n) as f64).min(1.0)))
}

/// A side at least this many times the other: an `f32` weight is decomposed through its Gram
/// matrix in `f64` ([`GramSvd`]), which keeps the truncation optimal where faer's `f32` SVD did
/// not (GPT-2's 50257 × 768 embedding at rank 189: 1.1e-4 worse than LAPACK's, relative).
const GRAM_ASPECT: usize = 8;

/// How [`svd`] decomposed a weight: faer's SVD (every triplet), or the Gram route (triplets
/// taken once the rank is known).
enum Route<T> {
    Direct(TruncatedSvd<T>),
    Gram(GramSvd),
}

/// One SVD of the `[out, rest]` matrix; the rank from the target, the errors from the
/// spectrum (exact by Eckart–Young: no reconstruction).
fn svd<T: Scalar>(w: &Tensor<T>, target: Target) -> Result<LayerFit<T>> {
    let (m, n) = dims(w);
    let a = MatRef::from_row_major_slice(w.as_slice(), m, n);
    let par = auto_par(4.0 * m as f64 * n as f64 * m.min(n) as f64);
    let in_f32 = T::epsilon().as_f64() > 1e-10;
    let (s, full) = if in_f32 && m.max(n) >= GRAM_ASPECT * m.min(n) {
        let gram = GramSvd::new(a, par)?;
        (gram.spectrum().to_vec(), Route::Gram(gram))
    } else {
        let full = svd_truncated(a, &Truncation::full(), par)?;
        (full.full_spectrum.iter().map(|x| x.as_f64()).collect(), Route::Direct(full))
    };
    let k = s.len();
    let r = match target {
        Target::Rank(r) => r.clamp(1, k),
        Target::Vbmf => evbmf_from_spectrum(&s, m, n)?.rank.clamp(1, k),
        Target::Eps(eps) => svd_rank_for_error(&s, eps)?.clamp(1, k),
        Target::Budget(b) => match plan(&WeightShape::of(w)?, Method::Svd, b) {
            Ok(p) => p.ranks[0].clamp(1, k),
            Err(_) => return Ok(LayerFit::Kept("no rank fits the budget".into())),
        },
    };
    let full = match full {
        Route::Direct(svd) => svd,
        Route::Gram(gram) => gram.truncate(a, r, par)?,
    };
    let root: Vec<T> = full.s[..r].iter().map(|x| x.sqrt()).collect();
    let left = Tensor::from_fn(&[m, r], |i| full.u[(i[0], i[1])] * root[i[1]])?;
    let right = Tensor::from_fn(&[n, r], |i| full.v[(i[0], i[1])] * root[i[1]])?;
    let total: f64 = s.iter().map(|x| x * x).sum();
    let tail: f64 = s[r..].iter().map(|x| x * x).sum();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let params = r * (m + n);
    Ok(LayerFit::Fitted(Box::new(Fitted {
        decomposed: Decomposed::Svd { left, right },
        ranks: vec![r],
        params,
        flops: 2.0 * params as f64,
        rel_error: ratio(tail.sqrt(), total.sqrt()),
        spectral_error: ratio(s.get(r).copied().unwrap_or(0.0), s.first().copied().unwrap_or(0.0)),
    })))
}

/// `‖W − Ŵ‖₂ / ‖W‖₂` from the two spectra's largest values.
fn spectral_error<T: Scalar>(w: &Tensor<T>, w_hat: &Tensor<T>) -> Result<f64> {
    let diff = w_hat.sub(w)?;
    let top = |x: &Tensor<T>| -> Result<f64> {
        Ok(spectrum::of_tensor(x)?.first().copied().unwrap_or(0.0))
    };
    let norm = top(w)?;
    Ok(if norm > 0.0 { top(&diff)? / norm } else { 0.0 })
}

/// The largest uniform rank whose plan stays below the dense size (binary search over shapes
/// only: no data is touched).
fn break_even_rank(shape: &WeightShape, method: Method, dense: usize) -> usize {
    let fits = |r: usize| plan_ranks(shape, method, &[r]).is_ok_and(|p| p.params < dense);
    let (mut lo, mut hi) = (0usize, dense);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Tucker-2, CP, TT, r-CP, r-TK, r-TT through [`Compress`].
fn weight<T: Scalar>(w: &Tensor<T>, method: Method, target: Target) -> Result<LayerFit<T>> {
    let shape = WeightShape::of(w)?;
    // A tensorized method's uniform rank is coarse (one more r-TK rank multiplies the core by
    // 2^{2L}): on CREPE at --ratio 4, r-TK kept 1/22 of a conv and r-TT 1/7.5. The budget
    // left over is spent mode by mode.
    let within = |b: Budget| Compress::new(method).budget(b).fill_budget(method.is_tensorized());
    let compressed = match target {
        Target::Rank(r) => Compress::new(method).ranks(&[r]).fit(w)?,
        Target::Budget(b) => match within(b).plan(&shape) {
            Ok(_) => within(b).fit(w)?,
            Err(_) => return Ok(LayerFit::Kept("no rank fits the budget".into())),
        },
        Target::Vbmf => match within(vbmf_budget(w)?).plan(&shape) {
            Ok(_) => within(vbmf_budget(w)?).fit(w)?,
            Err(_) => {
                return Ok(LayerFit::Kept("EVBMF's rank is below the method's rank 1".into()))
            }
        },
        Target::Eps(eps) => {
            // The smallest uniform rank within ε, by bisection (errors fall as ranks grow).
            let top = break_even_rank(&shape, method, w.numel());
            if top == 0 {
                return Ok(LayerFit::Kept("even rank 1 would not shrink it".into()));
            }
            let best = Compress::new(method).ranks(&[top]).fit(w)?;
            if best.rel_error() > eps {
                return Ok(LayerFit::Kept(format!(
                    "error {:.3e} > ε even at the break-even rank {top}",
                    best.rel_error()
                )));
            }
            let (mut lo, mut hi, mut best) = (1, top, best);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let c = Compress::new(method).ranks(&[mid]).fit(w)?;
                if c.rel_error() <= eps {
                    hi = mid;
                    best = c;
                } else {
                    lo = mid + 1;
                }
            }
            best
        }
    };
    let w_hat = compressed.reconstruct()?;
    let flops = if method.is_tensorized() {
        tensorized_flops(w, &compressed)?
    } else {
        2.0 * compressed.num_params() as f64
    };
    Ok(LayerFit::Fitted(Box::new(Fitted {
        ranks: compressed.plan().ranks.clone(),
        params: compressed.num_params(),
        flops,
        rel_error: compressed.rel_error(),
        spectral_error: spectral_error(w, &w_hat)?,
        decomposed: Decomposed::Weight(Box::new(compressed)),
    })))
}

/// FLOPs of the TSPC layer at one input (linear) or one output position (a convolution over
/// exactly one window).
fn tensorized_flops<T: Scalar>(w: &Tensor<T>, c: &CompressedWeight<T>) -> Result<f64> {
    let s = w.shape();
    if s.len() == 2 {
        let dense = Linear::new(w.clone(), None)?;
        Tensorized::from_linear_weight(&dense, c)?.flops(&[1, s[1]])
    } else {
        let dense = Conv2d::new(w.clone(), None)?;
        Tensorized::from_conv_weight(&dense, c)?.flops(&[1, s[1], s[2], s[3]])
    }
}

/// TT-matrix of a 2-D weight, rows and columns each dealt into `d` balanced modes.
fn tt_matrix<T: Scalar>(w: &Tensor<T>, d: usize, target: Target) -> Result<LayerFit<T>> {
    let (m, n) = dims(w);
    let rows = deal_balanced(m, d)?;
    let cols = deal_balanced(n, d)?;
    let shape: Vec<usize> = rows.iter().zip(&cols).map(|(a, b)| a * b).collect();
    let params_at = |cap: usize| -> Option<usize> {
        let ranks = TtTensor::<f64>::svd_ranks_for(&shape, &vec![cap; d.saturating_sub(1)]).ok()?;
        let mut bonds = vec![1];
        bonds.extend(ranks);
        bonds.push(1);
        Some((0..d).map(|k| bonds[k] * shape[k] * bonds[k + 1]).sum())
    };
    let limit = |b: Budget| b.max_params(m * n);
    let svd = match target {
        Target::Eps(eps) => TtSvd::new().eps(eps),
        Target::Rank(r) => TtSvd::new().max_rank(r),
        Target::Budget(_) | Target::Vbmf => {
            let budget = match target {
                Target::Budget(b) => b,
                _ => vbmf_budget(w)?,
            };
            let max = limit(budget)?;
            // The largest uniform cap within the budget (params grow with the cap).
            let (mut lo, mut hi) = (0usize, m.max(n));
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if params_at(mid).is_some_and(|p| p <= max) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            if lo == 0 {
                return Ok(LayerFit::Kept("no rank fits the budget".into()));
            }
            TtSvd::new().max_rank(lo)
        }
    };
    let (tt, report) = svd.fit_matrix(w, &rows, &cols)?;
    let w_hat = tt.to_dense()?;
    let ranks = tt.ranks();
    let params = tt.num_params();
    let flops = TtLinear::new(tt.clone(), vec![T::zero(); m])?.flops(&[1, n])?;
    Ok(LayerFit::Fitted(Box::new(Fitted {
        ranks: ranks[1..ranks.len() - 1].to_vec(),
        params,
        flops,
        rel_error: report.rel_error,
        spectral_error: spectral_error(w, &w_hat)?,
        decomposed: Decomposed::TtMatrix(tt),
    })))
}
