//! Reading and writing tensors: NumPy's `.npy` and `.npz` (the interchange with TensorLy and
//! friends) and safetensors (PyTorch / Hugging Face weights); every write is atomic. Layers,
//! models and factorizations saved as named factors plus metadata ([`LayerWriter`],
//! [`LayerReader`], [`save_model`], [`load_model`]; the scheme is `docs/formats.md`).

mod atomic;
mod dtype;
mod layers;
mod npy;
mod npz;
mod safetensors;

pub use atomic::write_atomic;
pub use dtype::Dtype;
pub use layers::{load_model, save_model, LayerReader, LayerWriter, Stored};
pub use npy::{npy_bytes, parse_npy, read_npy, write_npy};
pub use npz::{npz_bytes, parse_npz, read_npz, write_npz, Compression};
pub use safetensors::{
    parse_safetensors, read_safetensor, read_safetensors, safetensors_bytes, write_safetensors,
    RawTensor, SafetensorsFile, SafetensorsWriter, TensorInfo,
};
