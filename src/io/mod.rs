//! Reading and writing tensors: NumPy's `.npy` format (the interchange with TensorLy and friends)
//! and safetensors (PyTorch / Hugging Face weights).

mod npy;
mod safetensors;

pub use npy::{npy_bytes, parse_npy, read_npy, write_npy};
pub use safetensors::{
    parse_safetensors, read_safetensor, read_safetensors, safetensors_bytes, write_safetensors,
};
