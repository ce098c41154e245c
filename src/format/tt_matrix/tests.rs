//! Unit tests of the TT-matrix format against naive element formulas.

#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use crate::format::TtMatrix;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

fn random_tt<T: Scalar>(m: &[usize], n: &[usize], r: &[usize], seed: u64) -> TtMatrix<T> {
    let cores = (0..m.len())
        .map(|k| Tensor::random_normal(&[r[k], m[k], n[k], r[k + 1]], seed + k as u64).unwrap())
        .collect();
    TtMatrix::new(cores).unwrap()
}

#[test]
fn to_dense_matches_get() {
    let w = random_tt::<f64>(&[2, 1, 3], &[3, 2, 2], &[1, 2, 3, 1], 1);
    let dense = w.to_dense().unwrap();
    assert_eq!(dense.shape(), &[6, 12]);
    for i in 0..6 {
        for j in 0..12 {
            // The element formula: product of core slices with i, j split row-major.
            let (i1, i3) = (i / 3, i % 3);
            let (j1, j2, j3) = (j / 4, (j / 2) % 2, j % 2);
            let mut want = 0.0;
            for a in 0..2 {
                for b in 0..3 {
                    want += w.cores()[0].get(&[0, i1, j1, a]).unwrap()
                        * w.cores()[1].get(&[a, 0, j2, b]).unwrap()
                        * w.cores()[2].get(&[b, i3, j3, 0]).unwrap();
                }
            }
            assert!((dense.get(&[i, j]).unwrap() - want).abs() < 1e-12);
            assert!((w.get(i, j).unwrap() - want).abs() < 1e-12);
        }
    }
}

#[test]
fn transpose_matmul_add_against_dense() {
    let a = random_tt::<f64>(&[2, 3], &[3, 2], &[1, 2, 1], 4);
    let b = random_tt::<f64>(&[3, 2], &[1, 4], &[1, 3, 1], 7);
    let (da, db) = (a.to_dense().unwrap(), b.to_dense().unwrap());
    let prod = a.matmul(&b).unwrap().to_dense().unwrap();
    let want = Tensor::from_mat((da.as_mat().unwrap() * db.as_mat().unwrap()).as_ref()).unwrap();
    assert!(prod.sub(&want).unwrap().norm() < 1e-12 * want.norm());
    let at = a.transpose().to_dense().unwrap();
    let want_t = da.permute_modes(&[1, 0]).unwrap();
    assert_eq!(at, want_t);
    assert_eq!(a.transpose().transpose(), a);
    let a2 = random_tt::<f64>(&[2, 3], &[3, 2], &[1, 3, 1], 9);
    let sum = a.add(&a2).unwrap().to_dense().unwrap();
    let want_s = da.add(&a2.to_dense().unwrap()).unwrap();
    assert!(sum.sub(&want_s).unwrap().norm() < 1e-12 * want_s.norm());
}

#[test]
fn merged_cores_keep_the_matrix_and_the_row_major_modes() {
    let w = random_tt::<f64>(&[2, 1, 3, 2], &[3, 2, 2, 1], &[1, 2, 3, 2, 1], 7);
    let dense = w.to_dense().unwrap();
    for (a, b) in [(0, 1), (0, 2), (1, 3), (2, 4), (0, 4), (3, 4)] {
        let merged = w.merge_cores(a..b).unwrap();
        assert_eq!(merged.ndim(), 4 - (b - a) + 1);
        let (m, n) = (w.row_modes(), w.col_modes());
        assert_eq!(merged.row_modes()[a], m[a..b].iter().product::<usize>());
        assert_eq!(merged.col_modes()[a], n[a..b].iter().product::<usize>());
        assert_eq!(merged.ranks()[a], w.ranks()[a]);
        assert_eq!(merged.ranks()[a + 1], w.ranks()[b]);
        let got = merged.to_dense().unwrap();
        assert!(got.sub(&dense).unwrap().norm() <= 1e-13 * dense.norm(), "{a}..{b}");
    }
    // f32 too, within its precision.
    let w32 = random_tt::<f32>(&[3, 3], &[2, 4], &[1, 5, 1], 8);
    let (a, b) = (w32.to_dense().unwrap(), w32.merge_cores(0..2).unwrap().to_dense().unwrap());
    assert!(a.sub(&b).unwrap().norm() <= 1e-5 * a.norm());
}

#[test]
fn merge_ranges_outside_the_cores_are_refused() {
    let w = random_tt::<f64>(&[2, 2], &[2, 2], &[1, 2, 1], 9);
    for range in [0..0, 1..1, 1..3, 2..3] {
        let err = w.merge_cores(range.clone());
        assert!(matches!(err, Err(crate::error::Error::InvalidModes { ndim: 2, .. })), "{range:?}");
    }
}
