//! The main job: the pretrained MNIST CNN on the 10,000 MNIST test images, before and after
//! compressing its two big layers (conv2 and fc1) under one parameter budget split between them
//! by the whole-model rank allocator; one table of parameters, FLOPs, accuracy and time.

use std::time::Instant;

use tensorize::compress::{LayerMethod, OneShot, Sizing};
use tensorize::data::{
    Mnist, MnistCnn, MnistSplit, MNIST_CNN_FILE, MNIST_DIR, MNIST_NORMALIZATION,
};
use tensorize::nn::{Layer, Sequential};
use tensorize::{Budget, Result};

use super::data_files;

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
    // squared errors of the two weights, each rank below its layer's break-even.
    let dense = cnn.model()?;
    let mut compressed = cnn.model()?;
    let one_shot = OneShot::new(
        &["conv2", "fc1"],
        LayerMethod::Svd,
        Sizing::Budget(Budget::CompressBy(factor)),
    );
    let report = one_shot.apply(&mut compressed, &[1, 1, 28, 28])?;
    println!(
        "budget: conv2 + fc1 weights compressed {factor}x, split by the allocator:\n\n{report}"
    );
    let after: Vec<&str> = report.layers.iter().map(|l| l.after.as_str()).collect();
    let rows = [
        measure("dense (pretrained)".into(), &dense, test)?,
        measure(after.join(" + "), &compressed, test)?,
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
