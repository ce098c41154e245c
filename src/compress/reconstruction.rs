//! [`Reconstruction`]: TSPC's sequential data-reconstruction learning (Su et al. 2018): after
//! decomposing several layers, train the compressed network stage by stage to reproduce the
//! original network's intermediate outputs.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::nn::train::check_epochs_and_batch;
use crate::nn::{batch_indices, mse, Dataset, Layer, Optimizer, Progress, Schedule, Sequential};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// What one stage's training did.
#[derive(Clone, Debug, PartialEq)]
pub struct StageReport {
    /// The compressed layer that ends the stage.
    pub name: String,
    /// The model's layers the stage trained.
    pub layers: Range<usize>,
    /// Optimizer steps taken.
    pub steps: usize,
    /// `‖y − t‖² / ‖t‖²` of the stage's output `y` against the original's `t` on the first
    /// mini-batch, before its update.
    pub first_rel_mse: f64,
    /// The same over the last epoch's mini-batches (each before its own update).
    pub last_rel_mse: f64,
}

/// Sequential data reconstruction (TSPC, Su et al. 2018). The compressed model is the
/// original with some layers replaced (same layer count and names); the named compressed
/// layers, in model order, end the stages: stage `i` is the layers after the end of stage
/// `i − 1` up to and including the `i`-th named layer. For stage `i`, in turn, only its
/// parameters are trained (Adam with rate 1e-3 in the paper) to minimize the squared error
/// between
///
/// - the compressed network's output at the end of stage `i`, computed from the network input
///   through the compressed stages `1..i` (already trained, now fixed), and
/// - the original network's output at the same layer on the same input,
///
/// so each stage also learns to correct what the stages before it could not reproduce. The
/// labels of the data are not used. The paper reports the result without end-to-end
/// fine-tuning; [`super::FineTune`] does that afterwards if wanted.
///
/// ```
/// use tensorize::compress::{LayerMethod, OneShot, Reconstruction, Sizing};
/// use tensorize::nn::{Adam, Flatten, Linear, Relu, Sequential, TensorDataset};
/// use tensorize::Tensor;
/// let model = || -> tensorize::Result<Sequential<f64>> {
///     Ok(Sequential::new()
///         .push_named("fc1", Linear::new(Tensor::random_normal(&[16, 12], 1)?, None)?)
///         .push(Relu::new())
///         .push_named("fc2", Linear::new(Tensor::random_normal(&[6, 16], 2)?, None)?))
/// };
/// let (original, mut compressed) = (model()?, model()?);
/// OneShot::new(&["fc1", "fc2"], LayerMethod::Svd, Sizing::Ranks(vec![3, 2]))
///     .apply(&mut compressed, &[1, 12])?;
/// let data = TensorDataset::new(Tensor::random_normal(&[64, 12], 3)?, vec![0; 64], 1)?;
/// let report = Reconstruction::new(&["fc1", "fc2"], 4, 16)?
///     .run(&original, &mut compressed, &Adam::new(1e-2)?, &data, &mut |_, _| {})?;
/// assert_eq!((report[0].layers.clone(), report[1].layers.clone()), (0..1, 1..3));
/// assert!(report.iter().all(|s| s.steps == 16 && s.last_rel_mse.is_finite()));
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Reconstruction {
    stages: Vec<String>,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    max_steps: Option<usize>,
    schedule: Schedule,
}

impl Reconstruction {
    /// Stages ending at the layers named `stages` (in model order), each trained for
    /// `epochs` passes over the data in mini-batches of `batch_size`; seed 0, a constant rate.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no stages, 0 epochs or a batch size of 0.
    pub fn new(stages: &[&str], epochs: usize, batch_size: usize) -> Result<Self> {
        if stages.is_empty() {
            return Err(Error::InvalidParameter {
                name: "stages",
                value: "[]".into(),
                expected: "at least one compressed layer to end a stage",
            });
        }
        check_epochs_and_batch(epochs, batch_size)?;
        Ok(Self {
            stages: stages.iter().map(|s| s.to_string()).collect(),
            epochs,
            batch_size,
            seed: 0,
            max_steps: None,
            schedule: Schedule::Constant,
        })
    }

    /// The shuffling seed (epoch `e` of every stage shuffles with `seed + e`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// At most `steps` optimizer steps per stage.
    pub fn max_steps(mut self, steps: usize) -> Self {
        self.max_steps = Some(steps);
        self
    }

    /// The learning-rate schedule of every stage, from the optimizer's rate.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Trains `compressed` stage by stage against `original` on the inputs of `data`, each
    /// stage with a fresh clone of `optimizer`; `progress` gets the stage (0-based) and the
    /// progress after every step (`loss` is the step's mean squared error per sample).
    ///
    /// # Errors
    /// Before any training: [`Error::InvalidParameter`] unless the two models have the same
    /// layer names, for a stage name not in the model or stages out of model order, for an
    /// empty data set; then [`Error::Diverged`] naming the step of a stage whose loss is not
    /// finite, and the errors of the models, the data and the optimizer.
    pub fn run<T: Scalar, O: Optimizer<T> + Clone>(
        &self,
        original: &Sequential<T>,
        compressed: &mut Sequential<T>,
        optimizer: &O,
        data: &dyn Dataset<T>,
        progress: &mut dyn FnMut(usize, &Progress),
    ) -> Result<Vec<StageReport>> {
        let ranges = self.stage_ranges(original, compressed)?;
        if data.is_empty() {
            return Err(Error::InvalidParameter {
                name: "data",
                value: "0 samples".into(),
                expected: "at least one sample to reconstruct",
            });
        }
        let mut reports = Vec::with_capacity(ranges.len());
        for (stage, (name, range)) in self.stages.iter().zip(ranges).enumerate() {
            let mut opt = optimizer.clone();
            let mut report = StageReport {
                name: name.clone(),
                layers: range.clone(),
                steps: 0,
                first_rel_mse: f64::NAN,
                last_rel_mse: f64::NAN,
            };
            let per_epoch = data.len().div_ceil(self.batch_size);
            let all = per_epoch.saturating_mul(self.epochs);
            let total_steps = self.max_steps.map_or(all, |m| m.min(all));
            let base_lr = opt.lr();
            for epoch in 0..self.epochs {
                if report.steps == total_steps {
                    break;
                }
                let seed = self.seed.wrapping_add(epoch as u64);
                let batches = batch_indices(data.len(), self.batch_size, Some(seed))?;
                let (mut sum, mut count) = (0.0, 0usize);
                for indices in batches.iter().take(total_steps - report.steps) {
                    let (x, _) = data.batch(indices)?;
                    x.check_finite("Reconstruction::run (a mini-batch of the data)")?;
                    let target = prefix(original.layers(), 0..range.end, x.clone())?;
                    let h = prefix(compressed.layers(), 0..range.start, x)?;
                    // The stage is lent out of the model as a model of its own for one step
                    // and always put back, whatever the step returns.
                    let lr = self.schedule.lr(base_lr, report.steps);
                    opt.set_lr(lr)?;
                    let mut part = compressed.take_layers(range.clone())?;
                    let stepped = train_step(&mut part, &mut opt, &h, &target);
                    compressed.insert_layers(range.start, part)?;
                    let diverged = |value| Error::Diverged { step: report.steps, epoch, value };
                    let loss = match stepped {
                        Err(Error::NonFinite { value, .. }) => return Err(diverged(value)),
                        other => other?,
                    };
                    if !loss.is_finite() {
                        return Err(diverged(loss));
                    }
                    let scale = target.norm().as_f64().powi(2) / indices.len() as f64;
                    let rel = loss / scale.max(f64::MIN_POSITIVE);
                    if report.steps == 0 {
                        report.first_rel_mse = rel;
                    }
                    sum += rel;
                    count += 1;
                    report.steps += 1;
                    progress(
                        stage,
                        &Progress {
                            epoch,
                            step: report.steps,
                            total_steps,
                            loss,
                            lr,
                            epoch_loss: sum / count as f64,
                        },
                    );
                }
                report.last_rel_mse = sum / count.max(1) as f64;
            }
            reports.push(report);
        }
        Ok(reports)
    }

    /// The layers of every stage, after checking that the models match and the stage names
    /// are in model order.
    fn stage_ranges<T: Scalar>(
        &self,
        original: &Sequential<T>,
        compressed: &Sequential<T>,
    ) -> Result<Vec<Range<usize>>> {
        if original.names() != compressed.names() {
            return Err(Error::InvalidParameter {
                name: "original",
                value: format!(
                    "layers {:?} against the compressed {:?}",
                    original.names(),
                    compressed.names()
                ),
                expected: "the model the compressed one was made from (the same layer names)",
            });
        }
        let mut ranges = Vec::with_capacity(self.stages.len());
        let mut start = 0;
        for name in &self.stages {
            let at = compressed.index_of(name)?;
            if at < start {
                return Err(Error::InvalidParameter {
                    name: "stages",
                    value: format!("{name:?} in {:?}", self.stages),
                    expected: "stage names once each, in the model's order",
                });
            }
            ranges.push(start..at + 1);
            start = at + 1;
        }
        Ok(ranges)
    }
}

/// `x` through `layers[range]` (inference).
/// One training step of a stage lent out of the model: forward, MSE against `target`,
/// backward and an optimizer step; a loss that is not finite is returned without a step (the
/// caller reports it as divergence).
fn train_step<T: Scalar, O: Optimizer<T>>(
    part: &mut Sequential<T>,
    opt: &mut O,
    h: &Tensor<T>,
    target: &Tensor<T>,
) -> Result<f64> {
    let y = part.forward_train(h)?;
    let (loss, dy) = mse(&y, target)?;
    if !loss.is_finite() {
        return Ok(loss);
    }
    part.backward(&dy)?;
    opt.step(part)?;
    Ok(loss)
}

fn prefix<T: Scalar>(
    layers: &[Box<dyn Layer<T>>],
    range: Range<usize>,
    x: Tensor<T>,
) -> Result<Tensor<T>> {
    layers[range].iter().try_fold(x, |h, l| l.forward(&h))
}
