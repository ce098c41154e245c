//! [`FineTune`]: training a compressed classifier with softmax cross-entropy ([`Train`]) and
//! its accuracy on an evaluation set before and after.

use crate::error::Result;
use crate::nn::{evaluate, Dataset, Evaluation, Layer, Optimizer, Progress, Train, TrainReport};
use crate::scalar::Scalar;

/// A fine-tuning pass: [`Train::fit`] (cross-entropy, seeded mini-batches, a progress callback
/// after every step) between two evaluations of the model on a held-out set.
///
/// ```
/// use tensorize::compress::FineTune;
/// use tensorize::nn::{Linear, Sgd, TensorDataset, Train};
/// use tensorize::Tensor;
/// let x = Tensor::from_fn(&[40, 2], |i| if i[0] % 2 == 0 { 1.0 } else { -1.0 } * (1.0 + i[1] as f64))?;
/// let data = TensorDataset::new(x, (0..40).map(|i| i % 2).collect(), 2)?;
/// let mut model = Linear::new(Tensor::zeros(&[2, 2])?, Some(vec![0.0; 2]))?;
/// let tune = FineTune::new(Train::new(2, 8)?.seed(1));
/// let report = tune.run(&mut model, &mut Sgd::new(0.5)?, &data, &data, &mut |_| {})?;
/// assert_eq!(report.before.accuracy(), 0.5); // all-zero weights: every logit ties
/// assert_eq!(report.after.accuracy(), 1.0);
/// assert_eq!(report.train.steps, 10);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FineTune {
    train: Train,
    eval_batch: usize,
}

/// What a [`FineTune`] pass did.
#[derive(Clone, Debug, PartialEq)]
pub struct FineTuneReport {
    /// The model on the evaluation set before training.
    pub before: Evaluation,
    /// The model on the evaluation set after training.
    pub after: Evaluation,
    /// The training run.
    pub train: TrainReport,
}

impl FineTune {
    /// Fine-tuning by `train` (epochs, batch size, seed, schedule, step cap); evaluation in
    /// batches of 256.
    pub fn new(train: Train) -> Self {
        Self { train, eval_batch: 256 }
    }

    /// The batch size of the evaluations (at least 1).
    pub fn eval_batch(mut self, batch: usize) -> Self {
        self.eval_batch = batch.max(1);
        self
    }

    /// The batch size of the evaluations.
    pub fn eval_batch_size(&self) -> usize {
        self.eval_batch
    }

    /// The training recipe.
    pub fn train(&self) -> &Train {
        &self.train
    }

    /// Evaluates `model` on `eval`, trains it on `data` with `optimizer` (calling `progress`
    /// after every step), and evaluates it again.
    ///
    /// # Errors
    /// As [`evaluate`] and [`Train::fit`] ([`crate::error::Error::Diverged`] names the step).
    pub fn run<T: Scalar>(
        &self,
        model: &mut dyn Layer<T>,
        optimizer: &mut dyn Optimizer<T>,
        data: &dyn Dataset<T>,
        eval: &dyn Dataset<T>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<FineTuneReport> {
        let before = evaluate(model, eval, self.eval_batch)?;
        let train = self.train.fit(model, optimizer, data, progress)?;
        let after = evaluate(model, eval, self.eval_batch)?;
        Ok(FineTuneReport { before, after, train })
    }
}
