//! The pipelines beyond one-shot on small synthetic models, in f32 and f64: data-aware ranks
//! and factors (output errors against weight-only ones), fine-tuning, MUSCO's iterations and
//! TSPC's sequential data reconstruction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tensorize::compress::{
    FineTune, LayerMethod, Musco, MuscoStop, MuscoTarget, OneShot, Reconstruction, Sizing,
};
use tensorize::nn::{
    evaluate, Adam, Conv2d, DecomposedLayer, Flatten, Layer, Linear, ParamMut, Relu, Sequential,
    Sgd, TensorDataset, Train,
};
use tensorize::{Budget, Scalar, Tensor};

/// `A·B + noise·N` of shape `m × n`: rank `r` plus a little noise (what a trained layer's
/// weight looks like to EVBMF).
fn low_rank<T: Scalar>(m: usize, n: usize, r: usize, noise: f64, seed: u64) -> Tensor<T> {
    let a = Tensor::<f64>::random_normal(&[m, r], seed).unwrap();
    let b = Tensor::<f64>::random_normal(&[r, n], seed + 1).unwrap();
    let e = Tensor::<f64>::random_normal(&[m, n], seed + 2).unwrap();
    let (a, b, e) = (a.as_slice(), b.as_slice(), e.as_slice());
    let scale = 1.0 / (r as f64 * n as f64).sqrt();
    Tensor::from_fn(&[m, n], |i| {
        let s: f64 = (0..r).map(|k| a[i[0] * r + k] * b[k * n + i[1]]).sum();
        T::of(scale * s + noise * scale * e[i[0] * n + i[1]])
    })
    .unwrap()
}

/// conv 3→8 3×3 p1 → ReLU → conv 8→12 3×3 → ReLU → flatten → linear 192→10, on 6×6 images.
fn conv_model<T: Scalar>(seed: u64) -> Sequential<T> {
    let conv1 = low_rank::<T>(8, 27, 4, 0.2, seed).reshape(&[8, 3, 3, 3]).unwrap();
    let conv2 = low_rank::<T>(12, 72, 5, 0.2, seed + 10).reshape(&[12, 8, 3, 3]).unwrap();
    Sequential::new()
        .push_named(
            "conv1",
            Conv2d::new(conv1, Some(vec![T::of(0.1); 8])).unwrap().with_padding([1, 1]).unwrap(),
        )
        .push(Relu::new())
        .push_named("conv2", Conv2d::new(conv2, Some(vec![T::of(0.05); 12])).unwrap())
        .push(Relu::new())
        .push(Flatten::new())
        .push_named("fc", Linear::new(low_rank(10, 192, 6, 0.3, seed + 20), None).unwrap())
}

/// Inputs whose channels are correlated (a response with a decaying spectrum).
fn images<T: Scalar>(n: usize, seed: u64) -> Tensor<T> {
    let base = Tensor::<f64>::random_normal(&[n, 1, 6, 6], seed).unwrap();
    let noise = Tensor::<f64>::random_normal(&[n, 3, 6, 6], seed + 1).unwrap();
    Tensor::from_fn(&[n, 3, 6, 6], |i| {
        let b = base.as_slice()[(i[0] * 6 + i[2]) * 6 + i[3]];
        T::of(
            b * (i[1] + 1) as f64
                + 0.3 * noise.as_slice()[((i[0] * 3 + i[1]) * 6 + i[2]) * 6 + i[3]],
        )
    })
    .unwrap()
}

/// The output error of every layer `one_shot` replaces in `conv_model(1)`, measured on
/// `batch`: data-aware (from the report) or weight-only (by running the layers).
fn output_errors<T: Scalar>(one_shot: &OneShot, batch: &Tensor<T>, data_aware: bool) -> Vec<f64> {
    let mut model = conv_model::<T>(1);
    if data_aware {
        let report = one_shot.calibrate(batch).apply(&mut model).unwrap();
        return report.layers.iter().map(|l| l.output_error.unwrap()).collect();
    }
    let reference = conv_model::<T>(1);
    let report = one_shot.apply(&mut model, batch.shape()).unwrap();
    report.layers.iter().map(|l| layer_output_error(&reference, &model, &l.name, batch)).collect()
}

/// `‖f̂(X) − f(X)‖ / ‖W·X‖` of the layer `name` of `compressed` against `reference`, on the
/// inputs the reference model gives it.
fn layer_output_error<T: Scalar>(
    reference: &Sequential<T>,
    compressed: &Sequential<T>,
    name: &str,
    batch: &Tensor<T>,
) -> f64 {
    let at = reference.index_of(name).unwrap();
    let x = reference.layers()[..at].iter().fold(batch.clone(), |h, l| l.forward(&h).unwrap());
    let dense = reference.layers()[at].forward(&x).unwrap();
    let new = compressed.layers()[at].forward(&x).unwrap();
    // The response without the bias: the dense layer at zero input gives the bias alone.
    let bias_only = reference.layers()[at].forward(&Tensor::zeros(x.shape()).unwrap()).unwrap();
    new.sub(&dense).unwrap().norm().as_f64() / dense.sub(&bias_only).unwrap().norm().as_f64()
}

fn data_aware_svd_beats_weight_svd_on_outputs<T: Scalar>() {
    let batch = images::<T>(40, 5);
    for ranks in [vec![1, 2, 3], vec![2, 4, 5], vec![3, 6, 8]] {
        let one_shot =
            OneShot::new(&["conv1", "conv2", "fc"], LayerMethod::Svd, Sizing::Ranks(ranks.clone()));
        let aware = output_errors(&one_shot, &batch, true);
        let weight = output_errors(&one_shot, &batch, false);
        // Eckart–Young on the response: U_r U_rᵀ Y is the best rank-r output.
        let tol = 1e3 * T::epsilon().as_f64();
        for k in 0..3 {
            assert!(
                aware[k] <= weight[k] + tol,
                "ranks {ranks:?}, layer {k}: {aware:?} vs {weight:?}"
            );
        }
    }
}

#[test]
fn data_aware_svd_beats_weight_svd_on_outputs_f32_f64() {
    data_aware_svd_beats_weight_svd_on_outputs::<f32>();
    data_aware_svd_beats_weight_svd_on_outputs::<f64>();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// An ε bounds the output error on the calibration batch, and the report's output error is
    /// what running the layers gives.
    #[test]
    fn eps_bounds_the_output_error(eps in 0.02f64..0.9, seed in 0u64..1000) {
        let batch = images::<f64>(24, seed);
        let mut model = conv_model::<f64>(seed);
        let reference = conv_model::<f64>(seed);
        let one_shot = OneShot::new(&["conv1", "conv2", "fc"], LayerMethod::Svd, Sizing::Error(eps));
        let report = one_shot.calibrate(&batch).apply(&mut model).unwrap();
        for l in &report.layers {
            let e = l.output_error.unwrap();
            prop_assert!(e <= eps + 1e-9, "{}: {e} > {eps}", l.name);
            let measured = layer_output_error(&reference, &model, &l.name, &batch);
            prop_assert!((measured - e).abs() <= 1e-9 * (1.0 + e), "{measured} vs {e}");
            prop_assert!(l.rel_error >= 0.0 && l.rel_error <= 1.0 + 1e-12);
        }
    }
}

#[test]
fn data_aware_budget_and_tucker2() {
    let batch = images::<f32>(32, 3);
    let mut model = conv_model::<f32>(2);
    let budget =
        OneShot::new(&["conv2", "fc"], LayerMethod::Svd, Sizing::Budget(Budget::KeepFraction(0.3)));
    let report = budget.calibrate(&batch).apply(&mut model).unwrap();
    // Factor weights (without biases) within the budget: 30% of 12·72 + 10·192.
    let weights: usize = report.layers[0].params.1 - 12 + report.layers[1].params.1;
    assert!(weights as f64 <= 0.3 * (12.0 * 72.0 + 10.0 * 192.0), "{report}");
    assert!(report.to_string().contains("output rel. error"));
    // Tucker-2, data-aware on the output channels: at full ranks it is exact.
    let mut model = conv_model::<f64>(2);
    let full = OneShot::new(&["conv2"], LayerMethod::Tucker2, Sizing::Ranks(vec![12]));
    let report = full.calibrate(&images::<f64>(32, 3)).apply(&mut model).unwrap();
    assert!(report.layers[0].rel_error < 1e-10 && report.layers[0].output_error.unwrap() < 1e-10);
    let mut model = conv_model::<f64>(2);
    let low = OneShot::new(&["conv2"], LayerMethod::Tucker2, Sizing::Ranks(vec![4]));
    let report = low.calibrate(&images::<f64>(32, 3)).apply(&mut model).unwrap();
    let l = &report.layers[0];
    assert!(l.after.starts_with("tucker2-conv 8→12 3×3 r4/4"), "{report}");
    assert!(l.output_error.unwrap() > 0.0 && l.output_error.unwrap() < 1.0);
}

/// Two well-separated classes of 30-dimensional vectors.
fn blobs<T: Scalar>(n: usize, seed: u64) -> TensorDataset<T> {
    let x = Tensor::<f64>::random_normal(&[n, 30], seed).unwrap();
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let x = Tensor::from_fn(&[n, 30], |i| {
        let shift = if labels[i[0]] == 1 { 1.0 } else { -1.0 };
        T::of(x.as_slice()[i[0] * 30 + i[1]] + shift * (i[1] % 3) as f64)
    })
    .unwrap();
    TensorDataset::new(x, labels, 2).unwrap()
}

fn mlp<T: Scalar>(seed: u64) -> Sequential<T> {
    Sequential::new()
        .push_named(
            "fc1",
            Linear::new(low_rank(40, 30, 3, 0.05, seed), Some(vec![T::zero(); 40])).unwrap(),
        )
        .push(Relu::new())
        .push_named("fc2", Linear::new(low_rank(2, 40, 2, 0.05, seed + 5), None).unwrap())
}

#[test]
fn fine_tuning_reports_before_and_after() {
    let data = blobs::<f32>(128, 1);
    let mut model = mlp::<f32>(3);
    OneShot::new(&["fc1"], LayerMethod::Svd, Sizing::Ranks(vec![2]))
        .apply(&mut model, &[1, 30])
        .unwrap();
    let mut steps = 0;
    let report = FineTune::new(Train::new(3, 16).unwrap().seed(2))
        .run(&mut model, &mut Sgd::new(0.05).unwrap(), &data, &data, &mut |_| steps += 1)
        .unwrap();
    assert_eq!((report.train.steps, steps), (24, 24));
    assert_eq!(report.after.correct, evaluate(&model, &data, 64).unwrap().correct);
    assert!(
        report.after.accuracy() > 0.9 && report.after.accuracy() >= report.before.accuracy(),
        "{report:?}"
    );
}

fn musco_shrinks_ranks_without_new_layers<T: Scalar>() {
    let data = blobs::<T>(96, 4);
    let mut model = mlp::<T>(7);
    let layers_before = model.layers().len();
    let musco = Musco::new(&["fc1"], FineTune::new(Train::new(1, 32).unwrap().seed(1)))
        .min_rank(2)
        .max_iterations(4);
    let mut calls = 0;
    let report = musco
        .run(&mut model, &[1, 30], &Sgd::new(0.02).unwrap(), &data, &data, &mut |_, _| calls += 1)
        .unwrap();
    assert_eq!(model.layers().len(), layers_before);
    assert!(report.iterations.len() >= 2, "{report:?}");
    assert_eq!(calls, report.iterations.iter().map(|i| i.steps).sum::<usize>());
    // EVBMF sees rank 3 in a 40 × 30 weight: r = max(⌊30 − 0.8·27⌋, 2) = 8 first, then smaller.
    assert_eq!(report.iterations[0].ranks, vec![vec![8]]);
    let ranks: Vec<usize> = report.iterations.iter().map(|i| i.ranks[0][0]).collect();
    assert!(ranks.windows(2).all(|w| w[1] < w[0]), "{ranks:?}");
    let params: Vec<usize> = report.iterations.iter().map(|i| i.params).collect();
    assert!(params.windows(2).all(|w| w[1] < w[0]) && params[0] < report.dense_params);
    assert_eq!(report.last_kept().unwrap().params, model.num_params());
    match model.layers()[0].as_decomposed() {
        Some(DecomposedLayer::SvdLinear(s)) => assert_eq!(s.rank(), *ranks.last().unwrap()),
        _ => panic!("fc1 should be an SVD layer"),
    }
    assert!(matches!(report.stop, MuscoStop::Converged | MuscoStop::MaxIterations));
}

#[test]
fn musco_shrinks_ranks_without_new_layers_f32_f64() {
    musco_shrinks_ranks_without_new_layers::<f32>();
    musco_shrinks_ranks_without_new_layers::<f64>();
}

#[test]
fn musco_tucker2_folds_the_core_factors_and_stops_at_the_target() {
    let batch = images::<f32>(48, 9);
    let labels: Vec<usize> = (0..48).map(|i| i % 10).collect();
    let data = TensorDataset::new(batch, labels, 10).unwrap();
    let mut model = conv_model::<f32>(4);
    let dense_params = model.num_params();
    let musco = Musco::new(&["conv2"], FineTune::new(Train::new(1, 16).unwrap()))
        .min_rank(2)
        .max_iterations(6)
        .target(MuscoTarget::Params(dense_params - 1));
    let report = musco
        .run(&mut model, &[1, 3, 6, 6], &Sgd::new(0.001).unwrap(), &data, &data, &mut |_, _| {})
        .unwrap();
    // The first decomposition already meets a target one parameter below the dense model.
    assert_eq!((report.stop, report.iterations.len()), (MuscoStop::Target, 1), "{report:?}");
    assert!(model.layers()[2].describe().starts_with("tucker2-conv 8→12 3×3"));
    // Without a target the core is decomposed again: three convolutions, smaller ranks.
    let mut model = conv_model::<f32>(4);
    let musco = Musco::new(&["conv2"], FineTune::new(Train::new(1, 16).unwrap()))
        .min_rank(2)
        .max_iterations(3);
    let report = musco
        .run(&mut model, &[1, 3, 6, 6], &Sgd::new(0.001).unwrap(), &data, &data, &mut |_, _| {})
        .unwrap();
    assert!(report.iterations.len() >= 2, "{report:?}");
    let [first, second] = [&report.iterations[0].ranks[0], &report.iterations[1].ranks[0]];
    assert!(second[0] <= first[0] && second[1] <= first[1] && second != first, "{report:?}");
    match model.layers()[2].as_decomposed() {
        Some(DecomposedLayer::Tucker2(t)) => {
            let [reduce, core, restore] = t.parts();
            assert_eq!(reduce.weight().shape()[1], 8);
            assert_eq!(restore.weight().shape()[0], 12);
            assert_eq!(core.weight().shape()[2..], [3, 3]);
        }
        _ => panic!("conv2 should stay one Tucker-2 layer"),
    }
}

#[test]
fn musco_undoes_an_iteration_below_the_floor() {
    let eval = blobs::<f64>(64, 2);
    // Fine-tuning on flipped labels ruins the model: the first iteration falls below the floor
    // (the dense accuracy) and is undone, leaving the dense model exactly as it was.
    let flipped = TensorDataset::new(
        eval.inputs().clone(),
        eval.labels().iter().map(|&l| 1 - l).collect(),
        2,
    )
    .unwrap();
    let mut model = mlp::<f64>(3);
    let dense = evaluate(&model, &eval, 64).unwrap().accuracy();
    let musco = Musco::new(&["fc1"], FineTune::new(Train::new(5, 8).unwrap()))
        .min_rank(2)
        .accuracy_floor(dense);
    let before = (model.describe(), model.forward(eval.inputs()).unwrap());
    let report = musco
        .run(&mut model, &[1, 30], &Sgd::new(0.1).unwrap(), &flipped, &eval, &mut |_, _| {})
        .unwrap();
    assert_eq!(report.stop, MuscoStop::AccuracyFloor, "{report:?}");
    assert_eq!(report.iterations.len(), 1);
    assert!(!report.iterations[0].kept && report.last_kept().is_none());
    assert_eq!((model.describe(), model.forward(eval.inputs()).unwrap()), before);
}

fn reconstruction_lowers_every_stage_error<T: Scalar>() {
    let original = mlp::<T>(11);
    let mut compressed = mlp::<T>(11);
    OneShot::new(&["fc1", "fc2"], LayerMethod::Svd, Sizing::Ranks(vec![2, 1]))
        .apply(&mut compressed, &[1, 30])
        .unwrap();
    // Factors knocked off their optimum (as after a crude decomposition): much to recover.
    compressed.visit_params(&mut |p: ParamMut<'_, T>| {
        p.value.iter_mut().for_each(|v| *v *= T::of(0.6));
    });
    let data = blobs::<T>(128, 5);
    let mut seen = vec![0, 0];
    let report = Reconstruction::new(&["fc1", "fc2"], 3, 16)
        .unwrap()
        .seed(3)
        .run(&original, &mut compressed, &Adam::new(3e-3).unwrap(), &data, &mut |s, _| seen[s] += 1)
        .unwrap();
    assert_eq!(seen, vec![24, 24]);
    assert_eq!((report[0].layers.clone(), report[1].layers.clone()), (0..1, 1..3));
    for stage in &report {
        assert!(
            stage.last_rel_mse < stage.first_rel_mse,
            "{} {report:?}",
            std::any::type_name::<T>()
        );
    }
    // Only the stage's own parameters moved in stage 1: the original is untouched.
    assert_eq!(original.describe(), mlp::<T>(11).describe());
}

#[test]
fn reconstruction_lowers_every_stage_error_f32_f64() {
    reconstruction_lowers_every_stage_error::<f32>();
    reconstruction_lowers_every_stage_error::<f64>();
}
