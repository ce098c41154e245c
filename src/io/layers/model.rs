//! Layers behind trait objects and whole [`Sequential`] models: the concrete type is found
//! by downcasting when saving and by the entry's `format` when loading.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::layers::reader::LayerReader;
use crate::io::layers::stored::Stored;
use crate::io::layers::writer::LayerWriter;
use crate::nn::{
    AvgPool2d, BatchNorm2d, Conv2d, CpConv, Flatten, GlobalAvgPool, Layer, Linear, MaxPool2d, Relu,
    Sequential, SvdConv, SvdLinear, Tensorized, TtConv, TtLinear, Tucker2Conv,
};
use crate::scalar::Scalar;

/// Calls `$then!(Type)` for every layer type that can be saved: one list for both directions.
macro_rules! for_each_layer {
    ($then:ident, $($args:tt)*) => {
        $then!($($args)*;
            Linear<T>, Conv2d<T>, BatchNorm2d<T>, Relu<T>, Flatten, MaxPool2d, AvgPool2d,
            GlobalAvgPool, SvdLinear<T>, SvdConv<T>, Tucker2Conv<T>, CpConv<T>, TtConv<T>,
            TtLinear<T>, Tensorized<T>)
    };
}

/// Adds `layer` as the entry `name`, as whichever saved type it is.
pub(super) fn add_layer<T: Scalar>(
    out: &mut LayerWriter<T>,
    name: &str,
    layer: &dyn Layer<T>,
) -> Result<()> {
    let any = layer.as_any();
    macro_rules! try_save {
        ($out:ident, $name:ident, $any:ident; $($ty:ty),*) => {
            $(if let Some(l) = $any.downcast_ref::<$ty>() {
                $out.add($name, l)?;
                return Ok(());
            })*
        };
    }
    for_each_layer!(try_save, out, name, any);
    Err(Error::InvalidParameter {
        name: "layer",
        value: format!("{name:?} ({})", layer.describe()),
        expected: "a layer type that can be saved (docs/formats.md lists them)",
    })
}

/// The entry `name` of `file` as the layer type its `format` names.
pub(super) fn load_layer<T: Scalar>(file: &LayerReader, name: &str) -> Result<Box<dyn Layer<T>>> {
    let format = file.format(name)?;
    macro_rules! try_load {
        ($file:ident, $name:ident, $format:ident; $($ty:ty),*) => {
            $(if <$ty as Stored<T>>::FORMATS.contains(&$format) {
                return Ok(Box::new(<$ty as Stored<T>>::load($file, $name)?));
            })*
        };
    }
    for_each_layer!(try_load, file, name, format);
    Err(file.error(format!("entry {name:?} has format {format:?}, which is not a layer")))
}

/// Saves `model` (every layer under its name, and their order) as one safetensors file at
/// `path`, atomically; an existing file is replaced only with `overwrite`.
///
/// ```
/// use tensorize::io::{load_model, save_model};
/// use tensorize::nn::{Layer, Linear, Relu, Sequential, SvdLinear};
/// use tensorize::Tensor;
/// let dir = std::env::temp_dir().join(format!("tensorize-doc-model-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("model.safetensors");
/// let fc = Linear::new(Tensor::<f32>::random_normal(&[16, 12], 1)?, Some(vec![0.1; 16]))?;
/// let model = Sequential::new()
///     .push_named("fc1", SvdLinear::from_linear(&fc, 4)?)
///     .push(Relu::new())
///     .push_named("fc2", Linear::new(Tensor::random_normal(&[3, 16], 2)?, None)?);
/// save_model(&path, &model, false)?;
/// let back: Sequential<f32> = load_model(&path)?;
/// assert_eq!(back.names(), model.names());
/// let x = Tensor::random_normal(&[5, 12], 3)?;
/// assert_eq!(back.forward(&x)?, model.forward(&x)?);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`LayerWriter::add_model`] and [`LayerWriter::write`]: a layer type that cannot be
/// saved, an existing file without `overwrite`, a missing folder, a failed write (the old file
/// is then left as it was).
pub fn save_model<T: Scalar>(
    path: impl AsRef<Path>,
    model: &Sequential<T>,
    overwrite: bool,
) -> Result<()> {
    let mut out = LayerWriter::new().overwrite(overwrite);
    out.add_model(model)?;
    out.write(path)
}

/// Loads a model saved by [`save_model`] (its factors converted to `T` if stored otherwise).
///
/// # Errors
/// As [`LayerReader::open`] and [`LayerReader::load_model`]: errors naming the file and the
/// key or tensor for absent metadata, an unknown format, missing factors or factors of the
/// wrong shape.
pub fn load_model<T: Scalar>(path: impl AsRef<Path>) -> Result<Sequential<T>> {
    LayerReader::open(path)?.load_model()
}
