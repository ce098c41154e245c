//! The tensorized layers (r-CP, r-TK, r-TT) against the dense layer of the weight they
//! reconstruct (f32 and f64), against the original layer at full rank, their backward passes
//! against central finite differences (f64), empty batches, and their typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/gradients.rs"]
mod gradients;

use gradients::{check_gradients, check_gradients_every, grads_of};
use tensorize::nn::{Conv2d, Layer, Linear, Tensorized};
use tensorize::tensorization::{Compress, Method};
use tensorize::{Budget, Error, Scalar, Tensor};

const METHODS: [Method; 3] =
    [Method::RCp { factors: 2 }, Method::RTucker { factors: 2 }, Method::RTt { factors: 2 }];

fn randn<T: Scalar>(shape: &[usize], seed: u64) -> Tensor<T> {
    Tensor::random_normal(shape, seed).unwrap()
}

fn linear<T: Scalar>(seed: u64) -> Linear<T> {
    let bias = (0..18).map(|o| T::of(0.1 * o as f64 - 0.5)).collect();
    Linear::new(randn(&[18, 12], seed), Some(bias)).unwrap()
}

fn conv<T: Scalar>(seed: u64, stride: usize) -> Conv2d<T> {
    let bias = (0..8).map(|o| T::of(0.2 * o as f64 - 0.3)).collect();
    Conv2d::new(randn(&[8, 6, 3, 3], seed), Some(bias))
        .unwrap()
        .with_stride([stride, stride])
        .unwrap()
        .with_padding([1, 1])
        .unwrap()
}

/// `‖y − want‖_F ≤ c · eps · sqrt(k) · ‖want‖_F` with `k` the length of the summed products.
fn assert_close<T: Scalar>(y: &Tensor<T>, want: &Tensor<T>, eps: f64, k: usize, what: &str) {
    assert_eq!(y.shape(), want.shape(), "{what}");
    let diff = y.sub(want).unwrap().norm().as_f64();
    let tol = 64.0 * eps * (k as f64).sqrt() * want.norm().as_f64();
    assert!(diff <= tol, "{what}: ‖Δ‖ = {diff:e} > {tol:e}");
}

/// (1) The layer's forward equals the dense layer of `reconstruct()` with the same bias.
fn forward_matches_reconstruction<T: Scalar>(eps: f64) {
    for method in METHODS {
        let budget = Budget::KeepFraction(0.5);
        let c = Compress::new(method).budget(budget).max_iter(20);
        let fc = linear::<T>(1);
        let w = c.fit(fc.weight()).unwrap();
        let layer = Tensorized::from_linear_weight(&fc, &w).unwrap();
        let dense = Linear::new(w.reconstruct().unwrap(), fc.bias().map(<[T]>::to_vec)).unwrap();
        let x = randn::<T>(&[5, 12], 2);
        let what = format!("{} {method:?}", layer.describe());
        assert_close(&layer.forward(&x).unwrap(), &dense.forward(&x).unwrap(), eps, 12, &what);
        assert_eq!(layer.bias(), fc.bias());
        for stride in [1, 2] {
            let cv = conv::<T>(3, stride);
            let w = c.fit(cv.weight()).unwrap();
            let layer = Tensorized::from_conv_weight(&cv, &w).unwrap();
            let dense = Conv2d::new(w.reconstruct().unwrap(), cv.bias().map(<[T]>::to_vec))
                .unwrap()
                .with_stride(cv.stride())
                .unwrap()
                .with_padding(cv.padding())
                .unwrap();
            let x = randn::<T>(&[3, 6, 7, 6], 4);
            let what = format!("{} {method:?}", layer.describe());
            let y = layer.forward(&x).unwrap();
            assert_close(&y, &dense.forward(&x).unwrap(), eps, 54, &what);
            // The training pass computes the same output.
            let mut trained = layer.clone();
            assert_close(&trained.forward_train(&x).unwrap(), &y, eps, 54, &what);
        }
    }
}

#[test]
fn forward_equals_the_reconstructed_dense_layer_f64() {
    forward_matches_reconstruction::<f64>(f64::EPSILON);
}

#[test]
fn forward_equals_the_reconstructed_dense_layer_f32() {
    forward_matches_reconstruction::<f32>(f32::EPSILON as f64);
}

/// (2) At full ranks r-TK and r-TT reproduce the original layer; r-CP reproduces a weight of
/// exact CP rank 2 at rank 2 (CP has no "full rank" the fit reaches exactly).
#[test]
fn full_ranks_reproduce_the_original_layer() {
    let x = randn::<f64>(&[4, 12], 10);
    let xc = randn::<f64>(&[2, 6, 6, 5], 11);
    for method in [Method::RTucker { factors: 2 }, Method::RTt { factors: 2 }] {
        let full = Compress::new(method).ranks(&[1000]);
        let fc = linear::<f64>(12);
        let layer = Tensorized::from_linear(&fc, &full).unwrap();
        assert!(layer.rel_error() < 1e-12, "{}", layer.rel_error());
        assert_close(&layer.forward(&x).unwrap(), &fc.forward(&x).unwrap(), 1e-14, 12, "linear");
        for stride in [1, 2] {
            let cv = conv::<f64>(13, stride);
            let layer = Tensorized::from_conv(&cv, &full).unwrap();
            let want = cv.forward(&xc).unwrap();
            assert_close(&layer.forward(&xc).unwrap(), &want, 1e-14, 54, &layer.describe());
        }
    }
    let rcp = Compress::new(Method::RCp { factors: 2 }).ranks(&[2]).max_iter(500).tol(1e-14);
    let exact = |w: &Tensor<f64>| rcp.fit(w).unwrap().reconstruct().unwrap();
    let fc = linear::<f64>(14);
    let fc = Linear::new(exact(fc.weight()), fc.bias().map(<[f64]>::to_vec)).unwrap();
    let layer = Tensorized::from_linear(&fc, &rcp).unwrap();
    assert!(layer.rel_error() < 1e-8, "{}", layer.rel_error());
    let (y, want) = (layer.forward(&x).unwrap(), fc.forward(&x).unwrap());
    assert!(y.sub(&want).unwrap().norm() <= 1e-7 * want.norm());
    let cv = conv::<f64>(15, 2);
    let cv = Conv2d::new(exact(cv.weight()), cv.bias().map(<[f64]>::to_vec))
        .unwrap()
        .with_stride([2, 2])
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let layer = Tensorized::from_conv(&cv, &rcp).unwrap();
    assert!(layer.rel_error() < 1e-8, "{}", layer.rel_error());
    let (y, want) = (layer.forward(&xc).unwrap(), cv.forward(&xc).unwrap());
    assert!(y.sub(&want).unwrap().norm() <= 1e-7 * want.norm());
}

/// The parameters lent, by name.
fn param_names(layer: &mut dyn Layer<f64>) -> Vec<String> {
    let mut names = Vec::new();
    layer.visit_params(&mut |p| names.push(p.name.to_string()));
    names
}

/// (3) Input and every parameter gradient against central differences; gradients accumulate.
#[test]
fn backward_matches_finite_differences() {
    for method in METHODS {
        let c = Compress::new(method).budget(Budget::KeepFraction(0.4)).max_iter(10);
        let mut fc = Tensorized::from_linear(&linear::<f64>(20), &c).unwrap();
        check_gradients(&mut fc, &randn(&[3, 12], 21), 22);
        let names = param_names(&mut fc);
        assert_eq!(names.last().map(String::as_str), Some("bias"), "{names:?}");
        let stored: usize = {
            let mut n = 0;
            fc.visit_params(&mut |p| n += p.value.len());
            n
        };
        assert_eq!(stored, fc.num_params());
        for stride in [1, 2] {
            let mut cv = Tensorized::from_conv(&conv::<f64>(23, stride), &c).unwrap();
            check_gradients(&mut cv, &randn(&[2, 6, 4, 5], 24), 25);
        }
        // A second backward adds the same gradient again.
        let x = randn(&[2, 12], 26);
        let y = fc.forward_train(&x).unwrap();
        fc.visit_params(&mut |p| p.grad.fill(0.0));
        fc.backward(&y).unwrap();
        let once = grads_of(&mut fc);
        fc.backward(&y).unwrap();
        for (a, b) in grads_of(&mut fc).iter().zip(&once) {
            for (u, v) in a.iter().zip(b) {
                assert!((u - 2.0 * v).abs() <= 1e-12 * (1.0 + v.abs()));
            }
        }
    }
}

/// A large r-CP rank: the patch rows run in several tiles (forward and backward).
#[test]
fn r_cp_at_a_large_rank_runs_in_tiles() {
    let cv = conv::<f64>(27, 1);
    let c = Compress::new(Method::RCp { factors: 2 }).ranks(&[300]).max_iter(2);
    let w = c.fit(cv.weight()).unwrap();
    let mut layer = Tensorized::from_conv_weight(&cv, &w).unwrap();
    let dense = Conv2d::new(w.reconstruct().unwrap(), cv.bias().map(<[f64]>::to_vec))
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let x = randn::<f64>(&[3, 6, 5, 5], 28);
    let what = layer.describe();
    assert_close(&layer.forward(&x).unwrap(), &dense.forward(&x).unwrap(), f64::EPSILON, 54, &what);
    check_gradients_every(&mut layer, &x, 29, 37);
}

/// (4) An empty batch goes through forward and backward.
#[test]
fn an_empty_batch_works() {
    for method in METHODS {
        let c = Compress::new(method).budget(Budget::KeepFraction(0.5)).max_iter(5);
        let mut fc = Tensorized::from_linear(&linear::<f32>(30), &c).unwrap();
        let x = Tensor::<f32>::zeros(&[0, 12]).unwrap();
        assert_eq!(fc.forward(&x).unwrap().shape(), &[0, 18]);
        assert_eq!(fc.forward_train(&x).unwrap().shape(), &[0, 18]);
        let dx = fc.backward(&Tensor::zeros(&[0, 18]).unwrap()).unwrap();
        assert_eq!(dx.shape(), &[0, 12]);
        let mut cv = Tensorized::from_conv(&conv::<f32>(31, 2), &c).unwrap();
        let x = Tensor::<f32>::zeros(&[0, 6, 5, 5]).unwrap();
        assert_eq!(cv.output_shape(x.shape()).unwrap(), vec![0, 8, 3, 3]);
        let y = cv.forward_train(&x).unwrap();
        assert_eq!(y.shape(), &[0, 8, 3, 3]);
        assert_eq!(cv.backward(&y).unwrap().shape(), x.shape());
    }
}

/// (5) Bad inputs, ranks, budgets and layers give typed errors naming the layer.
#[test]
fn bad_shapes_and_ranks_are_typed_errors() {
    let fc = linear::<f64>(40);
    let cv = conv::<f64>(41, 1);
    for method in METHODS {
        let c = Compress::new(method).budget(Budget::KeepFraction(0.5)).max_iter(5);
        let mut layer = Tensorized::from_linear(&fc, &c).unwrap();
        let err = layer.forward(&randn(&[3, 11], 42)).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
        assert!(err.to_string().contains("12→18"), "{err}");
        assert!(matches!(
            layer.backward(&randn(&[3, 18], 43)),
            Err(Error::InvalidParameter { .. })
        ));
        layer.forward_train(&randn(&[3, 12], 44)).unwrap();
        assert!(matches!(layer.backward(&randn(&[2, 18], 45)), Err(Error::ShapeMismatch { .. })));
        let conv_layer = Tensorized::from_conv(&cv, &c).unwrap();
        for bad in [&[2, 5, 6, 6][..], &[2, 6, 6], &[2, 6, 1, 0]] {
            let err = conv_layer.output_shape(bad).unwrap_err();
            assert!(matches!(err, Error::ShapeMismatch { .. }), "{bad:?}: {err}");
            assert!(err.to_string().contains("6→8 3×3"), "{err}");
        }
        // Ranks: zero, a list of the wrong length.
        for ranks in [&[0][..], &[2, 2, 2, 2, 2, 2, 2]] {
            let err =
                Tensorized::from_linear(&fc, &Compress::new(method).ranks(ranks)).unwrap_err();
            assert!(matches!(err, Error::InvalidRank { .. }), "{ranks:?}: {err}");
            assert!(err.to_string().contains("linear 12→18"), "{err}");
        }
        let err =
            Tensorized::from_conv(&cv, &Compress::new(method).budget(Budget::KeepFraction(0.0)))
                .unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { name: "budget", .. }), "{err}");
        let grouped =
            Conv2d::new(randn::<f64>(&[8, 3, 3, 3], 46), None).unwrap().with_groups(2).unwrap();
        let err = Tensorized::from_conv(&grouped, &c).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { name: "groups", .. }), "{err}");
        // A weight compressed from another layer's shape.
        let other = c.fit(&randn::<f64>(&[18, 10], 47)).unwrap();
        assert!(matches!(
            Tensorized::from_linear_weight(&fc, &other),
            Err(Error::ShapeMismatch { .. })
        ));
    }
    // A Tucker rank above its mode size.
    let tk = Compress::new(Method::RTucker { factors: 2 }).ranks(&[2, 2, 2, 7]);
    assert!(matches!(Tensorized::from_linear(&fc, &tk), Err(Error::InvalidRank { .. })));
    // Not a tensorized method; factors = 0.
    let svd = Compress::new(Method::Svd);
    assert!(matches!(
        Tensorized::from_linear(&fc, &svd),
        Err(Error::InvalidParameter { name: "method", .. })
    ));
    let zero = Compress::new(Method::RTt { factors: 0 });
    assert!(Tensorized::from_conv(&cv, &zero).is_err());
}

/// One input and one output channel: every method still builds a layer that computes the
/// convolution by its reconstructed kernel.
#[test]
fn single_channel_convolutions() {
    let cv = Conv2d::new(randn::<f64>(&[1, 1, 2, 2], 40), Some(vec![0.5]))
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let x = randn::<f64>(&[2, 1, 4, 3], 41);
    for method in METHODS {
        let compress = Compress::new(method).budget(Budget::KeepFraction(1.0)).max_iter(20);
        let weight = compress.fit(cv.weight()).unwrap();
        let layer = Tensorized::from_conv_weight(&cv, &weight).unwrap();
        let dense = Conv2d::new(weight.reconstruct().unwrap(), Some(vec![0.5]))
            .unwrap()
            .with_padding([1, 1])
            .unwrap();
        let (y, want) = (layer.forward(&x).unwrap(), dense.forward(&x).unwrap());
        assert!(y.sub(&want).unwrap().norm() <= 1e-10 * (1.0 + want.norm()), "{method:?}");
    }
}
