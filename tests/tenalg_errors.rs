//! Bad input to the tensor algebra gives typed errors, never panics.

// Test helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use faer::{Mat, MatRef};
use tensorize::{tenalg, Error, Tensor};

fn x3() -> Tensor<f64> {
    Tensor::random_normal(&[2, 3, 4], 0).unwrap()
}

/// A `rows × cols` view of one repeated row (row stride 0): huge row counts cost no memory.
fn tall(row: &[f64], rows: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice_with_stride(row, rows, row.len(), 0)
}

#[test]
fn out_of_range_modes() {
    let x = x3();
    let a = Mat::<f64>::zeros(2, 3);
    assert!(matches!(tenalg::unfold(&x, 3), Err(Error::ModeOutOfRange { mode: 3, .. })));
    assert!(matches!(tenalg::mode_product(&x, a.as_ref(), 7), Err(Error::ModeOutOfRange { .. })));
    assert!(matches!(
        tenalg::mode_vector_product(&x, &[1.0, 2.0], 3),
        Err(Error::ModeOutOfRange { .. })
    ));
    let mats = [Mat::<f64>::zeros(1, 2), Mat::zeros(1, 3), Mat::zeros(1, 4)];
    let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(
        tenalg::multi_mode_product(&x, &refs, Some(3)),
        Err(Error::ModeOutOfRange { .. })
    ));
    let fs = [Mat::<f64>::zeros(2, 2), Mat::zeros(3, 2), Mat::zeros(4, 2)];
    let frefs: Vec<_> = fs.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(tenalg::mttkrp(&x, &frefs, 3), Err(Error::ModeOutOfRange { .. })));
    assert!(matches!(tenalg::contract(&x, &x, &[(0, 3)]), Err(Error::ModeOutOfRange { .. })));
    assert!(matches!(tenalg::fold(&x, 3, &[2, 3, 4]), Err(Error::ModeOutOfRange { .. })));
    let scalar = Tensor::<f64>::from_vec(&[], vec![1.0]).unwrap();
    assert!(matches!(tenalg::unfold(&scalar, 0), Err(Error::ModeOutOfRange { .. })));
}

#[test]
fn mismatched_matrix_sizes() {
    let x = x3();
    let a = Mat::<f64>::zeros(5, 5);
    let err = tenalg::mode_product(&x, a.as_ref(), 1).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "mode_product", .. }));
    assert!(err.to_string().contains("matrix has 5 columns but mode 1 has dimension 3"), "{err}");

    let mats = [Mat::<f64>::zeros(1, 2), Mat::zeros(1, 5), Mat::zeros(1, 4)];
    let refs: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(
        tenalg::multi_mode_product(&x, &refs, None),
        Err(Error::ShapeMismatch { .. })
    ));
    // The skipped mode's matrix is not looked at.
    assert!(tenalg::multi_mode_product(&x, &refs, Some(1)).is_ok());
    assert!(matches!(
        tenalg::multi_mode_product(&x, &refs[..2], None),
        Err(Error::ShapeMismatch { .. })
    ));

    let kr = [Mat::<f64>::zeros(2, 2), Mat::zeros(3, 3)];
    let krefs: Vec<_> = kr.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(tenalg::khatri_rao(&krefs), Err(Error::ShapeMismatch { .. })));

    let fs = [Mat::<f64>::zeros(2, 2), Mat::zeros(3, 2), Mat::zeros(5, 2)];
    let frefs: Vec<_> = fs.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(tenalg::mttkrp(&x, &frefs, 0), Err(Error::ShapeMismatch { .. })));
    let fs = [Mat::<f64>::zeros(2, 2), Mat::zeros(3, 3), Mat::zeros(4, 2)];
    let frefs: Vec<_> = fs.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(tenalg::mttkrp(&x, &frefs, 0), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tenalg::mttkrp(&x, &frefs[..2], 0), Err(Error::ShapeMismatch { .. })));

    let y = Tensor::<f64>::zeros(&[4, 2]).unwrap();
    assert!(matches!(tenalg::contract(&x, &y, &[(1, 0)]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tenalg::contract(&x, &y, &[(2, 0), (2, 1)]), Err(Error::InvalidModes { .. })));
    assert!(matches!(tenalg::contract(&x, &y, &[(0, 1), (2, 1)]), Err(Error::InvalidModes { .. })));

    let u = tenalg::unfold(&x, 1).unwrap();
    assert!(matches!(tenalg::fold(&u, 0, &[2, 3, 4]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tenalg::fold(&u, 1, &[2, 3, 5]), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn wrong_vector_lengths() {
    let x = x3();
    let err = tenalg::mode_vector_product(&x, &[1.0; 4], 1).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }));
    assert!(err.to_string().contains("vector has length 4 but mode 1 has dimension 3"), "{err}");
    assert!(tenalg::mode_vector_product(&x, &[], 1).is_err());
    assert!(matches!(tenalg::outer::<f64>(&[&[1.0], &[]]), Err(Error::ZeroDimension { .. })));
}

#[test]
fn empty_lists() {
    assert!(matches!(tenalg::khatri_rao::<f64>(&[]), Err(Error::InvalidParameter { .. })));
    assert!(matches!(tenalg::kronecker::<f64>(&[]), Err(Error::InvalidParameter { .. })));
    assert!(matches!(tenalg::outer::<f64>(&[]), Err(Error::InvalidParameter { .. })));
    let x = x3();
    assert!(matches!(tenalg::multi_mode_product(&x, &[], None), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tenalg::mttkrp(&x, &[], 0), Err(Error::ShapeMismatch { .. })));
    // No pairs is the outer product, not an error.
    assert_eq!(tenalg::contract(&x, &x, &[]).unwrap().shape(), &[2, 3, 4, 2, 3, 4]);
    // Zero rows or a zero rank are refused.
    let a = Mat::<f64>::zeros(0, 3);
    assert!(matches!(tenalg::mode_product(&x, a.as_ref(), 1), Err(Error::ZeroDimension { .. })));
    let fs = [Mat::<f64>::zeros(2, 0), Mat::zeros(3, 0), Mat::zeros(4, 0)];
    let frefs: Vec<_> = fs.iter().map(|m| m.as_ref()).collect();
    assert!(matches!(tenalg::mttkrp(&x, &frefs, 0), Err(Error::InvalidRank { .. })));
}

#[test]
fn huge_shapes_overflow() {
    let x = x3();
    let row = [1.0; 3];
    let huge = tall(&row, usize::MAX / 4);
    assert!(matches!(tenalg::mode_product(&x, huge, 1), Err(Error::SizeOverflow { .. })));
    let mats = [tall(&[1.0; 2], 1), huge, tall(&[1.0; 4], 1)];
    assert!(matches!(tenalg::multi_mode_product(&x, &mats, None), Err(Error::SizeOverflow { .. })));
    let big = tall(&row, 1 << 40);
    assert!(matches!(tenalg::khatri_rao(&[big, big]), Err(Error::SizeOverflow { .. })));
    assert!(matches!(tenalg::kronecker(&[big, big]), Err(Error::SizeOverflow { .. })));
    // A rank so large that the I_n × R result overflows.
    let wide = |col: &'static [f64]| {
        MatRef::from_column_major_slice_with_stride(col, col.len(), 1 << 62, 0)
    };
    let fs = [wide(&[1.0; 2]), wide(&[1.0; 3]), wide(&[1.0; 4])];
    assert!(matches!(tenalg::mttkrp(&x, &fs, 0), Err(Error::SizeOverflow { .. })));
    assert!(matches!(tenalg::fold(&x, 0, &[usize::MAX, 2, 2]), Err(Error::SizeOverflow { .. })));
}
