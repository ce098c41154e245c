//! Networks from compressed layers (issue 15): uniform vs capped TT-layer ranks and their
//! counts, the matrix-rank layer from scratch, the padded-image adapter, the TR-layer, the RsTD
//! shuffled TT- and TR-layers and T-Net's shared-Tucker convolution block — gradients against finite
//! differences in f64, agreement with the dense layers they stand for, f32 beside f64, and the
//! typed errors of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/gradients.rs"]
mod gradients;

use gradients::check_gradients;
use proptest::prelude::*;

use tensorize::decomp::{TrSvd, TtSvd};
use tensorize::nn::{
    tnet_cnn, tnet_twin, two_layer_net, BatchNorm2d, Conv2d, Dataset, Layer, PadFlatten, Relu,
    ShuffledTrLinear, ShuffledTtLinear, SvdLinear, TensorDataset, TrLinear, TtLinear, TtRankRule,
    TuckerConvBlock,
};
use tensorize::tensorization::Shuffle;
use tensorize::{Error, Factorized, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::random_normal(shape, seed).unwrap()
}

#[test]
fn uniform_and_capped_rank_counts_match_the_paper_and_the_layers() {
    let cases: [(&[usize], usize, usize, usize); 4] = [
        (&[2; 10], 8, 2112, 1824),
        (&[2, 2, 8, 8, 2, 2], 16, 34944, 33312),
        (&[4, 8, 8, 4], 1, 160, 160),
        (&[32, 32], 16, 32768, 32768),
    ];
    for (modes, r, uniform, capped) in cases {
        assert_eq!(TtRankRule::Uniform.params(modes, modes, r).unwrap(), uniform, "{modes:?}");
        assert_eq!(TtRankRule::Capped.params(modes, modes, r).unwrap(), capped, "{modes:?}");
        for (rule, want) in [(TtRankRule::Uniform, uniform), (TtRankRule::Capped, capped)] {
            let layer = TtLinear::<f32>::glorot_rank(modes, modes, r, rule, 1).unwrap();
            assert_eq!(layer.weight().num_params(), want);
            assert_eq!(layer.num_params(), want + 1024);
        }
    }
    assert!(matches!(
        TtRankRule::Uniform.ranks(&[2, 2], &[2], 2),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        TtRankRule::Capped.ranks(&[2, 2], &[2, 2], 0),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(TtRankRule::Uniform.ranks(&[], &[], 2), Err(Error::InvalidModes { .. })));
    assert!(matches!(
        TtRankRule::Uniform.ranks(&[2, 0], &[2, 2], 2),
        Err(Error::ZeroDimension { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Capped ranks never exceed the uniform rank, nor what TT-SVD of a random matrix reaches,
    /// and the capped count never exceeds the uniform one.
    #[test]
    fn capped_ranks_are_what_tt_svd_reaches(
        modes in proptest::collection::vec((1usize..4, 1usize..4), 1..5),
        r in 1usize..6,
    ) {
        let (m, n): (Vec<usize>, Vec<usize>) = modes.into_iter().unzip();
        let capped = TtRankRule::Capped.ranks(&m, &n, r).unwrap();
        prop_assert!(capped.iter().all(|&c| c <= r));
        prop_assert!(TtRankRule::Capped.params(&m, &n, r).unwrap()
            <= TtRankRule::Uniform.params(&m, &n, r).unwrap());
        let (rows, cols) = (m.iter().product::<usize>(), n.iter().product::<usize>());
        let w = randn(&[rows, cols], 5);
        let (tt, _) = TtSvd::new().max_rank(r).fit_matrix(&w, &m, &n).unwrap();
        let ranks = tt.ranks();
        prop_assert_eq!(&ranks[1..ranks.len() - 1], capped.as_slice());
    }
}

#[test]
fn the_matrix_rank_layer_starts_random_and_trains() {
    let mut layer = SvdLinear::<f64>::random(12, 7, 3, true, 4).unwrap();
    assert_eq!(layer.num_params(), 3 * (12 + 7) + 7);
    assert_eq!(layer.rel_error(), 0.0);
    check_gradients(&mut layer, &randn(&[4, 12], 5), 6);
    // Glorot variance of W = L Rᵀ: 2 / (in + out), over a large layer.
    let big = SvdLinear::<f32>::random(400, 300, 20, false, 9).unwrap();
    let w = big
        .forward(
            &Tensor::<f32>::from_fn(&[400, 400], |i| f32::from(u8::from(i[0] == i[1]))).unwrap(),
        )
        .unwrap();
    let var = w.as_slice().iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / w.numel() as f64;
    assert!((var / (2.0 / 700.0) - 1.0).abs() < 0.1, "variance {var}");
    assert!(matches!(SvdLinear::<f64>::random(5, 4, 5, true, 1), Err(Error::InvalidRank { .. })));
    assert!(matches!(SvdLinear::<f64>::random(0, 4, 1, true, 1), Err(Error::ZeroDimension { .. })));
}

#[test]
fn pad_flatten_centres_every_image_and_checks_its_input() {
    let images = Tensor::<f64>::from_fn(&[3, 2, 3, 2], |i| {
        (1 + i[0] * 100 + i[1] * 10 + i[2] * 2 + i[3]) as f64
    })
    .unwrap();
    let inner = TensorDataset::new(images.clone(), vec![0, 1, 2], 3).unwrap();
    let padded = PadFlatten::new(&inner, [6, 5], -0.5).unwrap();
    let (x, labels) = Dataset::<f64>::batch(&padded, &[2, 0]).unwrap();
    assert_eq!((x.shape(), labels), (&[2, 2 * 30][..], vec![2, 0]));
    // Image (b, c) at rows 1..4, columns 1..3 of a 6 × 5 plane; everything else the fill.
    for (row, b) in [(0, 2usize), (1, 0)] {
        for c in 0..2 {
            for r in 0..6 {
                for col in 0..5 {
                    let got = x.get(&[row, c * 30 + r * 5 + col]).unwrap();
                    let want = if (1..4).contains(&r) && (1..3).contains(&col) {
                        images.get(&[b, c, r - 1, col - 1]).unwrap()
                    } else {
                        -0.5
                    };
                    assert_eq!(got, want);
                }
            }
        }
    }
    assert!(matches!(
        PadFlatten::new(&inner, [2, 5], 0.0).unwrap().batch(&[0]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        PadFlatten::new(&inner, [6, 5], f64::NAN),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(PadFlatten::new(&inner, [0, 5], 0.0), Err(Error::InvalidParameter { .. })));
    let flat = TensorDataset::new(randn(&[2, 4], 1), vec![0, 1], 2).unwrap();
    assert!(matches!(
        PadFlatten::new(&flat, [4, 4], 0.0).unwrap().batch(&[0]),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn the_shuffled_tt_layer_is_the_permuted_dense_layer_with_exact_gradients() {
    let mut layer = ShuffledTtLinear::<f64>::glorot(&[2, 3], &[3, 2], &[2], 1, 7).unwrap();
    // A non-zero bias, so its permutation matters.
    layer.visit_params(&mut |p| {
        if p.name == "bias" {
            p.value.iter_mut().enumerate().for_each(|(i, v)| *v = 0.1 * i as f64 - 0.2);
        }
    });
    let x = randn(&[3, 6], 2);
    check_gradients(&mut layer, &x, 3);
    // y = x Wᵀ + b with W = π⁻¹(V) and b[σ_out(i)] = b'[i].
    let w = layer.to_dense().unwrap();
    assert_eq!(layer.shuffle().apply(&w).unwrap(), layer.inner().weight().to_dense().unwrap());
    let y = layer.forward(&x).unwrap();
    let plain = layer.inner().forward(&x).unwrap();
    let dense = x.as_mat().unwrap() * w.as_mat().unwrap().transpose();
    let zero_x = Tensor::<f64>::zeros(&[1, 6]).unwrap();
    let bias = layer.forward(&zero_x).unwrap();
    let mut bias_sorted = bias.as_slice().to_vec();
    bias_sorted.sort_by(f64::total_cmp);
    let mut inner_bias = layer.inner().bias().to_vec();
    inner_bias.sort_by(f64::total_cmp);
    assert_eq!(bias_sorted, inner_bias);
    for b in 0..3 {
        for i in 0..6 {
            let want = dense[(b, i)] + bias.get(&[0, i]).unwrap();
            assert!((y.get(&[b, i]).unwrap() - want).abs() < 1e-12);
        }
    }
    // The permutation is not the identity: the shuffled layer differs from its inner one.
    assert_ne!(y, plain);
    // f32 gives the same function to f32 precision.
    let l32 = ShuffledTtLinear::<f32>::glorot(&[2, 3], &[3, 2], &[2], 1, 7).unwrap();
    let y32 = l32.forward(&x.cast().unwrap()).unwrap();
    let y64 =
        ShuffledTtLinear::<f64>::glorot(&[2, 3], &[3, 2], &[2], 1, 7).unwrap().forward(&x).unwrap();
    for (a, b) in y32.as_slice().iter().zip(y64.as_slice()) {
        assert!((f64::from(*a) - b).abs() < 1e-5 * (1.0 + b.abs()));
    }
}

#[test]
fn the_shuffled_tt_layer_from_a_dense_weight_fits_the_shuffled_matrix() {
    let w = randn(&[8, 12], 3);
    let bias: Vec<f64> = (0..8).map(|i| i as f64).collect();
    let params = TtSvd::new().max_rank(3);
    let (layer, report) =
        ShuffledTtLinear::from_dense(&w, &bias, &[2, 4], &[3, 4], &params, 11).unwrap();
    // The fit is TT-SVD of the shuffled matrix, and its error is the error of W.
    let shuffled = Shuffle::within_modes(&[8, 12], 11).unwrap().apply(&w).unwrap();
    let (direct, direct_report) = params.fit_matrix(&shuffled, &[2, 4], &[3, 4]).unwrap();
    assert_eq!(layer.inner().weight(), &direct);
    let err = w.sub(&layer.to_dense().unwrap()).unwrap().norm() / w.norm();
    assert!(
        (err - report.rel_error).abs() < 1e-10 && (err - direct_report.rel_error).abs() < 1e-10
    );
    // The bias goes through σ_out unchanged: the layer's output on x = 0 is b.
    let y = layer.forward(&Tensor::zeros(&[1, 12]).unwrap()).unwrap();
    assert_eq!(y.as_slice(), bias.as_slice());
    // At full rank the shuffled layer is the dense layer.
    let (exact, _) =
        ShuffledTtLinear::from_dense(&w, &bias, &[2, 4], &[3, 4], &TtSvd::new(), 5).unwrap();
    let x = randn(&[2, 12], 4);
    let want = x.as_mat().unwrap() * w.as_mat().unwrap().transpose();
    let got = exact.forward(&x).unwrap();
    for b in 0..2 {
        for i in 0..8 {
            assert!((got.get(&[b, i]).unwrap() - want[(b, i)] - bias[i]).abs() < 1e-10);
        }
    }
    assert!(matches!(
        ShuffledTtLinear::from_dense(&w, &bias[..3], &[2, 4], &[3, 4], &params, 1),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut l = layer.clone();
    assert!(matches!(l.forward(&randn(&[2, 11], 1)), Err(Error::ShapeMismatch { .. })));
    l.forward_train(&x).unwrap();
    assert!(matches!(l.backward(&randn(&[2, 7], 1)), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn the_tr_layer_is_its_ring_weight_with_exact_gradients() {
    for (rows, cols, ranks) in [
        (vec![6], vec![4], vec![3]),
        (vec![2, 3], vec![3, 2], vec![2, 3]),
        (vec![2, 1, 2], vec![2, 3, 1], vec![1, 2, 2]),
    ] {
        let mut layer = TrLinear::<f64>::glorot(&rows, &cols, &ranks, 4).unwrap();
        layer.visit_params(&mut |p| {
            if p.name == "bias" {
                p.value.iter_mut().enumerate().for_each(|(i, v)| *v = 0.1 * i as f64 - 0.2);
            }
        });
        let x = randn(&[3, layer.in_features()], 2);
        check_gradients(&mut layer, &x, 3);
        // y = x Wᵀ + b, W the dense form of the ring.
        let w = layer.to_dense().unwrap();
        assert_eq!(w.shape(), &[layer.out_features(), layer.in_features()]);
        let dense = x.as_mat().unwrap() * w.as_mat().unwrap().transpose();
        let y = layer.forward(&x).unwrap();
        for b in 0..3 {
            for i in 0..layer.out_features() {
                let want = dense[(b, i)] + layer.bias()[i];
                assert!((y.get(&[b, i]).unwrap() - want).abs() < 1e-12, "{rows:?}");
            }
        }
        assert_eq!(
            layer.num_params(),
            layer.cores().iter().map(Tensor::numel).sum::<usize>() + w.shape()[0]
        );
    }
    // Glorot: the entries of W have variance 2 / (M + N).
    let big = TrLinear::<f64>::glorot(&[8, 8], &[8, 16], &[4, 4], 1).unwrap();
    let w = big.to_dense().unwrap();
    let var = w.as_slice().iter().map(|v| v * v).sum::<f64>() / w.numel() as f64;
    let want = 2.0 / (64.0 + 128.0);
    assert!((var / want - 1.0).abs() < 0.3, "variance {var} vs {want}");
}

#[test]
fn the_tr_layer_from_a_dense_weight_and_its_errors() {
    let w = randn(&[8, 12], 3);
    let bias: Vec<f64> = (0..8).map(|i| i as f64).collect();
    let (exact, report) = TrLinear::from_dense(&w, &bias, &[2, 4], &[3, 4], &TrSvd::new()).unwrap();
    assert!(report.rel_error < 1e-12);
    let back = exact.to_dense().unwrap();
    assert!(w.sub(&back).unwrap().norm() < 1e-12 * w.norm());
    // Truncated: the reported error is the error of W, and the ring has the capped ranks.
    let (cut, report) =
        TrLinear::from_dense(&w, &bias, &[2, 4], &[3, 4], &TrSvd::new().max_rank(2)).unwrap();
    let err = w.sub(&cut.to_dense().unwrap()).unwrap().norm() / w.norm();
    assert!((err - report.rel_error).abs() < 1e-10 && err > 0.1);
    assert!(cut.ranks().iter().all(|&r| r <= 2));
    assert_eq!(cut.ring().unwrap().shape(), vec![6, 16]);
    // Bad input: typed errors naming the shapes.
    fn bad<X>(r: Result<X, Error>) -> bool {
        matches!(r, Err(Error::ShapeMismatch { .. }))
    }
    assert!(bad(TrLinear::from_dense(&w, &bias, &[2, 4], &[4, 4], &TrSvd::new()).map(|p| p.0)));
    assert!(bad(TrLinear::from_dense(
        &randn(&[8, 12, 1], 1),
        &bias,
        &[2, 4],
        &[3, 4],
        &TrSvd::new()
    )
    .map(|p| p.0)));
    assert!(bad(TrLinear::new(exact.cores().to_vec(), vec![0.0; 3])));
    assert!(matches!(
        TrLinear::<f64>::glorot(&[2, 4], &[3, 4], &[2], 1),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(
        TrLinear::<f64>::glorot(&[2, 4], &[3, 4], &[2, 0], 1),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(
        TrLinear::<f64>::new(vec![randn(&[2, 2, 2], 1)], vec![0.0; 2]),
        Err(Error::InvalidModes { .. })
    ));
    assert!(matches!(TrLinear::<f64>::new(vec![], vec![]), Err(Error::InvalidModes { .. })));
    // A ring that does not close: r_0 = 2, r_d = 3.
    let open = vec![randn(&[2, 2, 2, 3], 1), randn(&[3, 2, 2, 3], 2)];
    assert!(matches!(TrLinear::new(open, vec![0.0; 4]), Err(Error::InvalidRank { .. })));
    let mut nan = exact.cores().to_vec();
    nan[0].as_mut_slice()[0] = f64::NAN;
    assert!(matches!(TrLinear::new(nan, bias.clone()), Err(Error::NonFinite { .. })));
    let mut l = cut.clone();
    assert!(bad(l.forward(&randn(&[2, 11], 1))));
    assert!(matches!(l.backward(&randn(&[2, 8], 1)), Err(Error::InvalidParameter { .. })));
    l.forward_train(&randn(&[2, 12], 1)).unwrap();
    assert!(bad(l.backward(&randn(&[2, 7], 1))));
}

#[test]
fn the_shuffled_tr_layer_is_the_permuted_ring_layer() {
    let mut layer = ShuffledTrLinear::<f64>::glorot(&[2, 3], &[3, 2], &[2, 2], 1, 7).unwrap();
    let x = randn(&[3, 6], 2);
    check_gradients(&mut layer, &x, 3);
    let w = layer.to_dense().unwrap();
    assert_eq!(layer.shuffle().apply(&w).unwrap(), layer.inner().to_dense().unwrap());
    let dense = x.as_mat().unwrap() * w.as_mat().unwrap().transpose();
    let y = layer.forward(&x).unwrap();
    for b in 0..3 {
        for i in 0..6 {
            assert!((y.get(&[b, i]).unwrap() - dense[(b, i)]).abs() < 1e-12);
        }
    }
    // From a dense weight: TR-SVD of the shuffled matrix, its error the error of W.
    let w = randn(&[8, 12], 3);
    let bias: Vec<f64> = (0..8).map(|i| i as f64).collect();
    let params = TrSvd::new().max_rank(2);
    let (layer, report) =
        ShuffledTrLinear::from_dense(&w, &bias, &[2, 4], &[3, 4], &params, 11).unwrap();
    let shuffled = Shuffle::within_modes(&[8, 12], 11).unwrap().apply(&w).unwrap();
    let (direct, _) =
        TrLinear::from_dense(&shuffled, &[0.0; 8], &[2, 4], &[3, 4], &params).unwrap();
    assert_eq!(layer.inner().cores(), direct.cores());
    let err = w.sub(&layer.to_dense().unwrap()).unwrap().norm() / w.norm();
    assert!((err - report.rel_error).abs() < 1e-10);
    let y = layer.forward(&Tensor::zeros(&[1, 12]).unwrap()).unwrap();
    assert_eq!(y.as_slice(), bias.as_slice());
    assert!(matches!(
        ShuffledTrLinear::from_dense(&w, &bias[..3], &[2, 4], &[3, 4], &params, 1),
        Err(Error::ShapeMismatch { .. })
    ));
}

/// `⟨block(x), r⟩` in training mode (batch statistics), on a clone so that the running
/// statistics of the block under test do not move.
fn train_loss(block: &TuckerConvBlock<f64>, x: &Tensor<f64>, r: &Tensor<f64>) -> f64 {
    block.clone().forward_train(x).unwrap().inner(r).unwrap()
}

#[test]
fn the_tucker_block_matches_finite_differences_in_training_mode() {
    let block = TuckerConvBlock::<f64>::new(3, 2, [3, 3], [2, 2, 1, 2, 3], 4).unwrap();
    // γ, β away from 1, 0 so that their paths matter.
    let mut block = block;
    let mut k = 0.0;
    block.visit_params(&mut |p| {
        if p.value.len() == 2 && !p.name.starts_with("tucker") {
            p.value.iter_mut().for_each(|v| {
                k += 0.3;
                *v += k - 0.5;
            });
        }
    });
    let x = randn(&[2, 2, 4, 3], 5);
    let mut layer = block.clone();
    let y = layer.forward_train(&x).unwrap();
    let r = randn(y.shape(), 6);
    let dx = layer.backward(&r).unwrap();
    let mut grads = Vec::new();
    layer.visit_params(&mut |p| grads.push(p.grad.to_vec()));
    let h = 1e-6;
    let tol = |fd: f64| 1e-6 * (1.0 + fd.abs());
    for i in 0..x.numel() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp.as_mut_slice()[i] += h;
        xm.as_mut_slice()[i] -= h;
        let fd = (train_loss(&block, &xp, &r) - train_loss(&block, &xm, &r)) / (2.0 * h);
        assert!((fd - dx.as_slice()[i]).abs() <= tol(fd), "x[{i}]: {fd} vs {}", dx.as_slice()[i]);
    }
    assert_eq!(grads.len(), 1 + 5 + 2 * 3, "core, five factors, γ and β of three norms");
    for (p, g) in grads.iter().enumerate() {
        for (j, &gj) in g.iter().enumerate() {
            let bump = |delta: f64| {
                let mut b = block.clone();
                let mut k = 0;
                b.visit_params(&mut |q| {
                    if k == p {
                        q.value[j] += delta;
                    }
                    k += 1;
                });
                b
            };
            let fd = (train_loss(&bump(h), &x, &r) - train_loss(&bump(-h), &x, &r)) / (2.0 * h);
            assert!((fd - gj).abs() <= tol(fd), "θ{p}[{j}]: {fd} vs {gj}");
        }
    }
}

#[test]
fn the_tucker_block_runs_the_slices_of_its_tensor_as_plain_convolutions() {
    let block = TuckerConvBlock::<f64>::new(2, 3, [3, 3], [2, 2, 3, 2, 2], 8).unwrap();
    let w = block.weight().unwrap();
    assert_eq!(w.shape(), &[2, 3, 3, 3, 3]);
    let x = randn(&[2, 3, 5, 4], 9);
    // Inference: conv (slice l) → batch norm (running statistics, here the identity) → ReLU.
    let mut h = x.clone();
    for l in 0..2 {
        let conv =
            Conv2d::new(w.select(0, l).unwrap(), None).unwrap().with_padding([1, 1]).unwrap();
        h = Relu::new()
            .forward(&BatchNorm2d::new(3).unwrap().forward(&conv.forward(&h).unwrap()).unwrap())
            .unwrap();
    }
    let got = block.forward(&x).unwrap();
    for (a, b) in got.as_slice().iter().zip(h.as_slice()) {
        assert!((a - b).abs() < 1e-12);
    }
    assert_eq!(block.tucker_params(), 2 * 2 * 3 * 2 * 2 + 2 * 2 + 3 * 2 + 3 * 3 + 3 * 2 + 3 * 2);
    assert_eq!(block.num_params(), block.tucker_params() + 2 * 2 * 3);
    assert_eq!(block.dense_weight_params(), 2 * 3 * 3 * 9);
    // f32 agrees with f64 for the same seed.
    let b32 = TuckerConvBlock::<f32>::new(2, 3, [3, 3], [2, 2, 3, 2, 2], 8).unwrap();
    let y32 = b32.forward(&x.cast().unwrap()).unwrap();
    for (a, b) in y32.as_slice().iter().zip(got.as_slice()) {
        assert!((f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()));
    }
    // Bad input: ranks above the modes, a wrong channel count, a backward pass first.
    assert!(matches!(
        TuckerConvBlock::<f64>::new(2, 3, [3, 3], [3, 2, 2, 2, 2], 1),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(
        TuckerConvBlock::<f64>::new(2, 3, [3, 3], [2, 0, 2, 2, 2], 1),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(
        TuckerConvBlock::<f64>::new(0, 3, [3, 3], [1; 5], 1),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(block.forward(&randn(&[1, 2, 5, 5], 1)), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(block.clone().backward(&x), Err(Error::InvalidParameter { .. })));
}

#[test]
fn the_model_builders_have_the_stated_shapes_and_counts() {
    let tt = TtLinear::<f32>::glorot_rank(&[4, 8, 8, 4], &[4, 8, 8, 4], 2, TtRankRule::Uniform, 1)
        .unwrap();
    let tt_params = tt.num_params();
    let net = two_layer_net(tt, 1024, 10, 3).unwrap();
    assert_eq!(net.names(), &["fc1", "1", "fc2"]);
    assert_eq!(net.num_params(), tt_params + 10 * 1024 + 10);
    let shared = tnet_cnn::<f32>(8, 4, [2, 4, 4, 3, 3], 1).unwrap();
    let twin = tnet_twin::<f32>(8, 4, 1).unwrap();
    let block = TuckerConvBlock::<f32>::new(4, 8, [3, 3], [2, 4, 4, 3, 3], 1).unwrap();
    assert_eq!(
        twin.num_params() - shared.num_params(),
        block.dense_weight_params() - block.tucker_params()
    );
    for net in [&shared, &twin] {
        assert_eq!(net.output_shape(&[3, 1, 28, 28]).unwrap(), vec![3, 10]);
        assert!(net.index_of("block").is_ok());
    }
}
