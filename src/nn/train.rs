//! The training loop: seeded shuffled mini-batches, softmax cross-entropy, an optimizer and a
//! learning-rate schedule, a progress callback after every step (the library never prints),
//! and a typed error when the loss stops being finite.

use super::dataset::{batch_indices, Dataset};
use super::layer::Layer;
use super::loss::softmax_cross_entropy;
use super::optim::{Optimizer, Schedule};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Where training is, passed to the progress callback after every optimizer step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// The epoch (0-based).
    pub epoch: usize,
    /// Optimizer steps taken so far, over all epochs (1 after the first).
    pub step: usize,
    /// The steps the whole run takes.
    pub total_steps: usize,
    /// The mean loss of this step's mini-batch.
    pub loss: f64,
    /// The learning rate this step used.
    pub lr: f64,
    /// The mean loss of the epoch's steps so far.
    pub epoch_loss: f64,
}

/// What a run of [`Train::fit`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Optimizer steps taken.
    pub steps: usize,
    /// Samples seen (counting repeats over epochs).
    pub samples: usize,
    /// The mean mini-batch loss of every epoch.
    pub epoch_losses: Vec<f64>,
}

/// Mini-batch training of a classifier with softmax cross-entropy: for every epoch the samples
/// are shuffled by `seed + epoch`, and every mini-batch is a forward pass, the loss, a backward
/// pass and one optimizer step at the rate the [`Schedule`] gives for that step. The same
/// seed, data, model and optimizer give the same weights.
///
/// ```
/// use tensorize::nn::{Dataset, Layer, Linear, Sgd, TensorDataset, Train, evaluate};
/// use tensorize::Tensor;
/// // Two separable classes in the plane.
/// let x = Tensor::from_fn(&[40, 2], |i| if i[0] % 2 == 0 { 1.0 } else { -1.0 } * (1.0 + i[1] as f64))?;
/// let labels = (0..40).map(|i| i % 2).collect();
/// let data = TensorDataset::new(x, labels, 2)?;
/// let mut model = Linear::new(Tensor::zeros(&[2, 2])?, Some(vec![0.0; 2]))?;
/// let mut steps = 0;
/// let report = Train::new(3, 8)?.seed(1).fit(&mut model, &mut Sgd::new(0.5)?, &data, &mut |_| steps += 1)?;
/// assert_eq!((report.steps, steps), (15, 15));
/// assert_eq!(evaluate(&model, &data, 16)?.accuracy(), 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Train {
    epochs: usize,
    batch_size: usize,
    seed: u64,
    schedule: Schedule,
    max_steps: Option<usize>,
}

/// [`Error::InvalidParameter`] for 0 epochs or a batch size of 0: the sizes of every training
/// loop (this one, and the pipelines' own loops over the same mini-batches).
pub(crate) fn check_epochs_and_batch(epochs: usize, batch_size: usize) -> Result<()> {
    for (name, v) in [("epochs", epochs), ("batch_size", batch_size)] {
        if v == 0 {
            return Err(Error::InvalidParameter {
                name,
                value: "0".into(),
                expected: "at least 1",
            });
        }
    }
    Ok(())
}

impl Train {
    /// `epochs` passes over the data in mini-batches of `batch_size`; seed 0, a constant rate.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 epochs or a batch size of 0.
    pub fn new(epochs: usize, batch_size: usize) -> Result<Self> {
        check_epochs_and_batch(epochs, batch_size)?;
        Ok(Self { epochs, batch_size, seed: 0, schedule: Schedule::Constant, max_steps: None })
    }

    /// The shuffling seed (epoch `e` shuffles with `seed + e`, wrapping).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The learning-rate schedule over optimizer steps, from the optimizer's rate at the start.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Stops after at most `steps` optimizer steps (a short fine-tuning pass).
    pub fn max_steps(mut self, steps: usize) -> Self {
        self.max_steps = Some(steps);
        self
    }

    /// Trains `model` on `data` with `optimizer`, calling `progress` after every step. The
    /// optimizer's learning rate at the start is the schedule's base rate; afterwards it holds
    /// the rate of the last step.
    ///
    /// # Errors
    /// [`Error::Diverged`] naming the first step whose forward pass or loss was not finite (no
    /// update is made from it); [`Error::NonFinite`] for NaN or infinity in the data;
    /// [`Error::InvalidParameter`] for an empty data set;
    /// errors of the data set, the model (shapes), the loss (labels outside the logits) and
    /// the optimizer.
    pub fn fit<T: Scalar>(
        &self,
        model: &mut dyn Layer<T>,
        optimizer: &mut dyn Optimizer<T>,
        data: &dyn Dataset<T>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<TrainReport> {
        if data.is_empty() {
            return Err(Error::InvalidParameter {
                name: "data",
                value: "0 samples".into(),
                expected: "at least one sample to train on",
            });
        }
        let per_epoch = data.len().div_ceil(self.batch_size);
        let all = per_epoch.saturating_mul(self.epochs);
        let total_steps = self.max_steps.map_or(all, |m| m.min(all));
        let base_lr = optimizer.lr();
        let mut report = TrainReport { steps: 0, samples: 0, epoch_losses: Vec::new() };
        for epoch in 0..self.epochs {
            if report.steps == total_steps {
                break;
            }
            let mut epoch_sum = 0.0;
            let mut epoch_steps = 0;
            let batches = batch_indices(
                data.len(),
                self.batch_size,
                Some(self.seed.wrapping_add(epoch as u64)),
            )?;
            for indices in batches.iter().take(total_steps - report.steps) {
                let (x, labels) = data.batch(indices)?;
                x.check_finite("Train::fit (a mini-batch of the data)")?;
                let diverged = |value| Error::Diverged { step: report.steps, epoch, value };
                // With finite data, a non-finite value anywhere in the forward pass comes from
                // the parameters: the run has diverged.
                let (loss, dlogits) = match model
                    .forward_train(&x)
                    .and_then(|logits| softmax_cross_entropy(&logits, &labels))
                {
                    Err(Error::NonFinite { value, .. }) => return Err(diverged(value)),
                    other => other?,
                };
                if !loss.is_finite() {
                    return Err(diverged(loss));
                }
                model.backward(&dlogits)?;
                let lr = self.schedule.lr(base_lr, report.steps);
                optimizer.set_lr(lr)?;
                optimizer.step(model)?;
                report.steps += 1;
                report.samples += indices.len();
                epoch_sum += loss;
                epoch_steps += 1;
                progress(&Progress {
                    epoch,
                    step: report.steps,
                    total_steps,
                    loss,
                    lr,
                    epoch_loss: epoch_sum / epoch_steps as f64,
                });
            }
            report.epoch_losses.push(epoch_sum / epoch_steps.max(1) as f64);
        }
        Ok(report)
    }
}
