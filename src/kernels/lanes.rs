//! One AVX register of `f32` or `f64` lanes behind a common interface, so that each SIMD kernel
//! (the skinny MTTKRP GEMMs, the TT-matvec small GEMM) is written once for both precisions.
//!
//! Every method is `#[inline(always)]` and calls AVX/FMA intrinsics: it may only be called from
//! a function compiled with `#[target_feature(enable = "avx2,fma")]` (into which it inlines),
//! on a CPU that has those features.

use std::arch::x86_64::*;

/// A SIMD register of [`Lanes::WIDTH`] elements of type [`Lanes::Elem`].
pub(crate) trait Lanes: Copy {
    /// The element type (`f32` or `f64`).
    type Elem: Copy + std::ops::Add<Output = Self::Elem> + std::ops::Mul<Output = Self::Elem>;
    /// Elements per register.
    const WIDTH: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// All lanes `x`.
    unsafe fn splat(x: Self::Elem) -> Self;
    /// `WIDTH` elements from `p` (no alignment needed).
    unsafe fn load(p: *const Self::Elem) -> Self;
    /// Writes the lanes to `p` (no alignment needed).
    unsafe fn store(self, p: *mut Self::Elem);
    /// `self · b + c`, fused.
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    /// Lane-wise sum.
    unsafe fn add(self, b: Self) -> Self;
    /// The sum of the lanes.
    unsafe fn sum(self) -> Self::Elem;
}

impl Lanes for __m256d {
    type Elem = f64;
    const WIDTH: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> Self {
        unsafe { _mm256_setzero_pd() }
    }
    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        unsafe { _mm256_set1_pd(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        unsafe { _mm256_loadu_pd(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { _mm256_storeu_pd(p, self) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        unsafe { _mm256_fmadd_pd(self, b, c) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        unsafe { _mm256_add_pd(self, b) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f64 {
        unsafe {
            let pair = _mm_add_pd(_mm256_castpd256_pd128(self), _mm256_extractf128_pd(self, 1));
            _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)))
        }
    }
}

impl Lanes for __m256 {
    type Elem = f32;
    const WIDTH: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        unsafe { _mm256_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, b: Self, c: Self) -> Self {
        unsafe { _mm256_fmadd_ps(self, b, c) }
    }
    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        unsafe { _mm256_add_ps(self, b) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        unsafe {
            let quad = _mm_add_ps(_mm256_castps256_ps128(self), _mm256_extractf128_ps(self, 1));
            let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
            _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)))
        }
    }
}

/// Asks for the cache line holding `p` ahead of its use. Never faults, so `p` may point past
/// the data (compute it with `wrapping_add`).
#[inline(always)]
pub(crate) unsafe fn prefetch<E>(p: *const E) {
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
}
