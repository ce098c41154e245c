//! Dense layers' forward passes against their definitions (naive loops), their shape errors, and
//! the pretrained MNIST CNN run as a `Sequential` model on real test images.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use proptest::prelude::*;
use tensorize::data::{Mnist, MnistCnn, MNIST_CNN_FILE, MNIST_NORMALIZATION};
use tensorize::nn::{Conv2d, Evaluation, Flatten, Layer, Linear, MaxPool2d, Relu, Sequential};
use tensorize::{Error, Tensor};

/// The convolution by its definition: PyTorch's cross-correlation with zero padding and groups.
fn naive_conv(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    bias: &[f64],
    stride: [usize; 2],
    pad: [usize; 2],
    groups: usize,
) -> Tensor<f64> {
    let ([b, c, h, wd], [o, cg, kh, kw]) =
        (<[usize; 4]>::try_from(x.shape()).unwrap(), <[usize; 4]>::try_from(w.shape()).unwrap());
    let oh = (h + 2 * pad[0] - kh) / stride[0] + 1;
    let ow = (wd + 2 * pad[1] - kw) / stride[1] + 1;
    let og = o / groups;
    assert_eq!(cg * groups, c);
    Tensor::from_fn(&[b, o, oh, ow], |i| {
        let (n, oc, y, xx) = (i[0], i[1], i[2], i[3]);
        let g = oc / og;
        let mut s = bias[oc];
        for ci in 0..cg {
            for a in 0..kh {
                for bb in 0..kw {
                    let iy = (y * stride[0] + a) as isize - pad[0] as isize;
                    let ix = (xx * stride[1] + bb) as isize - pad[1] as isize;
                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                        let xv = x.get(&[n, g * cg + ci, iy as usize, ix as usize]).unwrap();
                        s += w.get(&[oc, ci, a, bb]).unwrap() * xv;
                    }
                }
            }
        }
        s
    })
    .unwrap()
}

fn close(a: &Tensor<f64>, b: &Tensor<f64>) -> bool {
    a.shape() == b.shape() && a.sub(b).unwrap().max_abs() <= 1e-12 * (1.0 + b.max_abs())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn conv2d_matches_its_definition(
        batch in 0usize..3, groups in 1usize..4, cg in 1usize..3, og in 1usize..3,
        h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4,
        sh in 1usize..3, sw in 1usize..3, ph in 0usize..2, pw in 0usize..3, seed in any::<u64>(),
    ) {
        prop_assume!(h + 2 * ph >= kh && w + 2 * pw >= kw);
        let (c, o) = (cg * groups, og * groups);
        let x = Tensor::<f64>::random_normal(&[batch, c, h, w], seed).unwrap();
        let wt = Tensor::<f64>::random_normal(&[o, cg, kh, kw], seed ^ 1).unwrap();
        let bias: Vec<f64> = (0..o).map(|k| k as f64 * 0.25 - 0.5).collect();
        let conv = Conv2d::new(wt.clone(), Some(bias.clone())).unwrap()
            .with_stride([sh, sw]).unwrap().with_padding([ph, pw]).unwrap().with_groups(groups).unwrap();
        let want = naive_conv(&x, &wt, &bias, [sh, sw], [ph, pw], groups);
        let got = conv.forward(&x).unwrap();
        prop_assert!(close(&got, &want), "{}", conv.describe());
        prop_assert_eq!(conv.output_shape(x.shape()).unwrap(), want.shape().to_vec());
    }

    #[test]
    fn maxpool_and_linear_match_their_definitions(
        b in 1usize..3, c in 1usize..3, h in 2usize..9, w in 2usize..9, k in 1usize..3, s in 1usize..3,
        seed in any::<u64>(),
    ) {
        let x = Tensor::<f64>::random_normal(&[b, c, h, w], seed).unwrap();
        let pool = MaxPool2d::new([k, k], [s, s]).unwrap();
        let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
        let want = Tensor::from_fn(&[b, c, oh, ow], |i| {
            let mut m = f64::NEG_INFINITY;
            for a in 0..k {
                for bb in 0..k {
                    m = m.max(x.get(&[i[0], i[1], i[2] * s + a, i[3] * s + bb]).unwrap());
                }
            }
            m
        }).unwrap();
        prop_assert_eq!(pool.forward(&x).unwrap(), want);
        let flat = Layer::<f64>::forward(&Flatten::new(), &x).unwrap();
        let n = c * h * w;
        let wt = Tensor::<f64>::random_normal(&[3, n], seed ^ 2).unwrap();
        let fc = Linear::new(wt.clone(), Some(vec![1.0, 2.0, 3.0])).unwrap();
        let y = fc.forward(&flat).unwrap();
        let want = Tensor::from_fn(&[b, 3], |i| {
            (0..n).map(|j| wt.get(&[i[1], j]).unwrap() * flat.get(&[i[0], j]).unwrap()).sum::<f64>()
                + (i[1] + 1) as f64
        }).unwrap();
        prop_assert!(close(&y, &want));
        let relu = Layer::<f64>::forward(&Relu::new(), &y).unwrap();
        prop_assert_eq!(relu, y.map(|v| v.max(0.0)));
    }
}

#[test]
fn layers_refuse_inputs_they_cannot_take_naming_themselves() {
    let conv = Conv2d::new(Tensor::<f32>::zeros(&[4, 2, 3, 3]).unwrap(), None).unwrap();
    let err = conv.forward(&Tensor::zeros(&[1, 3, 8, 8]).unwrap()).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { .. }) && err.to_string().contains("conv2d 2→4 3×3"),
        "{err}"
    );
    assert!(conv.forward(&Tensor::zeros(&[1, 2, 2, 8]).unwrap()).is_err());
    assert!(conv.forward(&Tensor::zeros(&[2, 8, 8]).unwrap()).is_err());
    assert!(Conv2d::new(Tensor::<f32>::zeros(&[4, 2, 3]).unwrap(), None).is_err());
    assert!(Conv2d::new(Tensor::<f32>::zeros(&[4, 2, 3, 3]).unwrap(), Some(vec![0.0; 3])).is_err());
    assert!(conv.clone().with_groups(3).is_err() && conv.clone().with_stride([0, 1]).is_err());
    let fc = Linear::new(Tensor::<f32>::zeros(&[3, 5]).unwrap(), None).unwrap();
    let err = fc.forward(&Tensor::zeros(&[2, 4]).unwrap()).unwrap_err();
    assert!(err.to_string().contains("linear 5→3") && err.to_string().contains("[2, 4]"), "{err}");
    assert!(MaxPool2d::new([0, 2], [2, 2]).is_err());
    let model = Sequential::<f32>::new().push(fc).push(Relu::new());
    // The mismatch is found before any layer runs.
    let err = model.forward(&Tensor::zeros(&[2, 6]).unwrap()).unwrap_err();
    assert!(err.to_string().contains("linear 5→3"), "{err}");
    let mut nan = Tensor::<f32>::zeros(&[1, 5]).unwrap();
    nan.as_mut_slice()[2] = f32::NAN;
    assert!(matches!(model.forward(&nan), Err(Error::NonFinite { .. })));
    // An empty batch is fine.
    assert_eq!(model.forward(&Tensor::zeros(&[0, 5]).unwrap()).unwrap().shape(), &[0, 3]);
    let mut tally = Evaluation::new(3);
    assert!(tally.add(&[0, 1], &[0]).is_err() && tally.add(&[3], &[0]).is_err());
}

/// The real network on real digits: the first 1000 test images (the full 10,000 are the
/// main job's and the bench's).
#[test]
fn the_pretrained_cnn_classifies_mnist() {
    let cnn = MnistCnn::<f32>::load(data_files::find_data_file(MNIST_CNN_FILE).unwrap()).unwrap();
    let model = cnn.model().unwrap();
    assert_eq!(model.num_params(), 421_642);
    assert_eq!(model.output_shape(&[5, 1, 28, 28]).unwrap(), vec![5, 10]);
    // conv1 0.5 MFLOP, conv2 7.2, fc1 0.8, fc2 0.003 (+ ReLU and pooling).
    let flops = model.flops(&[1, 1, 28, 28]).unwrap();
    assert!((8.5e6..8.8e6).contains(&flops), "{flops}");
    let dir = data_files::find_data_file("mnist/t10k-first1000-labels.idx1-ubyte.gz").unwrap();
    let dir = dir.parent().unwrap();
    let images = dir.join("t10k-first1000-images.idx3-ubyte.gz");
    let test = Mnist::from_files(images, dir.join("t10k-first1000-labels.idx1-ubyte.gz")).unwrap();
    let eval = test.evaluate(&model, 250, MNIST_NORMALIZATION).unwrap();
    assert_eq!(eval.total, 1000);
    assert!(eval.accuracy() > 0.97, "accuracy {}", eval.accuracy());
    let diagonal: usize = (0..10).map(|k| eval.confusion[k][k]).sum();
    assert_eq!(diagonal, eval.correct);
}

/// Decomposed layers run from their factors and agree with the dense layer they replace: at
/// full rank exactly (to rounding), below it within the weight's own relative error.
#[test]
fn decomposed_layers_agree_with_the_dense_ones() {
    use tensorize::nn::{SvdLinear, Tucker2Conv};
    let fc = Linear::new(Tensor::<f64>::random_normal(&[12, 20], 1).unwrap(), Some(vec![0.5; 12]))
        .unwrap();
    let x = Tensor::<f64>::random_normal(&[5, 20], 2).unwrap();
    let full = SvdLinear::from_linear(&fc, 12).unwrap();
    assert!(close(&full.forward(&x).unwrap(), &fc.forward(&x).unwrap()));
    assert!(full.rel_error() < 1e-12);
    let low = SvdLinear::from_linear(&fc, 4).unwrap();
    let (y, yd) = (low.forward(&x).unwrap(), fc.forward(&x).unwrap());
    assert!(low.rel_error() > 0.1 && y.sub(&yd).unwrap().norm() > 0.0);
    assert_eq!((low.num_params(), low.flops(&[1, 20]).unwrap()), (4 * 32 + 12, 2.0 * 4.0 * 32.0));
    // By error: the smallest rank that meets ε (one rank less does not).
    for eps in [0.3, 0.6, 0.9] {
        let by_eps = SvdLinear::from_linear_eps(&fc, eps).unwrap();
        assert!(by_eps.rel_error() <= eps, "ε {eps}: {}", by_eps.rel_error());
        if by_eps.rank() > 1 {
            let less = SvdLinear::from_linear(&fc, by_eps.rank() - 1).unwrap();
            assert!(less.rel_error() > eps, "ε {eps}: rank {} is not the smallest", by_eps.rank());
        }
    }
    assert!(SvdLinear::from_linear_eps(&fc, -0.1).is_err());
    let err = SvdLinear::from_linear(&fc, 13).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRank { .. }) && err.to_string().contains("linear 20→12"),
        "{err}"
    );

    let conv =
        Conv2d::new(Tensor::<f64>::random_normal(&[6, 4, 3, 3], 3).unwrap(), Some(vec![0.25; 6]))
            .unwrap()
            .with_padding([1, 1])
            .unwrap()
            .with_stride([2, 1])
            .unwrap();
    let x = Tensor::<f64>::random_normal(&[2, 4, 7, 6], 4).unwrap();
    let exact = Tucker2Conv::from_conv(&conv, 6, 4).unwrap();
    assert!(close(&exact.forward(&x).unwrap(), &conv.forward(&x).unwrap()));
    let by_eps = tensorize::nn::SvdConv::from_conv_eps(&conv, 0.5).unwrap();
    assert!(by_eps.rel_error() <= 0.5 && by_eps.rank() < 6);
    let t2 = Tucker2Conv::from_conv(&conv, 3, 2).unwrap();
    assert_eq!(t2.output_shape(x.shape()).unwrap(), conv.output_shape(x.shape()).unwrap());
    assert_eq!(t2.num_params(), 4 * 2 + 3 * 2 * 9 + 6 * 3 + 6);
    assert!(t2.flops(x.shape()).unwrap() < conv.flops(x.shape()).unwrap());
    let err = Tucker2Conv::from_conv(&conv, 7, 2).unwrap_err();
    assert!(err.to_string().contains("conv2d 4→6 3×3"), "{err}");
    let grouped = Conv2d::new(Tensor::<f64>::zeros(&[6, 2, 3, 3]).unwrap(), None)
        .unwrap()
        .with_groups(2)
        .unwrap();
    assert!(matches!(Tucker2Conv::from_conv(&grouped, 2, 2), Err(Error::InvalidParameter { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn average_pools_and_batch_norm_match_their_definitions(
        b in 0usize..3, c in 1usize..4, h in 2usize..8, w in 2usize..8, kh in 1usize..3,
        kw in 1usize..3, s in 1usize..3, seed in any::<u64>(),
    ) {
        use tensorize::nn::{AvgPool2d, BatchNorm2d, GlobalAvgPool};
        let x = Tensor::<f64>::random_normal(&[b, c, h, w], seed).unwrap();
        let pool = AvgPool2d::new([kh, kw], [s, s]).unwrap();
        let (oh, ow) = ((h - kh) / s + 1, (w - kw) / s + 1);
        let want = Tensor::from_fn(&[b, c, oh, ow], |i| {
            let mut sum = 0.0;
            for a in 0..kh {
                for bb in 0..kw {
                    sum += x.get(&[i[0], i[1], i[2] * s + a, i[3] * s + bb]).unwrap();
                }
            }
            sum / (kh * kw) as f64
        }).unwrap();
        prop_assert!(close(&pool.forward(&x).unwrap(), &want));
        let global = Tensor::from_fn(&[b, c], |i| {
            (0..h * w).map(|p| x.get(&[i[0], i[1], p / w, p % w]).unwrap()).sum::<f64>() / (h * w) as f64
        }).unwrap();
        prop_assert!(close(&GlobalAvgPool::new().forward(&x).unwrap(), &global));
        // Inference normalizes by the running statistics.
        let mean: Vec<f64> = (0..c).map(|k| k as f64 - 1.0).collect();
        let var: Vec<f64> = (0..c).map(|k| 0.5 + k as f64).collect();
        let gamma: Vec<f64> = (0..c).map(|k| 1.0 + 0.5 * k as f64).collect();
        let beta: Vec<f64> = (0..c).map(|k| 0.1 * k as f64).collect();
        let bn = BatchNorm2d::from_parts(gamma.clone(), beta.clone(), mean.clone(), var.clone()).unwrap();
        let want = Tensor::from_fn(x.shape(), |i| {
            let k = i[1];
            gamma[k] * (x.get(i).unwrap() - mean[k]) / (var[k] + 1e-5).sqrt() + beta[k]
        }).unwrap();
        prop_assert!(close(&bn.forward(&x).unwrap(), &want));
    }
}

#[test]
fn batch_norm_training_updates_the_running_statistics() {
    use tensorize::nn::BatchNorm2d;
    let mut bn = BatchNorm2d::<f64>::new(2).unwrap().with_momentum(0.5).unwrap();
    // Channel 0 holds 1..=8, channel 1 holds 10 everywhere.
    let x = Tensor::from_fn(&[2, 2, 2, 2], |i| {
        if i[1] == 0 {
            (i[0] * 4 + i[2] * 2 + i[3] + 1) as f64
        } else {
            10.0
        }
    })
    .unwrap();
    let y = bn.forward_train(&x).unwrap();
    // Mean 4.5, biased variance 5.25 (unbiased 6) for channel 0; 10 and 0 for channel 1.
    assert_eq!(bn.running_mean(), &[0.5 * 4.5, 0.5 * 10.0]);
    assert!((bn.running_var()[0] - (0.5 + 0.5 * 6.0)).abs() < 1e-12);
    assert_eq!(bn.running_var()[1], 0.5);
    assert!((y.get(&[0, 0, 0, 0]).unwrap() - (1.0 - 4.5) / (5.25f64 + 1e-5).sqrt()).abs() < 1e-12);
    assert_eq!(y.get(&[1, 1, 1, 1]).unwrap(), 0.0);
    let mut buffers = Vec::new();
    bn.visit_buffers(&mut |name, v| buffers.push((name, v.to_vec())));
    assert_eq!(buffers[0].0, "running_mean");
    assert_eq!(buffers[1], ("running_var", bn.running_var().to_vec()));
    assert!(matches!(BatchNorm2d::<f64>::new(0), Err(Error::InvalidParameter { .. })));
    assert!(BatchNorm2d::from_parts(vec![1.0], vec![0.0], vec![0.0], vec![-1.0]).is_err());
    assert!(BatchNorm2d::from_parts(vec![1.0], vec![0.0, 1.0], vec![0.0], vec![1.0]).is_err());
    let err = bn.forward(&Tensor::zeros(&[1, 3, 2, 2]).unwrap()).unwrap_err();
    assert!(err.to_string().contains("batchnorm2d 2"), "{err}");
}

/// CP and TT convolutions run their factors and compute the convolution by the kernel their
/// decomposition reconstructs, stride and padding included.
#[test]
fn cp_and_tt_convolutions_compute_the_reconstructed_kernel() {
    use faer::Mat;
    use tensorize::decomp::TtSvd;
    use tensorize::format::{CpTensor, Factorized};
    use tensorize::nn::{CpConv, TtConv};
    let (o, c, kh, kw) = (6, 4, 3, 2);
    let conv =
        Conv2d::new(Tensor::<f64>::random_normal(&[o, c, kh, kw], 5).unwrap(), Some(vec![0.2; o]))
            .unwrap()
            .with_stride([2, 1])
            .unwrap()
            .with_padding([1, 2])
            .unwrap();
    let x = Tensor::<f64>::random_normal(&[2, c, 7, 5], 6).unwrap();
    let with_kernel = |k: Tensor<f64>| {
        Conv2d::new(k, Some(vec![0.2; o]))
            .unwrap()
            .with_stride([2, 1])
            .unwrap()
            .with_padding([1, 2])
            .unwrap()
    };
    // A given CP tensor (weights not 1) → its layer computes the conv by its dense kernel.
    let f =
        |rows: usize, s: f64| Mat::from_fn(rows, 3, |i, r| ((i + 1) as f64 * s + r as f64).sin());
    let cp =
        CpTensor::new(vec![2.0, -0.5, 1.5], vec![f(o, 1.0), f(c, 2.0), f(kh * kw, 3.0)]).unwrap();
    let layer = CpConv::from_cp(&conv, &cp).unwrap();
    let dense = with_kernel(cp.to_dense().unwrap().reshape(&[o, c, kh, kw]).unwrap());
    assert!(close(&layer.forward(&x).unwrap(), &dense.forward(&x).unwrap()));
    assert_eq!(layer.num_params(), 3 * (c + kh * kw + o) + o);
    assert!(layer.describe().starts_with("cp-conv 4→6 3×2 r3"), "{}", layer.describe());
    let fitted = CpConv::from_conv(&conv, 5).unwrap();
    assert!(fitted.rel_error() < 1.0 && fitted.rank() == 5);
    // TT: the same TT-SVD, reconstructed and permuted back, is the kernel the layer computes.
    for rank in [2, 3] {
        let layer = TtConv::from_conv(&conv, rank).unwrap();
        let (tt, report) = TtSvd::new()
            .max_rank(rank)
            .fit(&conv.weight().permute_modes(&[1, 2, 3, 0]).unwrap())
            .unwrap();
        let kernel = tt.to_dense().unwrap().permute_modes(&[3, 0, 1, 2]).unwrap();
        assert!(close(&layer.forward(&x).unwrap(), &with_kernel(kernel).forward(&x).unwrap()));
        assert_eq!(layer.rel_error(), report.rel_error);
        assert!(layer.flops(x.shape()).unwrap() < conv.flops(x.shape()).unwrap());
    }
    // At full ranks the TT layer is the dense one.
    let exact = TtConv::from_conv(&conv, 64).unwrap();
    assert!(close(&exact.forward(&x).unwrap(), &conv.forward(&x).unwrap()));
    // Bad ranks and shapes name the layer.
    let err = CpConv::from_conv(&conv, 0).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRank { .. }) && err.to_string().contains("conv2d 4→6"),
        "{err}"
    );
    assert!(matches!(TtConv::from_conv(&conv, 0), Err(Error::InvalidRank { .. })));
    let wrong = CpTensor::new(
        vec![1.0],
        vec![
            f(o, 1.0).subcols(0, 1).to_owned(),
            f(c, 1.0).subcols(0, 1).to_owned(),
            f(5, 1.0).subcols(0, 1).to_owned(),
        ],
    )
    .unwrap();
    assert!(matches!(CpConv::from_cp(&conv, &wrong), Err(Error::ShapeMismatch { .. })));
    let grouped = Conv2d::new(Tensor::<f64>::zeros(&[6, 2, 3, 3]).unwrap(), None)
        .unwrap()
        .with_groups(2)
        .unwrap();
    assert!(matches!(CpConv::from_conv(&grouped, 2), Err(Error::InvalidParameter { .. })));
    assert!(matches!(TtConv::from_conv(&grouped, 2), Err(Error::InvalidParameter { .. })));
}

/// The TT-layer behind the `Layer` trait: the same forward pass as its own, shape errors naming
/// it, and a place in a `Sequential` model.
#[test]
fn tt_linear_is_a_layer() {
    use tensorize::nn::TtLinear;
    let tt = TtLinear::<f64>::glorot(&[2, 3], &[4, 4], &[3], 9).unwrap();
    let x = Tensor::<f64>::random_normal(&[5, 16], 10).unwrap();
    let model = Sequential::new().push(tt.clone()).push(Relu::new());
    assert_eq!(model.forward(&x).unwrap(), tt.forward(&x).unwrap().map(|v| v.max(0.0)));
    assert_eq!(Layer::<f64>::num_params(&tt), 2 * 4 * 3 + 3 * 3 * 4 + 6);
    assert!(Layer::<f64>::flops(&tt, &[1, 16]).unwrap() > 0.0);
    let err = model.forward(&Tensor::zeros(&[5, 15]).unwrap()).unwrap_err();
    assert!(err.to_string().contains("tt-linear 16→6"), "{err}");
}

/// Max-pooling a large batch (planes over threads) gives the definition's maxima, a NaN in a
/// window wins it, and the backward pass routes each gradient to the window's maximum.
#[test]
fn maxpool_over_threads_matches_its_definition() {
    let mut x = Tensor::<f64>::random_normal(&[4, 8, 64, 64], 3).unwrap();
    x.as_mut_slice()[5 * 64 + 7] = f64::NAN;
    let mut pool = MaxPool2d::new([3, 2], [2, 2]).unwrap();
    let y = pool.forward_train(&x).unwrap();
    let want = Tensor::from_fn(&[4, 8, 31, 32], |i| {
        let mut m = f64::NEG_INFINITY;
        for a in 0..3 {
            for bb in 0..2 {
                let v = x.get(&[i[0], i[1], i[2] * 2 + a, i[3] * 2 + bb]).unwrap();
                m = if v.is_nan() || m.is_nan() { f64::NAN } else { m.max(v) };
            }
        }
        m
    })
    .unwrap();
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    assert!(y.as_slice().iter().zip(want.as_slice()).all(|(&a, &b)| same(a, b)));
    assert!(y.get(&[0, 0, 2, 3]).unwrap().is_nan());
    let dy = Tensor::<f64>::ones(y.shape()).unwrap();
    let dx = pool.backward(&dy).unwrap();
    // Every output's unit gradient lands on one input of its window.
    assert_eq!(dx.as_slice().iter().sum::<f64>(), y.numel() as f64);
    assert_eq!(dx.as_slice()[5 * 64 + 7], 1.0);
}
