//! Hot paths tuned beyond the reference implementations in [`crate::tenalg`].
//! [`mttkrp`]: the matricized-tensor-times-Khatri–Rao product without forming the full Khatri–Rao product;
//! [`tt_matvec`]: batched TT-matrix × dense products; [`im2col`]: convolution patches as a matrix.

pub(crate) mod gemm;
pub mod im2col;
#[cfg(target_arch = "x86_64")]
pub(crate) mod lanes;
pub mod mttkrp;
pub(crate) mod mttkrp_partial;
pub(crate) mod skinny;
pub(crate) mod small_gemm;
pub mod tt_matvec;

pub use im2col::Window;
pub use mttkrp::{mttkrp_fast, mttkrp_fast_with};

/// Whether this CPU runs the AVX2 + FMA kernels (`skinny`, `small_gemm`): the crate is compiled
/// for baseline x86-64, so they are chosen at run time; elsewhere callers fall back to faer.
pub(crate) fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
pub use tt_matvec::{TtDirection, TtMatvecPlan, TtMatvecWorkspace, TtOp, TtTape, TtTrainingPlan};
