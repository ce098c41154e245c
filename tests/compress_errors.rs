//! Bad input to the pipelines: a typed error that says which, before any training starts and
//! without changing the model — a budget or target no ranks can meet, an accuracy floor above
//! the uncompressed accuracy, a layer name not in the model, mismatched models or stages, a
//! method without a data-aware form, and a data folder that is missing or not IDX.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::compress::{
    FineTune, LayerMethod, Musco, MuscoTarget, OneShot, Reconstruction, Sizing,
};
use tensorize::data::{Mnist, MnistSplit};
use tensorize::nn::{Adam, Layer, Linear, Relu, Sequential, Sgd, TensorDataset, Train};
use tensorize::{Budget, Error, Tensor};

fn mlp() -> Sequential<f64> {
    Sequential::new()
        .push_named("fc1", Linear::new(Tensor::random_normal(&[12, 8], 1).unwrap(), None).unwrap())
        .push(Relu::new())
        .push_named("fc2", Linear::new(Tensor::random_normal(&[3, 12], 2).unwrap(), None).unwrap())
}

fn data() -> TensorDataset<f64> {
    let x = Tensor::random_normal(&[24, 8], 3).unwrap();
    TensorDataset::new(x, (0..24).map(|i| i % 3).collect(), 3).unwrap()
}

/// Fails the test if the callback runs: no training step may happen before the error.
fn no_training(_: usize, _: &tensorize::nn::Progress) {
    panic!("a training step ran before the error");
}

fn fine_tune() -> FineTune {
    FineTune::new(Train::new(1, 8).unwrap())
}

#[test]
fn musco_refuses_before_training() {
    let (d, sgd) = (data(), Sgd::new(0.1).unwrap());
    let mut model = mlp();
    let before = (model.describe(), model.forward(d.inputs()).unwrap());
    let dense = tensorize::nn::evaluate(&model, &d, 8).unwrap().accuracy();
    let cases: Vec<(Musco, &str)> = vec![
        (Musco::new(&["fc9"], fine_tune()), "\"fc9\""),
        (Musco::new(&["1"], fine_tune()), "relu"),
        (Musco::new(&["fc1"], fine_tune()).max_iterations(0), "max_iterations"),
        (Musco::new(&["fc1"], fine_tune()).factor(1.5), "factor"),
        (Musco::new(&["fc1"], fine_tune()).accuracy_floor(1.5), "accuracy in [0, 1]"),
        (
            Musco::new(&["fc1"], fine_tune()).accuracy_floor((dense + 0.01).min(1.0)),
            "the uncompressed model's accuracy is",
        ),
        // fc1 at rank 8 alone keeps 8·(12 + 8) = 160 parameters, fc2 36.
        (Musco::new(&["fc1"], fine_tune()).target(MuscoTarget::Params(150)), "min_rank 8"),
        (Musco::new(&["fc1"], fine_tune()).target(MuscoTarget::Flops(10.0)), "FLOPs"),
    ];
    for (musco, says) in cases {
        let err = musco.run(&mut model, &[1, 8], &sgd, &d, &d, &mut no_training).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err} should say {says}");
        assert_eq!((model.describe(), model.forward(d.inputs()).unwrap()), before);
    }
    // A floor of exactly the dense accuracy is allowed.
    let ok = Musco::new(&["fc1"], fine_tune()).accuracy_floor(dense).max_iterations(1);
    assert!(ok.run(&mut model, &[1, 8], &sgd, &d, &d, &mut |_, _| {}).is_ok());
}

#[test]
fn one_shot_refuses_impossible_budgets_and_methods_without_data_aware_form() {
    let mut model = mlp();
    let before = model.describe();
    // Rank 1 everywhere already costs 12 + 8 + 3 + 12 = 35 parameters.
    let tiny = OneShot::new(&["fc1", "fc2"], LayerMethod::Svd, Sizing::Budget(Budget::Params(30)));
    let err = tiny.apply(&mut model, &[1, 8]).unwrap_err();
    assert!(err.to_string().contains("more than the budget 30"), "{err}");
    let batch = Tensor::random_normal(&[16, 8], 4).unwrap();
    let err = tiny.calibrate(&batch).apply(&mut model).unwrap_err();
    assert!(err.to_string().contains("more than the budget 30"), "{err}");
    let cp = OneShot::new(&["fc1"], LayerMethod::Cp, Sizing::Ranks(vec![2]));
    let err = cp.calibrate(&batch).apply(&mut model).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
    let missing = OneShot::new(&["fc3"], LayerMethod::Svd, Sizing::Ranks(vec![2]));
    let err = missing.calibrate(&batch).apply(&mut model).unwrap_err();
    assert!(err.to_string().contains("\"fc3\""), "{err}");
    // A data-aware rank above what the batch can show: 4 samples, rank 6.
    let few = Tensor::random_normal(&[4, 8], 5).unwrap();
    let high = OneShot::new(&["fc1"], LayerMethod::Svd, Sizing::Ranks(vec![6]));
    let err = high.calibrate(&few).apply(&mut model).unwrap_err();
    assert!(matches!(err, Error::InvalidRank { .. }) && err.to_string().contains("fc1"), "{err}");
    let nan = Tensor::from_vec(&[1, 8], vec![f64::NAN; 8]).unwrap();
    assert!(matches!(high.calibrate(&nan).apply(&mut model), Err(Error::NonFinite { .. })));
    assert_eq!(model.describe(), before);
}

#[test]
fn reconstruction_refuses_before_training() {
    let original = mlp();
    let mut compressed = mlp();
    let adam = Adam::new(1e-3).unwrap();
    let d = data();
    assert!(Reconstruction::new(&[], 1, 8).is_err());
    assert!(Reconstruction::new(&["fc1"], 0, 8).is_err());
    assert!(Reconstruction::new(&["fc1"], 1, 0).is_err());
    let out_of_order = Reconstruction::new(&["fc2", "fc1"], 1, 8).unwrap();
    let err =
        out_of_order.run(&original, &mut compressed, &adam, &d, &mut no_training).unwrap_err();
    assert!(err.to_string().contains("model's order"), "{err}");
    let missing = Reconstruction::new(&["fc7"], 1, 8).unwrap();
    let err = missing.run(&original, &mut compressed, &adam, &d, &mut no_training).unwrap_err();
    assert!(err.to_string().contains("\"fc7\""), "{err}");
    let other = Sequential::new()
        .push_named("fc1", Linear::new(Tensor::random_normal(&[3, 8], 1).unwrap(), None).unwrap());
    let ok = Reconstruction::new(&["fc1"], 1, 8).unwrap();
    let err = ok.run(&other, &mut compressed, &adam, &d, &mut no_training).unwrap_err();
    assert!(err.to_string().contains("the same layer names"), "{err}");
}

#[test]
fn a_data_folder_that_is_missing_or_not_idx_is_named() {
    let missing = std::env::temp_dir().join("tensorize-compress-errors-no-such-folder");
    let err = Mnist::load(&missing, MnistSplit::Train).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    // A folder whose files have the right names but are not IDX.
    let dir =
        std::env::temp_dir().join(format!("tensorize-compress-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), b"hello, not an IDX file").unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), b"nor this").unwrap();
    let err = Mnist::load(&dir, MnistSplit::Test).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("t10k-images-idx3-ubyte"), "{err}");
}

#[test]
fn factor_layers_refuse_parts_that_do_not_chain() {
    use tensorize::nn::{Conv2d, SvdConv, SvdLinear, Tucker2Conv};
    let lin = |o: usize, i: usize, bias: bool| {
        Linear::<f32>::new(Tensor::zeros(&[o, i]).unwrap(), bias.then(|| vec![0.0; o])).unwrap()
    };
    let conv = |o: usize, i: usize, k: usize, bias: bool| {
        Conv2d::<f32>::new(Tensor::zeros(&[o, i, k, k]).unwrap(), bias.then(|| vec![0.0; o]))
            .unwrap()
    };
    assert!(SvdLinear::from_parts(lin(3, 8, false), lin(5, 3, true), 0.1).is_ok());
    let err = SvdLinear::from_parts(lin(3, 8, false), lin(5, 4, true), 0.1).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let err = SvdLinear::from_parts(lin(3, 8, true), lin(5, 3, true), 0.1).unwrap_err();
    assert!(err.to_string().contains("project"), "{err}");
    assert!(SvdConv::from_parts(conv(3, 4, 3, false), conv(6, 3, 1, true), 0.1).is_ok());
    let err = SvdConv::from_parts(conv(3, 4, 3, false), conv(6, 3, 3, true), 0.1).unwrap_err();
    assert!(err.to_string().contains("expand"), "{err}");
    let ok = Tucker2Conv::from_parts(
        conv(2, 4, 1, false),
        conv(3, 2, 3, false),
        conv(6, 3, 1, true),
        0.2,
    )
    .unwrap();
    assert_eq!((ok.ranks(), ok.rel_error()), ((3, 2), 0.2));
    let err = Tucker2Conv::from_parts(
        conv(2, 4, 1, false),
        conv(3, 5, 3, false),
        conv(6, 3, 1, true),
        0.2,
    )
    .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let err = Tucker2Conv::from_parts(
        conv(2, 4, 1, true),
        conv(3, 2, 3, false),
        conv(6, 3, 1, true),
        0.2,
    )
    .unwrap_err();
    assert!(err.to_string().contains("reduce"), "{err}");
}
