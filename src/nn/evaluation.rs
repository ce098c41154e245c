//! How a classifier does on labelled data: accuracy, mean cross-entropy and confusion counts
//! ([`Evaluation`]), and [`evaluate`] to run a model over a whole [`Dataset`].

use super::dataset::{batch_indices, Dataset};
use super::layer::Layer;
use super::loss::softmax_cross_entropy;
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// How a classifier did on labelled data.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Samples classified correctly.
    pub correct: usize,
    /// Samples seen.
    pub total: usize,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// The summed softmax cross-entropy of the samples added with [`Evaluation::add_logits`]
    /// (predictions added with [`Evaluation::add`] carry no loss).
    pub loss_sum: f64,
    /// Samples added with [`Evaluation::add_logits`].
    pub loss_count: usize,
}

impl Evaluation {
    /// An empty tally over `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            correct: 0,
            total: 0,
            confusion: vec![vec![0; classes]; classes],
            loss_sum: 0.0,
            loss_count: 0,
        }
    }

    /// Adds the predictions `predicted` of samples whose classes are `truth`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for lists of different lengths; [`Error::IndexOutOfBounds`] for
    /// a class outside the tally.
    pub fn add(&mut self, predicted: &[usize], truth: &[usize]) -> Result<()> {
        if predicted.len() != truth.len() {
            return Err(Error::ShapeMismatch {
                op: "Evaluation::add",
                left: vec![predicted.len()],
                right: vec![truth.len()],
                detail: "one prediction per label".into(),
            });
        }
        let k = self.confusion.len();
        if let Some((&p, &t)) = predicted.iter().zip(truth).find(|&(&p, &t)| p >= k || t >= k) {
            return Err(Error::IndexOutOfBounds { index: vec![t, p], shape: vec![k, k] });
        }
        for (&p, &t) in predicted.iter().zip(truth) {
            self.confusion[t][p] += 1;
            self.correct += usize::from(p == t);
        }
        self.total += truth.len();
        Ok(())
    }

    /// Adds a batch of `[batch, classes]` logits: the predictions (argmax, the first on ties)
    /// and their softmax cross-entropy against `truth`.
    ///
    /// ```
    /// use tensorize::nn::Evaluation;
    /// use tensorize::Tensor;
    /// let mut tally = Evaluation::new(2);
    /// tally.add_logits(&Tensor::from_vec(&[2, 2], vec![0.0_f64, 0.0, 3.0, 1.0])?, &[1, 0])?;
    /// assert_eq!((tally.correct, tally.total), (1, 2)); // a tie predicts class 0
    /// assert!(tally.mean_loss().is_some_and(|l| l > 0.0));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`softmax_cross_entropy`] and [`Evaluation::add`].
    pub fn add_logits<T: Scalar>(&mut self, logits: &Tensor<T>, truth: &[usize]) -> Result<()> {
        let (loss, _) = softmax_cross_entropy(logits, truth)?;
        self.add(&argmax_rows("Evaluation::add_logits", logits)?, truth)?;
        self.loss_sum += loss * truth.len() as f64;
        self.loss_count += truth.len();
        Ok(())
    }

    /// `correct / total` (0 when nothing was seen).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }

    /// The mean cross-entropy of the samples added with logits, if any were.
    pub fn mean_loss(&self) -> Option<f64> {
        (self.loss_count > 0).then(|| self.loss_sum / self.loss_count as f64)
    }
}

/// Runs the classifier `model` over every sample of `data` in order, `batch_size` at a time,
/// and tallies its predictions and cross-entropy.
///
/// # Errors
/// [`Error::InvalidParameter`] for a batch size of 0; errors of the data set and the model;
/// [`Error::ShapeMismatch`] unless the model gives `[batch, classes]` logits.
pub fn evaluate<T: Scalar>(
    model: &dyn Layer<T>,
    data: &dyn Dataset<T>,
    batch_size: usize,
) -> Result<Evaluation> {
    let mut tally: Option<Evaluation> = None;
    for indices in batch_indices(data.len(), batch_size, None)? {
        let (x, labels) = data.batch(&indices)?;
        let logits = model.forward(&x)?;
        // As many classes as the data has or the model predicts, whichever is more (a subset
        // of a data set may lack its last classes).
        let classes = data.num_classes().max(logits.shape().get(1).copied().unwrap_or(0));
        tally.get_or_insert_with(|| Evaluation::new(classes)).add_logits(&logits, &labels)?;
    }
    Ok(tally.unwrap_or_else(|| Evaluation::new(data.num_classes())))
}

/// The index of the largest entry of every row of `[batch, classes]` logits (the first on
/// ties; NaN never wins).
pub(crate) fn argmax_rows<T: Scalar>(op: &'static str, logits: &Tensor<T>) -> Result<Vec<usize>> {
    match *logits.shape() {
        [_, classes] if classes > 0 => Ok(logits
            .as_slice()
            .chunks_exact(classes)
            .map(|row| {
                row.iter().enumerate().fold(0, |best, (k, &v)| if v > row[best] { k } else { best })
            })
            .collect()),
        _ => Err(Error::ShapeMismatch {
            op,
            left: logits.shape().to_vec(),
            right: vec![],
            detail: "the model's output must be [batch, classes] logits".into(),
        }),
    }
}
