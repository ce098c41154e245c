//! `tensorize eval MODEL [--data DIR] [--images N]`: the accuracy of the MNIST CNN stored in
//! MODEL on the MNIST test images of an IDX folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::ValueEnum;
use tensorize::data::{Mnist, MnistCnn, MnistSplit, MNIST_DIR, MNIST_NORMALIZATION};
use tensorize::format::{CpTensor, TtMatrix, TtTensor, TuckerTensor};
use tensorize::io::LayerReader;
use tensorize::nn::{
    Conv2d, Flatten, Layer, Linear, MaxPool2d, Relu, Sequential, SvdConv, SvdLinear,
};
use tensorize::tensorization::{weight_from_tensorized, WeightShape};
use tensorize::{Error, Factorized, Tensor};

use crate::compress::method::CliMethod;

use crate::data_files;
use crate::failure::{self, Failure};
use crate::progress;

/// Images per forward pass.
const BATCH: usize = 256;

/// Runs the command.
pub fn run(model: &Path, data: Option<&Path>, images: Option<usize>) -> Result<(), Failure> {
    let (net, params) = load_model(model)?;
    let dir: PathBuf = match data {
        Some(d) => d.to_path_buf(),
        None => data_files::find_data_file(&format!("{MNIST_DIR}/t10k-labels.idx1-ubyte.gz"))
            .map_err(|e| Failure::new(failure::INPUT, e))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let mut test = Mnist::load(&dir, MnistSplit::Test).map_err(failure::reading(&dir))?;
    if let Some(n) = images {
        if n == 0 {
            return Err(Failure::usage("--images 0: evaluate at least one image"));
        }
        test = test.take(n);
    }
    let t0 = Instant::now();
    let images = test.dataset(MNIST_NORMALIZATION).map_err(failure::reading(&dir))?;
    let bar = progress::bar(test.len() as u64, "evaluating");
    let eval =
        tensorize::nn::evaluate(&net, &progress::Counted { data: &images, bar: &bar }, BATCH)
            .map_err(|e| Failure::new(failure::INPUT, format!("{}: {e}", model.display())))?;
    bar.finish_and_clear();
    let flops = net.flops(&[1, 1, 28, 28]).unwrap_or(f64::NAN);
    println!(
        "{}: {} parameters stored, {flops:.3e} FLOPs per image as run; accuracy {:.2}% on {} MNIST test images ({:.1} s)",
        model.display(),
        params,
        100.0 * eval.accuracy(),
        eval.total,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The network of MODEL and the parameters its file stores: the dense checkpoint's layout
/// (`features.0`, `features.3`, `classifier.0`, `classifier.2`), or a file `tensorize compress`
/// wrote from it (an entry in place of a weight; the biases carried through).
fn load_model(model: &Path) -> Result<(Sequential<f32>, usize), Failure> {
    let reader = LayerReader::open(model).map_err(failure::reading(model))?;
    if reader.entries().is_empty() {
        let cnn = MnistCnn::<f32>::load(model).map_err(failure::reading(model))?;
        let net = cnn.model().map_err(failure::reading(model))?;
        let params = net.num_params();
        return Ok((net, params));
    }
    compressed_model(&reader).map_err(failure::reading(model))
}

/// A layer of the CNN as read from the file.
struct Loaded {
    layer: Box<dyn Layer<f32>>,
    /// The parameters the file stores for it (factors and bias).
    params: usize,
}

impl Loaded {
    fn new(layer: Box<dyn Layer<f32>>) -> Self {
        let params = layer.num_params();
        Self { layer, params }
    }
}

/// One layer of the CNN: dense if the file holds its weight, else its entry, with the CNN's
/// padding (a checkpoint does not record it) and the carried bias. SVD entries run as SVD
/// layers; the others (`cp`, `tucker`, `tt` of the reshaped weight, `tt-matrix`) run as the
/// dense weight they stand for, which computes the same function — their parameters are
/// counted as stored.
fn layer(reader: &LayerReader, prefix: &str, conv: bool) -> tensorize::Result<Loaded> {
    let file = reader.file();
    let bias: Vec<f32> = file.read::<f32>(&format!("{prefix}.bias"))?.as_slice().to_vec();
    let dense = |w: Tensor<f32>, bias: Vec<f32>| -> tensorize::Result<Box<dyn Layer<f32>>> {
        Ok(if conv {
            Box::new(Conv2d::new(w, Some(bias))?.with_padding([1, 1])?)
        } else {
            Box::new(Linear::new(w, Some(bias))?)
        })
    };
    let weight = format!("{prefix}.weight");
    if file.info(&weight).is_ok() {
        return Ok(Loaded::new(dense(file.read::<f32>(&weight)?, bias)?));
    }
    let (tensor, stored) = match reader.format(prefix)? {
        "svd-linear" if !conv => {
            let l: SvdLinear<f32> = reader.load(prefix)?;
            let [u, v] = l.factors();
            let l = SvdLinear::from_factors(u.clone(), v.clone(), Some(bias), l.rel_error())?;
            return Ok(Loaded::new(Box::new(l)));
        }
        "svd-conv" if conv => {
            let l: SvdConv<f32> = reader.load(prefix)?;
            let [u, v] = l.factors()?;
            let l = SvdConv::from_factors(u, v, Some(bias), [1, 1], [1, 1], l.rel_error())?;
            return Ok(Loaded::new(Box::new(l)));
        }
        "tt-matrix" if !conv => {
            let m: TtMatrix<f32> = reader.load(prefix)?;
            let params = m.num_params();
            let stored = params + bias.len();
            return Ok(Loaded { layer: dense(m.to_dense()?, bias)?, params: stored });
        }
        "cp" => {
            let f: CpTensor<f32> = reader.load(prefix)?;
            (f.to_dense()?, f.num_params())
        }
        "tucker" => {
            let f: TuckerTensor<f32> = reader.load(prefix)?;
            (f.to_dense()?, tucker_params(&f))
        }
        "tt" => {
            let f: TtTensor<f32> = reader.load(prefix)?;
            (f.to_dense()?, f.num_params())
        }
        other => {
            return Err(Error::Format {
                format: "safetensors",
                detail: format!(
                    "entry {prefix:?} is {other:?}, which is not a {} layer tensorize compress \
                     writes",
                    if conv { "convolution" } else { "linear" }
                ),
            })
        }
    };
    let shape = WeightShape::from_dims(&reader.entry_dims(prefix, "weight_shape")?)?;
    let name = reader.entry_metadata(prefix, "method")?;
    let factors = reader.entry_dims(prefix, "out_factors")?.len();
    let method = CliMethod::from_str(name, false).ok().and_then(|m| m.method(factors));
    let Some(method) = method else {
        return Err(Error::Format {
            format: "safetensors",
            detail: format!(
                "entry {prefix:?} names the method {name:?}, which is not one of compress's"
            ),
        });
    };
    let w = weight_from_tensorized(&shape, method, tensor)?;
    let stored = stored + bias.len();
    Ok(Loaded { layer: dense(w, bias)?, params: stored })
}

/// The parameters of a Tucker entry that `compress` wrote for a partial Tucker: the identity
/// factors it stores on the modes the decomposition keeps are not parameters of the layer.
fn tucker_params(t: &TuckerTensor<f32>) -> usize {
    let identity = |u: &faer::Mat<f32>| {
        u.nrows() == u.ncols()
            && (0..u.nrows())
                .all(|i| (0..u.ncols()).all(|j| u[(i, j)] == if i == j { 1.0 } else { 0.0 }))
    };
    let factors: usize =
        t.factors().iter().filter(|u| !identity(u)).map(|u| u.nrows() * u.ncols()).sum();
    t.core().numel() + factors
}

/// The CNN with each layer as stored, in the order of [`MnistCnn::model`], and its stored
/// parameters.
fn compressed_model(reader: &LayerReader) -> tensorize::Result<(Sequential<f32>, usize)> {
    let [conv1, conv2, fc1, fc2] = [
        layer(reader, "features.0", true)?,
        layer(reader, "features.3", true)?,
        layer(reader, "classifier.0", false)?,
        layer(reader, "classifier.2", false)?,
    ];
    let params = conv1.params + conv2.params + fc1.params + fc2.params;
    let net = Sequential::new()
        .push_named_boxed("conv1", conv1.layer)
        .push(Relu::new())
        .push(MaxPool2d::new([2, 2], [2, 2])?)
        .push_named_boxed("conv2", conv2.layer)
        .push(Relu::new())
        .push(MaxPool2d::new([2, 2], [2, 2])?)
        .push(Flatten::new())
        .push_named_boxed("fc1", fc1.layer)
        .push(Relu::new())
        .push_named_boxed("fc2", fc2.layer);
    Ok((net, params))
}
