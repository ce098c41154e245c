//! Parameters, forward FLOPs, one timed forward and one timed training step (forward_train +
//! backward; batch 32) of the tensorized layers of the
//! MNIST CNN's conv2 (64×32×3×3 on 14×14, padding 1) and fc1 (128×3136) at 10% kept
//! parameters with 3 channel factors, next to the dense layers. Random weights: the counts
//! depend on the shapes and ranks only (the fit runs 3 sweeps).
//!
//! Usage: `cargo run --release --example tensorized_flops`

use std::time::Instant;

use tensorize::nn::{Conv2d, Layer, Linear, Tensorized};
use tensorize::tensorization::{Compress, Method};
use tensorize::{Budget, Result, Tensor};

/// Seconds of the fastest of three runs of `f`.
fn fastest(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn row<L: Layer<f32> + Clone>(name: &str, layer: &L, x: &Tensor<f32>, dense: f64) -> Result<()> {
    let flops = layer.flops(x.shape())?;
    let forward = fastest(|| layer.forward(x).map(drop))?;
    let mut trained = layer.clone();
    let dy = Tensor::random_normal(&layer.output_shape(x.shape())?, 5)?;
    let step = fastest(|| {
        trained.forward_train(x)?;
        trained.backward(&dy).map(drop)
    })?;
    println!(
        "{name:<44} params {:>7}  MFLOP/sample {:>7.3}  ×dense {:>5.2}  forward(32) {:>7.2} ms  \
         train step(32) {:>8.2} ms",
        layer.num_params(),
        flops / 1e6,
        flops / dense,
        1e3 * forward,
        1e3 * step,
    );
    Ok(())
}

fn main() -> Result<()> {
    let conv = Conv2d::new(Tensor::<f32>::random_normal(&[64, 32, 3, 3], 1)?, Some(vec![0.0; 64]))?
        .with_padding([1, 1])?;
    let fc = Linear::new(Tensor::<f32>::random_normal(&[128, 3136], 2)?, Some(vec![0.0; 128]))?;
    let xc = Tensor::random_normal(&[32, 32, 14, 14], 3)?;
    let xf = Tensor::random_normal(&[32, 3136], 4)?;
    let (dc, df) = (conv.flops(xc.shape())?, fc.flops(xf.shape())?);
    row(&conv.describe(), &conv, &xc, dc)?;
    for method in
        [Method::RCp { factors: 3 }, Method::RTucker { factors: 3 }, Method::RTt { factors: 3 }]
    {
        let c = Compress::new(method).budget(Budget::KeepFraction(0.1)).max_iter(3);
        let layer = Tensorized::from_conv(&conv, &c)?;
        row(&layer.describe(), &layer, &xc, dc)?;
    }
    row(&fc.describe(), &fc, &xf, df)?;
    for method in
        [Method::RCp { factors: 3 }, Method::RTucker { factors: 3 }, Method::RTt { factors: 3 }]
    {
        let c = Compress::new(method).budget(Budget::KeepFraction(0.1)).max_iter(3);
        let layer = Tensorized::from_linear(&fc, &c)?;
        row(&layer.describe(), &layer, &xf, df)?;
    }
    Ok(())
}
