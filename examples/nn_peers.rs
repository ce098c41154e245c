//! tensorize's side of `scripts/compare-nn-peers`: the pretrained MNIST CNN and its layers on the
//! inputs that `benches/peers/nn_peers.py inputs DIR` wrote, printing `RESULT <workload>
//! median_s=<s> runs=<n> key=value …` lines (the PyTorch side prints the same workload names).
//! It also writes into DIR what the PyTorch side checks itself against: the compressed layers
//! (`layers.txt`, their factors as `layer_<name>.safetensors`) and the outputs (`out_*.npy`).
//!
//! Usage: `cargo run --release --example nn_peers -- DIR [RUNS] [profile]`; with `profile` it
//! prints instead where the time goes (`PROFILE` lines): each layer of the training step, and
//! the phases of the compressed fc1.

#[path = "../tests/common/data.rs"]
mod data_files;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;
use tensorize::data::{
    Mnist, MnistCnn, MnistSplit, MNIST_CNN_FILE, MNIST_DIR, MNIST_NORMALIZATION,
};
use tensorize::io::{read_npy, write_npy, write_safetensors};
use tensorize::nn::{
    softmax_cross_entropy, Conv2d, CpConv, Flatten, Layer, Linear, MaxPool2d, Optimizer, Relu,
    Sequential, Sgd, SvdConv, SvdLinear, Tucker2Conv,
};
use tensorize::par::Par;
use tensorize::rank::{allocate, tspc, LayerSpectrum};
use tensorize::{Budget, Error, Result, Tensor};

/// Counts the bytes the process holds on the heap, and their peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Images per inference batch, and per training batch.
const INFER_BATCH: usize = 256;
const TRAIN_BATCH: usize = 128;
/// The SGD step of the training workload (PyTorch's `SGD(lr=0.01, momentum=0.9)`).
const LR: f64 = 0.01;
const MOMENTUM: f64 = 0.9;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: nn_peers DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(10).max(1);
    let dir = Path::new(dir);
    let cnn = MnistCnn::<f32>::load(data_files::find_data_file(MNIST_CNN_FILE)?)?;
    let images: Tensor<f32> = read_npy(dir.join("images.npy"))?;
    let labels: Vec<usize> =
        read_npy::<f64>(dir.join("labels.npy"))?.as_slice().iter().map(|&l| l as usize).collect();
    check_images(&images, &labels)?;
    let train_x = first_rows(&images, TRAIN_BATCH)?;
    let train_y = &labels[..TRAIN_BATCH];
    if args.get(3).map(String::as_str) == Some("profile") {
        profile_layers(&cnn, &train_x, train_y, runs)?;
        return profile_svd_fc1(&cnn, dir, runs);
    }

    // Memory first, while the process is fresh.
    train_step_memory(&cnn, &train_x, train_y)?;
    inference(&cnn, &first_rows(&images, INFER_BATCH)?, dir, runs)?;
    training(&cnn, &train_x, train_y, runs)?;
    conv2_workloads(&cnn, dir, runs)?;
    compressed_layers(&cnn, dir, runs)?;
    Ok(())
}

/// The images the Python side wrote against this library's own MNIST loader and normalization.
fn check_images(images: &Tensor<f32>, labels: &[usize]) -> Result<()> {
    let labels_file =
        data_files::find_data_file(&format!("{MNIST_DIR}/t10k-labels.idx1-ubyte.gz"))?;
    let test = Mnist::load(labels_file.parent().unwrap_or(Path::new(".")), MnistSplit::Test)?;
    let indices: Vec<usize> = (0..images.shape()[0]).collect();
    let (ours, our_labels) = test.batch::<f32>(&indices, MNIST_NORMALIZATION)?;
    let diff = ours.as_slice().iter().zip(images.as_slice()).map(|(a, b)| (a - b).abs());
    println!(
        "CHECK images n={} max_abs_diff={:.3e} labels_equal={}",
        indices.len(),
        diff.fold(0.0_f32, f32::max),
        u8::from(our_labels == labels)
    );
    Ok(())
}

/// The first `n` images of a batch.
fn first_rows(x: &Tensor<f32>, n: usize) -> Result<Tensor<f32>> {
    let mut shape = x.shape().to_vec();
    let per: usize = shape[1..].iter().product();
    shape[0] = n;
    Tensor::from_vec(&shape, x.as_slice()[..n * per].to_vec())
}

/// One SGD step on a batch: forward, loss, backward, update. Returns the loss before the update.
fn train_step(
    model: &mut Sequential<f32>,
    opt: &mut Sgd<f32>,
    x: &Tensor<f32>,
    labels: &[usize],
) -> Result<f64> {
    let logits = model.forward_train(x)?;
    let (loss, dz) = softmax_cross_entropy(&logits, labels)?;
    model.backward(&dz)?;
    opt.step(model)?;
    Ok(loss)
}

fn sgd() -> Result<Sgd<f32>> {
    Sgd::new(LR)?.momentum(MOMENTUM)
}

/// The CNN on the first [`INFER_BATCH`] test images: images per second; the logits are written
/// for the PyTorch side to compare with its own.
fn inference(cnn: &MnistCnn<f32>, x: &Tensor<f32>, dir: &Path, runs: usize) -> Result<()> {
    let model = cnn.model()?;
    let (secs, logits) = timed(runs, || model.forward(x))?;
    write_npy(dir.join("out_cnn_inference.npy"), &logits)?;
    println!(
        "RESULT cnn_inference_b{INFER_BATCH} median_s={secs:.6} runs={runs} images_per_s={:.1}",
        INFER_BATCH as f64 / secs
    );
    Ok(())
}

/// One training step of the CNN (batch [`TRAIN_BATCH`], SGD with momentum). The loss before and
/// after one step from the pretrained weights is the check that both sides compute the same.
fn training(cnn: &MnistCnn<f32>, x: &Tensor<f32>, labels: &[usize], runs: usize) -> Result<()> {
    let mut model = cnn.model()?;
    let mut opt = sgd()?;
    let loss = train_step(&mut model, &mut opt, x, labels)?;
    let (loss_after, _) = softmax_cross_entropy(&model.forward(x)?, labels)?;

    let mut model = cnn.model()?;
    let mut opt = sgd()?;
    let (secs, _) = timed(runs, || train_step(&mut model, &mut opt, x, labels))?;
    println!(
        "RESULT cnn_train_step_b{TRAIN_BATCH} median_s={secs:.6} runs={runs} loss={loss:.7} \
         loss_after_step={loss_after:.7}"
    );
    Ok(())
}

/// Heap bytes (the counting allocator) and resident bytes (Linux's VmHWM, reset just before,
/// after `malloc_trim`) of the second training step of a fresh model, over what was held just
/// before it.
fn train_step_memory(cnn: &MnistCnn<f32>, x: &Tensor<f32>, labels: &[usize]) -> Result<()> {
    let mut model = cnn.model()?;
    let mut opt = sgd()?;
    // The first step allocates the momentum buffers and the cached activations.
    train_step(&mut model, &mut opt, x, labels)?;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    // Give the pages the first step freed back to the system, so the second step's show.
    #[cfg(target_os = "linux")]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let rss_base = status_kib("VmRSS");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    train_step(&mut model, &mut opt, x, labels)?;
    let peak = PEAK.load(Ordering::Relaxed);
    let rss = match (reset, rss_base, status_kib("VmHWM")) {
        (true, Some(b), Some(p)) => p.saturating_sub(b) as f64 * 1024.0,
        _ => f64::NAN,
    };
    println!(
        "RESULT train_step_peak_memory median_s=0 runs=1 heap_peak_over_start={} \
         heap_at_start={base} rss_peak_over_start={rss:.0}",
        peak - base
    );
    Ok(())
}

/// conv2 of the CNN (64 × 32 × 3 × 3, padding 1) on a seeded `[128, 32, 14, 14]` batch, forward
/// and backward separately, against faer GEMMs of the same sizes in this process.
fn conv2_workloads(cnn: &MnistCnn<f32>, dir: &Path, runs: usize) -> Result<()> {
    let x: Tensor<f32> = read_npy(dir.join("conv2_x.npy"))?;
    let dy: Tensor<f32> = read_npy(dir.join("conv2_dy.npy"))?;
    let mut conv = dense_conv2(cnn)?;
    let b = x.shape()[0];
    let flops = conv.flops(x.shape())? * b as f64;
    let reps = runs * 5;
    let (secs, y) = timed(reps, || conv.forward(&x))?;
    write_npy(dir.join("out_conv2_forward.npy"), &y)?;
    println!(
        "RESULT conv2_forward_b{b} median_s={secs:.6} runs={reps} gflops={:.2}",
        flops / secs / 1e9
    );
    conv.forward_train(&x)?;
    let (secs, dx) = timed(reps, || conv.backward(&dy))?;
    write_npy(dir.join("out_conv2_backward_dx.npy"), &dx)?;
    println!(
        "RESULT conv2_backward_b{b} median_s={secs:.6} runs={reps} gflops={:.2}",
        2.0 * flops / secs / 1e9
    );

    // The reference: the same multiply-adds as one GEMM `[64, 288] × [288, b·196]` on all
    // threads (the best an im2col of the whole batch could do), and as b GEMMs of one image's
    // size, images over the threads (what Conv2d::forward runs, without the im2col).
    let (m, k, n) = (64, 32 * 9, 14 * 14);
    let a = Tensor::<f32>::random_normal(&[m, k], 1)?;
    let cols = Tensor::<f32>::random_normal(&[k, b * n], 2)?;
    let mut c = vec![0.0_f32; m * b * n];
    let (secs, ()) = timed(reps, || {
        let dst = MatMut::from_row_major_slice_mut(&mut c, m, b * n);
        let (lhs, rhs) = (
            MatRef::from_row_major_slice(a.as_slice(), m, k),
            MatRef::from_row_major_slice(cols.as_slice(), k, b * n),
        );
        matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::rayon(0));
        Ok(())
    })?;
    println!(
        "RESULT faer_gemm_{m}x{k}x{} median_s={secs:.6} runs={reps} gflops={:.2}",
        b * n,
        flops / secs / 1e9
    );
    let per_image = cols.as_slice().chunks(k * n).collect::<Vec<_>>();
    let (secs, ()) = timed(reps, || {
        c.par_chunks_mut(m * n).zip(&per_image).for_each(|(ci, xi)| {
            let dst = MatMut::from_row_major_slice_mut(ci, m, n);
            let (lhs, rhs) = (
                MatRef::from_row_major_slice(a.as_slice(), m, k),
                MatRef::from_row_major_slice(xi, k, n),
            );
            matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
        });
        Ok(())
    })?;
    println!(
        "RESULT faer_gemm_{m}x{k}x{n}_per_image median_s={secs:.6} runs={reps} gflops={:.2}",
        flops / secs / 1e9
    );
    Ok(())
}

fn dense_conv2(cnn: &MnistCnn<f32>) -> Result<Conv2d<f32>> {
    Conv2d::new(cnn.conv2_weight.clone(), Some(cnn.conv2_bias.as_slice().to_vec()))?
        .with_padding([1, 1])
}

fn dense_fc1(cnn: &MnistCnn<f32>) -> Result<Linear<f32>> {
    Linear::new(cnn.fc1_weight.clone(), Some(cnn.fc1_bias.as_slice().to_vec()))
}

/// One layer of the compressed-layer comparison: a dense layer of the CNN or a compressed one
/// built from it. The PyTorch side rebuilds each from `kind`, `ranks` and the exported factors.
struct Entry {
    /// `layer_<name>` in the RESULT lines.
    name: String,
    /// What it is, for the PyTorch side: `dense_conv`, `dense_linear`, `svd_linear`,
    /// `svd_conv`, `tucker2_conv`, `cp_conv`.
    kind: &'static str,
    /// The dense layer it stands for (`conv2` or `fc1`): its input and its reference time.
    base: &'static str,
    ranks: Vec<usize>,
    /// `‖W − Ŵ‖ / ‖W‖` of the weight it replaced (0 for the dense layers).
    weight_rel_error: f64,
    layer: Box<dyn Layer<f32>>,
}

impl Entry {
    fn new(
        kind: &'static str,
        base: &'static str,
        ranks: Vec<usize>,
        weight_rel_error: f64,
        layer: impl Layer<f32> + 'static,
    ) -> Self {
        let suffix = ranks.iter().map(|r| format!("_r{r}")).collect::<String>();
        let name = format!("{base}_{kind}{suffix}");
        Self { name, kind, base, ranks, weight_rel_error, layer: Box::new(layer) }
    }
}

/// conv2 and fc1 dense and compressed at the ranks of the main job (`tensorize mnist
/// --compress-by 5`: one budget over both layers split by the whole-model allocator), each on
/// its seeded batch; Tucker-2 at the parameter count the allocator gave conv2's SVD.
fn compressed_layers(cnn: &MnistCnn<f32>, dir: &Path, runs: usize) -> Result<()> {
    let (r_conv, r_fc) = main_job_ranks(cnn, 5.0)?;
    let (conv2, fc1) = (dense_conv2(cnn)?, dense_fc1(cnn)?);
    let svd_conv = SvdConv::from_conv(&conv2, r_conv)?;
    let svd_fc = SvdLinear::from_linear(&fc1, r_fc)?;
    // The fraction of conv2's weights the allocator kept, turned into Tucker-2 and CP ranks by
    // TSPC's formulas for the same parameter count.
    let kept = (svd_conv.num_params() - 64) as f64 / conv2.weight().numel() as f64;
    let r_t2 = tspc::tucker2_rank(kept, 32, 64, 3, 3)?;
    let tucker = Tucker2Conv::from_conv(&conv2, r_t2, r_t2)?;
    let r_cp = tspc::cp_rank(kept, 32, 64, 3, 3)?;
    let cp = CpConv::from_conv(&conv2, r_cp)?;
    let mut entries = vec![
        Entry::new("dense_conv", "conv2", vec![], 0.0, conv2.clone()),
        Entry::new("svd_conv", "conv2", vec![r_conv], svd_conv.rel_error(), svd_conv),
        Entry::new("tucker2_conv", "conv2", vec![r_t2, r_t2], tucker.rel_error(), tucker),
        Entry::new("cp_conv", "conv2", vec![r_cp], cp.rel_error(), cp),
        Entry::new("dense_linear", "fc1", vec![], 0.0, fc1.clone()),
        Entry::new("svd_linear", "fc1", vec![r_fc], svd_fc.rel_error(), svd_fc),
    ];

    let inputs = [
        ("conv2", read_npy::<f32>(dir.join("conv2_x.npy"))?),
        ("fc1", read_npy::<f32>(dir.join("fc1_x.npy"))?),
    ];
    let mut list = String::new();
    for e in &mut entries {
        let x = &inputs.iter().find(|(base, _)| *base == e.base).ok_or_else(|| bad(e.base))?.1;
        let ranks = e.ranks.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        list.push_str(&format!("LAYER {} kind={} base={} ranks={ranks}\n", e.name, e.kind, e.base));
        export_params(e.layer.as_mut(), &dir.join(format!("layer_{}.safetensors", e.name)))?;
        let reps = runs * 5;
        let (secs, y) = timed(reps, || e.layer.forward(x))?;
        write_npy(dir.join(format!("out_layer_{}.npy", e.name)), &y)?;
        println!(
            "RESULT layer_{} median_s={secs:.6} runs={reps} flops={:.0} params={} \
             weight_rel_error={:.4e}",
            e.name,
            e.layer.flops(x.shape())?,
            e.layer.num_params(),
            e.weight_rel_error
        );
    }
    std::fs::write(dir.join("layers.txt"), list)
        .map_err(|err| Error::Io { path: dir.display().to_string(), detail: err.to_string() })?;
    Ok(())
}

/// conv2's and fc1's ranks as `tensorize mnist --compress-by factor` picks them
/// (src/bin/tensorize/mnist_job.rs): one parameter budget over both, split by the allocator,
/// each layer's rank below its break-even.
fn main_job_ranks(cnn: &MnistCnn<f32>, factor: f64) -> Result<(usize, usize)> {
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
    Ok((allocation.ranks[0], allocation.ranks[1]))
}

/// A layer's parameters in [`Layer::visit_params`] order as flat tensors `p0`, `p1`, ….
fn export_params(layer: &mut dyn Layer<f32>, path: &Path) -> Result<()> {
    let mut params = Vec::new();
    layer.visit_params(&mut |p| params.push(p.value.to_vec()));
    let tensors =
        params.into_iter().map(|v| Tensor::from_vec(&[v.len()], v)).collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = (0..tensors.len()).map(|i| format!("p{i}")).collect();
    let named: Vec<(&str, &Tensor<f32>)> =
        names.iter().map(String::as_str).zip(tensors.iter()).collect();
    write_safetensors(path, &named)
}

/// The training step layer by layer (batch [`TRAIN_BATCH`]): medians of each layer's inference
/// forward pass, training forward pass and backward pass, in ms.
fn profile_layers(
    cnn: &MnistCnn<f32>,
    x: &Tensor<f32>,
    labels: &[usize],
    runs: usize,
) -> Result<()> {
    let bias = |b: &Tensor<f32>| Some(b.as_slice().to_vec());
    let conv1 =
        Conv2d::new(cnn.conv1_weight.clone(), bias(&cnn.conv1_bias))?.with_padding([1, 1])?;
    let fc2 = Linear::new(cnn.fc2_weight.clone(), bias(&cnn.fc2_bias))?;
    let mut layers: Vec<Box<dyn Layer<f32>>> = vec![
        Box::new(conv1),
        Box::new(Relu::new()),
        Box::new(MaxPool2d::new([2, 2], [2, 2])?),
        Box::new(dense_conv2(cnn)?),
        Box::new(Relu::new()),
        Box::new(MaxPool2d::new([2, 2], [2, 2])?),
        Box::new(Flatten::new()),
        Box::new(dense_fc1(cnn)?),
        Box::new(Relu::new()),
        Box::new(fc2),
    ];
    let mut times = vec![[const { Vec::new() }; 3]; layers.len()];
    for run in 0..=runs {
        let mut h = x.clone();
        for (l, t) in layers.iter_mut().zip(&mut times) {
            let t0 = Instant::now();
            drop(l.forward(&h)?);
            let t1 = Instant::now();
            h = l.forward_train(&h)?;
            if run > 0 {
                t[0].push(t1 - t0);
                t[1].push(t1.elapsed());
            }
        }
        let (_, mut g) = softmax_cross_entropy(&h, labels)?;
        for (l, t) in layers.iter_mut().zip(&mut times).rev() {
            let t0 = Instant::now();
            g = l.backward(&g)?;
            if run > 0 {
                t[2].push(t0.elapsed());
            }
        }
    }
    let mut total = [0.0; 3];
    for (l, t) in layers.iter().zip(&mut times) {
        let ms = t.each_mut().map(|v| {
            v.sort();
            v[v.len() / 2].as_secs_f64() * 1e3
        });
        total.iter_mut().zip(ms).for_each(|(s, m)| *s += m);
        println!(
            "PROFILE layer {:?} forward_ms={:.2} forward_train_ms={:.2} backward_ms={:.2}",
            l.describe(),
            ms[0],
            ms[1],
            ms[2]
        );
    }
    println!(
        "PROFILE layer \"sum\" forward_ms={:.2} forward_train_ms={:.2} backward_ms={:.2}",
        total[0], total[1], total[2]
    );
    Ok(())
}

/// The compressed fc1's forward pass (`SvdLinear`, rank from the main job) against its parts:
/// the input's finiteness check, the two GEMMs alone (sequential and on all threads).
fn profile_svd_fc1(cnn: &MnistCnn<f32>, dir: &Path, runs: usize) -> Result<()> {
    let (_, r) = main_job_ranks(cnn, 5.0)?;
    let fc1 = dense_fc1(cnn)?;
    let svd = SvdLinear::from_linear(&fc1, r)?;
    let x: Tensor<f32> = read_npy(dir.join("fc1_x.npy"))?;
    let (b, n, m) = (x.shape()[0], 3136, 128);
    let reps = runs * 20;
    let us = |secs: f64| secs * 1e6;
    let (t, _) = timed(reps, || fc1.forward(&x))?;
    println!("PROFILE fc1 dense_forward_us={:.1}", us(t));
    let (t, _) = timed(reps, || svd.forward(&x))?;
    println!("PROFILE fc1 svd_r{r}_forward_us={:.1}", us(t));
    let (t, ()) = timed(reps, || x.check_finite("profile"))?;
    println!("PROFILE fc1 input_check_finite_us={:.1}", us(t));
    let right = Tensor::<f32>::random_normal(&[r, n], 3)?;
    let left = Tensor::<f32>::random_normal(&[m, r], 4)?;
    let (mut h, mut y) = (vec![0.0_f32; b * r], vec![0.0_f32; b * m]);
    for (name, par) in [("seq", Par::Seq), ("all_threads", Par::rayon(0))] {
        let (t, ()) = timed(reps, || {
            let dst = MatMut::from_row_major_slice_mut(&mut h, b, r);
            let lhs = MatRef::from_row_major_slice(x.as_slice(), b, n);
            let rhs = MatRef::from_row_major_slice(right.as_slice(), r, n).transpose();
            matmul(dst, Accum::Replace, lhs, rhs, 1.0, par);
            Ok(())
        })?;
        println!("PROFILE fc1 gemm_{b}x{n}x{r}_{name}_us={:.1}", us(t));
        let (t, ()) = timed(reps, || {
            let dst = MatMut::from_row_major_slice_mut(&mut y, b, m);
            let lhs = MatRef::from_row_major_slice(&h, b, r);
            let rhs = MatRef::from_row_major_slice(left.as_slice(), m, r).transpose();
            matmul(dst, Accum::Replace, lhs, rhs, 1.0, par);
            Ok(())
        })?;
        println!("PROFILE fc1 gemm_{b}x{r}x{m}_{name}_us={:.1}", us(t));
    }
    Ok(())
}

fn bad(base: &str) -> Error {
    Error::InvalidParameter { name: "base", value: base.into(), expected: "conv2 or fc1" }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The median wall time of `runs` calls after one untimed warm-up call, and the last result.
fn timed<R>(runs: usize, mut f: impl FnMut() -> Result<R>) -> Result<(f64, R)> {
    let mut last = f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        last = f()?;
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], last))
}
