//! Factorized tensor formats (CP, Tucker, tensor-train, tensor-ring) and the contract they share, [`Factorized`].

pub(crate) mod chain;
pub(crate) mod chain_balance;
pub(crate) mod chain_norm;
pub mod cp;
pub(crate) mod norm_guard;
pub(crate) mod params;
pub(crate) mod partial_tucker;
pub(crate) mod rel_error;
pub mod tr;
pub mod tt;
pub mod tt_matrix;
pub(crate) mod tucker;

pub use cp::CpTensor;
pub use partial_tucker::PartialTucker;
pub use tr::TrTensor;
pub use tt::TtTensor;
pub use tt_matrix::TtMatrix;
pub use tucker::TuckerTensor;

use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// What every factorized format offers: its shape, reconstruction, size and error.
pub trait Factorized<T: Scalar> {
    /// The shape of the full tensor this factorization represents.
    fn shape(&self) -> Vec<usize>;

    /// The full tensor, reconstructed.
    ///
    /// # Errors
    /// [`crate::Error::SizeOverflow`] if the full tensor cannot be allocated.
    fn to_dense(&self) -> Result<Tensor<T>>;

    /// The number of stored parameters (all factors, cores and weights).
    fn num_params(&self) -> usize;

    /// `numel(full) / num_params()`: how many times smaller the factorization is.
    fn compression_ratio(&self) -> f64 {
        let full: f64 = self.shape().iter().map(|&d| d as f64).product();
        full / self.num_params() as f64
    }

    /// The Frobenius norm of the represented tensor, computed without densifying where the
    /// format allows.
    fn norm(&self) -> T;

    /// `‖dense − self‖_F / ‖dense‖_F`, computed without densifying where the format allows.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] if `dense` has another shape.
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T>;
}
