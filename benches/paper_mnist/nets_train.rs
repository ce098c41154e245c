//! Training from scratch and fine-tuning shared by the `novikov`, `rstd` and `tnet` parts: Adam
//! with a cosine schedule over seeded mini-batches, the training throughput of the run, the
//! test accuracy; and the mean and spread of a few numbers.

use std::time::Instant;

use tensorize::nn::{evaluate, Adam, Dataset, Layer, Schedule, Train};
use tensorize::Result;

/// How long and how fast to train.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    /// Passes over the training set.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Adam's initial rate (cosine-annealed to a hundredth of it).
    pub lr: f64,
    /// Stops after this many steps, if set.
    pub max_steps: Option<usize>,
}

/// What a training run gave.
#[derive(Clone, Copy, Debug)]
pub struct Trained {
    /// Test accuracy after training (0..1).
    pub accuracy: f64,
    /// Training images per second (forward, backward, optimizer step).
    pub images_per_s: f64,
}

/// Trains `model` on `train` by `recipe` (shuffled by `seed`) and measures it on `test`.
///
/// # Errors
/// Errors of the training loop and of the evaluation.
pub fn train_and_test(
    model: &mut dyn Layer<f32>,
    train: &dyn Dataset<f32>,
    test: &dyn Dataset<f32>,
    recipe: Recipe,
    seed: u64,
) -> Result<Trained> {
    let per_epoch = train.len().div_ceil(recipe.batch);
    let total = recipe.max_steps.unwrap_or(usize::MAX).min(per_epoch * recipe.epochs).max(1);
    let mut train_loop = Train::new(recipe.epochs, recipe.batch)?
        .seed(seed)
        .schedule(Schedule::cosine(total, recipe.lr / 100.0)?);
    if let Some(m) = recipe.max_steps {
        train_loop = train_loop.max_steps(m);
    }
    let mut adam = Adam::new(recipe.lr)?;
    let t0 = Instant::now();
    let report = train_loop.fit(model, &mut adam, train, &mut |_| {})?;
    let images_per_s = report.samples as f64 / t0.elapsed().as_secs_f64().max(1e-9);
    Ok(Trained { accuracy: accuracy(model, test)?, images_per_s })
}

/// Test accuracy (0..1) of `model` on `test`.
///
/// # Errors
/// Errors of the evaluation.
pub fn accuracy(model: &dyn Layer<f32>, test: &dyn Dataset<f32>) -> Result<f64> {
    Ok(evaluate(model, test, 500)?.accuracy())
}

/// The mean and the sample standard deviation (0 for one number).
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}
