//! Golden fixtures from TensorLy 0.10 (tests/fixtures, made by scripts/make-fixtures): the
//! conventions and reconstructions must agree with the reference implementation.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use faer::Mat;
use tensorize::decomp::TtSvd;
use tensorize::format::{CpTensor, TtTensor, TuckerTensor};
use tensorize::{io::read_npy, tenalg, Factorized, Tensor};

fn fixture(name: &str) -> Tensor<f64> {
    let path = format!("{}/tests/fixtures/{name}.npy", env!("CARGO_MANIFEST_DIR"));
    read_npy(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn matrix(name: &str) -> Mat<f64> {
    let t = fixture(name);
    let m = t.as_mat().expect("a 2-way fixture");
    m.to_owned()
}

/// Asserts `‖a − b‖ ≤ 64·eps·sqrt(n)·max(‖b‖, 1)`.
fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
    let scale: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt().max(1.0);
    let tol = 64.0 * f64::EPSILON * (a.len() as f64).sqrt() * scale;
    assert!(diff <= tol, "{what}: ‖a − b‖ = {diff:e} > {tol:e}");
}

fn mat_data(m: &Mat<f64>) -> Vec<f64> {
    (0..m.nrows()).flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)])).collect()
}

#[test]
fn unfold_matches_tensorly() {
    let x = fixture("x_3x4x2");
    for mode in 0..3 {
        let ours = tenalg::unfold(&x, mode).unwrap();
        let theirs = fixture(&format!("unfold_3x4x2_mode{mode}"));
        assert_eq!(ours.shape(), theirs.shape(), "mode {mode}");
        assert_eq!(ours.as_slice(), theirs.as_slice(), "mode {mode}");
    }
}

#[test]
fn khatri_rao_matches_tensorly() {
    let mats: Vec<Mat<f64>> = (0..3).map(|k| matrix(&format!("kr_in{k}"))).collect();
    let views: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
    let ours = tenalg::khatri_rao(&views).unwrap();
    assert_close(&mat_data(&ours), fixture("kr_out").as_slice(), "khatri_rao");
}

fn matrices(prefix: &str, count: usize) -> Vec<Mat<f64>> {
    (0..count).map(|k| matrix(&format!("{prefix}{k}"))).collect()
}

#[test]
fn cp_to_dense_matches_tensorly() {
    let cp = CpTensor::new(fixture("cp_weights").into_vec(), matrices("cp_factor", 3)).unwrap();
    let theirs = fixture("cp_dense");
    let ours = cp.to_dense().unwrap();
    assert_eq!(ours.shape(), theirs.shape());
    assert_close(ours.as_slice(), theirs.as_slice(), "cp_to_tensor");
}

#[test]
fn tucker_to_dense_matches_tensorly() {
    let tk = TuckerTensor::new(fixture("tucker_core"), matrices("tucker_factor", 3)).unwrap();
    let theirs = fixture("tucker_dense");
    let ours = tk.to_dense().unwrap();
    assert_eq!(ours.shape(), theirs.shape());
    assert_close(ours.as_slice(), theirs.as_slice(), "tucker_to_tensor");
}

#[test]
fn tt_to_dense_matches_tensorly() {
    let tt = TtTensor::new((0..3).map(|k| fixture(&format!("tt_core{k}"))).collect()).unwrap();
    let theirs = fixture("tt_dense");
    let ours = tt.to_dense().unwrap();
    assert_eq!(ours.shape(), theirs.shape());
    assert_close(ours.as_slice(), theirs.as_slice(), "tt_to_tensor");
}

/// TT-SVD with TensorLy's rank caps gives the same reconstruction, and the same cores up to
/// the sign of each bond's singular vectors.
#[test]
fn tt_svd_matches_tensorly_up_to_sign() {
    let x = fixture("ttsvd_input");
    let (tt, _) = TtSvd::new().max_ranks(&[3, 4, 2]).fit(&x).unwrap();
    assert_close(tt.to_dense().unwrap().as_slice(), fixture("ttsvd_dense").as_slice(), "tt dense");
    let mut left_signs = vec![1.0];
    for (k, ours) in tt.cores().iter().enumerate() {
        let theirs = fixture(&format!("ttsvd_core{k}"));
        assert_eq!(ours.shape(), theirs.shape(), "core {k}");
        let [r0, n, r1] = [ours.shape()[0], ours.shape()[1], ours.shape()[2]];
        // Pick each right-bond sign to match, then compare with both bonds' signs applied.
        let right_signs: Vec<f64> = (0..r1)
            .map(|j| {
                let dot: f64 = (0..r0 * n)
                    .map(|an| {
                        let (a, i) = (an / n, an % n);
                        ours[&[a, i, j][..]] * left_signs[a] * theirs[&[a, i, j][..]]
                    })
                    .sum();
                if dot < 0.0 {
                    -1.0
                } else {
                    1.0
                }
            })
            .collect();
        let aligned = Tensor::from_fn(ours.shape(), |idx| {
            theirs[idx] * left_signs[idx[0]] * right_signs[idx[2]]
        })
        .unwrap();
        // Singular vectors agree to about eps / (relative singular-value gap).
        let tol = 1e-9 * aligned.norm().max(1.0);
        let diff = ours.sub(&aligned).unwrap().norm();
        assert!(diff <= tol, "core {k}: ‖ours − theirs‖ = {diff:e} > {tol:e}");
        left_signs = right_signs;
    }
}
