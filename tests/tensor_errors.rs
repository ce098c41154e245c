//! Bad input to `Tensor` gives typed errors that name the problem — never a panic: wrong data
//! lengths, empty and absurd shapes, out-of-range modes and indices, invalid permutations,
//! mismatched shapes, NaN, bad random bounds, matrix views of non-matrices.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use tensorize::{Error, Scalar, Tensor};

fn data_lengths<T: Scalar>() {
    let err = Tensor::<T>::from_vec(&[2, 3], vec![T::zero(); 7]).unwrap_err();
    assert_eq!(err, Error::DataLength { shape: vec![2, 3], expected: 6, found: 7 });
    assert!(err.to_string().contains("[2, 3]") && err.to_string().contains('7'));
    let x = Tensor::<T>::zeros(&[2, 3]).unwrap();
    let err = x.reshape(&[4, 2]).unwrap_err();
    assert_eq!(err, Error::DataLength { shape: vec![4, 2], expected: 8, found: 6 });
    // Order 0: one element.
    assert!(Tensor::<T>::from_vec(&[], vec![T::one()]).is_ok());
    assert!(matches!(
        Tensor::<T>::from_vec(&[], vec![]),
        Err(Error::DataLength { expected: 1, found: 0, .. })
    ));
}

fn zero_sized<T: Scalar>() {
    // A zero dimension is an empty tensor (tests/empty_inputs.rs covers what accepts one); the
    // data must then be empty too.
    assert!(Tensor::<T>::zeros(&[3, 0, 2]).unwrap().is_empty());
    let err = Tensor::<T>::from_vec(&[3, 0, 2], vec![T::one()]).unwrap_err();
    assert_eq!(err, Error::DataLength { shape: vec![3, 0, 2], expected: 0, found: 1 });
    let x = Tensor::<T>::zeros(&[6]).unwrap();
    assert!(matches!(x.reshape(&[0, 6]), Err(Error::DataLength { expected: 0, found: 6, .. })));
    // An empty shape whose other dimensions overflow is refused as too large.
    assert!(matches!(Tensor::<T>::zeros(&[0, usize::MAX, 2]), Err(Error::SizeOverflow { .. })));
    let err = Tensor::<T>::zeros(&[0, 3]).unwrap().check_nonempty().unwrap_err();
    assert_eq!(err, Error::ZeroDimension { shape: vec![0, 3] });
    assert!(err.to_string().contains("[0, 3]"));
}

fn huge_shapes<T: Scalar>() {
    // usize overflow of the element count.
    let shape = [usize::MAX, 2];
    let over = Error::SizeOverflow { shape: shape.to_vec() };
    assert_eq!(Tensor::<T>::zeros(&shape).unwrap_err(), over);
    assert_eq!(Tensor::<T>::from_vec(&shape, vec![]).unwrap_err(), over);
    assert_eq!(Tensor::<T>::random_normal(&shape, 0).unwrap_err(), over);
    assert_eq!(Tensor::<T>::from_fn(&shape, |_| T::zero()).unwrap_err(), over);
    assert!(Tensor::<T>::zeros(&shape).unwrap_err().to_string().contains("more elements"));
    // Element count fits in usize, but the bytes exceed isize::MAX.
    let elems = (isize::MAX as usize) / std::mem::size_of::<T>() + 1;
    let shape = [elems];
    assert_eq!(Tensor::<T>::zeros(&shape).unwrap_err(), Error::SizeOverflow { shape: vec![elems] });
    let shape = [1 << 20, 1 << 20, 1 << 20, 1 << 20];
    assert!(matches!(Tensor::<T>::ones(&shape), Err(Error::SizeOverflow { .. })));
    let x = Tensor::<T>::zeros(&[4]).unwrap();
    assert!(matches!(x.reshape(&[usize::MAX, usize::MAX]), Err(Error::SizeOverflow { .. })));
}

fn modes_and_indices<T: Scalar>() {
    let mut x = Tensor::<T>::zeros(&[2, 3, 4]).unwrap();
    let mode = |m| Error::ModeOutOfRange { mode: m, shape: vec![2, 3, 4] };
    assert_eq!(x.dim(3).unwrap_err(), mode(3));
    assert_eq!(x.select(3, 0).unwrap_err(), mode(3));
    assert_eq!(x.slice(7, 0..1).unwrap_err(), mode(7));
    assert_eq!(x.unfolding_view(3).unwrap_err(), mode(3));
    assert!(mode(3).to_string().contains("mode 3 out of range for a 3-way tensor"));

    let oob = |i: &[usize]| Error::IndexOutOfBounds { index: i.to_vec(), shape: vec![2, 3, 4] };
    assert_eq!(x.get(&[2, 0, 0]).unwrap_err(), oob(&[2, 0, 0]));
    assert_eq!(x.get(&[0, 0]).unwrap_err(), oob(&[0, 0]));
    assert_eq!(x.get(&[0, 0, 0, 0]).unwrap_err(), oob(&[0, 0, 0, 0]));
    assert_eq!(x.offset(&[1, 3, 0]).unwrap_err(), oob(&[1, 3, 0]));
    assert_eq!(x.set(&[0, 0, 4], T::one()).unwrap_err(), oob(&[0, 0, 4]));
    assert_eq!(x.select(1, 3).unwrap_err(), oob(&[0, 3, 0]));
    assert!(matches!(x.slice(2, 1..5), Err(Error::IndexOutOfBounds { .. })));
    assert_eq!(x.slice(2, 2..2).unwrap().shape(), &[2, 3, 0]);
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = x.slice(2, 3..1);
    assert!(matches!(reversed, Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(x.slice(0, usize::MAX - 1..usize::MAX), Err(Error::IndexOutOfBounds { .. })));

    // Order 0 has no modes.
    let s = Tensor::<T>::from_vec(&[], vec![T::one()]).unwrap();
    assert_eq!(s.dim(0).unwrap_err(), Error::ModeOutOfRange { mode: 0, shape: vec![] });
    assert!(matches!(s.select(0, 0), Err(Error::ModeOutOfRange { .. })));
    assert_eq!(s.get(&[]).unwrap(), T::one());
}

fn permutations<T: Scalar>() {
    let x = Tensor::<T>::zeros(&[2, 3, 4]).unwrap();
    for bad in [&[0, 1][..], &[0, 1, 2, 3], &[0, 0, 1], &[0, 1, 3], &[]] {
        match x.permute_modes(bad) {
            Err(Error::InvalidModes { op, modes, ndim, detail }) => {
                assert_eq!((op, &modes[..], ndim), ("permute_modes", bad, 3));
                assert!(!detail.is_empty());
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let err = x.permute_modes(&[1, 1, 0]).unwrap_err();
    assert!(err.to_string().contains("repeated"), "{err}");
    assert!(x.permute_modes(&[2, 0, 1]).is_ok());
}

fn mismatched<T: Scalar>() {
    let mut a = Tensor::<T>::zeros(&[2, 3]).unwrap();
    let b = Tensor::<T>::zeros(&[3, 2]).unwrap();
    let check = |r: Result<(), Error>, name: &str| match r {
        Err(Error::ShapeMismatch { op, left, right, .. }) => {
            assert_eq!((op, left, right), (name, vec![2, 3], vec![3, 2]));
        }
        other => panic!("{name}: {other:?}"),
    };
    check(a.add(&b).map(|_| ()), "add");
    check(a.sub(&b).map(|_| ()), "sub");
    check(a.hadamard(&b).map(|_| ()), "hadamard");
    check(a.inner(&b).map(|_| ()), "inner");
    check(a.axpy(T::one(), &b), "axpy");
    // Same numel, different order.
    let c = Tensor::<T>::zeros(&[6]).unwrap();
    assert!(matches!(a.add(&c), Err(Error::ShapeMismatch { .. })));
    let err = a.inner(&b).unwrap_err().to_string();
    assert!(err.contains("[2, 3]") && err.contains("[3, 2]"), "{err}");
}

fn non_finite<T: Scalar>() {
    let mut x = Tensor::<T>::zeros(&[2, 3]).unwrap();
    assert!(x.check_finite("op").is_ok());
    x.set(&[1, 1], T::nan()).unwrap();
    x.set(&[1, 2], T::infinity()).unwrap();
    match x.check_finite("my_op") {
        Err(Error::NonFinite { op, position, value }) => {
            assert_eq!((op, position), ("my_op", 4));
            assert!(value.is_nan());
        }
        other => panic!("{other:?}"),
    }
    assert!(!x.is_finite());
    let y = Tensor::<T>::from_vec(&[2], vec![T::zero(), T::neg_infinity()]).unwrap();
    assert!(matches!(
        y.check_finite("f"),
        Err(Error::NonFinite { position: 1, value, .. }) if value == f64::NEG_INFINITY
    ));
    assert!(y.check_finite("f").unwrap_err().to_string().contains("position 1"));
}

fn random_bounds<T: Scalar>() {
    let bad = [
        (T::one(), T::one()),
        (T::one(), T::zero()),
        (T::nan(), T::one()),
        (T::zero(), T::nan()),
        (T::neg_infinity(), T::zero()),
        (T::zero(), T::infinity()),
    ];
    for (lo, hi) in bad {
        match Tensor::<T>::random_uniform(&[3], lo, hi, 0) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "low..high"),
            other => panic!("{lo}..{hi}: {other:?}"),
        }
    }
    // Bounds are checked before the shape.
    assert!(matches!(
        Tensor::<T>::random_uniform(&[0], T::one(), T::zero(), 0),
        Err(Error::InvalidParameter { .. })
    ));
    // A valid call stays in [low, high).
    let x = Tensor::<T>::random_uniform(&[1000], T::of(-1.0), T::of(1.0), 3).unwrap();
    assert!(x.as_slice().iter().all(|&v| v >= T::of(-1.0) && v < T::of(1.0)));
}

fn matrix_views<T: Scalar>() {
    let mut x = Tensor::<T>::zeros(&[2, 3, 4]).unwrap();
    assert!(matches!(x.as_mat(), Err(Error::InvalidModes { op: "as_mat", ndim: 3, .. })));
    assert!(matches!(x.as_mat_mut(), Err(Error::InvalidModes { op: "as_mat_mut", .. })));
    let v = Tensor::<T>::zeros(&[5]).unwrap();
    assert!(matches!(v.as_mat(), Err(Error::InvalidModes { ndim: 1, .. })));
    let s = Tensor::<T>::from_vec(&[], vec![T::one()]).unwrap();
    assert!(matches!(s.as_mat(), Err(Error::InvalidModes { ndim: 0, .. })));
    let err = x.as_mat().unwrap_err().to_string();
    assert!(err.contains("[2, 3, 4]"), "{err}");
    let m = Tensor::<T>::zeros(&[2, 3]).unwrap();
    assert_eq!(m.as_mat().unwrap().shape(), (2, 3));
}

macro_rules! both {
    ($($name:ident),*) => {$(
        mod $name {
            #[test]
            fn f32() { super::$name::<f32>() }
            #[test]
            fn f64() { super::$name::<f64>() }
        }
    )*};
}

both!(
    data_lengths,
    zero_sized,
    huge_shapes,
    modes_and_indices,
    permutations,
    mismatched,
    non_finite,
    random_bounds,
    matrix_views
);
