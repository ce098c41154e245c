//! Image data sets in MNIST's IDX format (MNIST itself, Fashion-MNIST, KMNIST, …): a folder with
//! `train-*` and `t10k-*` image and label files, gzip-compressed or not, read into `u8` pixels,
//! and seeded shuffled mini-batches of normalized `[batch, 1, rows, cols]` tensors.

use std::path::{Path, PathBuf};

use crate::error::{checked_len, Error, Result};
use crate::nn::{batch_indices, evaluate, Dataset, Evaluation, Layer};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Which half of an IDX data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MnistSplit {
    /// The training images (`train-images…`, `train-labels…`; 60,000 for MNIST).
    Train,
    /// The test images (`t10k-images…`, `t10k-labels…`; 10,000 for MNIST).
    Test,
}

impl MnistSplit {
    fn prefix(self) -> &'static str {
        match self {
            MnistSplit::Train => "train",
            MnistSplit::Test => "t10k",
        }
    }
}

/// MNIST's pixel mean and standard deviation over the training set (after scaling to `[0, 1]`):
/// the normalization the pretrained CNN was trained with.
pub const MNIST_NORMALIZATION: (f64, f64) = (0.1307, 0.3081);

/// Where MNIST sits in a data folder laid out like this repository's `data/`.
pub const MNIST_DIR: &str = "mnist";

/// An IDX image data set held as raw `u8` pixels (60,000 MNIST images take 47 MB, not 188).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl Mnist {
    /// Loads one split from `dir`, accepting both common file names (`train-images.idx3-ubyte`
    /// and `train-images-idx3-ubyte`), each with or without `.gz`.
    ///
    /// ```
    /// use tensorize::data::{Mnist, MnistSplit};
    /// let test = Mnist::load("data/mnist", MnistSplit::Test)?;
    /// assert_eq!((test.len(), test.image_shape()), (10_000, [28, 28]));
    /// assert_eq!(test.labels()[0], 7);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] naming the folder and the names tried if a file is missing; as
    /// [`Mnist::from_files`] otherwise.
    pub fn load(dir: impl AsRef<Path>, split: MnistSplit) -> Result<Self> {
        let dir = dir.as_ref();
        let images = find_idx(dir, split.prefix(), "images", 3)?;
        let labels = find_idx(dir, split.prefix(), "labels", 1)?;
        Self::from_files(images, labels)
    }

    /// Loads an image file (IDX magic `0x803`: count × rows × cols `u8`) and its label file
    /// (`0x801`: count `u8`); either may be gzip-compressed (told by its first bytes, not its name).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file if it cannot be read or its gzip stream is truncated or
    /// corrupt; as [`Mnist::from_idx_bytes`] for its contents, with the file named.
    pub fn from_files(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self> {
        let (images, labels) = (images.as_ref(), labels.as_ref());
        let name = |e: Error, path: &Path| match e {
            Error::Format { format, detail } => {
                Error::Format { format, detail: format!("{}: {detail}", path.display()) }
            }
            other => other,
        };
        let image_bytes = read_maybe_gz(images)?;
        let label_bytes = read_maybe_gz(labels)?;
        let (pixels, dims) = parse_idx(&image_bytes, 3).map_err(|e| name(e, images))?;
        let (labels_raw, label_dims) = parse_idx(&label_bytes, 1).map_err(|e| name(e, labels))?;
        Self::from_parts(pixels, &dims, labels_raw, label_dims[0])
    }

    /// Parses an image and a label IDX file already in memory; either may be gzip-compressed
    /// (told by its first bytes), as with [`Mnist::from_files`].
    ///
    /// # Errors
    /// [`Error::Format`] for a wrong magic number (naming the one found), a data length that is
    /// not the product of the dimensions, no images, or a label count that differs from the
    /// image count; [`Error::Io`] for a corrupt or truncated gzip stream.
    pub fn from_idx_bytes(images: &[u8], labels: &[u8]) -> Result<Self> {
        let (pixels, dims) = parse_idx(&gunzip_if_gz(images, "idx images")?, 3)?;
        let (labels_raw, label_dims) = parse_idx(&gunzip_if_gz(labels, "idx labels")?, 1)?;
        Self::from_parts(pixels, &dims, labels_raw, label_dims[0])
    }

    fn from_parts(
        pixels: Vec<u8>,
        dims: &[usize],
        labels: Vec<u8>,
        n_labels: usize,
    ) -> Result<Self> {
        let (n, rows, cols) = (dims[0], dims[1], dims[2]);
        if n != n_labels {
            return Err(Error::Format {
                format: "idx",
                detail: format!("{n} images but {n_labels} labels"),
            });
        }
        if n == 0 || rows == 0 || cols == 0 {
            return Err(Error::Format {
                format: "idx",
                detail: format!("no pixels: {n} images of {rows} × {cols}"),
            });
        }
        Ok(Self { pixels, labels, rows, cols })
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images (never true for a loaded set; for the trait convention).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[rows, cols]` of every image (`[28, 28]` for MNIST).
    pub fn image_shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    /// The label of every image, in file order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// One more than the largest label (10 for MNIST).
    pub fn num_classes(&self) -> usize {
        self.labels.iter().copied().max().map_or(0, |m| usize::from(m) + 1)
    }

    /// The raw pixels of image `i` (row-major, 0..=255).
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `i >= len()`.
    pub fn pixels(&self, i: usize) -> Result<&[u8]> {
        let per = self.rows * self.cols;
        self.check_index(i)?;
        Ok(&self.pixels[i * per..(i + 1) * per])
    }

    /// The first `n` images (all if `n >= len()`): a smaller set for quick runs.
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.len());
        let per = self.rows * self.cols;
        Self {
            pixels: self.pixels[..n * per].to_vec(),
            labels: self.labels[..n].to_vec(),
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// Images `indices` as a `[indices.len(), 1, rows, cols]` NCHW tensor of
    /// `(p / 255 − mean) / std`, and their labels.
    ///
    /// ```
    /// use tensorize::data::{Mnist, MnistSplit, MNIST_NORMALIZATION};
    /// let test = Mnist::load("data/mnist", MnistSplit::Test)?;
    /// let (x, y) = test.batch::<f32>(&[0, 1, 2], MNIST_NORMALIZATION)?;
    /// assert_eq!(x.shape(), &[3, 1, 28, 28]);
    /// assert_eq!(y, vec![7, 2, 1]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] for an index past the end; [`Error::InvalidParameter`] unless
    /// `std` is positive and both are finite.
    pub fn batch<T: Scalar>(
        &self,
        indices: &[usize],
        (mean, std): (f64, f64),
    ) -> Result<(Tensor<T>, Vec<usize>)> {
        check_normalization((mean, std))?;
        let per = self.rows * self.cols;
        let shape = [indices.len(), 1, self.rows, self.cols];
        checked_len(&shape, std::mem::size_of::<T>())?;
        let (scale, shift) = (1.0 / (255.0 * std), mean / std);
        let mut data = Vec::with_capacity(indices.len() * per);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            self.check_index(i)?;
            let image = &self.pixels[i * per..(i + 1) * per];
            data.extend(image.iter().map(|&p| T::of(f64::from(p) * scale - shift)));
            labels.push(usize::from(self.labels[i]));
        }
        Ok((Tensor::from_vec(&shape, data)?, labels))
    }

    /// The image indices in mini-batches of `batch_size` (the last one may be shorter), shuffled
    /// by `seed` (the same seed gives the same batches), or in file order for `None`
    /// ([`crate::nn::batch_indices`] over this set's length).
    ///
    /// ```
    /// use tensorize::data::{Mnist, MnistSplit};
    /// let test = Mnist::load("data/mnist", MnistSplit::Test)?.take(100);
    /// let batches = test.batch_indices(32, Some(7))?;
    /// assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![32, 32, 32, 4]);
    /// assert_eq!(batches, test.batch_indices(32, Some(7))?);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a batch size of 0.
    pub fn batch_indices(&self, batch_size: usize, seed: Option<u64>) -> Result<Vec<Vec<usize>>> {
        batch_indices(self.len(), batch_size, seed)
    }

    /// The set as a [`Dataset`] of images normalized by `normalization` (`(mean, std)`), for
    /// [`crate::nn::Train`] and [`crate::nn::evaluate`].
    ///
    /// ```
    /// use tensorize::data::{Mnist, MnistSplit, MNIST_NORMALIZATION};
    /// use tensorize::nn::Dataset;
    /// let test = Mnist::load("data/mnist", MnistSplit::Test)?.take(10);
    /// let data = test.dataset(MNIST_NORMALIZATION)?;
    /// let (x, y) = Dataset::<f32>::batch(&data, &[0, 1])?;
    /// assert_eq!((x.shape(), y), (&[2, 1, 28, 28][..], vec![7, 2]));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `std` is positive and both are finite.
    pub fn dataset(&self, normalization: (f64, f64)) -> Result<MnistDataset<'_>> {
        check_normalization(normalization)?;
        Ok(MnistDataset { set: self, normalization })
    }

    /// Runs the classifier `model` over every image in batches of `batch_size` (file order),
    /// with inputs normalized by `normalization`, and tallies its predictions and loss
    /// ([`crate::nn::evaluate`] on [`Mnist::dataset`]).
    ///
    /// # Errors
    /// As [`Mnist::dataset`] and [`crate::nn::evaluate`].
    pub fn evaluate<T: Scalar>(
        &self,
        model: &dyn Layer<T>,
        batch_size: usize,
        normalization: (f64, f64),
    ) -> Result<Evaluation> {
        evaluate(model, &self.dataset(normalization)?, batch_size)
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i < self.len() {
            Ok(())
        } else {
            Err(Error::IndexOutOfBounds {
                index: vec![i],
                shape: vec![self.len(), self.rows, self.cols],
            })
        }
    }
}

/// An [`Mnist`] set lent as a [`Dataset`] with its normalization ([`Mnist::dataset`]).
#[derive(Clone, Copy, Debug)]
pub struct MnistDataset<'a> {
    set: &'a Mnist,
    normalization: (f64, f64),
}

impl<T: Scalar> Dataset<T> for MnistDataset<'_> {
    fn len(&self) -> usize {
        self.set.len()
    }

    fn num_classes(&self) -> usize {
        self.set.num_classes()
    }

    fn batch(&self, indices: &[usize]) -> Result<(Tensor<T>, Vec<usize>)> {
        self.set.batch(indices, self.normalization)
    }
}

/// A normalization `(mean, std)` must be finite with `std > 0`.
fn check_normalization((mean, std): (f64, f64)) -> Result<()> {
    if mean.is_finite() && std.is_finite() && std > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "normalization",
            value: format!("mean {mean}, std {std}"),
            expected: "finite values with std > 0",
        })
    }
}

/// The file for `{prefix}-{kind}` in `dir` under either common naming, with or without `.gz`.
fn find_idx(dir: &Path, prefix: &str, kind: &str, ndim: usize) -> Result<PathBuf> {
    let names: Vec<String> = [".", "-"]
        .iter()
        .flat_map(|sep| {
            let base = format!("{prefix}-{kind}{sep}idx{ndim}-ubyte");
            [format!("{base}.gz"), base]
        })
        .collect();
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file()).ok_or_else(|| Error::Io {
        path: dir.display().to_string(),
        detail: format!("no {prefix} {kind} file; looked for {names:?}"),
    })
}

/// The bytes of `path`, gunzipped if they start with the gzip magic.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let io_err =
        |e: std::io::Error| Error::Io { path: path.display().to_string(), detail: e.to_string() };
    let raw = std::fs::read(path).map_err(io_err)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    gunzip_if_gz(&raw, &path.display().to_string()).map(|b| b.into_owned())
}

/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `bytes` gunzipped if they start with the gzip magic, else as they are; `name` names the
/// source in an error.
fn gunzip_if_gz<'a>(bytes: &'a [u8], name: &str) -> Result<std::borrow::Cow<'a, [u8]>> {
    use std::io::Read;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| Error::Io {
        path: name.to_string(),
        detail: format!("corrupt or truncated gzip stream: {e}"),
    })?;
    Ok(std::borrow::Cow::Owned(out))
}

/// The `u8` payload and dimensions of an IDX file of `ndim` dimensions: magic `0x00 0x00 0x08
/// ndim`, then `ndim` big-endian `u32` sizes, then the data, row-major.
fn parse_idx(bytes: &[u8], ndim: usize) -> Result<(Vec<u8>, Vec<usize>)> {
    let bad = |detail: String| Error::Format { format: "idx", detail };
    let header = 4 + 4 * ndim;
    if bytes.len() < 4 {
        return Err(bad(format!("{} bytes, too short for the magic number", bytes.len())));
    }
    let want = [0, 0, 0x08, ndim as u8];
    if bytes[..4] != want {
        return Err(bad(format!(
            "magic {:02x?}, expected {want:02x?} (unsigned bytes, {ndim} dimension{})",
            &bytes[..4],
            if ndim == 1 { "" } else { "s" }
        )));
    }
    if bytes.len() < header {
        return Err(bad(format!("{} bytes, too short for {ndim} dimensions", bytes.len())));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let n = checked_len(&dims, 1)?;
    let payload = &bytes[header..];
    if payload.len() != n {
        return Err(bad(format!(
            "dimensions {dims:?} need {n} bytes of data, the file holds {}",
            payload.len()
        )));
    }
    Ok((payload.to_vec(), dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IDX file of `dims` with bytes `data`.
    pub(crate) fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        dims.iter().for_each(|d| out.extend(d.to_be_bytes()));
        out.extend(data);
        out
    }

    #[test]
    fn parses_and_normalizes() {
        let images = idx(&[2, 2, 3], &[0, 255, 10, 20, 30, 40, 1, 2, 3, 4, 5, 6]);
        let set = Mnist::from_idx_bytes(&images, &idx(&[2], &[4, 9])).unwrap();
        assert_eq!((set.len(), set.image_shape(), set.num_classes()), (2, [2, 3], 10));
        assert_eq!(set.pixels(1).unwrap(), &[1, 2, 3, 4, 5, 6]);
        let (x, y) = set.batch::<f64>(&[1, 0], (0.0, 1.0)).unwrap();
        assert_eq!((x.shape(), y), (&[2, 1, 2, 3][..], vec![9, 4]));
        assert_eq!(x.get(&[1, 0, 0, 1]).unwrap(), 1.0);
        let (z, _) = set.batch::<f32>(&[0], MNIST_NORMALIZATION).unwrap();
        let want = (0.0 - 0.1307) / 0.3081;
        assert!((f64::from(z.as_slice()[0]) - want).abs() < 1e-6);
    }

    #[test]
    fn bad_files_are_refused_with_what_is_wrong() {
        let labels = idx(&[1], &[3]);
        let images = idx(&[1, 2, 2], &[1, 2, 3, 4]);
        let msg = |r: Result<Mnist>| r.unwrap_err().to_string();
        // Labels where images belong: the magic names what was found.
        assert!(msg(Mnist::from_idx_bytes(&labels, &labels)).contains("magic"));
        assert!(msg(Mnist::from_idx_bytes(&images[..3], &labels)).contains("too short"));
        assert!(msg(Mnist::from_idx_bytes(&images[..10], &labels)).contains("3 dimensions"));
        let short = &images[..images.len() - 1];
        assert!(msg(Mnist::from_idx_bytes(short, &labels)).contains("need 4 bytes"));
        let two = idx(&[2], &[3, 4]);
        assert!(msg(Mnist::from_idx_bytes(&images, &two)).contains("1 images but 2 labels"));
        let none = idx(&[0, 2, 2], &[]);
        assert!(msg(Mnist::from_idx_bytes(&none, &idx(&[0], &[]))).contains("no pixels"));
        let set = Mnist::from_idx_bytes(&images, &labels).unwrap();
        assert!(matches!(set.pixels(1), Err(Error::IndexOutOfBounds { .. })));
        assert!(matches!(
            set.batch::<f32>(&[0, 1], (0.0, 1.0)),
            Err(Error::IndexOutOfBounds { .. })
        ));
        assert!(matches!(set.batch::<f32>(&[0], (0.0, 0.0)), Err(Error::InvalidParameter { .. })));
        assert!(matches!(set.batch_indices(0, None), Err(Error::InvalidParameter { .. })));
    }
}
