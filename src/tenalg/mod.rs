//! Tensor algebra: unfoldings, mode products (TTM/TTV), Khatri–Rao/Kronecker/outer products,
//! MTTKRP and contraction — one file per job, every function re-exported here.

mod check;
mod contract;
mod mode_product;
mod mttkrp;
mod products;
mod unfold;

pub use contract::contract;
pub use mode_product::{
    mode_product, mode_product_into, mode_product_with, mode_vector_product, multi_mode_product,
    multi_mode_product_with,
};
pub use mttkrp::mttkrp;
pub use products::{khatri_rao, kronecker, outer};
pub use unfold::{fold, fold_into, unfold, unfold_into};

#[cfg(test)]
pub(crate) mod testutil;
