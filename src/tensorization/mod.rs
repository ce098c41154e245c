//! Tensorizing weights into high-order tensors, and random-shuffle embedding: dimension
//! factorization, plain and tensorized (TSPC) decompositions of linear/conv weights.

pub mod factorize;

pub use factorize::{
    check_factors, deal_balanced, deal_round_robin, factorize_balanced, factorize_round_robin,
    matrix_modes, prime_factors,
};
