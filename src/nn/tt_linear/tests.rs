//! TtLinear: gradients against finite differences and the dense layer; Glorot variance.

#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use super::*;

fn setup() -> (TtLinear<f64>, Tensor<f64>) {
    let mut layer = TtLinear::<f64>::glorot(&[2, 3, 2], &[3, 2, 2], &[2, 3], 11).unwrap();
    // A non-zero bias so that its gradient path matters.
    layer.bias = (0..12).map(|i| 0.1 * i as f64 - 0.5).collect();
    let x = Tensor::<f64>::random_normal(&[5, 12], 12).unwrap();
    (layer, x)
}

/// L = ½‖Y‖² (so dY = Y): quadratic in every single parameter, a real nonlinear test.
fn loss(layer: &TtLinear<f64>, x: &Tensor<f64>) -> f64 {
    let y = layer.forward(x).unwrap();
    0.5 * y.inner(&y).unwrap()
}

#[test]
fn gradients_match_central_differences() {
    let (layer, x) = setup();
    let (y, cache) = layer.forward_with_cache(&x).unwrap();
    let g = layer.gradients(&cache, &y).unwrap();
    let h = 1e-6;
    let scale = loss(&layer, &x).abs().max(1.0);
    // Central differences of a quadratic are exact up to rounding ~ eps·L/h.
    let tol = 1e-6 * scale;
    for p in 0..x.numel() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp.as_mut_slice()[p] += h;
        xm.as_mut_slice()[p] -= h;
        let fd = (loss(&layer, &xp) - loss(&layer, &xm)) / (2.0 * h);
        assert!(
            (fd - g.input.as_slice()[p]).abs() < tol,
            "input {p}: {fd} vs {}",
            g.input.as_slice()[p]
        );
    }
    for k in 0..layer.weight.ndim() {
        for p in 0..layer.weight.cores()[k].numel() {
            let bump = |delta: f64| {
                let mut cores = layer.weight.cores().to_vec();
                cores[k].as_mut_slice()[p] += delta;
                TtLinear::new(TtMatrix::new(cores).unwrap(), layer.bias.clone()).unwrap()
            };
            let fd = (loss(&bump(h), &x) - loss(&bump(-h), &x)) / (2.0 * h);
            let an = g.cores[k].as_slice()[p];
            assert!((fd - an).abs() < tol, "core {k} entry {p}: {fd} vs {an}");
        }
    }
    for p in 0..layer.bias.len() {
        let mut lp = layer.clone();
        lp.bias[p] += h;
        let mut lm = layer.clone();
        lm.bias[p] -= h;
        let fd = (loss(&lp, &x) - loss(&lm, &x)) / (2.0 * h);
        assert!((fd - g.bias[p]).abs() < tol);
    }
}

#[test]
fn matches_the_dense_layer() {
    for seed in 0..2u64 {
        let (layer, x) = setup();
        let dy = Tensor::<f64>::random_normal(&[5, 12], 20 + seed).unwrap();
        let w = layer.weight.to_dense().unwrap();
        let (y, cache) = layer.forward_with_cache(&x).unwrap();
        // Dense forward: Y = X Wᵀ + b.
        let yd = x.as_mat().unwrap() * w.as_mat().unwrap().transpose();
        let tol = 1e3 * f64::EPSILON * (y.numel() as f64).sqrt() * yd.norm_l2().max(1.0);
        for b in 0..5 {
            for i in 0..12 {
                assert!((y.get(&[b, i]).unwrap() - yd[(b, i)] - layer.bias[i]).abs() < tol);
            }
        }
        let g = layer.gradients(&cache, &dy).unwrap();
        // dX = dY · W, db = column sums of dY.
        let dx = dy.as_mat().unwrap() * w.as_mat().unwrap();
        for b in 0..5 {
            for j in 0..12 {
                assert!((g.input.get(&[b, j]).unwrap() - dx[(b, j)]).abs() < tol);
            }
        }
        for i in 0..12 {
            let s: f64 = (0..5).map(|b| dy.get(&[b, i]).unwrap()).sum();
            assert!((g.bias[i] - s).abs() < tol);
        }
        // Euler's identity for a function linear in each core: <dG_k, G_k> = <dY, X Wᵀ> = <dYᵀX, W>.
        let dw = dy.as_mat().unwrap().transpose() * x.as_mat().unwrap();
        let want: f64 = (0..12)
            .flat_map(|i| (0..12).map(move |j| (i, j)))
            .map(|(i, j)| dw[(i, j)] * w.get(&[i, j]).unwrap())
            .sum();
        for (gk, ck) in g.cores.iter().zip(layer.weight.cores()) {
            assert!((gk.inner(ck).unwrap() - want).abs() < tol);
        }
    }
}

#[test]
fn sgd_step_decreases_the_loss() {
    let (mut layer, x) = setup();
    let before = loss(&layer, &x);
    let (y, cache) = layer.forward_with_cache(&x).unwrap();
    let g = layer.gradients(&cache, &y).unwrap();
    layer.sgd_step(&g, 1e-3).unwrap();
    assert!(loss(&layer, &x) < before);
}

/// Glorot: every entry of W has variance 2/(M+N). Modes 4×4×4 by 4×4×4 (M = N = 64), ranks 8:
/// the 16 entries W[i, j] with (i_k, j_k) = (t / 4, t % 4) at every core k use disjoint core
/// entries, so they are independent; over 200 seeds that is n = 3200 i.i.d. samples of W². With
/// E W⁴ = v^{2d} ∏_{k=1}^{d} r_k (r_k + 2) (a Gaussian row vector times a Gaussian matrix:
/// ‖uA‖² = v‖u‖² χ²_r), E W⁴ / σ⁴ = (8·10·8·10·1·3) / 64² = 4.6875, so the mean of W² has standard
/// deviation σ² sqrt(3.6875 / n); the test allows 5 of them.
#[test]
fn glorot_variance() {
    for f32_too in [false, true] {
        let (m, n) = ([4usize, 4, 4], [4usize, 4, 4]);
        let sigma2 = 2.0 / 128.0;
        let samples = 200 * 16;
        let mut sum = 0.0;
        for seed in 0..200u64 {
            let vals: Vec<f64> = if f32_too {
                let l = TtLinear::<f32>::glorot(&m, &n, &[8, 8], seed).unwrap();
                (0..16).map(|t| l.weight.get(21 * (t / 4), 21 * (t % 4)).unwrap() as f64).collect()
            } else {
                let l = TtLinear::<f64>::glorot(&m, &n, &[8, 8], seed).unwrap();
                (0..16).map(|t| l.weight.get(21 * (t / 4), 21 * (t % 4)).unwrap()).collect()
            };
            sum += vals.iter().map(|v| v * v).sum::<f64>();
        }
        let mean = sum / samples as f64;
        let sd = sigma2 * (3.6875f64 / samples as f64).sqrt();
        assert!((mean - sigma2).abs() < 5.0 * sd, "mean W² {mean} vs {sigma2} (sd {sd})");
    }
}
