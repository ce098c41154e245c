//! Tensorizing weights into high-order tensors, and random-shuffle embedding: dimension
//! factorization, plain and tensorized (TSPC) decompositions of linear/conv weights.

pub mod shuffle;
pub mod shuffle_compare;

pub use shuffle::{rstd_tr, rstd_tt, Shuffle, ShuffleKind, Shuffled};
pub use shuffle_compare::{compare_shuffled, CompareBudget, CompareRow, RstdFormat};
