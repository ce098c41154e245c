//! Tensorizing weights into high-order tensors, and random-shuffle embedding: dimension
//! factorization, plain and tensorized (TSPC) decompositions of linear/conv weights, RsTD.

pub mod compress;
pub mod factorize;
pub mod low_rank;
pub mod shuffle;
pub mod shuffle_compare;
pub mod spectrum;
pub mod weights;

pub use compress::{compress, weight_from_tensorized, Compress, CompressedWeight, WeightFormat};
pub use factorize::{
    check_factors, deal_balanced, deal_round_robin, factorize_balanced, factorize_round_robin,
    matrix_modes, prime_factors,
};
pub use low_rank::LowRank;
pub use shuffle::{rstd_tr, rstd_tt, Shuffle, ShuffleKind, Shuffled};
pub use shuffle_compare::{compare_shuffled, CompareRow, RstdFormat};
pub use spectrum::{spectrum_error, spectrum_error_with, weight_spectrum};
pub use weights::{plan, plan_filled, plan_ranks, Method, Plan, WeightShape, DEFAULT_FACTORS};
