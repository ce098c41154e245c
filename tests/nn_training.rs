//! Optimizers, schedules, the training loop and evaluation: Adam and SGD against their update
//! rules written out, the schedules' values, a training run's progress, determinism and typed
//! errors (divergence, bad data, bad parameters).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::nn::{
    batch_indices, evaluate, Adam, Dataset, Flatten, Layer, Linear, Optimizer, Progress, Relu,
    Schedule, Sequential, Sgd, TensorDataset, Train,
};
use tensorize::{Error, Tensor};

/// A linear layer whose gradient is set to `g` (through a forward/backward with `x = 1`).
fn with_gradient(w: &[f64], g: &[f64]) -> Linear<f64> {
    let n = w.len();
    let mut fc = Linear::new(Tensor::from_vec(&[n, 1], w.to_vec()).unwrap(), None).unwrap();
    fc.forward_train(&Tensor::from_vec(&[1, 1], vec![1.0]).unwrap()).unwrap();
    fc.backward(&Tensor::from_vec(&[1, n], g.to_vec()).unwrap()).unwrap();
    fc
}

fn weights(fc: &Linear<f64>) -> Vec<f64> {
    fc.weight().as_slice().to_vec()
}

#[test]
fn adam_follows_its_update_rule() {
    let (lr, b1, b2, eps, wd) = (0.01, 0.8, 0.99, 1e-6, 0.1);
    let mut adam = Adam::new(lr).unwrap().betas(b1, b2).unwrap().eps(eps).unwrap();
    adam = adam.weight_decay(wd).unwrap();
    let grads = [[0.5, -2.0, 0.0], [1.0, 1.0, -3.0], [-0.25, 0.0, 4.0]];
    let mut theta = vec![1.0, -1.0, 0.5];
    let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
    let mut fc = with_gradient(&theta, &grads[0]);
    for (t, g) in grads.iter().enumerate() {
        if t > 0 {
            fc = with_gradient(&weights(&fc), g);
        }
        adam.step(&mut fc).unwrap();
        let t = t as i32 + 1;
        for i in 0..3 {
            let gi = g[i] + wd * theta[i];
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            let (mh, vh) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
            theta[i] -= lr * mh / (vh.sqrt() + eps);
        }
        for (got, want) in weights(&fc).iter().zip(&theta) {
            assert!((got - want).abs() < 1e-14, "step {t}: {got} vs {want}");
        }
        let mut cleared = true;
        fc.visit_params(&mut |p| cleared &= p.grad.iter().all(|&g| g == 0.0));
        assert!(cleared, "the step clears the gradients");
    }
}

#[test]
fn sgd_with_momentum_follows_its_update_rule() {
    let (lr, mu, wd) = (0.1, 0.9, 0.01);
    let mut sgd = Sgd::new(lr).unwrap().momentum(mu).unwrap().weight_decay(wd).unwrap();
    let mut theta = vec![2.0, -1.0];
    let mut vel = [0.0; 2];
    let mut fc = with_gradient(&theta, &[1.0, 1.0]);
    for step in 0..3 {
        if step > 0 {
            fc = with_gradient(&weights(&fc), &[1.0, 1.0]);
        }
        sgd.step(&mut fc).unwrap();
        for i in 0..2 {
            vel[i] = mu * vel[i] + (1.0 + wd * theta[i]);
            theta[i] -= lr * vel[i];
        }
        assert_eq!(weights(&fc), theta);
    }
    // The state belongs to one model: another with other parameter sizes is refused.
    let mut other = with_gradient(&[1.0, 2.0, 3.0], &[0.0; 3]);
    assert!(matches!(sgd.step(&mut other), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn optimizer_and_schedule_parameters_are_checked() {
    assert!(matches!(Adam::<f32>::new(-1.0), Err(Error::InvalidParameter { name: "lr", .. })));
    assert!(Adam::<f32>::new(0.1).unwrap().betas(0.9, 1.0).is_err());
    assert!(Adam::<f32>::new(0.1).unwrap().eps(0.0).is_err());
    assert!(Adam::<f32>::new(0.1).unwrap().weight_decay(f64::NAN).is_err());
    let mut sgd = Sgd::<f32>::new(0.1).unwrap();
    assert!(sgd.set_lr(f64::INFINITY).is_err() && sgd.set_lr(0.0).is_ok());
    assert!(Schedule::step(0, 0.5).is_err() && Schedule::step(10, 1.5).is_err());
    assert!(Schedule::cosine(0, 0.0).is_err() && Schedule::cosine(5, -1.0).is_err());
    assert!(Train::new(0, 8).is_err() && Train::new(1, 0).is_err());
}

#[test]
fn schedules_give_their_rates() {
    let step = Schedule::step(3, 0.1).unwrap();
    let rates: Vec<f64> = (0..7).map(|s| step.lr(1.0, s)).collect();
    let want = [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1 * 0.1];
    for (got, want) in rates.iter().zip(want) {
        assert!((got - want).abs() < 1e-15, "{rates:?}");
    }
    let cosine = Schedule::cosine(4, 0.1).unwrap();
    let rates: Vec<f64> = (0..6).map(|s| cosine.lr(1.1, s)).collect();
    // 0.1 + 1.0 · (1 + cos(π s / 4)) / 2, then held at 0.1.
    for (s, got) in rates.iter().enumerate() {
        let want = 0.1 + 0.5 * (1.0 + (std::f64::consts::PI * s.min(4) as f64 / 4.0).cos());
        assert!((got - want).abs() < 1e-12, "{rates:?}");
    }
    assert!(rates.windows(2).all(|w| w[1] <= w[0]));
    assert_eq!(Schedule::Constant.lr(0.3, 1_000_000), 0.3);
}

/// Three Gaussian blobs in 4 dimensions, `n` samples each.
fn blobs(n: usize, seed: u64) -> TensorDataset<f64> {
    let noise = Tensor::<f64>::random_normal(&[3 * n, 4], seed).unwrap();
    let centers = [[3.0, 0.0, 0.0, 1.0], [0.0, 3.0, -1.0, 0.0], [-2.0, -2.0, 2.0, 0.0]];
    let x = Tensor::from_fn(&[3 * n, 4], |i| centers[i[0] % 3][i[1]] + 0.5 * noise.get(i).unwrap())
        .unwrap();
    TensorDataset::new(x, (0..3 * n).map(|i| i % 3).collect(), 3).unwrap()
}

fn mlp(seed: u64) -> Sequential<f64> {
    let w1 = Tensor::random_normal(&[8, 4], seed).unwrap().scale(0.5);
    let w2 = Tensor::random_normal(&[3, 8], seed + 1).unwrap().scale(0.5);
    Sequential::new()
        .push(Flatten::new())
        .push(Linear::new(w1, Some(vec![0.0; 8])).unwrap())
        .push(Relu::new())
        .push(Linear::new(w2, Some(vec![0.0; 3])).unwrap())
}

fn params(model: &mut dyn Layer<f64>) -> Vec<f64> {
    let mut all = Vec::new();
    model.visit_params(&mut |p| all.extend_from_slice(p.value));
    all
}

#[test]
fn training_learns_reports_progress_and_is_deterministic() {
    let data = blobs(40, 1);
    let run = |seed: u64| {
        let mut model = mlp(3);
        let mut adam = Adam::new(0.05).unwrap();
        let mut seen: Vec<Progress> = Vec::new();
        let train =
            Train::new(4, 16).unwrap().seed(seed).schedule(Schedule::cosine(32, 0.0).unwrap());
        let report = train.fit(&mut model, &mut adam, &data, &mut |p| seen.push(*p)).unwrap();
        (report, seen, params(&mut model), evaluate(&model, &data, 50).unwrap())
    };
    let (report, seen, weights, eval) = run(5);
    // 120 samples in batches of 16: 8 steps per epoch, 4 epochs.
    assert_eq!((report.steps, report.samples, seen.len()), (32, 480, 32));
    assert_eq!(seen.last().map(|p| (p.step, p.total_steps, p.epoch)), Some((32, 32, 3)));
    assert!(seen.windows(2).all(|w| w[1].lr <= w[0].lr && w[1].step == w[0].step + 1));
    assert!(report.epoch_losses[3] < 0.5 * report.epoch_losses[0], "{:?}", report.epoch_losses);
    assert!(eval.accuracy() > 0.95, "{}", eval.accuracy());
    assert!(eval.mean_loss().unwrap() < report.epoch_losses[0]);
    assert_eq!(eval.confusion.iter().flatten().sum::<usize>(), 120);
    // Same seed, same weights, bit for bit; another shuffling seed gives other weights.
    let again = run(5);
    assert_eq!((again.0, again.2), (report, weights.clone()));
    assert_ne!(run(6).2, weights);
}

#[test]
fn max_steps_stops_a_short_fine_tuning_pass() {
    let data = blobs(10, 2);
    let mut model = mlp(4);
    let mut sgd = Sgd::new(0.01).unwrap();
    let mut calls = 0;
    let report = Train::new(100, 8)
        .unwrap()
        .max_steps(5)
        .fit(&mut model, &mut sgd, &data, &mut |_| calls += 1)
        .unwrap();
    // 30 samples: batches of 8, 8, 8, 6 in the first epoch, then one of 8.
    assert_eq!((report.steps, calls, report.samples), (5, 5, 38));
    // Extreme epoch counts and seeds do not overflow.
    let report = Train::new(usize::MAX, 8)
        .unwrap()
        .seed(u64::MAX)
        .max_steps(5)
        .fit(&mut model, &mut sgd, &data, &mut |_| {})
        .unwrap();
    assert_eq!(report.steps, 5);
}

#[test]
fn a_diverging_run_stops_with_the_step_named() {
    let data = blobs(20, 3);
    let mut model = mlp(5);
    let mut sgd = Sgd::new(1e30).unwrap();
    let err = Train::new(10, 4).unwrap().fit(&mut model, &mut sgd, &data, &mut |_| {}).unwrap_err();
    match err {
        Error::Diverged { step, epoch, value } => {
            assert!(step >= 1 && !value.is_finite(), "{step} {value}");
            assert_eq!(epoch, step / 15);
            let msg = Error::Diverged { step, epoch, value }.to_string();
            assert!(msg.contains(&format!("step {step}")), "{msg}");
        }
        other => panic!("expected Diverged, got {other}"),
    }
}

#[test]
fn bad_data_is_refused_before_training() {
    let mut model = mlp(6);
    let mut sgd = Sgd::new(0.1).unwrap();
    let empty = TensorDataset::new(Tensor::<f64>::zeros(&[0, 4]).unwrap(), vec![], 3).unwrap();
    let err = Train::new(1, 4).unwrap().fit(&mut model, &mut sgd, &empty, &mut |_| {});
    assert!(matches!(err, Err(Error::InvalidParameter { name: "data", .. })));
    // Labels outside the model's classes, inputs of the wrong width.
    let x = Tensor::<f64>::zeros(&[2, 4]).unwrap();
    let wrong_label = TensorDataset::new(x.clone(), vec![0, 5], 6).unwrap();
    let err = Train::new(1, 4).unwrap().fit(&mut model, &mut sgd, &wrong_label, &mut |_| {});
    assert!(matches!(err, Err(Error::IndexOutOfBounds { .. })), "{err:?}");
    let wide = TensorDataset::new(Tensor::<f64>::zeros(&[2, 5]).unwrap(), vec![0, 1], 3).unwrap();
    let err = Train::new(1, 4).unwrap().fit(&mut model, &mut sgd, &wide, &mut |_| {});
    assert!(matches!(err, Err(Error::ShapeMismatch { .. })), "{err:?}");
    // The data sets check what they are given.
    assert!(TensorDataset::new(x.clone(), vec![0], 3).is_err());
    assert!(TensorDataset::new(x.clone(), vec![0, 3], 3).is_err());
    let mut nan = x;
    nan.as_mut_slice()[1] = f64::NAN;
    assert!(matches!(TensorDataset::new(nan, vec![0, 1], 3), Err(Error::NonFinite { .. })));
    assert!(blobs(2, 1).batch(&[6]).is_err());
    assert!(batch_indices(3, 0, None).is_err());
}
