//! `Tensor` ↔ faer: `as_mat` and `as_mat_mut` borrow exactly the tensor's elements, `from_mat`
//! copies any faer matrix (column-major, strided or transposed) element for element, and
//! `unfolding_view` is the copied unfolding whenever it exists.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use proptest::prelude::*;
use tensorize::{tenalg, Tensor};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A matrix borrowed and copied back is the same tensor; every element agrees with `get`.
    #[test]
    fn as_mat_and_from_mat_round_trip(rows in 0usize..7, cols in 0usize..7, seed: u64) {
        let t = Tensor::<f64>::random_normal(&[rows, cols], seed).unwrap();
        let m = t.as_mat().unwrap();
        prop_assert_eq!((m.nrows(), m.ncols()), (rows, cols));
        for i in 0..rows {
            for j in 0..cols {
                prop_assert_eq!(m[(i, j)], t.get(&[i, j]).unwrap());
            }
        }
        prop_assert_eq!(Tensor::from_mat(m).unwrap(), t);
    }

    /// `from_mat` of a column-major faer matrix, and of a transposed view of it, copies by
    /// index, not by memory order.
    #[test]
    fn from_mat_reads_any_layout(rows in 1usize..7, cols in 1usize..7, seed: u64) {
        let source = Tensor::<f32>::random_normal(&[rows, cols], seed).unwrap();
        let m = Mat::<f32>::from_fn(rows, cols, |i, j| source.get(&[i, j]).unwrap());
        prop_assert_eq!(Tensor::from_mat(m.as_ref()).unwrap(), source.clone());
        let t = Tensor::from_mat(m.as_ref().transpose()).unwrap();
        prop_assert_eq!(t.shape(), &[cols, rows][..]);
        for i in 0..rows {
            for j in 0..cols {
                prop_assert_eq!(t.get(&[j, i]).unwrap(), source.get(&[i, j]).unwrap());
            }
        }
    }

    /// Writes through `as_mat_mut` land on the tensor's elements of the same index.
    #[test]
    fn as_mat_mut_writes_in_place(rows in 1usize..7, cols in 1usize..7, seed: u64) {
        let mut t = Tensor::<f64>::random_normal(&[rows, cols], seed).unwrap();
        let before = t.clone();
        let mut m = t.as_mat_mut().unwrap();
        for i in 0..rows {
            for j in 0..cols {
                m[(i, j)] = 2.0 * m[(i, j)] + (i * cols + j) as f64;
            }
        }
        for i in 0..rows {
            for j in 0..cols {
                let expected = 2.0 * before.get(&[i, j]).unwrap() + (i * cols + j) as f64;
                prop_assert_eq!(t.get(&[i, j]).unwrap(), expected);
            }
        }
    }

    /// The view of an unfolding exists exactly when the modes before or after `mode` have size
    /// 1, and then equals the copied unfolding.
    #[test]
    fn unfolding_view_is_the_unfolding(
        shape in prop::collection::vec(1usize..4, 1..5),
        mode_pick: usize,
        seed: u64,
    ) {
        let mode = mode_pick % shape.len();
        let t = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let before: usize = shape[..mode].iter().product();
        let after: usize = shape[mode + 1..].iter().product();
        let view = t.unfolding_view(mode).unwrap();
        prop_assert_eq!(view.is_some(), before == 1 || after == 1);
        if let Some(v) = view {
            let copy = tenalg::unfold(&t, mode).unwrap();
            prop_assert_eq!(Tensor::from_mat(v).unwrap(), copy);
        }
    }
}

#[test]
fn a_tensor_not_of_order_two_is_refused() {
    let mut t = Tensor::<f64>::zeros(&[2, 3, 4]).unwrap();
    assert!(t.as_mat().is_err());
    assert!(t.as_mat_mut().is_err());
    assert!(t.unfolding_view(3).is_err());
}
