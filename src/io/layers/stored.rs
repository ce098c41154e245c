//! [`Stored`]: what can be written to a [`LayerWriter`] as named factors plus metadata and
//! read back from a [`LayerReader`] into the same type.

use crate::error::Result;
use crate::io::layers::reader::LayerReader;
use crate::io::layers::writer::LayerWriter;
use crate::scalar::Scalar;

/// A layer or a factorization saved as an *entry*: named tensors `<name>.…` and metadata
/// `<name>.format`, `<name>.shape`, `<name>.ranks`, … (the scheme of `docs/formats.md`).
///
/// Use [`LayerWriter::add`] and [`LayerReader::load`], which write and check the entry's
/// `format`; the two methods here fill in and read the rest.
///
/// ```
/// use tensorize::io::{LayerReader, LayerWriter};
/// use tensorize::nn::{Layer, Linear, SvdLinear};
/// use tensorize::Tensor;
/// let fc = Linear::new(Tensor::<f32>::random_normal(&[8, 6], 1)?, Some(vec![0.25; 8]))?;
/// let low = SvdLinear::from_linear(&fc, 3)?;
/// let mut out = LayerWriter::new();
/// out.add("fc1", &low)?;
/// let file = LayerReader::from_bytes(out.to_bytes()?)?;
/// let back: SvdLinear<f32> = file.load("fc1")?;
/// let x = Tensor::random_normal(&[2, 6], 2)?;
/// assert_eq!(back.forward(&x)?, low.forward(&x)?);
/// assert_eq!(file.metadata("fc1.ranks")?, "[3]");
/// # Ok::<(), tensorize::Error>(())
/// ```
pub trait Stored<T: Scalar>: Sized {
    /// The entry `format`s this type reads: `["svd-linear"]`, `["tt"]`, … (a tensorized
    /// layer has three, `r-cp`, `r-tk`, `r-tt`).
    const FORMATS: &'static [&'static str];

    /// The `format` of `self`'s entry (the first of [`Stored::FORMATS`] unless the type has
    /// several).
    fn format(&self) -> &'static str {
        Self::FORMATS[0]
    }

    /// Adds the tensors and metadata of `self` under the entry name `name` (everything but
    /// `<name>.format`, which [`LayerWriter::add`] writes).
    ///
    /// # Errors
    /// [`crate::Error::Format`] for a tensor name already taken; errors of reading the
    /// factors out of `self`.
    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()>;

    /// Reads the entry `name` of `file` (whose `format` [`LayerReader::load`] has checked).
    ///
    /// # Errors
    /// [`crate::Error::Format`] naming the file and the key or tensor for absent or malformed
    /// metadata and factors of the wrong shape; [`crate::Error::TensorNotFound`] naming the
    /// file and the tensor for a missing factor.
    fn load(file: &LayerReader, name: &str) -> Result<Self>;
}
