//! The write step of `compress`: OUT checked before any work, then written once, atomically,
//! through the library's [`SafetensorsWriter`] (a temporary file renamed at the end).

use std::path::Path;

use faer::Mat;
use serde_json::json;
use tensorize::io::{SafetensorsFile, SafetensorsWriter};
use tensorize::tensorization::WeightFormat;
use tensorize::{Error, Result, Scalar, Tensor};

use super::layer::Decomposed;
use super::{Compressed, Options};
use crate::failure::{self, Failure, OUTPUT};

/// Refuses OUT before any work: the input itself, an existing file without `--force`, a
/// missing folder.
pub fn check_output(input: &Path, output: &Path, force: bool) -> std::result::Result<(), Failure> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Failure::new(
            OUTPUT,
            format!("{}: the output is the input file; choose another -o", output.display()),
        ));
    }
    if output.exists() && !force {
        return Err(Failure::new(
            OUTPUT,
            format!("{}: the output exists; pass --force to replace it", output.display()),
        ));
    }
    let folder = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(Failure::new(
            OUTPUT,
            format!("{}: folder {} does not exist", output.display(), folder.display()),
        ));
    }
    Ok(())
}

/// A matrix as a row-major tensor.
fn tensor_of<T: Scalar>(m: &Mat<T>) -> Result<Tensor<T>> {
    Tensor::from_fn(&[m.nrows(), m.ncols()], |i| m[(i[0], i[1])])
}

/// The named factor tensors of one layer, and what its metadata entry says.
fn factors<T: Scalar>(c: &Compressed<T>) -> Result<(Vec<(String, Tensor<T>)>, serde_json::Value)> {
    let n = &c.name;
    let (format, tensors) = match &c.fitted.decomposed {
        Decomposed::Svd { left, right } => (
            "svd".to_string(),
            vec![
                (format!("{n}.svd.left"), left.clone()),
                (format!("{n}.svd.right"), right.clone()),
            ],
        ),
        Decomposed::TtMatrix(tt) => (
            "tt-matrix".to_string(),
            tt.cores()
                .iter()
                .enumerate()
                .map(|(k, g)| (format!("{n}.tt.core{k}"), g.clone()))
                .collect(),
        ),
        Decomposed::Weight(w) => {
            let method = w.plan().method.name().to_string();
            let tensors = match w.format() {
                WeightFormat::LowRank(lr) => vec![
                    (format!("{n}.svd.left"), tensor_of(lr.left())?),
                    (format!("{n}.svd.right"), tensor_of(lr.right())?),
                ],
                WeightFormat::Cp(cp) => {
                    let mut v = vec![(
                        format!("{n}.cp.weights"),
                        Tensor::from_vec(&[cp.weights().len()], cp.weights().to_vec())?,
                    )];
                    for (k, f) in cp.factors().iter().enumerate() {
                        v.push((format!("{n}.cp.factor{k}"), tensor_of(f)?));
                    }
                    v
                }
                WeightFormat::Tucker(t) => {
                    let mut v = vec![(format!("{n}.tucker.core"), t.core().clone())];
                    for (k, f) in t.factors().iter().enumerate() {
                        v.push((format!("{n}.tucker.factor{k}"), tensor_of(f)?));
                    }
                    v
                }
                WeightFormat::Tt(tt) => tt
                    .cores()
                    .iter()
                    .enumerate()
                    .map(|(k, g)| (format!("{n}.tt.core{k}"), g.clone()))
                    .collect(),
            };
            (method, tensors)
        }
    };
    let meta = json!({
        "format": format, "shape": c.shape, "ranks": c.fitted.ranks,
        "factors": tensors.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
    });
    Ok((tensors, meta))
}

/// Writes OUT: the tensors in `carry` unchanged (raw bytes, any dtype), every compressed layer
/// as its factors in the layer's own dtype, and the input's metadata plus one entry per layer.
pub fn write_output<T: Scalar>(
    file: &SafetensorsFile,
    input: &Path,
    carry: &[&str],
    compressed: &[Compressed<T>],
    options: &Options,
) -> std::result::Result<(), Failure> {
    let out = options.output.as_path();
    let mut built = Vec::with_capacity(compressed.len());
    for c in compressed {
        let (tensors, meta) = factors(c).map_err(failure::decomposing(input, &c.name))?;
        built.push((c, tensors, meta));
    }
    let mut writer = SafetensorsWriter::new()
        .metadata_map(file.metadata())
        .input(input)
        .overwrite(options.force);
    for name in carry {
        writer = writer.copy_from(file, name).map_err(failure::reading(input))?;
    }
    for (c, tensors, meta) in &built {
        for (name, t) in tensors {
            writer = writer.tensor_as(name, t, c.dtype);
        }
        writer = writer.metadata(&format!("tensorize.layer.{}", c.name), &meta.to_string());
    }
    writer.write(out).map_err(|e: Error| failure::writing(out)(e))
}
