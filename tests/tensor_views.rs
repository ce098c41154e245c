//! Strided views and buffer-reusing operations agree with the copying ones they stand in for:
//! a view sliced, selected and permuted reads exactly what `slice`/`select`/`permute_modes`
//! copy; writes through a mutable view land on exactly the viewed elements; every `*_into` and
//! `*_assign` equals its allocating twin, bit for bit.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use proptest::prelude::*;
use tensorize::par::Par;
use tensorize::{tenalg, Error, Tensor, TensorViewMut};

/// A shape, a range `(start, end)` per mode, a permutation of the modes, and a seed.
type Case = (Vec<usize>, Vec<(usize, usize)>, Vec<usize>, u64);

/// A shape of order 1–4, a range inside each mode (possibly empty), a permutation, and a seed.
fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(1usize..6, 1..5).prop_flat_map(|shape| {
        let ranges: Vec<_> =
            shape.iter().map(|&d| (0..=d).prop_flat_map(move |a| (Just(a), a..=d))).collect();
        let perm = Just((0..shape.len()).collect::<Vec<_>>()).prop_shuffle();
        (Just(shape), ranges, perm, any::<u64>())
    })
}

/// The block `ranges` of `t`, modes permuted by `perm`, as a mutable view.
fn block<'a>(
    t: &'a mut Tensor<f64>,
    ranges: &[(usize, usize)],
    perm: &[usize],
) -> TensorViewMut<'a, f64> {
    let mut v = t.view_mut();
    for (mode, &(a, b)) in ranges.iter().enumerate() {
        v = v.slice(mode, a..b).unwrap();
    }
    v.permute(perm).unwrap()
}

proptest! {
    #[test]
    fn sliced_permuted_views_read_what_copies_hold((shape, ranges, perm, seed) in case()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let mut view = x.view();
        let mut copy = x.clone();
        for (mode, &(a, b)) in ranges.iter().enumerate() {
            view = view.slice(mode, a..b).unwrap();
            copy = copy.slice(mode, a..b).unwrap();
        }
        let view = view.permute(&perm).unwrap();
        let copy = copy.permute_modes(&perm).unwrap();
        prop_assert_eq!(view.shape(), copy.shape());
        prop_assert_eq!(view.to_tensor().unwrap(), copy.clone());
        let mut out = Tensor::zeros(copy.shape()).unwrap();
        view.copy_into(&mut out).unwrap();
        prop_assert_eq!(&out, &copy);
        if let Some(run) = view.as_slice() {
            prop_assert_eq!(run, copy.as_slice());
        }
        if !copy.is_empty() {
            let last: Vec<usize> = copy.shape().iter().map(|d| d - 1).collect();
            prop_assert_eq!(view.get(&last).unwrap(), copy.get(&last).unwrap());
        }
    }

    #[test]
    fn selected_views_read_what_select_copies((shape, _r, _p, seed) in case(), pick in any::<prop::sample::Index>()) {
        let x = Tensor::<f32>::random_normal(&shape, seed).unwrap();
        let mode = pick.index(shape.len());
        let at = pick.index(shape[mode]);
        prop_assert_eq!(x.view().select(mode, at).unwrap().to_tensor().unwrap(), x.select(mode, at).unwrap());
    }

    #[test]
    fn writes_through_a_view_touch_only_the_viewed_elements((shape, ranges, perm, seed) in case()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let inside = |i: &[usize]| ranges.iter().zip(i).all(|(&(a, b), &k)| a <= k && k < b);
        // fill: 7 inside the block, x elsewhere.
        let mut filled = x.clone();
        block(&mut filled, &ranges, &perm).fill(7.0);
        let want = Tensor::from_fn(&shape, |i| if inside(i) { 7.0 } else { x.get(i).unwrap() }).unwrap();
        prop_assert_eq!(&filled, &want);
        // assign from a tensor of the (permuted) block shape, then axpy it back out.
        let mut scratch = x.clone();
        let block_shape = block(&mut scratch, &ranges, &perm).shape().to_vec();
        let src = Tensor::<f64>::random_normal(&block_shape, seed ^ 3).unwrap();
        let mut assigned = x.clone();
        block(&mut assigned, &ranges, &perm).assign(&src.view()).unwrap();
        let mut reread = Tensor::zeros(&block_shape).unwrap();
        block(&mut assigned, &ranges, &perm).as_view().copy_into(&mut reread).unwrap();
        prop_assert_eq!(&reread, &src);
        block(&mut assigned, &ranges, &perm).axpy(-1.0, &src.view()).unwrap();
        let zeroed = Tensor::from_fn(&shape, |i| if inside(i) { 0.0 } else { x.get(i).unwrap() }).unwrap();
        prop_assert_eq!(assigned, zeroed);
    }

    #[test]
    fn into_and_assign_forms_equal_the_allocating_ones((shape, _r, perm, seed) in case()) {
        let a = Tensor::<f32>::random_normal(&shape, seed).unwrap();
        let b = Tensor::<f32>::random_normal(&shape, seed ^ 1).unwrap();
        let mut out = Tensor::zeros(&shape).unwrap();
        a.add_into(&b, &mut out).unwrap();
        prop_assert_eq!(&out, &a.add(&b).unwrap());
        a.sub_into(&b, &mut out).unwrap();
        prop_assert_eq!(&out, &a.sub(&b).unwrap());
        a.hadamard_into(&b, &mut out).unwrap();
        prop_assert_eq!(&out, &a.hadamard(&b).unwrap());
        let mut c = a.clone();
        c.add_assign(&b).unwrap();
        prop_assert_eq!(&c, &a.add(&b).unwrap());
        c.sub_assign(&b).unwrap();
        c.hadamard_assign(&b).unwrap();
        prop_assert_eq!(&c, &a.add(&b).unwrap().sub(&b).unwrap().hadamard(&b).unwrap());
        c.scale_in_place(0.5);
        c.map_in_place(|v| v - 1.0);
        let want = a.add(&b).unwrap().sub(&b).unwrap().hadamard(&b).unwrap().scale(0.5).map(|v| v - 1.0);
        prop_assert_eq!(&c, &want);
        let permuted = a.permute_modes(&perm).unwrap();
        let mut p = Tensor::zeros(permuted.shape()).unwrap();
        a.permute_modes_into(&perm, &mut p).unwrap();
        prop_assert_eq!(&p, &permuted);
        for mode in 0..shape.len() {
            let u = tenalg::unfold(&a, mode).unwrap();
            let mut u2 = Tensor::zeros(u.shape()).unwrap();
            tenalg::unfold_into(&a, mode, &mut u2).unwrap();
            prop_assert_eq!(&u2, &u);
            let mut back = Tensor::zeros(&shape).unwrap();
            tenalg::fold_into(&u, mode, &mut back).unwrap();
            prop_assert_eq!(&back, &a);
            let m = Mat::<f32>::from_fn(3, shape[mode], |i, j| (i as f32) - 0.5 * j as f32);
            let y = tenalg::mode_product(&a, m.as_ref(), mode).unwrap();
            let mut y2 = Tensor::full(y.shape(), f32::NAN).unwrap();
            tenalg::mode_product_into(&a, m.as_ref(), mode, &mut y2, Par::Seq).unwrap();
            prop_assert_eq!(&y2, &y);
        }
    }
}

#[test]
fn mismatched_buffers_are_refused_with_their_shapes() {
    let a = Tensor::<f64>::zeros(&[2, 3]).unwrap();
    let mut wrong = Tensor::<f64>::zeros(&[3, 2]).unwrap();
    assert!(matches!(a.add_into(&a, &mut wrong), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(wrong.add_assign(&a), Err(Error::ShapeMismatch { .. })));
    let mut same = Tensor::<f64>::zeros(&[2, 3]).unwrap();
    assert!(matches!(a.permute_modes_into(&[1, 0], &mut same), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(a.permute_modes_into(&[0, 0], &mut wrong), Err(Error::InvalidModes { .. })));
    assert!(matches!(tenalg::unfold_into(&a, 1, &mut same), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tenalg::fold_into(&a, 1, &mut same), Err(Error::ShapeMismatch { .. })));
    let m = Mat::<f64>::zeros(4, 3);
    assert!(matches!(
        tenalg::mode_product_into(&a, m.as_ref(), 1, &mut same, Par::Seq),
        Err(Error::ShapeMismatch { .. })
    ));
    let err = a.view().copy_into(&mut wrong).unwrap_err();
    assert!(err.to_string().contains("[2, 3]") && err.to_string().contains("[3, 2]"), "{err}");
    assert!(matches!(wrong.view_mut().assign(&a.view()), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(a.view().slice(1, 2..4), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(a.view().select(2, 0), Err(Error::ModeOutOfRange { .. })));
    assert!(matches!(a.view().permute(&[1]), Err(Error::InvalidModes { .. })));
    assert!(matches!(a.view().get(&[0, 3]), Err(Error::IndexOutOfBounds { .. })));
    // A column is not a row-major run; a block of whole rows is.
    assert!(a.view().select(1, 0).unwrap().as_slice().is_none());
    assert_eq!(a.view().slice(0, 1..2).unwrap().as_slice().map(<[f64]>::len), Some(3));
}
