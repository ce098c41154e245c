//! The one-shot pipeline on the pretrained MNIST CNN: a budget split by the allocator, ranks,
//! an error ε; its report against the model; and every bad request refused before anything
//! changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use tensorize::compress::{LayerMethod, OneShot, Sizing};
use tensorize::data::{MnistCnn, MNIST_CNN_FILE};
use tensorize::nn::{Layer, Sequential};
use tensorize::{Budget, Error, Tensor};

const INPUT: [usize; 4] = [1, 1, 28, 28];

fn cnn() -> (MnistCnn<f32>, Sequential<f32>) {
    let cnn = MnistCnn::<f32>::load(data_files::find_data_file(MNIST_CNN_FILE).unwrap()).unwrap();
    let model = cnn.model().unwrap();
    (cnn, model)
}

#[test]
fn a_budget_over_conv2_and_fc1() {
    let (_, mut model) = cnn();
    let dense = cnn().1;
    let one_shot =
        OneShot::new(&["conv2", "fc1"], LayerMethod::Svd, Sizing::Budget(Budget::CompressBy(5.0)));
    let report = one_shot.apply(&mut model, &INPUT).unwrap();
    let [conv2, fc1] = [&report.layers[0], &report.layers[1]];
    assert_eq!((conv2.name.as_str(), fc1.name.as_str()), ("conv2", "fc1"));
    assert!(conv2.after.starts_with("svd-conv") && fc1.after.starts_with("svd-linear"));
    // The two layers' weights within a fifth of their dense count (the biases stay).
    let weights_after = conv2.params.1 - 64 + fc1.params.1 - 128;
    assert!(5 * weights_after <= 64 * 288 + 128 * 3136, "{report}");
    assert_eq!(report.params, (421_642, model.num_params()));
    assert_eq!(
        report.params.0 - report.params.1,
        conv2.params.0 + fc1.params.0 - conv2.params.1 - fc1.params.1
    );
    assert!(
        report.flops.1 < report.flops.0
            && (report.flops.0 - dense.flops(&INPUT).unwrap()).abs() < 1.0
    );
    for l in &report.layers {
        assert!(l.rel_error > 0.0 && l.rel_error < 1.0 && l.flops.1 < l.flops.0, "{report}");
    }
    assert!(report.to_string().contains("| conv2 | conv2d 32→64 3×3 s1 p1 | svd-conv"));
    // The compressed model still classifies: the same logits shape, close to the dense ones.
    let x = Tensor::<f32>::random_normal(&[2, 1, 28, 28], 1).unwrap();
    assert_eq!(model.forward(&x).unwrap().shape(), &[2, 10]);
}

#[test]
fn ranks_and_errors_per_method() {
    let (_, mut model) = cnn();
    let report = OneShot::new(&["conv2"], LayerMethod::Tucker2, Sizing::Ranks(vec![100]))
        .apply(&mut model, &INPUT)
        .unwrap();
    // Rank 100 is clipped to each mode: the full Tucker-2 reproduces the kernel.
    assert!(
        report.layers[0].after.contains("r64/32") && report.layers[0].rel_error < 1e-5,
        "{report}"
    );
    let (_, mut model) = cnn();
    let report = OneShot::new(&["conv2"], LayerMethod::Tt, Sizing::Error(0.4))
        .apply(&mut model, &INPUT)
        .unwrap();
    assert!(
        report.layers[0].rel_error <= 0.4 && report.layers[0].params.1 < report.layers[0].params.0
    );
    let (_, mut model) = cnn();
    let report = OneShot::new(&["fc1", "conv2"], LayerMethod::Svd, Sizing::Error(0.5))
        .apply(&mut model, &INPUT)
        .unwrap();
    assert!(report.layers.iter().all(|l| l.rel_error <= 0.5));
    let (_, mut model) = cnn();
    let report = OneShot::new(&["conv2"], LayerMethod::Cp, Sizing::Ranks(vec![12]))
        .apply(&mut model, &INPUT)
        .unwrap();
    assert!(report.layers[0].after.starts_with("cp-conv 32→64 3×3 r12"), "{report}");
}

#[test]
fn bad_requests_change_nothing() {
    let (_, mut model) = cnn();
    let before = (model.describe(), model.num_params());
    let cases: Vec<(OneShot, &str)> = vec![
        (OneShot::new(&[], LayerMethod::Svd, Sizing::Ranks(vec![])), "at least one layer"),
        (OneShot::new(&["fc9"], LayerMethod::Svd, Sizing::Ranks(vec![4])), "\"fc9\""),
        (OneShot::new(&["fc1", "fc1"], LayerMethod::Svd, Sizing::Ranks(vec![4, 4])), "twice"),
        (OneShot::new(&["1"], LayerMethod::Svd, Sizing::Ranks(vec![4])), "relu"),
        (OneShot::new(&["fc1"], LayerMethod::Cp, Sizing::Ranks(vec![4])), "linear 3136→128"),
        (
            OneShot::new(&["fc1", "conv2"], LayerMethod::Svd, Sizing::Ranks(vec![4])),
            "one rank per layer",
        ),
        (
            OneShot::new(&["conv2"], LayerMethod::Cp, Sizing::Budget(Budget::CompressBy(2.0))),
            "a budget with SVD",
        ),
        (
            OneShot::new(&["conv2"], LayerMethod::Cp, Sizing::Error(0.1)),
            "an error ε with SVD or TT",
        ),
        (OneShot::new(&["fc1"], LayerMethod::Svd, Sizing::Error(-1.0)), "eps"),
    ];
    for (one_shot, says) in cases {
        let err = one_shot.apply(&mut model, &INPUT).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
        assert!(err.to_string().contains(says), "{err} should say {says}");
        assert_eq!((model.describe(), model.num_params()), before);
    }
    // Ranks out of range, an impossible budget, an input the model cannot take: typed errors,
    // and still nothing replaced.
    let too_big = OneShot::new(&["conv2", "fc1"], LayerMethod::Svd, Sizing::Ranks(vec![8, 129]));
    let err = too_big.apply(&mut model, &INPUT).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRank { .. }) && err.to_string().contains("linear 3136→128"),
        "{err}"
    );
    let tiny = OneShot::new(&["fc1"], LayerMethod::Svd, Sizing::Budget(Budget::Params(10)));
    assert!(tiny.apply(&mut model, &INPUT).is_err());
    let ok = OneShot::new(&["fc1"], LayerMethod::Svd, Sizing::Ranks(vec![8]));
    assert!(matches!(ok.apply(&mut model, &[1, 3, 28, 28]), Err(Error::ShapeMismatch { .. })));
    assert_eq!((model.describe(), model.num_params()), before);
}
