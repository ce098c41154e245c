//! Dense and parameter-free layers as entries: `<name>.weight` / `<name>.bias` (PyTorch's
//! names), a batch normalization's running statistics, the windows of pools.

use crate::error::Result;
use crate::io::layers::keys;
use crate::io::layers::reader::LayerReader;
use crate::io::layers::stored::Stored;
use crate::io::layers::writer::LayerWriter;
use crate::nn::{AvgPool2d, BatchNorm2d, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, Relu};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Writes `<name>.bias` (if any) and `<name>.has_bias`.
pub(super) fn put_bias<T: Scalar>(
    out: &mut LayerWriter<T>,
    name: &str,
    bias: Option<&[T]>,
) -> Result<()> {
    out.put_metadata(name, "has_bias", bias.is_some().to_string());
    if let Some(b) = bias {
        out.put_tensor(format!("{name}.bias"), Tensor::from_vec(&[b.len()], b.to_vec())?)?;
    }
    Ok(())
}

/// Reads `<name>.bias` of `len` entries if `<name>.has_bias` says there is one.
pub(super) fn take_bias<T: Scalar>(
    file: &LayerReader,
    name: &str,
    len: usize,
) -> Result<Option<Vec<T>>> {
    if !file.entry_bool(name, "has_bias")? {
        return Ok(None);
    }
    Ok(Some(file.tensor::<T>(&format!("{name}.bias"), &[len])?.into_vec()))
}

/// A constructor's error on the entry's factors, naming the file and the entry.
pub(super) fn built<L>(file: &LayerReader, name: &str, layer: Result<L>) -> Result<L> {
    layer.map_err(|e| file.in_entry(name, e))
}

impl<T: Scalar> Stored<T> for Linear<T> {
    const FORMATS: &'static [&'static str] = &["linear"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        out.put_metadata(name, "shape", keys::dims(self.weight().shape()));
        out.put_tensor(format!("{name}.weight"), self.weight().clone())?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let shape = file.entry_dims_n(name, "shape", 2)?;
        let weight = file.tensor(&format!("{name}.weight"), &shape)?;
        let bias = take_bias(file, name, shape[0])?;
        built(file, name, Linear::new(weight, bias))
    }
}

impl<T: Scalar> Stored<T> for Conv2d<T> {
    const FORMATS: &'static [&'static str] = &["conv2d"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        out.put_metadata(name, "shape", keys::dims(self.weight().shape()));
        out.put_metadata(name, "stride", keys::pair(self.stride()));
        out.put_metadata(name, "padding", keys::pair(self.padding()));
        out.put_metadata(name, "groups", self.groups().to_string());
        out.put_tensor(format!("{name}.weight"), self.weight().clone())?;
        put_bias(out, name, self.bias())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let shape = file.entry_dims_n(name, "shape", 4)?;
        let weight = file.tensor(&format!("{name}.weight"), &shape)?;
        let bias = take_bias(file, name, shape[0])?;
        let groups = file.entry_count(name, "groups")?;
        let (stride, padding) =
            (file.entry_pair(name, "stride")?, file.entry_pair(name, "padding")?);
        built(
            file,
            name,
            Conv2d::new(weight, bias)
                .and_then(|c| c.with_stride(stride))
                .and_then(|c| c.with_padding(padding))
                .and_then(|c| c.with_groups(groups)),
        )
    }
}

impl<T: Scalar> Stored<T> for BatchNorm2d<T> {
    const FORMATS: &'static [&'static str] = &["batch-norm2d"];

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let c = self.channels();
        out.put_metadata(name, "shape", keys::dims(&[c]));
        out.put_metadata(name, "eps", self.eps().to_string());
        out.put_metadata(name, "momentum", self.momentum().to_string());
        let parts = [
            ("weight", self.gamma()),
            ("bias", self.beta()),
            ("running_mean", self.running_mean()),
            ("running_var", self.running_var()),
        ];
        for (part, values) in parts {
            out.put_tensor(format!("{name}.{part}"), Tensor::from_vec(&[c], values.to_vec())?)?;
        }
        Ok(())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let shape = file.entry_dims_n(name, "shape", 1)?;
        let take = |part: &str| -> Result<Vec<T>> {
            Ok(file.tensor::<T>(&format!("{name}.{part}"), &shape)?.into_vec())
        };
        let (eps, momentum) = (file.entry_f64(name, "eps")?, file.entry_f64(name, "momentum")?);
        let bn = BatchNorm2d::from_parts(
            take("weight")?,
            take("bias")?,
            take("running_mean")?,
            take("running_var")?,
        );
        built(file, name, bn.and_then(|b| b.with_eps(eps)).and_then(|b| b.with_momentum(momentum)))
    }
}

/// Parameter-free layers without settings: the entry is its `format` alone.
macro_rules! stored_unit {
    ($ty:ty, $format:literal, $new:expr) => {
        impl<T: Scalar> Stored<T> for $ty {
            const FORMATS: &'static [&'static str] = &[$format];

            fn save(&self, _name: &str, _out: &mut LayerWriter<T>) -> Result<()> {
                Ok(())
            }

            fn load(_file: &LayerReader, _name: &str) -> Result<Self> {
                Ok($new)
            }
        }
    };
}

stored_unit!(Relu<T>, "relu", Relu::new());
stored_unit!(Flatten, "flatten", Flatten::new());
stored_unit!(GlobalAvgPool, "global-avg-pool", GlobalAvgPool::new());

/// Pools: `<name>.kernel` and `<name>.stride`.
macro_rules! stored_pool {
    ($ty:ident, $format:literal) => {
        impl<T: Scalar> Stored<T> for $ty {
            const FORMATS: &'static [&'static str] = &[$format];

            fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
                out.put_metadata(name, "kernel", keys::pair(self.kernel()));
                out.put_metadata(name, "stride", keys::pair(self.stride()));
                Ok(())
            }

            fn load(file: &LayerReader, name: &str) -> Result<Self> {
                let kernel = file.entry_pair(name, "kernel")?;
                let stride = file.entry_pair(name, "stride")?;
                built(file, name, $ty::new(kernel, stride))
            }
        }
    };
}

stored_pool!(MaxPool2d, "max-pool2d");
stored_pool!(AvgPool2d, "avg-pool2d");
