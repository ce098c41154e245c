//! Decomposed layers, dense layers, whole models and plain factorizations saved as named
//! factor tensors plus `__metadata__` in one safetensors file, and loaded back into the same
//! types. The naming scheme and the contraction that rebuilds each dense weight are in
//! `docs/formats.md`.

mod decomposed;
mod dense;
mod formats;
mod keys;
mod model;
mod reader;
mod stored;
mod tensorized;
mod writer;

pub use model::{load_model, save_model};
pub use reader::LayerReader;
pub use stored::Stored;
pub use writer::LayerWriter;
