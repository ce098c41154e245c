//! Golden fixtures from TensorLy 0.10 (tests/fixtures, made by scripts/make-fixtures): the
//! conventions and reconstructions must agree with the reference implementation.

use faer::Mat;
use tensorize::{io::read_npy, tenalg, Tensor};

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
