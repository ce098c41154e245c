//! The write step of `compress`: OUT checked before any work, then written once, atomically:
//! each compressed layer as an entry of the library's [`LayerWriter`] (named factors plus
//! metadata, the scheme of docs/formats.md) and every other tensor carried through byte for
//! byte with [`SafetensorsWriter::copy_from`].
//!
//! An entry is named after the weight without its `.weight` suffix (`h.0.mlp.c_fc.weight` →
//! `h.0.mlp.c_fc`, factors `h.0.mlp.c_fc.svd.u`, …); `<entry>.source` names the tensor it
//! replaces and `<entry>.method` the `--method`. SVD layers are `svd-linear` / `svd-conv`
//! entries (a conv's stride and padding are not in a checkpoint: stride 1, padding 0 are
//! recorded), TT-matrix a `tt-matrix` entry. The other methods decompose the reshaped weight
//! of [`tensorize::tensorization::Method`]; they are stored as the plain format of that
//! tensor (`cp`, `tt`, `tucker` — a partial Tucker with identity factors on the modes it
//! keeps), with `<entry>.weight_shape` and `<entry>.tensor_shape` to undo the reshape.

use std::path::Path;

use faer::Mat;
use tensorize::format::{PartialTucker, TuckerTensor};
use tensorize::io::{Dtype, LayerWriter, SafetensorsFile};
use tensorize::nn::{SvdConv, SvdLinear};
use tensorize::tensorization::WeightFormat;
use tensorize::{Result, Scalar, Tensor};

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

/// The entry name of a weight: without a trailing `.weight`.
pub fn entry_name(weight: &str) -> &str {
    weight.strip_suffix(".weight").filter(|s| !s.is_empty()).unwrap_or(weight)
}

/// A matrix as a row-major tensor.
fn tensor_of<T: Scalar>(m: &Mat<T>) -> Result<Tensor<T>> {
    Tensor::from_fn(&[m.nrows(), m.ncols()], |i| m[(i[0], i[1])])
}

/// `[n, r]` → `[r, n]`.
fn transposed<T: Scalar>(x: &Tensor<T>) -> Result<Tensor<T>> {
    let (n, r) = (x.shape()[0], x.shape()[1]);
    let s = x.as_slice();
    Tensor::from_fn(&[r, n], |i| s[i[1] * r + i[0]])
}

/// A partial Tucker as a full one: identity factors on the modes it does not decompose.
fn full_tucker<T: Scalar>(p: &PartialTucker<T>) -> Result<TuckerTensor<T>> {
    let core = p.core().clone();
    let mut factors: Vec<Mat<T>> = core
        .shape()
        .iter()
        .map(|&n| Mat::from_fn(n, n, |i, j| if i == j { T::one() } else { T::zero() }))
        .collect();
    for (f, &mode) in p.factors().iter().zip(p.modes()) {
        factors[mode] = f.clone();
    }
    TuckerTensor::new(core, factors)
}

/// Adds one compressed layer as an entry.
fn add<T: Scalar>(out: &mut LayerWriter<T>, c: &Compressed<T>, method: &str) -> Result<()> {
    let entry = entry_name(&c.name);
    let rel = c.fitted.rel_error;
    match &c.fitted.decomposed {
        Decomposed::Svd { left, right } => {
            let v = transposed(right)?;
            if c.shape.len() == 2 {
                out.add(entry, &SvdLinear::from_factors(left.clone(), v, None, rel)?)?;
            } else {
                let r = v.shape()[0];
                let v = v.reshape(&[r, c.shape[1], c.shape[2], c.shape[3]])?;
                out.add(
                    entry,
                    &SvdConv::from_factors(left.clone(), v, None, [1, 1], [0, 0], rel)?,
                )?;
            }
        }
        Decomposed::TtMatrix(tt) => {
            out.add(entry, tt)?;
        }
        Decomposed::Weight(w) => {
            match w.format() {
                WeightFormat::LowRank(lr) => {
                    let u = tensor_of(lr.left())?;
                    let v = transposed(&tensor_of(lr.right())?)?;
                    out.add(entry, &SvdLinear::from_factors(u, v, None, rel)?)?;
                }
                WeightFormat::Cp(cp) => {
                    out.add(entry, cp)?;
                }
                WeightFormat::Tucker(t) => {
                    out.add(entry, &full_tucker(t)?)?;
                }
                WeightFormat::Tt(tt) => {
                    out.add(entry, tt)?;
                }
            }
            // What another framework needs to rebuild the weight from the plain format:
            // undo the reshape and permutation (docs/formats.md, "tensorize compress").
            let json = |v: &[usize]| serde_json::Value::from(v.to_vec()).to_string();
            let (split, perm) = w.plan().split_and_perm()?;
            out.put_metadata(entry, "weight_shape", json(&c.shape));
            out.put_metadata(entry, "tensor_shape", json(&w.plan().shape));
            out.put_metadata(entry, "split", json(&split));
            out.put_metadata(entry, "perm", json(&perm));
            out.put_metadata(entry, "out_factors", json(&w.plan().out_factors));
            out.put_metadata(entry, "in_factors", json(&w.plan().in_factors));
        }
    }
    // Every entry says how far it is from the weight it replaces (the layers' own writers
    // record it too; the plain formats have no place for it).
    out.put_metadata(entry, "rel_error", rel.to_string());
    out.put_metadata(entry, "source", c.name.clone());
    out.put_metadata(entry, "method", method);
    Ok(())
}

/// Writes OUT: the tensors in `carry` unchanged (raw bytes, any dtype), every compressed layer
/// as an entry whose factors are stored in the dtype the input stored the weights in, and the
/// input's metadata.
pub fn write_output<T: Scalar>(
    file: &SafetensorsFile,
    input: &Path,
    carry: &[&str],
    compressed: &[Compressed<T>],
    options: &Options,
) -> std::result::Result<(), Failure> {
    let out = options.output.as_path();
    // One dtype for the factors: the weights' own when they agree, else the working precision.
    let dtype = match compressed.first() {
        Some(c) if compressed.iter().all(|d| d.dtype == c.dtype) => c.dtype,
        _ => Dtype::of::<T>(),
    };
    let mut layers = LayerWriter::<T>::new().store_as(dtype).overwrite(options.force);
    // The input's metadata goes in first, so that what is written here of each entry overrides
    // what the input said (a file compressed twice); this file's `tensorize.*` keys are the
    // writer's own.
    for (key, value) in file.metadata().iter().filter(|(k, _)| !k.starts_with("tensorize.")) {
        layers.metadata(key, value);
    }
    for c in compressed {
        add(&mut layers, c, options.method.name()).map_err(failure::decomposing(input, &c.name))?;
    }
    let mut writer = layers.safetensors().input(input);
    for name in carry {
        writer = writer.copy_from(file, name).map_err(failure::reading(input))?;
    }
    writer.write(out).map_err(failure::writing(out))
}
