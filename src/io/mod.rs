//! Reading and writing tensors: NumPy's `.npy` format (the interchange with TensorLy and friends).

mod npy;

pub use npy::{npy_bytes, parse_npy, read_npy, write_npy};
