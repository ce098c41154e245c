//! What a training loop reads: labelled samples by index ([`Dataset`]), an in-memory one
//! ([`TensorDataset`]), and the seeded shuffled mini-batches every loader shares.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::{checked_len, Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A labelled data set for classification, read a mini-batch at a time.
pub trait Dataset<T: Scalar> {
    /// The number of samples.
    fn len(&self) -> usize;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of classes (labels are `0..num_classes`).
    fn num_classes(&self) -> usize;

    /// Samples `indices`, stacked batch first, and their labels.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] for an index `≥ len()`; a loader's own errors.
    fn batch(&self, indices: &[usize]) -> Result<(Tensor<T>, Vec<usize>)>;
}

/// The sample indices `0..len` in mini-batches of `batch_size` (the last one shorter), in
/// order, or shuffled by `seed` (the same seed gives the same batches).
///
/// ```
/// use tensorize::nn::batch_indices;
/// let batches = batch_indices(10, 4, Some(7))?;
/// assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
/// assert_eq!(batches, batch_indices(10, 4, Some(7))?);
/// assert_eq!(batch_indices(5, 2, None)?, vec![vec![0, 1], vec![2, 3], vec![4]]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a batch size of 0.
pub fn batch_indices(len: usize, batch_size: usize, seed: Option<u64>) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 {
        return Err(Error::InvalidParameter {
            name: "batch_size",
            value: "0".into(),
            expected: "at least 1",
        });
    }
    let mut order: Vec<usize> = (0..len).collect();
    if let Some(seed) = seed {
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    }
    Ok(order.chunks(batch_size).map(<[usize]>::to_vec).collect())
}

/// Samples held in one tensor (batch first) with their labels.
///
/// ```
/// use tensorize::nn::{Dataset, TensorDataset};
/// use tensorize::Tensor;
/// let x = Tensor::from_fn(&[4, 2], |i| (2 * i[0] + i[1]) as f64)?;
/// let data = TensorDataset::new(x, vec![0, 1, 1, 0], 2)?;
/// let (batch, labels) = data.batch(&[3, 1])?;
/// assert_eq!((batch.as_slice(), labels), (&[6.0, 7.0, 2.0, 3.0][..], vec![0, 1]));
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDataset<T> {
    inputs: Tensor<T>,
    labels: Vec<usize>,
    classes: usize,
}

impl<T: Scalar> TensorDataset<T> {
    /// Samples `inputs[i, …]` with labels `labels[i] < classes`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `inputs` has one sample (first dimension) per label;
    /// [`Error::IndexOutOfBounds`] for a label `≥ classes`; [`Error::NonFinite`].
    pub fn new(inputs: Tensor<T>, labels: Vec<usize>, classes: usize) -> Result<Self> {
        if inputs.shape().first() != Some(&labels.len()) {
            return Err(Error::ShapeMismatch {
                op: "TensorDataset::new",
                left: inputs.shape().to_vec(),
                right: vec![labels.len()],
                detail: "the inputs need one sample (first dimension) per label".into(),
            });
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            return Err(Error::IndexOutOfBounds { index: vec![i, l], shape: vec![classes] });
        }
        inputs.check_finite("TensorDataset::new")?;
        Ok(Self { inputs, labels, classes })
    }

    /// The inputs, batch first.
    pub fn inputs(&self) -> &Tensor<T> {
        &self.inputs
    }

    /// The labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
}

impl<T: Scalar> Dataset<T> for TensorDataset<T> {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn num_classes(&self) -> usize {
        self.classes
    }

    fn batch(&self, indices: &[usize]) -> Result<(Tensor<T>, Vec<usize>)> {
        let shape = self.inputs.shape();
        let per: usize = shape[1..].iter().product();
        let mut out_shape = shape.to_vec();
        out_shape[0] = indices.len();
        let mut values = Vec::with_capacity(checked_len(&out_shape, std::mem::size_of::<T>())?);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.labels.len() {
                return Err(Error::IndexOutOfBounds { index: vec![i], shape: shape.to_vec() });
            }
            values.extend_from_slice(&self.inputs.as_slice()[i * per..(i + 1) * per]);
            labels.push(self.labels[i]);
        }
        Ok((Tensor::from_vec(&out_shape, values)?, labels))
    }
}
