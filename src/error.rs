//! The one error type of the crate; every variant names the shapes, modes or values that clashed.

use std::fmt;

/// What went wrong, with the shapes, modes, ranks or values involved.
///
/// Functions that combine user-supplied shapes, ranks, parameters or files return
/// [`Result<T>`](Result); they never panic on bad input.
///
/// ```
/// use tensorize::{Error, Tensor};
/// let err = Tensor::<f64>::from_vec(&[2, 3], vec![0.0; 5]).unwrap_err();
/// assert!(matches!(err, Error::DataLength { expected: 6, found: 5, .. }));
/// assert_eq!(err.to_string(), "shape [2, 3] needs 6 elements, but 5 were given");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A data buffer's length does not match the shape it is given with.
    DataLength {
        /// The shape.
        shape: Vec<usize>,
        /// The number of elements the shape needs.
        expected: usize,
        /// The number of elements given.
        found: usize,
    },
    /// A shape has a zero dimension where the operation needs every dimension to be at least 1
    /// (tensors may be empty; decompositions, formats and most algebra refuse them).
    ZeroDimension {
        /// The offending shape.
        shape: Vec<usize>,
    },
    /// The number of elements (or bytes) of a shape does not fit in memory addressing.
    SizeOverflow {
        /// The offending shape.
        shape: Vec<usize>,
    },
    /// The memory for a tensor of this shape could not be allocated.
    OutOfMemory {
        /// The shape asked for.
        shape: Vec<usize>,
        /// The bytes it needs.
        bytes: usize,
    },
    /// A buffer was refused before allocation because it is larger than the memory limit
    /// ([`crate::memory`]: by default the memory available on the machine).
    MemoryLimit {
        /// The shape of the tensor (or workspace) asked for.
        shape: Vec<usize>,
        /// The bytes it needs.
        bytes: u64,
        /// The limit in force, in bytes.
        limit: u64,
    },
    /// A mode index is not smaller than the tensor's order.
    ModeOutOfRange {
        /// The mode asked for.
        mode: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// A multi-index or position lies outside the tensor.
    IndexOutOfBounds {
        /// The index asked for.
        index: Vec<usize>,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// Two operands' shapes do not fit together for an operation.
    ShapeMismatch {
        /// The operation, e.g. `"mode_product"`.
        op: &'static str,
        /// The first operand's shape.
        left: Vec<usize>,
        /// The second operand's shape.
        right: Vec<usize>,
        /// What had to agree, e.g. `"matrix columns must equal dimension 4 of mode 1"`.
        detail: String,
    },
    /// A list of modes is not a valid permutation or selection.
    InvalidModes {
        /// The operation.
        op: &'static str,
        /// The modes given.
        modes: Vec<usize>,
        /// The order of the tensor they refer to.
        ndim: usize,
        /// Why they were rejected.
        detail: String,
    },
    /// A rank (or list of ranks) is not usable for this shape.
    InvalidRank {
        /// The operation.
        op: &'static str,
        /// The ranks given.
        ranks: Vec<usize>,
        /// The shape they refer to.
        shape: Vec<usize>,
        /// Why they were rejected.
        detail: String,
    },
    /// A scalar parameter is out of its valid range.
    InvalidParameter {
        /// The parameter's name, e.g. `"tol"`.
        name: &'static str,
        /// The value given, printed.
        value: String,
        /// What values are accepted.
        expected: &'static str,
    },
    /// The input holds NaN or infinity.
    NonFinite {
        /// The operation that refused it.
        op: &'static str,
        /// The row-major position of the first non-finite element.
        position: usize,
        /// The value found there.
        value: f64,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file's path.
        path: String,
        /// The operating system's message.
        detail: String,
    },
    /// A file would be overwritten, and overwriting was not asked for.
    OutputExists {
        /// The file's path.
        path: String,
    },
    /// The file to write is one of the files being read.
    OutputIsInput {
        /// The file's path.
        path: String,
    },
    /// A file holds no tensor of the name asked for.
    TensorNotFound {
        /// The file's path (or `"<bytes>"` for data in memory).
        path: String,
        /// The name asked for.
        name: String,
        /// The names the file holds, sorted.
        available: Vec<String>,
    },
    /// Bytes do not follow the format they claim (a `.npy` header, an IDX file, …).
    Format {
        /// The format, e.g. `"npy"`.
        format: &'static str,
        /// What is wrong, with the offending values.
        detail: String,
    },
    /// Training diverged: the forward pass or the loss of a step was NaN or infinite on finite
    /// data. Training stops there, without an update from that step.
    Diverged {
        /// The optimizer step (0-based, counted over all epochs) whose loss was not finite.
        step: usize,
        /// The epoch (0-based) of that step.
        epoch: usize,
        /// The non-finite value found (in an activation, the logits or the loss).
        value: f64,
    },
    /// A factorized tensor whose terms cancel so far (`growth`: how far the norms of its
    /// partial products outgrow the tensor's norm) that an operation cannot keep its error
    /// bound in this precision: its rounding, about `eps · growth` relative, is larger.
    IllConditioned {
        /// The operation, e.g. `"TtTensor::round"`.
        op: &'static str,
        /// How far the partial products outgrow the tensor.
        growth: f64,
        /// What could not be kept, and what to do instead.
        detail: String,
    },
    /// A dense linear-algebra routine did not converge.
    NoConvergence {
        /// The routine, e.g. `"svd"`.
        op: &'static str,
        /// The shape of the matrix it was given.
        shape: Vec<usize>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DataLength { shape, expected, found } => {
                write!(f, "shape {shape:?} needs {expected} elements, but {found} were given")
            }
            Error::ZeroDimension { shape } => {
                write!(f, "shape {shape:?} has a zero dimension; this operation needs every dimension ≥ 1")
            }
            Error::SizeOverflow { shape } => {
                write!(f, "shape {shape:?} has more elements than memory can address")
            }
            Error::OutOfMemory { shape, bytes } => {
                write!(f, "cannot allocate {bytes} bytes for a tensor of shape {shape:?}")
            }
            Error::MemoryLimit { shape, bytes, limit } => write!(
                f,
                "a tensor of shape {shape:?} needs {bytes} bytes, more than the memory limit of \
                 {limit} bytes (the available memory unless set by TENSORIZE_MEMORY_LIMIT or \
                 tensorize::memory::set_limit)"
            ),
            Error::ModeOutOfRange { mode, shape } => write!(
                f,
                "mode {mode} out of range for a {}-way tensor of shape {shape:?}",
                shape.len()
            ),
            Error::IndexOutOfBounds { index, shape } => {
                write!(f, "index {index:?} out of bounds for shape {shape:?}")
            }
            Error::ShapeMismatch { op, left, right, detail } => {
                write!(f, "{op}: shapes {left:?} and {right:?} do not fit: {detail}")
            }
            Error::InvalidModes { op, modes, ndim, detail } => {
                write!(f, "{op}: modes {modes:?} invalid for a {ndim}-way tensor: {detail}")
            }
            Error::InvalidRank { op, ranks, shape, detail } => {
                write!(f, "{op}: ranks {ranks:?} invalid for shape {shape:?}: {detail}")
            }
            Error::InvalidParameter { name, value, expected } => {
                write!(f, "parameter `{name}` = {value} is invalid: expected {expected}")
            }
            Error::NonFinite { op, position, value } => write!(
                f,
                "{op}: input holds a non-finite value {value} at row-major position {position}"
            ),
            Error::Io { path, detail } => write!(f, "{path}: {detail}"),
            Error::OutputExists { path } => {
                write!(f, "{path}: the file exists; refusing to overwrite it unless asked to")
            }
            Error::OutputIsInput { path } => {
                write!(f, "{path}: the output is one of the input files; write elsewhere")
            }
            Error::TensorNotFound { path, name, available } => {
                const SHOWN: usize = 20;
                write!(
                    f,
                    "{path}: no tensor named {name:?}; it holds {} tensor(s)",
                    available.len()
                )?;
                if !available.is_empty() {
                    let shown: Vec<&str> =
                        available.iter().take(SHOWN).map(String::as_str).collect();
                    let more = if available.len() > SHOWN { ", …" } else { "" };
                    write!(f, ": {shown:?}{more}")?;
                }
                Ok(())
            }
            Error::Format { format, detail } => write!(f, "malformed {format} data: {detail}"),
            Error::Diverged { step, epoch, value } => write!(
                f,
                "training diverged at step {step} (epoch {epoch}): a non-finite value {value} in \
                 the forward pass or the loss (try a lower learning rate)"
            ),
            Error::IllConditioned { op, growth, detail } => write!(
                f,
                "{op}: the terms of the factorized tensor cancel: its partial products outgrow \
                 its norm by a factor {growth:.3e}, so {detail}"
            ),
            Error::NoConvergence { op, shape } => {
                write!(f, "{op} did not converge on a matrix of shape {shape:?}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The number of elements of `shape` (0 if a dimension is 0), computed with checked arithmetic;
/// also checks that the bytes for `elem_size`-byte elements fit in `isize`. What a tensor may hold.
///
/// The check runs over the product of the **non-zero** dimensions, so that an empty shape such
/// as `[0, usize::MAX, 2]` is refused too: its strides and unfoldings would overflow, and every
/// sub-product of an accepted shape fits in `usize`.
pub(crate) fn checked_len(shape: &[usize], elem_size: usize) -> Result<usize> {
    let overflow = || Error::SizeOverflow { shape: shape.to_vec() };
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    let bytes = nonzero.checked_mul(elem_size.max(1)).ok_or_else(overflow)?;
    if bytes > isize::MAX as usize {
        return Err(overflow());
    }
    Ok(if shape.contains(&0) { 0 } else { nonzero })
}

/// [`checked_len`] for a shape every dimension of which must be at least 1 (formats, ranks, the
/// results of decompositions and of most algebra): zero dimensions are
/// [`Error::ZeroDimension`].
pub(crate) fn checked_numel(shape: &[usize], elem_size: usize) -> Result<usize> {
    if shape.contains(&0) {
        return Err(Error::ZeroDimension { shape: shape.to_vec() });
    }
    checked_len(shape, elem_size)
}

/// [`checked_numel`] for the dense result of a factorized format (`to_dense`), also checked
/// against the memory limit up front: the request is refused with [`Error::MemoryLimit`]
/// naming the full shape, not the first intermediate that happens to be too large.
pub(crate) fn checked_dense(shape: &[usize], elem_size: usize) -> Result<usize> {
    let numel = checked_numel(shape, elem_size)?;
    check_memory(shape, (numel as u64).saturating_mul(elem_size as u64))?;
    Ok(numel)
}

/// A vector of `n` copies of `value` for a tensor of shape `shape`, or [`Error::OutOfMemory`]
/// if the allocator refuses (an absurd but addressable shape must not abort the process).
pub(crate) fn try_filled_vec<T: Clone>(shape: &[usize], n: usize, value: T) -> Result<Vec<T>> {
    let mut v = try_vec_with_capacity(shape, n)?;
    v.resize(n, value);
    Ok(v)
}

/// Makes `buf` hold `n` copies of `value`, reusing its allocation when it is large enough (the
/// buffers of iterative methods: a fresh multi-megabyte allocation per iteration costs page
/// faults); [`Error::OutOfMemory`] if growing it is refused.
pub(crate) fn refill<T: Clone>(
    buf: &mut Vec<T>,
    shape: &[usize],
    n: usize,
    value: T,
) -> Result<()> {
    buf.clear();
    reserve(buf, shape, n)?;
    buf.resize(n, value);
    Ok(())
}

/// Room for `n` more elements in `buf` (part of a tensor of shape `shape`), or
/// [`Error::OutOfMemory`] if the allocator refuses. A fresh allocation of several megabytes
/// asks for huge pages before anything is written to it ([`crate::hugepages`]).
pub(crate) fn reserve<T>(buf: &mut Vec<T>, shape: &[usize], n: usize) -> Result<()> {
    check_memory(shape, (n as u64).saturating_mul(std::mem::size_of::<T>() as u64))?;
    let before = (buf.as_ptr(), buf.capacity());
    buf.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
        shape: shape.to_vec(),
        bytes: n.saturating_mul(std::mem::size_of::<T>()),
    })?;
    if (buf.as_ptr(), buf.capacity()) != before {
        crate::hugepages::advise(buf);
    }
    Ok(())
}

/// [`Error::MemoryLimit`] if `bytes` for a tensor (or workspace) of shape `shape` are over the
/// limit in force ([`crate::memory`]); called before allocating.
pub(crate) fn check_memory(shape: &[usize], bytes: u64) -> Result<()> {
    match crate::memory::over_limit(bytes) {
        Some(limit) => Err(Error::MemoryLimit { shape: shape.to_vec(), bytes, limit }),
        None => Ok(()),
    }
}

/// An empty vector with room for `n` elements of a tensor of shape `shape`, or
/// [`Error::OutOfMemory`] if the allocator refuses.
pub(crate) fn try_vec_with_capacity<T>(shape: &[usize], n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, shape, n)?;
    Ok(v)
}

/// Checks that `x` is finite and non-negative, naming the parameter otherwise.
pub(crate) fn check_non_negative(name: &'static str, x: f64) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: x.to_string(),
            expected: "a finite number >= 0",
        })
    }
}

/// Checks that `x` is finite and positive, naming the parameter otherwise.
pub(crate) fn check_positive(name: &'static str, x: f64) -> Result<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name, value: x.to_string(), expected: "a finite number > 0" })
    }
}
