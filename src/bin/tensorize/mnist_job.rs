//! The main job: the pretrained MNIST CNN on the 10,000 MNIST test images, before and after
//! compressing its two big layers (conv2 and fc1) under one parameter budget split between them
//! by the whole-model rank allocator; one table of parameters, FLOPs, accuracy and time.

use std::time::Instant;

use faer::MatRef;
use tensorize::data::{
    Mnist, MnistCnn, MnistSplit, MNIST_CNN_FILE, MNIST_DIR, MNIST_NORMALIZATION,
};
use tensorize::nn::{Conv2d, Layer, Linear, Sequential, SvdConv, SvdLinear};
use tensorize::rank::{allocate, LayerSpectrum};
use tensorize::{Budget, Result};

use super::data_files;

/// Where conv2 and fc1 sit in [`MnistCnn::model`].
const CONV2: usize = 3;
const FC1: usize = 7;
/// Images per forward pass.
const BATCH: usize = 256;

/// One model's line of the table.
struct Measured {
    name: String,
    params: usize,
    flops: f64,
    accuracy: f64,
    micros_per_image: f64,
}

fn measure(name: String, model: &Sequential<f32>, test: &Mnist) -> Result<Measured> {
    let flops = model.flops(&[1, 1, 28, 28])?;
    let t0 = Instant::now();
    let eval = test.evaluate(model, BATCH, MNIST_NORMALIZATION)?;
    let micros_per_image = t0.elapsed().as_secs_f64() * 1e6 / eval.total as f64;
    Ok(Measured {
        name,
        params: model.num_params(),
        flops,
        accuracy: eval.accuracy(),
        micros_per_image,
    })
}

/// What the job runs on.
pub struct Options {
    /// conv2 + fc1 weights before / after.
    pub factor: f64,
    /// The first this many test images, or all.
    pub images: Option<usize>,
}

/// Runs the job.
pub fn run(options: Options) -> std::result::Result<(), String> {
    let t0 = Instant::now();
    let cnn = data_files::find_data_file(MNIST_CNN_FILE)
        .and_then(MnistCnn::<f32>::load)
        .map_err(|e| e.to_string())?;
    let mnist_dir = data_files::find_data_file(&format!("{MNIST_DIR}/t10k-labels.idx1-ubyte.gz"))
        .map_err(|e| e.to_string())?;
    let mut test = Mnist::load(mnist_dir.parent().unwrap_or(&mnist_dir), MnistSplit::Test)
        .map_err(|e| e.to_string())?;
    if let Some(n) = options.images {
        test = test.take(n);
    }
    job(&cnn, &test, options.factor).map_err(|e| e.to_string())?;
    println!("\n(total {:.1} s, data from {})", t0.elapsed().as_secs_f64(), mnist_dir.display());
    Ok(())
}

fn job(cnn: &MnistCnn<f32>, test: &Mnist, factor: f64) -> Result<()> {
    println!(
        "MNIST test set: {} images of 28 x 28; pretrained CNN ({} parameters): {}\n",
        test.len(),
        cnn.num_params(),
        cnn.model()?.describe()
    );
    // One budget over conv2 and fc1, split by the allocator to minimize the summed relative
    // squared errors of the two weights.
    // Each layer's rank stays below its break-even, where the two factors would hold as many
    // weights as the dense layer.
    let below_break_even = |l: LayerSpectrum| {
        let r = ((l.dense_params - 1) / l.params_per_rank).clamp(1, l.max_rank);
        l.max_rank(r)
    };
    let (m, n) = (cnn.fc1_weight.shape()[0], cnn.fc1_weight.shape()[1]);
    let fc1_matrix = MatRef::from_row_major_slice(cnn.fc1_weight.as_slice(), m, n);
    let layers = [
        below_break_even(LayerSpectrum::from_conv_kernel("conv2", &cnn.conv2_weight)?),
        below_break_even(LayerSpectrum::from_matrix("fc1", fc1_matrix)?),
    ];
    let allocation = allocate(&layers, Budget::CompressBy(factor))?;
    let (r_conv, r_fc) = (allocation.ranks[0], allocation.ranks[1]);

    let dense = cnn.model()?;
    let mut compressed = cnn.model()?;
    let conv2 = Conv2d::new(cnn.conv2_weight.clone(), Some(cnn.conv2_bias.as_slice().to_vec()))?
        .with_padding([1, 1])?;
    let svd_conv = SvdConv::from_conv(&conv2, r_conv)?;
    let fc1 = Linear::new(cnn.fc1_weight.clone(), Some(cnn.fc1_bias.as_slice().to_vec()))?;
    let svd_fc = SvdLinear::from_linear(&fc1, r_fc)?;
    println!(
        "budget: conv2 + fc1 weights compressed {factor}x ({} -> at most {} parameters); \
         the allocator chose conv2 rank {r_conv} (weight rel. error {:.3}) and fc1 rank {r_fc} \
         (weight rel. error {:.3}), gap bound {:.1e}\n",
        layers.iter().map(|l| l.dense_params).sum::<usize>(),
        allocation.budget,
        svd_conv.rel_error(),
        svd_fc.rel_error(),
        allocation.gap_bound
    );
    compressed.replace(CONV2, Box::new(svd_conv))?;
    compressed.replace(FC1, Box::new(svd_fc))?;

    let rows = [
        measure("dense (pretrained)".into(), &dense, test)?,
        measure(format!("SVD conv2 r{r_conv} + SVD fc1 r{r_fc}"), &compressed, test)?,
    ];
    println!("| model | parameters | MFLOPs / image | accuracy | µs / image (batch {BATCH}) |");
    println!("|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.2} | {:.2}% | {:.1} |",
            r.name,
            r.params,
            r.flops / 1e6,
            100.0 * r.accuracy,
            r.micros_per_image
        );
    }
    let (d, c) = (&rows[0], &rows[1]);
    println!(
        "\nparameters {:.1}x fewer, FLOPs {:.1}x fewer, {:.1}x faster; accuracy {:+.2} points \
         (no fine-tuning)",
        d.params as f64 / c.params as f64,
        d.flops / c.flops,
        d.micros_per_image / c.micros_per_image,
        100.0 * (c.accuracy - d.accuracy)
    );
    Ok(())
}
