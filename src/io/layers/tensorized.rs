//! Tensorized (TSPC r-CP / r-TK / r-TT) layers as entries: the layer's metadata (method,
//! channel factors, the tensorization `split` / `perm` / `tensorization`, the window) under
//! `<name>`, its decomposition as a plain entry `<name>.tensorized` (`cp`, `partial-tucker`
//! or `tt`) of the tensorized weight.

use crate::error::Result;
use crate::format::{CpTensor, PartialTucker, TtTensor};
use crate::io::layers::dense::{built, put_bias, take_bias};
use crate::io::layers::keys;
use crate::io::layers::reader::LayerReader;
use crate::io::layers::stored::Stored;
use crate::io::layers::writer::LayerWriter;
use crate::nn::Tensorized;
use crate::scalar::Scalar;
use crate::tensorization::weights::layout::Layout;
use crate::tensorization::{Method, WeightFormat, WeightShape};

/// The `format` of a tensorized layer of `method`, and its number of channel factors.
fn format_of(method: Method) -> (&'static str, usize) {
    match method {
        Method::RCp { factors } => ("r-cp", factors),
        Method::RTucker { factors } => ("r-tk", factors),
        Method::RTt { factors } => ("r-tt", factors),
        _ => ("tensorized", 0),
    }
}

impl<T: Scalar> Stored<T> for Tensorized<T> {
    const FORMATS: &'static [&'static str] = &["r-cp", "r-tk", "r-tt"];

    fn format(&self) -> &'static str {
        format_of(self.method()).0
    }

    fn save(&self, name: &str, out: &mut LayerWriter<T>) -> Result<()> {
        let plan = self.plan();
        let layout = Layout::new(&plan.weight, plan.method)?;
        let replaces = match plan.weight {
            WeightShape::Linear { .. } => "linear",
            WeightShape::Conv { .. } => "conv2d",
        };
        out.put_metadata(name, "replaces", replaces);
        out.put_metadata(name, "shape", keys::dims(&plan.weight.dims()));
        out.put_metadata(name, "factors", format_of(plan.method).1.to_string());
        out.put_metadata(name, "ranks", keys::dims(&self.ranks()));
        out.put_metadata(name, "rel_error", self.rel_error().to_string());
        out.put_metadata(name, "split", keys::dims(&layout.split));
        out.put_metadata(name, "perm", keys::dims(&layout.perm));
        out.put_metadata(name, "tensorization", keys::dims(&layout.shape));
        let (stride, padding) = self.window();
        out.put_metadata(name, "stride", keys::pair(stride));
        out.put_metadata(name, "padding", keys::pair(padding));
        put_bias(out, name, self.bias())?;
        let inner = format!("{name}.tensorized");
        match self.format()? {
            WeightFormat::Cp(cp) => out.add(&inner, &cp)?,
            WeightFormat::Tucker(t) => out.add(&inner, &t)?,
            WeightFormat::Tt(tt) => out.add(&inner, &tt)?,
            WeightFormat::LowRank(_) => {
                return Err(crate::error::Error::InvalidParameter {
                    name: "format",
                    value: "low-rank".into(),
                    expected: "a tensorized layer's CP, partial Tucker or TT decomposition",
                })
            }
        };
        Ok(())
    }

    fn load(file: &LayerReader, name: &str) -> Result<Self> {
        let format = file.format(name)?;
        let factors = file.entry_count(name, "factors")?;
        let method = match format {
            "r-cp" => Method::RCp { factors },
            "r-tk" => Method::RTucker { factors },
            _ => Method::RTt { factors },
        };
        let shape = file.entry_dims(name, "shape")?;
        let weight = WeightShape::from_dims(&shape).map_err(|e| file.in_entry(name, e))?;
        let rel_error = file.entry_f64(name, "rel_error")?;
        let (stride, padding) =
            (file.entry_pair(name, "stride")?, file.entry_pair(name, "padding")?);
        let bias = take_bias(file, name, weight.out())?;
        let inner = format!("{name}.tensorized");
        let decomposition = match method {
            Method::RCp { .. } => WeightFormat::Cp(file.load::<T, CpTensor<T>>(&inner)?),
            Method::RTucker { .. } => {
                WeightFormat::Tucker(file.load::<T, PartialTucker<T>>(&inner)?)
            }
            _ => WeightFormat::Tt(file.load::<T, TtTensor<T>>(&inner)?),
        };
        let layer = Tensorized::from_format(
            weight,
            stride,
            padding,
            method,
            &decomposition,
            bias,
            rel_error,
        );
        built(file, name, layer)
    }
}
