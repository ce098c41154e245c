//! The pretrained MNIST CNN with one big layer replaced by a decomposed one: fc1 (128 × 3136)
//! by SVD layers of rank 8–64, conv2 (64 × 32 × 3 × 3) by Tucker-2, CP and TT convolutions at a
//! few ranks. For each: parameters, the weight's relative error, test accuracy right after the
//! swap and after one short fine-tuning pass of the whole model. Shared by the bench
//! (`cargo bench --bench cnn_layers`) and its quick-mode test (`tests/cnn_layers_quick.rs`).

use std::fmt::Write as _;
use std::time::Instant;

use tensorize::data::{Mnist, MnistCnn, MNIST_NORMALIZATION};
use tensorize::nn::{
    evaluate, Conv2d, CpConv, Layer, Linear, Schedule, Sequential, Sgd, SvdLinear, Train, TtConv,
    Tucker2Conv,
};
use tensorize::{Error, Result};

/// Where conv2 and fc1 sit in [`MnistCnn::model`].
const CONV2: usize = 3;
const FC1: usize = 7;

/// How much of the data each part uses, and which ranks.
pub struct Options {
    /// Test images the accuracy is measured on (the first this many).
    pub test_images: usize,
    /// Training images the fine-tuning pass runs over once (the first this many).
    pub train_images: usize,
    /// Mini-batch size of the fine-tuning pass.
    pub batch: usize,
    /// SVD ranks of fc1.
    pub fc1_ranks: Vec<usize>,
    /// Tucker-2 ranks `(r_out, r_in)` of conv2.
    pub tucker_ranks: Vec<(usize, usize)>,
    /// CP ranks of conv2.
    pub cp_ranks: Vec<usize>,
    /// Maximal TT ranks of conv2.
    pub tt_ranks: Vec<usize>,
    /// The learning rates of the fine-tuning passes (one pass each, from the same swap).
    pub lrs: Vec<f64>,
    /// Print each row's progress to stderr.
    pub verbose: bool,
}

impl Options {
    /// The full tables: all 10,000 test images, one pass over 10,000 training images.
    pub fn full() -> Self {
        Self {
            test_images: 10_000,
            train_images: 10_000,
            batch: 64,
            fc1_ranks: vec![8, 16, 32, 64],
            tucker_ranks: vec![(8, 4), (16, 8), (32, 16)],
            cp_ranks: vec![8, 16, 32, 64],
            tt_ranks: vec![4, 8, 16],
            lrs: vec![0.01, 0.001],
            verbose: true,
        }
    }

    /// Seconds: a few hundred images and one rank per method.
    pub fn quick() -> Self {
        Self {
            test_images: 300,
            train_images: 128,
            batch: 32,
            fc1_ranks: vec![8],
            tucker_ranks: vec![(16, 8)],
            cp_ranks: vec![16],
            tt_ranks: vec![8],
            lrs: vec![0.01],
            verbose: false,
        }
    }
}

/// One line of a table.
pub struct Row {
    /// The layer that replaced the dense one (its `describe()`).
    pub layer: String,
    /// The replaced layer's parameters (dense: the original's).
    pub layer_params: usize,
    /// The whole model's parameters.
    pub model_params: usize,
    /// `‖W − Ŵ‖ / ‖W‖` (0 for the dense model).
    pub rel_error: f64,
    /// Test accuracy right after the swap.
    pub accuracy: f64,
    /// Test accuracy after the fine-tuning pass at each of [`Options::lrs`], or the step at
    /// which it diverged (reported, not hidden: the table says so).
    pub tuned: Vec<std::result::Result<f64, usize>>,
    /// Seconds to decompose.
    pub decompose_s: f64,
    /// Seconds of one fine-tuning pass (the first learning rate's).
    pub tune_s: f64,
}

/// The swap of one layer, made from the dense model's layer: the new layer and its weight's
/// relative error.
type Swap = Box<dyn Fn(&MnistCnn<f32>) -> Result<(Box<dyn Layer<f32>>, f64)>>;

/// What every decomposed layer reports: the relative error of the weight it replaced.
trait RelError {
    fn rel_error(&self) -> f64;
}

macro_rules! rel_error {
    ($($t:ident),*) => {$(
        impl RelError for $t<f32> {
            fn rel_error(&self) -> f64 {
                $t::rel_error(self)
            }
        }
    )*};
}
rel_error!(SvdLinear, Tucker2Conv, CpConv, TtConv);

fn boxed<L: Layer<f32> + RelError + 'static>(layer: L) -> Result<(Box<dyn Layer<f32>>, f64)> {
    let e = layer.rel_error();
    Ok((Box::new(layer), e))
}

/// Both tables as markdown, and every row (fc1's first, then conv2's).
pub fn run(
    cnn: &MnistCnn<f32>,
    train: &Mnist,
    test: &Mnist,
    o: &Options,
) -> Result<(String, Vec<Row>)> {
    let test = test.take(o.test_images);
    let train = train.take(o.train_images);
    let fc1 = |cnn: &MnistCnn<f32>| -> Result<Linear<f32>> {
        Linear::new(cnn.fc1_weight.clone(), Some(cnn.fc1_bias.as_slice().to_vec()))
    };
    let conv2 = |cnn: &MnistCnn<f32>| -> Result<Conv2d<f32>> {
        Conv2d::new(cnn.conv2_weight.clone(), Some(cnn.conv2_bias.as_slice().to_vec()))?
            .with_padding([1, 1])
    };
    // The first row of each table keeps the dense layer: the fine-tuning recipe's own effect.
    let mut fc1_swaps: Vec<(usize, Swap)> =
        vec![(FC1, Box::new(move |cnn| Ok((Box::new(fc1(cnn)?) as Box<dyn Layer<f32>>, 0.0))))];
    for &r in &o.fc1_ranks {
        fc1_swaps.push((FC1, Box::new(move |cnn| boxed(SvdLinear::from_linear(&fc1(cnn)?, r)?))));
    }
    let mut conv2_swaps: Vec<(usize, Swap)> =
        vec![(CONV2, Box::new(move |cnn| Ok((Box::new(conv2(cnn)?) as Box<dyn Layer<f32>>, 0.0))))];
    for &(r_out, r_in) in &o.tucker_ranks {
        conv2_swaps.push((
            CONV2,
            Box::new(move |cnn| boxed(Tucker2Conv::from_conv(&conv2(cnn)?, r_out, r_in)?)),
        ));
    }
    for &r in &o.cp_ranks {
        conv2_swaps.push((CONV2, Box::new(move |cnn| boxed(CpConv::from_conv(&conv2(cnn)?, r)?))));
    }
    for &r in &o.tt_ranks {
        conv2_swaps.push((CONV2, Box::new(move |cnn| boxed(TtConv::from_conv(&conv2(cnn)?, r)?))));
    }
    let mut md = String::new();
    let mut rows = Vec::new();
    let dense = cnn.model()?;
    let dense_acc = evaluate(&dense, &test.dataset(MNIST_NORMALIZATION)?, 250)?.accuracy();
    let _ = writeln!(
        md,
        "Test accuracy on the first {} MNIST test images; fine-tuning: one pass over the first {} \
         training images (batch {}, SGD momentum 0.9, the learning rate cosine-annealed from {:?} \
         to 0, the whole model trained, one pass per rate from the same swapped model). The \
         dense model: {} parameters, {:.2}% accuracy; the first row of each table keeps the \
         dense layer and is fine-tuned the same way.\n",
        test.len(),
        train.len(),
        o.batch,
        o.lrs,
        dense.num_params(),
        100.0 * dense_acc
    );
    for (title, index, swaps) in [
        ("fc1 (linear 3136 → 128)", FC1, fc1_swaps),
        ("conv2 (64 × 32 × 3 × 3)", CONV2, conv2_swaps),
    ] {
        let original = dense.layers()[index].num_params();
        let _ = writeln!(md, "## {title}: {original} parameters\n");
        let tuned_heads: String =
            o.lrs.iter().map(|lr| format!(" fine-tuned, lr {lr} |")).collect();
        let _ = writeln!(
            md,
            "| layer | layer params | kept | model params | weight rel. error | accuracy |{tuned_heads} decompose s | fine-tune s |"
        );
        let _ =
            writeln!(md, "|---|---:|---:|---:|---:|---:|{}---:|---:|", "---:|".repeat(o.lrs.len()));
        for (at, swap) in swaps {
            let row = measure(cnn, at, &swap, &train, &test, o)?;
            let tuned: String = row
                .tuned
                .iter()
                .map(|t| match t {
                    Ok(a) => format!(" {:.2}% |", 100.0 * a),
                    Err(step) => format!(" diverged at step {step} |"),
                })
                .collect();
            let _ = writeln!(
                md,
                "| {} | {} | {:.1}% | {} | {:.3} | {:.2}% |{} {:.2} | {:.1} |",
                row.layer,
                row.layer_params,
                100.0 * row.layer_params as f64 / original as f64,
                row.model_params,
                row.rel_error,
                100.0 * row.accuracy,
                tuned,
                row.decompose_s,
                row.tune_s
            );
            rows.push(row);
        }
        md.push('\n');
    }
    Ok((md, rows))
}

/// Swaps layer `at` of the dense model, evaluates, then per learning rate fine-tunes the
/// whole model (swapped anew, the decompositions being deterministic) and evaluates again.
fn measure(
    cnn: &MnistCnn<f32>,
    at: usize,
    swap: &Swap,
    train: &Mnist,
    test: &Mnist,
    o: &Options,
) -> Result<Row> {
    let swapped = || -> Result<(Sequential<f32>, String, usize, f64, f64)> {
        let t0 = Instant::now();
        let (layer, rel_error) = swap(cnn)?;
        let seconds = t0.elapsed().as_secs_f64();
        let (name, params) = (layer.describe(), layer.num_params());
        let mut model = cnn.model()?;
        model.replace(at, layer)?;
        Ok((model, name, params, rel_error, seconds))
    };
    let (model, name, layer_params, rel_error, decompose_s) = swapped()?;
    let test_set = test.dataset(MNIST_NORMALIZATION)?;
    let accuracy = evaluate(&model, &test_set, 250)?.accuracy();
    if o.verbose {
        eprintln!("{name}: decomposed in {decompose_s:.2} s, accuracy {accuracy:.4}; fine-tuning");
    }
    let steps = train.len().div_ceil(o.batch);
    let (mut tuned, mut tune_s) = (Vec::new(), None);
    for &lr in &o.lrs {
        let mut model = swapped()?.0;
        let t1 = Instant::now();
        let mut sgd = Sgd::new(lr)?.momentum(0.9)?;
        let run = Train::new(1, o.batch)?.seed(1).schedule(Schedule::cosine(steps, 0.0)?).fit(
            &mut model,
            &mut sgd,
            &train.dataset(MNIST_NORMALIZATION)?,
            &mut |_| {},
        );
        tune_s.get_or_insert(t1.elapsed().as_secs_f64());
        tuned.push(match run {
            Ok(_) => Ok(evaluate(&model, &test_set, 250)?.accuracy()),
            Err(Error::Diverged { step, .. }) => Err(step),
            Err(e) => return Err(e),
        });
    }
    Ok(Row {
        layer: name,
        layer_params,
        model_params: model.num_params(),
        rel_error,
        accuracy,
        tuned,
        decompose_s,
        tune_s: tune_s.unwrap_or(0.0),
    })
}
