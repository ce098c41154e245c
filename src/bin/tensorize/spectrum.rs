//! The singular values of a stored weight as the `[out, in·kh·kw]` matrix, read in its own
//! precision (f64 for `F64`, f32 otherwise: half precision is widened, not rounded further).

use tensorize::io::{Dtype, SafetensorsFile};
use tensorize::par::auto_par;
use tensorize::tensorization::weight_spectrum;
use tensorize::{Result, Scalar, Tensor};

/// The descending singular values of tensor `name` of `file` seen as a matrix.
pub fn of_stored(file: &SafetensorsFile, name: &str, dtype: Dtype) -> Result<Vec<f64>> {
    if dtype == Dtype::F64 {
        of_tensor(&file.read::<f64>(name)?)
    } else {
        of_tensor(&file.read::<f32>(name)?)
    }
}

/// The descending singular values of `w` seen as the `[out, rest]` matrix.
pub fn of_tensor<T: Scalar>(w: &Tensor<T>) -> Result<Vec<f64>> {
    let out = w.shape().first().copied().unwrap_or(1) as f64;
    let rest = w.numel() as f64 / out.max(1.0);
    weight_spectrum(w, auto_par(4.0 * out * rest * out.min(rest)))
}

/// What a spectrum says about compressing the matrix.
#[derive(Clone, Debug)]
pub struct Summary {
    /// `‖W‖_F² / σ_1²`: how many directions carry the weight's energy.
    pub stable_rank: f64,
    /// `(r, Σ_{i<r} σ_i² / Σ σ_i²)` at a tenth, a quarter and half of the full rank.
    pub energy: Vec<(usize, f64)>,
    /// The rank EVBMF keeps (Nakajima et al.; noise variance estimated).
    pub evbmf_rank: usize,
}

/// The summary of the spectrum `s` of an `rows × cols` matrix.
pub fn summarize(s: &[f64], rows: usize, cols: usize) -> Result<Summary> {
    let total: f64 = s.iter().map(|x| x * x).sum();
    let top = s.first().copied().unwrap_or(0.0);
    let stable_rank = if top > 0.0 { total / (top * top) } else { 0.0 };
    let k = s.len();
    let mut ranks: Vec<usize> = [10, 4, 2].iter().map(|d| (k / d).max(1)).collect();
    ranks.dedup();
    let energy = ranks
        .into_iter()
        .map(|r| {
            let kept: f64 = s[..r.min(k)].iter().map(|x| x * x).sum();
            (r, if total > 0.0 { kept / total } else { 1.0 })
        })
        .collect();
    let evbmf_rank = tensorize::rank::evbmf_from_spectrum(s, rows, cols)?.rank;
    Ok(Summary { stable_rank, energy, evbmf_rank })
}
