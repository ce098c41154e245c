//! Invariants shared by the decomposition and format targets: decoded values and parameters,
//! and a relative error recomputed independently of the library (scaled, in `f64`).

use tensorize::{Scalar, Tensor};

use super::ByteReader;

/// A value from one byte: mostly small integers in [-8, 8) by sixteenths, and, for a few
/// bytes, the values that break numerics (zero, NaN, ±Inf, huge, tiny, subnormal, signed zero).
pub fn value(b: u8) -> f64 {
    match b {
        0 => 0.0,
        1 => f64::NAN,
        2 => f64::INFINITY,
        3 => f64::NEG_INFINITY,
        4 => 1e300,
        5 => 1e-300,
        6 => 5e-324,
        7 => -0.0,
        8 => 1e30,
        9 => 1e-30,
        _ => (f64::from(b) - 128.0) / 16.0,
    }
}

/// A tensor of order 1..=4 with dimensions 1..=6, its values decoded by [`value`] and scaled
/// by a decoded power of ten (so a whole tensor can sit near overflow or underflow).
pub fn tensor<T: Scalar>(r: &mut ByteReader<'_>) -> Tensor<T> {
    let order = 1 + r.below(4);
    let shape: Vec<usize> = (0..order).map(|_| 1 + r.below(6)).collect();
    let scale = [1.0, 1.0, 1.0, 1e300, 1e-300, 1e30, 1e-30, 0.0][r.below(8)];
    let n: usize = shape.iter().product();
    let data = (0..n).map(|_| T::of(value(r.byte()) * scale)).collect();
    Tensor::from_vec(&shape, data).expect("a decoded shape of at most 6^4 elements")
}

/// A rank: 0, small, or above any dimension the decoder makes.
pub fn rank(r: &mut ByteReader<'_>) -> usize {
    match r.byte() % 10 {
        0 => 0,
        9 => 7 + r.below(100),
        b => usize::from(b),
    }
}

/// A tolerance ε: valid ones, and ε ≤ 0, NaN and ∞.
pub fn eps(r: &mut ByteReader<'_>) -> f64 {
    [0.0, -0.1, f64::NAN, f64::INFINITY, 1e-300, 1e-3, 0.1, 0.5, 1.0, 2.0][r.below(10)]
}

/// An iteration cap and a stopping tolerance: a huge cap comes only with a tolerance that lets
/// the iteration stop or that must be refused (a harness that could loop 10⁹ times would time out
/// on valid input).
pub fn iterations(r: &mut ByteReader<'_>) -> (usize, f64) {
    match r.below(6) {
        0 => (0, 1e-6),
        1 => (1, 0.0),
        2 => (5, 1e-12),
        3 => (1_000_000_000, 0.5),
        4 => (1_000_000_000, f64::NAN),
        _ => (1_000_000_000, -1.0),
    }
}

/// Whether every element is finite.
pub fn finite<T: Scalar>(x: &Tensor<T>) -> bool {
    x.as_slice().iter().all(|v| v.as_f64().is_finite())
}

/// `‖x − y‖ / ‖x‖` (or `‖x − y‖` for `x = 0`), computed in `f64` with both scaled by the largest
/// magnitude so that neither 1e300 nor 1e-300 overflows or underflows; `None` if a value is not
/// finite.
pub fn rel_error<T: Scalar>(x: &Tensor<T>, y: &Tensor<T>) -> Option<f64> {
    assert_eq!(x.shape(), y.shape(), "a reconstruction has the input's shape");
    let pairs = || x.as_slice().iter().zip(y.as_slice()).map(|(a, b)| (a.as_f64(), b.as_f64()));
    let s = pairs().fold(0.0f64, |m, (a, b)| m.max(a.abs()).max(b.abs()));
    if !s.is_finite() {
        return None;
    }
    if s == 0.0 {
        return Some(0.0);
    }
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (a, b) in pairs() {
        // Subtract after scaling: a − b of two near-max values could overflow.
        let d = a / s - b / s;
        diff += d * d;
        norm += (a / s) * (a / s);
    }
    Some(if norm > 0.0 { (diff / norm).sqrt() } else { diff.sqrt() * s })
}

/// How far a reported relative error may be from the recomputed one: the library's own
/// cancellation floor `8·sqrt(eps·sqrt(n))` (below it the cheap formula has no correct digits),
/// plus a relative part for the rounding of the reconstruction itself.
pub fn tolerance<T: Scalar>(numel: usize, recomputed: f64) -> f64 {
    let eps = T::epsilon().as_f64();
    8.0 * (eps * (numel.max(1) as f64).sqrt()).sqrt() + 1e3 * eps * (1.0 + recomputed)
}

/// How far a relative error recomputed from a dense reconstruction in `T` can be from the
/// error of the format itself when `x` is tiny: each element of the reconstruction sums products
/// that round to a multiple of the smallest subnormal, an absolute error the relative one
/// divides by `‖x‖` (negligible for a normal `‖x‖`, everything for `‖[5e-324, 0, 0]‖`).
pub fn underflow_tolerance<T: Scalar>(x: &Tensor<T>) -> f64 {
    let unit = T::min_positive_value().as_f64() * T::epsilon().as_f64();
    let s = x.as_slice().iter().fold(0.0f64, |m, v| m.max(v.as_f64().abs()));
    if s == 0.0 || !s.is_finite() {
        return 0.0;
    }
    let norm = s * x.as_slice().iter().map(|v| (v.as_f64() / s).powi(2)).sum::<f64>().sqrt();
    1e3 * unit * (x.numel() as f64).sqrt() / norm
}

/// Checks a fit of `x`: the reconstruction has `x`'s shape, is finite, and its recomputed
/// relative error matches the one reported (and the format's own `rel_error`) within
/// [`tolerance`]; returns the recomputed error. `what` names the call in a failure.
pub fn fit<T: Scalar>(what: &str, x: &Tensor<T>, dense: &Tensor<T>, reported: f64) -> f64 {
    assert_eq!(dense.shape(), x.shape(), "{what}: reconstruction shape");
    assert!(finite(dense), "{what}: a non-finite reconstruction of a finite input");
    assert!(reported.is_finite() && reported >= 0.0, "{what}: reported error {reported}");
    let Some(rec) = rel_error(x, dense) else { unreachable!("finite inputs") };
    let tol = tolerance::<T>(x.numel(), rec);
    assert!(
        (reported - rec).abs() <= tol,
        "{what}: reported rel. error {reported:e}, recomputed {rec:e} (tol {tol:e}), shape {:?}",
        x.shape()
    );
    rec
}

thread_local! {
    static STRICT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every comparison on (see [`skip_cancelling`]): how `cargo test` replays the
/// committed seeds and regressions, which must pass all of them.
pub fn strict<R>(f: impl FnOnce() -> R) -> R {
    STRICT.with(|s| s.set(true));
    let out = f();
    STRICT.with(|s| s.set(false));
    out
}

/// Whether to skip a comparison that is noise by construction (`cancelling`): the one use left is a
/// TT-matrix whose terms cancel beyond `1e-2 / sqrt(eps)` of its norm, whose error against its
/// own dense form (the products taken in another order) has no digits left. [`strict`] mode, in
/// which `cargo test` replays the seeds and regressions, compares anyway. (Inputs with a parameter
/// beyond the square root of the range were skipped too until 2026-12-06; docs/reliability.md.)
pub fn skip_cancelling(cancelling: bool) -> bool {
    cancelling && !STRICT.with(std::cell::Cell::get)
}
