//! Every layer's backward pass against central finite differences in f64 (input and parameter
//! gradients), the losses' gradients likewise, and SGD on a real task: a small CNN trained on
//! real MNIST digits lowers its loss, deterministically.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;
#[path = "common/gradients.rs"]
mod gradients;

use gradients::{check_gradients, grads_of};

use tensorize::data::{Mnist, MNIST_NORMALIZATION};
use tensorize::nn::{
    mse, softmax_cross_entropy, AvgPool2d, BatchNorm2d, Conv2d, CpConv, Flatten, GlobalAvgPool,
    Layer, Linear, MaxPool2d, Relu, Sequential, Sgd, SvdConv, SvdLinear, Train, TtConv, TtLinear,
    Tucker2Conv,
};
use tensorize::{Error, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::random_normal(shape, seed).unwrap()
}

#[test]
fn dense_layers_match_finite_differences() {
    check_gradients(
        &mut Linear::new(randn(&[4, 6], 1), Some(vec![0.1, 0.2, 0.3, 0.4])).unwrap(),
        &randn(&[3, 6], 2),
        3,
    );
    for (stride, padding, groups) in [([1, 1], [1, 1], 1), ([2, 1], [0, 2], 2), ([1, 2], [1, 0], 4)]
    {
        let (c, o) = (4, 4);
        let conv = Conv2d::new(randn(&[o, c / groups, 3, 2], 4), Some(vec![0.5; o])).unwrap();
        let mut conv = conv
            .with_stride(stride)
            .unwrap()
            .with_padding(padding)
            .unwrap()
            .with_groups(groups)
            .unwrap();
        check_gradients(&mut conv, &randn(&[2, c, 5, 4], 5), 6);
    }
    check_gradients(&mut Relu::new(), &randn(&[3, 7], 7), 8);
    check_gradients(&mut MaxPool2d::new([2, 2], [2, 1]).unwrap(), &randn(&[2, 2, 5, 4], 9), 10);
    check_gradients(&mut Flatten::new(), &randn(&[2, 3, 2, 2], 11), 12);
    check_gradients(&mut AvgPool2d::new([2, 3], [1, 2]).unwrap(), &randn(&[2, 2, 5, 7], 13), 14);
    check_gradients(&mut GlobalAvgPool::new(), &randn(&[2, 3, 3, 2], 15), 16);
}

#[test]
fn batch_norm_matches_finite_differences_in_training_mode() {
    // In training mode the output depends on the whole batch (its mean and variance), so the
    // input gradient couples the samples; γ and β not 1 and 0 so that their paths matter.
    let gamma = vec![1.5, -0.7, 0.9];
    let beta = vec![0.1, 0.2, -0.3];
    let bn = BatchNorm2d::from_parts(gamma, beta, vec![0.0; 3], vec![1.0; 3]).unwrap();
    let x = randn(&[3, 3, 2, 3], 17);
    // The training pass moves the running statistics, which the inference pass (used by the
    // finite differences) must not see: check against a training-mode loss.
    let mut layer = bn.clone();
    let y = layer.forward_train(&x).unwrap();
    let r = randn(y.shape(), 18);
    let dx = layer.backward(&r).unwrap();
    let mut grads = Vec::new();
    layer.visit_params(&mut |p| grads.push(p.grad.to_vec()));
    let train_loss = |bn: &BatchNorm2d<f64>, x: &Tensor<f64>| {
        bn.clone().forward_train(x).unwrap().inner(&r).unwrap()
    };
    let h = 1e-6;
    for i in 0..x.numel() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp.as_mut_slice()[i] += h;
        xm.as_mut_slice()[i] -= h;
        let fd = (train_loss(&bn, &xp) - train_loss(&bn, &xm)) / (2.0 * h);
        assert!((fd - dx.as_slice()[i]).abs() <= 1e-6 * (1.0 + fd.abs()), "x[{i}]: {fd}");
    }
    for (p, g) in grads.iter().enumerate() {
        for (j, &gj) in g.iter().enumerate() {
            let bump = |delta: f64| {
                let mut b = bn.clone();
                let mut k = 0;
                b.visit_params(&mut |q| {
                    if k == p {
                        q.value[j] += delta;
                    }
                    k += 1;
                });
                b
            };
            let fd = (train_loss(&bump(h), &x) - train_loss(&bump(-h), &x)) / (2.0 * h);
            assert!((fd - gj).abs() <= 1e-6 * (1.0 + fd.abs()), "θ{p}[{j}]: {fd} vs {gj}");
        }
    }
}

#[test]
fn a_small_cnn_and_the_decomposed_layers_match_finite_differences() {
    let conv = Conv2d::new(randn(&[3, 2, 3, 3], 20), Some(vec![0.1; 3]))
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let mut model = Sequential::new()
        .push(conv.clone())
        .push(Relu::new())
        .push(MaxPool2d::new([2, 2], [2, 2]).unwrap())
        .push(Flatten::new())
        .push(Linear::new(randn(&[5, 18], 21), Some(vec![0.0; 5])).unwrap());
    check_gradients(&mut model, &randn(&[2, 2, 4, 6], 22), 23);
    let fc = Linear::new(randn(&[6, 8], 24), Some(vec![0.2; 6])).unwrap();
    check_gradients(&mut SvdLinear::from_linear(&fc, 3).unwrap(), &randn(&[2, 8], 25), 26);
    let wide = Conv2d::new(randn(&[6, 4, 3, 3], 27), Some(vec![0.3; 6]))
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let x = randn(&[2, 4, 5, 5], 28);
    check_gradients(&mut SvdConv::from_conv(&wide, 3).unwrap(), &x, 29);
    check_gradients(&mut Tucker2Conv::from_conv(&wide, 3, 2).unwrap(), &x, 30);
    check_gradients(&mut CpConv::from_conv(&wide, 3).unwrap(), &x, 31);
    check_gradients(&mut TtConv::from_conv(&wide, 2).unwrap(), &x, 32);
    let strided = wide.clone().with_stride([2, 1]).unwrap().with_padding([0, 1]).unwrap();
    check_gradients(&mut CpConv::from_conv(&strided, 2).unwrap(), &x, 33);
    check_gradients(&mut TtConv::from_conv(&strided, 3).unwrap(), &x, 34);
    let mut tt = TtLinear::<f64>::glorot(&[2, 3], &[2, 2], &[2], 35).unwrap();
    check_gradients(&mut tt, &randn(&[3, 4], 36), 37);
}

#[test]
fn losses_match_finite_differences() {
    let z = randn(&[4, 5], 40);
    let labels = [0, 4, 2, 2];
    let (_, dz) = softmax_cross_entropy(&z, &labels).unwrap();
    let t = randn(&[4, 5], 41);
    let (_, dp) = mse(&z, &t).unwrap();
    let h = 1e-6;
    for i in 0..z.numel() {
        let (mut up, mut down) = (z.clone(), z.clone());
        up.as_mut_slice()[i] += h;
        down.as_mut_slice()[i] -= h;
        let ce = |v: &Tensor<f64>| softmax_cross_entropy(v, &labels).unwrap().0;
        let sq = |v: &Tensor<f64>| mse(v, &t).unwrap().0;
        assert!(((ce(&up) - ce(&down)) / (2.0 * h) - dz.as_slice()[i]).abs() < 1e-7);
        assert!(((sq(&up) - sq(&down)) / (2.0 * h) - dp.as_slice()[i]).abs() < 1e-6);
    }
    // Huge logits stay finite: the softmax is shifted by the row maximum.
    let big = Tensor::from_vec(&[1, 2], vec![1e300, 0.0]).unwrap();
    let (l, g) = softmax_cross_entropy(&big, &[1]).unwrap();
    assert!(l.is_finite() && g.is_finite());
    assert!(matches!(
        softmax_cross_entropy(&z, &[0, 1, 5, 0]),
        Err(Error::IndexOutOfBounds { .. })
    ));
    assert!(matches!(softmax_cross_entropy(&z, &[0]), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn backward_needs_a_training_forward_of_the_same_shape() {
    let mut fc = Linear::new(randn(&[3, 4], 50), None).unwrap();
    let err = fc.backward(&randn(&[2, 3], 51)).unwrap_err();
    assert!(err.to_string().contains("linear 4→3"), "{err}");
    fc.forward_train(&randn(&[2, 4], 52)).unwrap();
    assert!(matches!(fc.backward(&randn(&[5, 3], 53)), Err(Error::ShapeMismatch { .. })));
    let mut nan = randn(&[2, 3], 54);
    nan.as_mut_slice()[0] = f64::NAN;
    assert!(matches!(fc.backward(&nan), Err(Error::NonFinite { .. })));
    assert!(Sgd::<f64>::new(0.0).is_err() && Sgd::<f64>::new(0.1).unwrap().momentum(1.0).is_err());
}

/// The model of the small real-data test: conv 1→4 3×3, ReLU, max-pool 4, linear 196 → 10.
fn small_cnn(seed: u64) -> Sequential<f32> {
    let conv = Conv2d::new(
        Tensor::random_normal(&[4, 1, 3, 3], seed).unwrap().scale(0.3),
        Some(vec![0.0; 4]),
    )
    .unwrap()
    .with_padding([1, 1])
    .unwrap();
    let fc = Linear::new(
        Tensor::random_normal(&[10, 196], seed + 1).unwrap().scale(0.05),
        Some(vec![0.0; 10]),
    )
    .unwrap();
    Sequential::new()
        .push(conv)
        .push(Relu::new())
        .push(MaxPool2d::new([4, 4], [4, 4]).unwrap())
        .push(Flatten::new())
        .push(fc)
}

/// Trains on the first 512 test digits for two epochs with the training loop; returns the mean
/// loss of each epoch and the final first weight.
fn train(seed: u64) -> (Vec<f64>, f32) {
    let dir = data_files::find_data_file("mnist/t10k-first1000-labels.idx1-ubyte.gz").unwrap();
    let dir = dir.parent().unwrap();
    let data = Mnist::from_files(
        dir.join("t10k-first1000-images.idx3-ubyte.gz"),
        dir.join("t10k-first1000-labels.idx1-ubyte.gz"),
    )
    .unwrap()
    .take(512);
    let mut model = small_cnn(seed);
    let mut sgd = Sgd::new(0.1).unwrap().momentum(0.9).unwrap().weight_decay(1e-4).unwrap();
    let dataset = data.dataset(MNIST_NORMALIZATION).unwrap();
    let report = Train::new(2, 32)
        .unwrap()
        .seed(seed)
        .fit(&mut model, &mut sgd, &dataset, &mut |_| {})
        .unwrap();
    let epochs = report.epoch_losses;
    let mut first = 0.0;
    model.visit_params(&mut |p| {
        if first == 0.0 {
            first = p.value[0];
        }
    });
    (epochs, first)
}

#[test]
fn sgd_trains_a_small_cnn_on_real_digits_deterministically() {
    let (losses, w) = train(7);
    // From ln 10 ≈ 2.30 at random initialization to clearly below it.
    assert!(losses[0] < 2.2 && losses[1] < 0.8 * losses[0], "{losses:?}");
    assert_eq!(train(7), (losses, w));
}

/// The convolution's backward pass over a large batch (image groups over threads) equals the
/// per-image passes summed, and gives the same bits with one thread or two.
#[test]
fn conv_backward_over_threads_is_the_sum_of_images_and_thread_count_free() {
    let conv = Conv2d::new(randn(&[16, 8, 3, 3], 60), Some(vec![0.1; 16]))
        .unwrap()
        .with_padding([1, 1])
        .unwrap();
    let (x, b) = (randn(&[20, 8, 12, 12], 61), 20);
    let dy = randn(&[20, 16, 12, 12], 62);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut layer = conv.clone();
            layer.forward_train(&x).unwrap();
            let dx = layer.backward(&dy).unwrap();
            (dx, grads_of(&mut layer))
        })
    };
    let (dx, grads) = run(2);
    assert_eq!(run(1), (dx.clone(), grads.clone()), "the thread count changed the result");
    let mut summed = [vec![0.0; 16 * 8 * 9], vec![0.0; 16]];
    for i in 0..b {
        let mut layer = conv.clone();
        let xi = x.view().slice(0, i..i + 1).unwrap().to_tensor().unwrap();
        let dyi = dy.view().slice(0, i..i + 1).unwrap().to_tensor().unwrap();
        layer.forward_train(&xi).unwrap();
        let dxi = layer.backward(&dyi).unwrap();
        assert_eq!(dxi, dx.view().slice(0, i..i + 1).unwrap().to_tensor().unwrap());
        for (acc, g) in summed.iter_mut().zip(grads_of(&mut layer)) {
            acc.iter_mut().zip(g).for_each(|(a, v)| *a += v);
        }
    }
    for (got, want) in grads.iter().flatten().zip(summed.iter().flatten()) {
        assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()), "{got} vs {want}");
    }
}

/// Empty images padded to a non-empty output: the output is the bias, and only the bias gets
/// a gradient (found by the tensorized layers' review: the forward pass used to panic).
#[test]
fn padded_empty_images_give_the_bias() {
    let mut conv = Conv2d::new(randn(&[2, 1, 3, 3], 70), Some(vec![0.5, -1.0]))
        .unwrap()
        .with_padding([2, 2])
        .unwrap();
    let x = Tensor::<f64>::zeros(&[3, 1, 0, 4]).unwrap();
    let y = conv.forward_train(&x).unwrap();
    assert_eq!(y.shape(), &[3, 2, 2, 6]);
    assert!(y
        .as_slice()
        .chunks(12)
        .enumerate()
        .all(|(k, p)| p.iter().all(|&v| v == [0.5, -1.0][k % 2])));
    let dy = Tensor::from_fn(y.shape(), |i| (i[1] + 1) as f64).unwrap();
    assert_eq!(conv.backward(&dy).unwrap().shape(), x.shape());
    let grads = grads_of(&mut conv);
    assert!(grads[0].iter().all(|&g| g == 0.0));
    assert_eq!(grads[1], vec![36.0, 72.0]);
}
