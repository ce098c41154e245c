//! `tensorize eval MODEL [--data DIR] [--images N]`: the accuracy of the MNIST CNN stored in
//! MODEL on the MNIST test images of an IDX folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tensorize::data::{Mnist, MnistCnn, MnistSplit, MNIST_DIR, MNIST_NORMALIZATION};
use tensorize::nn::{Layer, Sequential};

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
/// `classifier.0`, `classifier.2`).
fn load_model(model: &Path) -> Result<Sequential<f32>, Failure> {
    let cnn = MnistCnn::<f32>::load(model).map_err(failure::reading(model))?;
    cnn.model().map_err(failure::reading(model))
}
