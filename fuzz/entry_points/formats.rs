//! TT, TR, TT-matrix, CP and Tucker built from decoded (often inconsistent) parts, then
//! densified, measured, compared and rounded: a constructor refuses what does not fit, and
//! whatever it accepts evaluates to finite values that agree with its dense form.

use faer::Mat;
use tensorize::format::{CpTensor, TrTensor, TtMatrix, TtTensor, TuckerTensor};
use tensorize::{Factorized, Scalar, Tensor};

use super::check::{self, eps, value};
use super::ByteReader;

/// A decoded parameter in precision `T`.
fn decoded<T: Scalar>(b: u8) -> T {
    T::of(value(b))
}

/// Decodes the precision, then one format and its parts.
pub fn formats(data: &[u8]) {
    let mut r = ByteReader::new(data);
    if r.byte() % 2 == 0 {
        one::<f64>(&mut r);
    } else {
        one::<f32>(&mut r);
    }
}

/// A small size, sometimes 0 (which every constructor must refuse or handle).
fn size(r: &mut ByteReader<'_>) -> usize {
    match r.byte() % 16 {
        0 => 0,
        b => 1 + usize::from(b) % 4,
    }
}

fn tensor<T: Scalar>(r: &mut ByteReader<'_>, shape: &[usize]) -> Tensor<T> {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| decoded::<T>(r.byte())).collect())
        .expect("a small decoded shape")
}

fn mat<T: Scalar>(r: &mut ByteReader<'_>, rows: usize, cols: usize) -> Mat<T> {
    let mut vals = Vec::with_capacity(rows * cols);
    vals.extend((0..rows * cols).map(|_| decoded::<T>(r.byte())));
    Mat::from_fn(rows, cols, |i, j| vals[i * cols + j])
}

/// A chain of 1..=4 cores of order `order`: bond sizes decoded, usually consistent; with one
/// decoded flag, one core gets an arbitrary first bond; `ring` lets the ends differ from 1.
fn chain<T: Scalar>(r: &mut ByteReader<'_>, order: usize, ring: bool) -> Vec<Tensor<T>> {
    let d = 1 + r.below(4);
    let edge = if ring { size(r) } else { 1 };
    let mut bonds: Vec<usize> =
        (0..=d).map(|k| if k == 0 || k == d { edge } else { size(r) }).collect();
    if r.byte() % 8 == 0 {
        let k = r.below(d + 1);
        bonds[k] = size(r);
    }
    (0..d)
        .map(|k| {
            let mut shape = vec![bonds[k]];
            shape.extend((0..order - 2).map(|_| size(r)));
            shape.push(bonds[k + 1]);
            tensor(r, &shape)
        })
        .collect()
}

fn one<T: Scalar>(r: &mut ByteReader<'_>) {
    match r.below(5) {
        0 => {
            if let Ok(tt) = TtTensor::new(chain::<T>(r, 3, false)) {
                let abs_tt = TtTensor::new(absolute(tt.cores())).ok();
                let abs = abs_tt.as_ref().map(TtTensor::norm);
                let spread = spread::<T>(abs, &tt.ranks());
                let dense = evaluate("TtTensor", &tt, spread);
                let index: Vec<usize> = dense.shape().iter().map(|&n| r.below(n)).collect();
                let magnitude = abs_tt.and_then(|a| a.get(&index).ok());
                let got = tt.get(&index).ok();
                element("TtTensor::get", &dense, &index, got, magnitude, &tt.ranks());
                let e = eps(r);
                let cap = [None, Some(0), Some(1), Some(3)][r.below(4)];
                // Cores whose terms cancel beyond 1/sqrt(eps) are refused (IllConditioned).
                if let Ok((rounded, rep)) = tt.round(e, cap) {
                    if !dense.norm().as_f64().is_normal() {
                        return; // a subnormal tensor has no relative accuracy left to check
                    }
                    let rd = rounded.to_dense().expect("rounded TT densifies");
                    let rec = check::fit("TtTensor::round", &dense, &rd, rep.rel_error);
                    let tol = check::tolerance::<T>(dense.numel(), rec);
                    assert!(rec <= e + tol || cap.is_some(), "TT rounding: {rec} > ε = {e}");
                }
            }
        }
        1 => {
            if let Ok(tr) = TrTensor::new(chain::<T>(r, 3, true)) {
                let abs = TrTensor::new(absolute(tr.cores())).ok();
                let spread = spread::<T>(abs.as_ref().map(TrTensor::norm), &tr.ranks());
                let dense = evaluate("TrTensor", &tr, spread);
                let index: Vec<usize> = dense.shape().iter().map(|&n| r.below(n)).collect();
                let magnitude = abs.and_then(|a| a.get(&index).ok());
                let got = tr.get(&index).ok();
                element("TrTensor::get", &dense, &index, got, magnitude, &tr.ranks());
            }
        }
        2 => {
            let Ok(m) = TtMatrix::new(chain::<T>(r, 4, false)) else { return };
            let dense = m.to_dense().expect("a small TT-matrix densifies");
            assert_eq!(dense.shape(), &[m.nrows(), m.ncols()]);
            if !check::finite(&dense) {
                return; // products of huge cores; the dense check refuses these elsewhere
            }
            let abs_m = TtMatrix::new(absolute(m.cores())).ok();
            let abs = abs_m.as_ref().map(|a| a.to_tt_tensor().norm());
            let cancels = cancelling::<T>(abs, dense.norm().as_f64());
            let normal = dense.norm().as_f64().is_normal();
            if normal && !check::skip_cancelling(cancels) {
                let own = m.rel_error(&dense).expect("same shape").as_f64();
                let tol = check::tolerance::<T>(dense.numel(), 0.0);
                assert!(own <= tol, "TtMatrix self error {own}");
            }
            let (i, j) = (r.below(m.nrows()), r.below(m.ncols()));
            let magnitude = abs_m.and_then(|a| a.get(i, j).ok());
            let got = m.get(i, j).ok();
            element("TtMatrix::get", &dense, &[i, j], got, magnitude, &m.ranks());
            if let (Ok((rounded, rep)), true) = (m.round(eps(r), None), normal) {
                let rd = rounded.to_dense().expect("rounded TT-matrix densifies");
                check::fit("TtMatrix::round", &dense, &rd, rep.rel_error);
            }
            let t = m.transpose().to_dense().expect("transpose densifies");
            assert_eq!(t.shape(), &[m.ncols(), m.nrows()]);
        }
        3 => {
            let (d, rank) = (1 + r.below(4), size(r));
            let weights: Vec<T> = (0..rank).map(|_| decoded::<T>(r.byte())).collect();
            let factors: Vec<Mat<T>> = (0..d)
                .map(|_| {
                    let (rows, cols) = (size(r), if r.byte() % 8 == 0 { size(r) } else { rank });
                    mat(r, rows, cols)
                })
                .collect();
            if let Ok(cp) = CpTensor::new(weights, factors) {
                let weights = cp.weights().iter().map(|w| w.as_f64().abs()).collect();
                let abs = CpTensor::new(weights, cp.factors().iter().map(absolute_mat).collect());
                let abs = abs.ok();
                evaluate("CpTensor", &cp, spread::<T>(abs.map(|a| a.norm()), &[cp.rank()]));
            }
        }
        _ => {
            let d = 1 + r.below(4);
            let core_shape: Vec<usize> = (0..d).map(|_| size(r)).collect();
            let core = tensor::<T>(r, &core_shape);
            let factors: Vec<Mat<T>> = (0..d)
                .map(|k| {
                    let cols = if r.byte() % 8 == 0 { size(r) } else { core_shape[k] };
                    let rows = size(r);
                    mat(r, rows, cols)
                })
                .collect();
            if let Ok(t) = TuckerTensor::new(core, factors) {
                let core = absolute(std::slice::from_ref(t.core())).remove(0);
                let abs = TuckerTensor::new(core, t.factors().iter().map(absolute_mat).collect());
                let abs = abs.ok();
                evaluate(
                    "TuckerTensor",
                    &t,
                    spread::<T>(abs.map(|a| a.norm()), &[t.core().numel()]),
                );
            }
        }
    }
}

/// Whether a TT-matrix's terms cancel so far (`magnitude`, its norm on absolute values, over
/// `norm` beyond `1e-2 / sqrt(eps)`) that its own error against its dense form (computed along
/// another order of the products) is noise; the fuzzer skips that comparison on them
/// (`check::skip_cancelling`). Rounding needs no such skip: it refuses such trains itself.
fn cancelling<T: Scalar>(magnitude: Option<f64>, norm: f64) -> bool {
    let limit = 1e-2 / T::epsilon().as_f64().sqrt();
    // NaN (an overflowed magnitude) counts as cancelling.
    magnitude.is_some_and(|m| m.partial_cmp(&(limit * norm)) != Some(std::cmp::Ordering::Less))
}

/// How far a dense form computed in `T` can be from the tensor itself: `eps` times the work
/// (`ranks` multiplied) times `magnitude`, the norm of the same format on absolute values in f64
/// (the size of terms that cancel); ∞ when that could not be formed.
fn spread<T: Scalar>(magnitude: Option<f64>, ranks: &[usize]) -> f64 {
    let work = ranks.iter().map(|&k| k.max(1)).product::<usize>() as f64;
    magnitude.map_or(f64::INFINITY, |m| 1e2 * T::epsilon().as_f64() * work * m)
}

/// Densifies an accepted format and checks its norm and its error against its own dense form;
/// returns the dense tensor. `spread` bounds the dense form's own rounding ([`spread`]): terms
/// that cancel in `T` leave it off by more than its size (f32 cores of sixteenths whose products
/// cancel to a tensor of norm 1e-20). A reconstruction that overflows must be an error or be
/// reported as non-finite by nothing else: the norm and `rel_error` of it are then not compared.
fn evaluate<T: Scalar>(what: &str, f: &dyn Factorized<T>, spread: f64) -> Tensor<T> {
    let dense = f.to_dense().expect("a small accepted format densifies");
    assert_eq!(dense.shape(), &f.shape()[..], "{what}: shape");
    if !check::finite(&dense) {
        return dense;
    }
    let (norm, want) = (f.norm().as_f64(), dense.norm().as_f64());
    assert!(
        (norm - want).abs() <= norm_tolerance::<T>() * want.max(f64::MIN_POSITIVE) + spread
            || !want.is_normal(),
        "{what}: norm {norm:e}, dense norm {want:e}"
    );
    if want.is_normal() {
        let own = f.rel_error(&dense).expect("same shape").as_f64();
        let tol = check::tolerance::<T>(dense.numel(), 0.0) + spread / want;
        assert!(own <= tol, "{what}: self error {own:e}");
    }
    dense
}

/// The relative accuracy a format's `norm()` owes: `1e-2·sqrt(eps)`, the guarantee of
/// `format::norm_guard`, plus `1e3·eps` for the dense reference. (Multiples of 1/16 do not make
/// the sums exact: a chain of four TR cores carries more than 53 bits; CI's fuzz run found a TR
/// norm 2.3e-13 from its dense norm.)
fn norm_tolerance<T: Scalar>() -> f64 {
    let eps = T::epsilon().as_f64();
    1e3 * eps + 1e-2 * eps.sqrt()
}

/// An element read from the format agrees with the dense one, to the rounding of its chain of
/// `ranks` products: `eps` times the work times `magnitude`, the same element of the chain of
/// absolute values computed in f64 (the size of the terms that cancel; f64 cores of 1e30 give
/// elements of 1e3 with terms of 1e60), or, without it, the largest element.
fn element<T: Scalar>(
    what: &str,
    dense: &Tensor<T>,
    index: &[usize],
    got: Option<T>,
    magnitude: Option<f64>,
    ranks: &[usize],
) {
    let got = got.expect("an index inside the shape").as_f64();
    let want = dense.get(index).expect("an index inside the shape").as_f64();
    if !want.is_finite() {
        return;
    }
    let scale = dense.as_slice().iter().fold(0.0f64, |a, v| a.max(v.as_f64().abs()));
    let terms = magnitude.unwrap_or(f64::INFINITY);
    let work = ranks.iter().map(|&k| k.max(1)).product::<usize>() as f64;
    let tol = 1e2 * T::epsilon().as_f64() * (scale + terms) * work + f64::MIN_POSITIVE;
    assert!((got - want).abs() <= tol, "{what}{index:?} = {got:e}, dense {want:e}");
}

/// `cores` in f64 with every entry replaced by its absolute value.
fn absolute<T: Scalar>(cores: &[Tensor<T>]) -> Vec<Tensor<f64>> {
    let abs = |c: &Tensor<T>| c.as_slice().iter().map(|v| v.as_f64().abs()).collect();
    cores.iter().map(|c| Tensor::from_vec(c.shape(), abs(c)).expect("a core's own shape")).collect()
}

/// `u` in f64 with every entry replaced by its absolute value.
fn absolute_mat<T: Scalar>(u: &Mat<T>) -> Mat<f64> {
    Mat::from_fn(u.nrows(), u.ncols(), |i, j| u[(i, j)].as_f64().abs())
}
