//! Gradient checks shared by the layer tests: a layer's backward pass against central finite
//! differences of `⟨layer(x), r⟩` in f64, for every input entry and parameter entry.

// Each test that includes this file uses part of it.
#![allow(dead_code)]

use tensorize::nn::Layer;
use tensorize::Tensor;

/// `L(x) = ⟨layer(x), r⟩`, so that `∂L/∂y = r`.
pub fn loss(layer: &dyn Layer<f64>, x: &Tensor<f64>, r: &Tensor<f64>) -> f64 {
    layer.forward(x).unwrap().inner(r).unwrap()
}

pub fn grads_of(layer: &mut dyn Layer<f64>) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    layer.visit_params(&mut |p| out.push(p.grad.to_vec()));
    out
}

pub fn nudge(layer: &mut dyn Layer<f64>, param: usize, at: usize, delta: f64) {
    let mut k = 0;
    layer.visit_params(&mut |p| {
        if k == param {
            p.value[at] += delta;
        }
        k += 1;
    });
}

/// Checks `backward` of `layer` at input `x` against central differences of `⟨layer(x), r⟩`,
/// for every input entry and every parameter entry.
pub fn check_gradients(layer: &mut dyn Layer<f64>, x: &Tensor<f64>, seed: u64) {
    check_gradients_every(layer, x, seed, 1);
}

/// As [`check_gradients`], every input entry but only every `step`-th parameter entry.
pub fn check_gradients_every(layer: &mut dyn Layer<f64>, x: &Tensor<f64>, seed: u64, step: usize) {
    let y = layer.forward_train(x).unwrap();
    let r = Tensor::<f64>::random_normal(y.shape(), seed).unwrap();
    let dx = layer.backward(&r).unwrap();
    assert_eq!(dx.shape(), x.shape(), "{}", layer.describe());
    let grads = grads_of(layer);
    let h = 1e-6;
    let tol = |want: f64| 1e-6 * (1.0 + want.abs());
    for i in 0..x.numel() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp.as_mut_slice()[i] += h;
        xm.as_mut_slice()[i] -= h;
        let fd = (loss(layer, &xp, &r) - loss(layer, &xm, &r)) / (2.0 * h);
        let got = dx.as_slice()[i];
        assert!(
            (fd - got).abs() <= tol(fd),
            "{}: ∂/∂x[{i}] = {got}, differences {fd}",
            layer.describe()
        );
    }
    for (p, g) in grads.iter().enumerate() {
        for (j, &gj) in g.iter().enumerate().step_by(step) {
            nudge(layer, p, j, h);
            let up = loss(layer, x, &r);
            nudge(layer, p, j, -2.0 * h);
            let down = loss(layer, x, &r);
            nudge(layer, p, j, h);
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - gj).abs() <= tol(fd),
                "{}: ∂/∂θ{p}[{j}] = {gj}, differences {fd}",
                layer.describe()
            );
        }
    }
}
