//! `ndarray` interop (cargo feature `ndarray`): views without copies, owned arrays in and out,
//! strided and sliced arrays gathered in row-major order, empty tensors.
//! Run with `cargo test --features ndarray --test interop_ndarray`.
#![cfg(feature = "ndarray")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ndarray::{ArrayD, Axis, IxDyn, Slice};
use proptest::prelude::*;
use tensorize::{Scalar, Tensor};

fn round_trips<T: Scalar>(shape: &[usize], seed: u64) {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let view = x.as_ndarray().unwrap();
    assert_eq!(view.shape(), shape);
    assert_eq!(view.as_ptr(), x.as_slice().as_ptr(), "a view, not a copy");
    assert_eq!(Tensor::from_ndarray(view).unwrap(), x);
    let owned: ArrayD<T> = x.clone().into_ndarray().unwrap();
    assert_eq!(Tensor::try_from(owned).unwrap(), x);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_shape_round_trips(shape in prop::collection::vec(0usize..4, 0..4), seed in 0u64..1000) {
        round_trips::<f32>(&shape, seed);
        round_trips::<f64>(&shape, seed);
    }

    #[test]
    fn strided_arrays_are_gathered_row_major(rows in 1usize..5, cols in 1usize..6, seed in 0u64..100) {
        let x = Tensor::<f64>::random_normal(&[rows, cols], seed).unwrap();
        let a = x.clone().into_ndarray().unwrap();
        let t = Tensor::try_from(a.clone().reversed_axes()).unwrap();
        prop_assert_eq!(t, x.permute_modes(&[1, 0]).unwrap());
        let mut sliced = a.clone();
        sliced.slice_axis_inplace(Axis(1), Slice::new(0, None, 2));
        let s = Tensor::from_ndarray(sliced.view()).unwrap();
        prop_assert_eq!(s.shape(), &[rows, cols.div_ceil(2)][..]);
        for i in 0..rows {
            for j in 0..cols.div_ceil(2) {
                prop_assert_eq!(s.get(&[i, j]).unwrap(), x.get(&[i, 2 * j]).unwrap());
            }
        }
    }
}

#[test]
fn an_owned_array_sliced_in_place_keeps_its_elements() {
    // Standard layout after the slice, but the data starts at an offset in its buffer.
    let mut a = ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| (i[0] * 3 + i[1]) as f32);
    a.slice_axis_inplace(Axis(0), Slice::from(1..3));
    let t = Tensor::try_from(a).unwrap();
    assert_eq!(t.as_slice(), &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
}

#[test]
fn writes_through_a_mutable_view_reach_the_tensor() {
    let mut x = Tensor::<f64>::zeros(&[2, 2]).unwrap();
    x.as_ndarray_mut().unwrap()[[1, 0]] = 5.0;
    assert_eq!(x.get(&[1, 0]).unwrap(), 5.0);
}
