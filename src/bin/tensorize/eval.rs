//! `tensorize eval MODEL [--data DIR] [--images N]`: the accuracy of the MNIST CNN stored in
//! MODEL on the MNIST test images of an IDX folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tensorize::data::{Mnist, MnistCnn, MnistSplit, MNIST_DIR, MNIST_NORMALIZATION};
use tensorize::io::LayerReader;
use tensorize::nn::{
    Conv2d, Flatten, Layer, Linear, MaxPool2d, Relu, Sequential, SvdConv, SvdLinear,
};
use tensorize::Error;

use crate::data_files;
use crate::failure::{self, Failure};

/// Images per forward pass.
const BATCH: usize = 256;

/// Runs the command.
pub fn run(model: &Path, data: Option<&Path>, images: Option<usize>) -> Result<(), Failure> {
    let net = load_model(model)?;
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
    let eval = test
        .evaluate(&net, BATCH, MNIST_NORMALIZATION)
        .map_err(|e| Failure::new(failure::INPUT, format!("{}: {e}", model.display())))?;
    let flops = net.flops(&[1, 1, 28, 28]).unwrap_or(f64::NAN);
    println!(
        "{}: {} parameters, {flops:.3e} FLOPs per image; accuracy {:.2}% on {} MNIST test images ({:.1} s)",
        model.display(),
        net.num_params(),
        100.0 * eval.accuracy(),
        eval.total,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The network of MODEL: the dense checkpoint's layout (`features.0`, `features.3`,
/// `classifier.0`, `classifier.2`), or a file `tensorize compress --method svd` wrote from it
/// (an SVD entry in place of a weight; the biases carried through).
fn load_model(model: &Path) -> Result<Sequential<f32>, Failure> {
    let reader = LayerReader::open(model).map_err(failure::reading(model))?;
    if reader.entries().is_empty() {
        let cnn = MnistCnn::<f32>::load(model).map_err(failure::reading(model))?;
        return cnn.model().map_err(failure::reading(model));
    }
    compressed_model(&reader).map_err(failure::reading(model))
}

/// One layer of the CNN: dense if the file holds its weight, else its SVD entry, with the
/// CNN's padding (a checkpoint does not record it) and the carried bias.
fn layer(reader: &LayerReader, prefix: &str, conv: bool) -> tensorize::Result<Box<dyn Layer<f32>>> {
    let file = reader.file();
    let bias: Vec<f32> = file.read::<f32>(&format!("{prefix}.bias"))?.as_slice().to_vec();
    let weight = format!("{prefix}.weight");
    if file.info(&weight).is_ok() {
        let w = file.read::<f32>(&weight)?;
        return Ok(if conv {
            Box::new(Conv2d::new(w, Some(bias))?.with_padding([1, 1])?)
        } else {
            Box::new(Linear::new(w, Some(bias))?)
        });
    }
    Ok(match reader.format(prefix)? {
        "svd-linear" if !conv => {
            let l: SvdLinear<f32> = reader.load(prefix)?;
            let [u, v] = l.factors();
            Box::new(SvdLinear::from_factors(u.clone(), v.clone(), Some(bias), l.rel_error())?)
        }
        "svd-conv" if conv => {
            let l: SvdConv<f32> = reader.load(prefix)?;
            let [u, v] = l.factors()?;
            Box::new(SvdConv::from_factors(u, v, Some(bias), [1, 1], [1, 1], l.rel_error())?)
        }
        other => {
            return Err(Error::Format {
                format: "safetensors",
                detail: format!(
                    "entry {prefix:?} is {other:?}; eval runs the dense CNN or its layers \
                     compressed by --method svd"
                ),
            })
        }
    })
}

/// The CNN with each layer dense or SVD, in the order of [`MnistCnn::model`].
fn compressed_model(reader: &LayerReader) -> tensorize::Result<Sequential<f32>> {
    Ok(Sequential::new()
        .push_named_boxed("conv1", layer(reader, "features.0", true)?)
        .push(Relu::new())
        .push(MaxPool2d::new([2, 2], [2, 2])?)
        .push_named_boxed("conv2", layer(reader, "features.3", true)?)
        .push(Relu::new())
        .push(MaxPool2d::new([2, 2], [2, 2])?)
        .push(Flatten::new())
        .push_named_boxed("fc1", layer(reader, "classifier.0", false)?)
        .push(Relu::new())
        .push_named_boxed("fc2", layer(reader, "classifier.2", false)?))
}
