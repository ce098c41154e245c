//! [`Method`]: the seven ways to compress a weight (plain and TSPC-tensorized), and the default
//! number of channel factors.

#[cfg(doc)]
use crate::tensorization::factorize::deal_round_robin;

/// The default number `L` of channel factors of the tensorized methods.
pub const DEFAULT_FACTORS: usize = 3;

/// How a weight is compressed. With `T = out`, `S = in`, `k² = kh·kw`:
///
/// Plain (on the weight itself):
/// - [`Svd`](Self::Svd): truncated SVD of the `T × (S·kh·kw)` matrix, rank `R`; stored as
///   two factors `U√Σ` and `V√Σ`: `R(T + S·k²)` parameters (the decomposition of 1×1
///   convolutions and linear layers).
/// - [`Cp`](Self::Cp): CP-ALS of the 3-way `[T, S, kh·kw]` (so that TSPC's `R(k² + S + T)`
///   holds; the format also stores `R` weights): 1×1 `S → R`, depthwise `k×k`, 1×1 `R → T`.
/// - [`Tucker2`](Self::Tucker2): partial Tucker (HOOI from HOSVD) of `[T, S, kh, kw]` on the
///   out and in modes with ranks `(R, R)`: core `R×R×kh×kw` plus the factors.
/// - [`Tt`](Self::Tt): TT-SVD of the kernel permuted to `[S, kh, kw, T]` with uniform maximal
///   rank `R`: `S·R + (kh + kw)R² + R·T` parameters.
///
/// Tensorized (TSPC, `L` channel factors dealt round-robin, [`deal_round_robin`];
/// `T = ∏ out_l`, `S = ∏ in_l`, factors 1 where a size has fewer than `L` primes):
/// - [`RCp`](Self::RCp): CP of `[k², in_1·out_1, …, in_L·out_L]`.
/// - [`RTucker`](Self::RTucker): partial Tucker over the channel modes of
///   `[kh, kw, in_1, …, in_L, out_1, …, out_L]`, uniform rank clipped to each mode.
/// - [`RTt`](Self::RTt): TT-SVD of `[in_1·out_1, …, in_L·out_L, k²]`.
///
/// For a linear layer or a 1×1 convolution (`k² = 1`) the spatial modes are dropped, and
/// the tensorized methods drop every mode of size 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Truncated SVD of the `[out, in·kh·kw]` matrix.
    Svd,
    /// CP of `[out, in, kh·kw]`.
    Cp,
    /// Tucker-2 (partial Tucker on the out and in modes) of `[out, in, kh, kw]`.
    Tucker2,
    /// TT-SVD of `[in, kh, kw, out]`.
    Tt,
    /// CP of the tensorized `[k², in_1·out_1, …, in_L·out_L]`.
    RCp {
        /// The number `L` of channel factors.
        factors: usize,
    },
    /// Partial Tucker over the channel modes of `[kh, kw, in_1, …, in_L, out_1, …, out_L]`.
    RTucker {
        /// The number `L` of channel factors.
        factors: usize,
    },
    /// TT-SVD of the tensorized `[in_1·out_1, …, in_L·out_L, k²]`.
    RTt {
        /// The number `L` of channel factors.
        factors: usize,
    },
}

impl Method {
    /// All seven methods, the tensorized ones with `factors` channel factors.
    pub fn all(factors: usize) -> [Method; 7] {
        [
            Method::Svd,
            Method::Cp,
            Method::Tucker2,
            Method::Tt,
            Method::RCp { factors },
            Method::RTucker { factors },
            Method::RTt { factors },
        ]
    }

    /// A short name: `"SVD"`, `"CP"`, `"TK"`, `"TT"`, `"r-CP"`, `"r-TK"`, `"r-TT"`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Svd => "SVD",
            Method::Cp => "CP",
            Method::Tucker2 => "TK",
            Method::Tt => "TT",
            Method::RCp { .. } => "r-CP",
            Method::RTucker { .. } => "r-TK",
            Method::RTt { .. } => "r-TT",
        }
    }

    /// Whether this is one of the tensorized (TSPC) methods.
    pub fn is_tensorized(&self) -> bool {
        matches!(self, Method::RCp { .. } | Method::RTucker { .. } | Method::RTt { .. })
    }
}
