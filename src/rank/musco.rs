//! MUSCO's rank rule for a conv kernel (Gusak et al. 2019): EVBMF on the output- and
//! input-channel unfoldings, then weakened towards the full ranks.

use super::evbmf::{evbmf, weakened_rank};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// The ranks MUSCO picks for a Tucker-2 decomposition of one conv kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MuscoRanks {
    /// The rank of the output-channel mode (mode 0), weakened.
    pub out_rank: usize,
    /// The rank of the input-channel mode (mode 1), weakened.
    pub in_rank: usize,
    /// EVBMF's rank of the mode-0 unfolding (`out × in·kh·kw`).
    pub vbmf_out: usize,
    /// EVBMF's rank of the mode-1 unfolding (`in × out·kh·kw`).
    pub vbmf_in: usize,
}

/// Tucker-2 ranks `(r_out, r_in)` for a conv kernel `[out, in, kh, kw]` (or a linear weight
/// `[out, in]`) by MUSCO's rule: `r_vbmf` = [`evbmf`] rank of the mode-`n` unfolding (TensorLy
/// convention), then `r = weakened_rank(I_n, r_vbmf, factor, min_rank)` (MUSCO uses
/// `factor = 0.8`, `min_rank = 8`).
///
/// ```
/// use tensorize::rank::musco_ranks;
/// use tensorize::Tensor;
/// let k = Tensor::<f32>::random_normal(&[32, 16, 3, 3], 5)?;
/// let r = musco_ranks(&k, 0.8, 8)?;
/// assert!(r.out_rank <= 32 && r.in_rank <= 16 && r.out_rank >= 8);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidModes`] unless the kernel is 2- or 4-way; as [`evbmf`] and [`weakened_rank`].
pub fn musco_ranks<T: Scalar>(
    kernel: &Tensor<T>,
    factor: f64,
    min_rank: usize,
) -> Result<MuscoRanks> {
    let d = kernel.ndim();
    if d != 2 && d != 4 {
        return Err(Error::InvalidModes {
            op: "musco_ranks",
            modes: (0..d).collect(),
            ndim: d,
            detail: "expected a conv kernel [out, in, kh, kw] or a linear weight [out, in]"
                .to_string(),
        });
    }
    // Validate the factor before the SVDs.
    weakened_rank(1, 0, factor, min_rank)?;
    let mut ranks = [0usize; 2];
    let mut vbmf = [0usize; 2];
    for mode in 0..2 {
        let unfolding = tenalg::unfold(kernel, mode)?;
        let e = evbmf(unfolding.as_mat()?)?;
        vbmf[mode] = e.rank;
        ranks[mode] = weakened_rank(kernel.shape()[mode], e.rank, factor, min_rank)?;
    }
    Ok(MuscoRanks { out_rank: ranks[0], in_rank: ranks[1], vbmf_out: vbmf[0], vbmf_in: vbmf[1] })
}
