//! Differential tests of the TT format against naive dense loops.

use super::*;
use crate::format::tt::{add, dot, hadamard};

fn random_tt<T: Scalar>(shape: &[usize], ranks: &[usize], seed: u64) -> TtTensor<T> {
    let cores = (0..shape.len())
        .map(|k| {
            Tensor::random_normal(&[ranks[k], shape[k], ranks[k + 1]], seed + k as u64).unwrap()
        })
        .collect();
    TtTensor::new(cores).unwrap()
}

/// X[i] by explicit matrix products of the core slices (the definition).
#[allow(clippy::needless_range_loop)]
fn naive_dense<T: Scalar>(tt: &TtTensor<T>) -> Tensor<T> {
    let shape = tt.shape();
    Tensor::from_fn(&shape, |idx| {
        let mut v = vec![T::one()];
        for (core, &i) in tt.cores().iter().zip(idx) {
            let [r0, n, r1] = core_dims(core);
            let mut next = vec![T::zero(); r1];
            for a in 0..r0 {
                for b in 0..r1 {
                    next[b] += v[a] * core.as_slice()[(a * n + i) * r1 + b];
                }
            }
            v = next;
        }
        v[0]
    })
    .unwrap()
}

fn tol<T: Scalar>(numel: usize, scale: T) -> T {
    T::of(64.0) * T::epsilon() * T::of_usize(numel).sqrt() * scale
}

fn close<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>) {
    let d = a.sub(b).unwrap().norm();
    let t = tol(a.numel(), a.norm().max(b.norm()).max(T::one()));
    assert!(d <= t, "difference {d} > {t}");
}

const SHAPE: [usize; 4] = [3, 4, 2, 5];
const RANKS: [usize; 5] = [1, 2, 3, 4, 1];

fn dense_agrees<T: Scalar>() {
    let tt = random_tt::<T>(&SHAPE, &RANKS, 1);
    let naive = naive_dense(&tt);
    let dense = tt.to_dense().unwrap();
    close(&dense, &naive);
    for idx in [[0, 0, 0, 0], [2, 3, 1, 4], [1, 2, 0, 3]] {
        let (g, e) = (tt.get(&idx).unwrap(), naive.get(&idx).unwrap());
        assert!((g - e).abs() <= tol(1, naive.norm()));
    }
    assert_eq!(tt.num_params(), 3 * 2 + 2 * 4 * 3 + 3 * 2 * 4 + 4 * 5);
    assert_eq!(tt.ranks(), RANKS.to_vec());
    let n = naive.norm();
    assert!((tt.norm() - n).abs() <= tol(naive.numel(), n));
    let x = Tensor::<T>::random_normal(&SHAPE, 9).unwrap();
    let (a, b) = (tt.inner_dense(&x).unwrap(), naive.inner(&x).unwrap());
    assert!((a - b).abs() <= tol(x.numel(), n * x.norm()));
}

#[test]
fn dense_get_norm_inner_agree_with_naive() {
    dense_agrees::<f32>();
    dense_agrees::<f64>();
}

fn ops_agree<T: Scalar>() {
    let a = random_tt::<T>(&SHAPE, &RANKS, 1);
    let b = random_tt::<T>(&SHAPE, &[1, 3, 2, 2, 1], 10);
    let (da, db) = (naive_dense(&a), naive_dense(&b));
    let scale = da.norm() * db.norm();
    assert!((dot(&a, &b).unwrap() - da.inner(&db).unwrap()).abs() <= tol(da.numel(), scale));
    let s = add(&a, &b).unwrap();
    assert_eq!(s.ranks(), vec![1, 5, 5, 6, 1]);
    close(&naive_dense(&s), &da.add(&db).unwrap());
    let h = hadamard(&a, &b).unwrap();
    assert_eq!(h.ranks(), vec![1, 6, 6, 8, 1]);
    close(&naive_dense(&h), &da.hadamard(&db).unwrap());
    close(&naive_dense(&a.scale(T::of(-2.5)).unwrap()), &da.scale(T::of(-2.5)));
}

#[test]
fn dot_add_hadamard_scale_agree_with_dense() {
    ops_agree::<f32>();
    ops_agree::<f64>();
}

#[test]
fn one_core_ops() {
    let a = random_tt::<f64>(&[5], &[1, 1], 3);
    let b = random_tt::<f64>(&[5], &[1, 1], 4);
    let (da, db) = (a.to_dense().unwrap(), b.to_dense().unwrap());
    close(&add(&a, &b).unwrap().to_dense().unwrap(), &da.add(&db).unwrap());
    close(&hadamard(&a, &b).unwrap().to_dense().unwrap(), &da.hadamard(&db).unwrap());
    assert!((dot(&a, &b).unwrap() - da.inner(&db).unwrap()).abs() < 1e-12);
    let (r, rep) = a.round(0.1, None).unwrap();
    close(&r.to_dense().unwrap(), &da);
    assert_eq!(rep.rel_error, 0.0);
}

fn check_orthonormal<T: Scalar>(m: MatRef<'_, T>) {
    let (rows, cols) = m.shape();
    for i in 0..cols {
        for j in 0..cols {
            let s: T = (0..rows).map(|k| m[(k, i)] * m[(k, j)]).sum();
            let e = if i == j { T::one() } else { T::zero() };
            assert!((s - e).abs() <= tol(rows, T::one()), "gram[{i},{j}] = {s}");
        }
    }
}

fn orthogonalize<T: Scalar>() {
    let x = random_tt::<T>(&SHAPE, &[1, 3, 5, 4, 1], 5);
    let dense = x.to_dense().unwrap();
    let mut l = x.clone();
    l.left_orthogonalize().unwrap();
    close(&l.to_dense().unwrap(), &dense);
    // r_1 = min(1·3, 3), r_2 = min(3·4, 5), r_3 = min(5·2, 4)
    assert_eq!(l.ranks(), vec![1, 3, 5, 4, 1]);
    for c in &l.cores()[..3] {
        let [r0, n, r1] = core_dims(c);
        check_orthonormal(MatRef::from_row_major_slice(c.as_slice(), r0 * n, r1));
    }
    let mut r = x.clone();
    r.right_orthogonalize().unwrap();
    close(&r.to_dense().unwrap(), &dense);
    for c in &r.cores()[1..] {
        let [r0, n, r1] = core_dims(c);
        check_orthonormal(MatRef::from_row_major_slice(c.as_slice(), r0, n * r1).transpose());
    }
    let n = dense.norm();
    assert!((r.cores()[0].norm() - n).abs() <= tol(dense.numel(), n));
}

#[test]
fn orthogonalization_keeps_the_tensor() {
    orthogonalize::<f32>();
    orthogonalize::<f64>();
}

fn round_sum<T: Scalar>() {
    let a = random_tt::<T>(&SHAPE, &RANKS, 1);
    let sum = add(&a, &a.scale(T::of(0.5)).unwrap()).unwrap();
    let (y, rep) = sum.round(1e-3, None).unwrap();
    assert_eq!(y.ranks(), vec![1, 2, 3, 4, 1]);
    let want = a.to_dense().unwrap().scale(T::of(1.5));
    close(&y.to_dense().unwrap(), &want);
    assert!(rep.rel_error <= 1e-3);
    // A binding rank cap.
    let (z, rep) = sum.round(0.0, Some(2)).unwrap();
    assert!(z.max_rank() <= 2);
    let err = z.to_dense().unwrap().sub(&want).unwrap().norm() / want.norm();
    assert!((err.as_f64() - rep.rel_error).abs() <= 1e-3 + 100.0 * T::epsilon().as_f64().sqrt());
}

#[test]
fn rounding_a_sum_recovers_the_ranks() {
    round_sum::<f32>();
    round_sum::<f64>();
}

fn rel_error_paths<T: Scalar>() {
    let a = random_tt::<T>(&SHAPE, &RANKS, 1);
    let dense = a.to_dense().unwrap();
    // Large error: the inner-product formula.
    let x = dense.add(&Tensor::random_normal(&SHAPE, 3).unwrap().scale(T::of(0.3))).unwrap();
    let explicit = x.sub(&dense).unwrap().norm() / x.norm();
    let fast = a.rel_error(&x).unwrap();
    assert!((fast - explicit).abs() <= T::of(64.0) * T::epsilon().sqrt() * explicit);
    // Tiny error: the explicit fallback.
    let tiny = T::of(100.0) * T::epsilon();
    let y = dense.add(&Tensor::random_normal(&SHAPE, 4).unwrap().scale(tiny)).unwrap();
    let explicit = y.sub(&dense).unwrap().norm() / y.norm();
    let fast = a.rel_error(&y).unwrap();
    assert!((fast - explicit).abs() <= T::of(0.1) * explicit + tol(1, T::one()));
    assert_eq!(a.rel_error(&dense).unwrap(), T::zero());
}

#[test]
fn rel_error_without_densifying_matches_explicit() {
    rel_error_paths::<f32>();
    rel_error_paths::<f64>();
}

#[test]
fn new_validates() {
    let c = |s: &[usize]| Tensor::<f64>::zeros(s).unwrap();
    assert!(matches!(TtTensor::<f64>::new(vec![]), Err(Error::InvalidModes { .. })));
    assert!(matches!(TtTensor::new(vec![c(&[1, 2])]), Err(Error::InvalidModes { .. })));
    assert!(matches!(TtTensor::new(vec![c(&[2, 2, 1])]), Err(Error::InvalidRank { .. })));
    assert!(matches!(TtTensor::new(vec![c(&[1, 2, 2])]), Err(Error::InvalidRank { .. })));
    let e = TtTensor::new(vec![c(&[1, 2, 2]), c(&[3, 2, 1])]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
    assert!(e.to_string().contains("[1, 2, 2]") && e.to_string().contains("[3, 2, 1]"));
    let mut bad = c(&[1, 2, 1]);
    bad.as_mut_slice()[1] = f64::NAN;
    assert!(matches!(TtTensor::new(vec![bad]), Err(Error::NonFinite { .. })));
    let big = TtTensor::new(vec![c(&[1, 1 << 20, 1]); 4]);
    assert!(matches!(big, Err(Error::SizeOverflow { .. })));
    let ok = TtTensor::new(vec![c(&[1, 2, 1])]).unwrap();
    assert!(matches!(ok.get(&[2]), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(ok.get(&[0, 0]), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(ok.scale(f64::NAN), Err(Error::NonFinite { .. })));
    let other = TtTensor::new(vec![c(&[1, 3, 1])]).unwrap();
    assert!(matches!(dot(&ok, &other), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(add(&ok, &other), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(hadamard(&ok, &other), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(ok.round(-1.0, None), Err(Error::InvalidParameter { .. })));
    assert!(matches!(ok.round(f64::NAN, None), Err(Error::InvalidParameter { .. })));
    assert!(matches!(ok.round(0.1, Some(0)), Err(Error::InvalidRank { .. })));
    assert!(matches!(ok.rel_error(&c(&[3])), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn rounding_holds_at_the_ends_of_the_range() {
    // A 1e300 core squared its singular values past f64 (reported error ∞; found by the
    // `formats` fuzz target); 1e-300 and 1e300 cores together are an ordinary tensor.
    for scales in [[1e300, 1.0, 1.0], [1e-300, 1.0, 1.0], [1e300, 1e-300, 1.0]] {
        let tt = random_tt::<f64>(&[3, 4, 5], &[1, 2, 3, 1], 11);
        let mut cores = tt.cores().to_vec();
        for (c, s) in cores.iter_mut().zip(scales) {
            *c = c.scale(s);
        }
        let tt = TtTensor::new(cores).unwrap();
        let x = tt.to_dense().unwrap();
        let (rounded, rep) = tt.round(1e-10, None).unwrap();
        let y = rounded.to_dense().unwrap();
        let diff = x.as_slice().iter().zip(y.as_slice()).map(|(a, b)| ((a - b) / x.norm()).powi(2));
        let rec = diff.sum::<f64>().sqrt();
        assert!(rep.rel_error <= 1e-10 && rec <= 1e-12, "{scales:?}: {} {rec}", rep.rel_error);
    }
}
