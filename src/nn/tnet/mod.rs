//! T-Net (Kossaifi et al. 2019): convolutions whose kernels are slices of one shared Tucker
//! tensor ([`TuckerConvBlock`]); `shared`: the Tucker-form parameters and their gradients.

mod block;
mod shared;

pub use block::TuckerConvBlock;
