//! TSPC (Su et al. 2018): the pretrained CNN with conv2 and fc1 compressed to a kept fraction
//! of their parameters by the plain (CP, TK, TT) or the tensorized (r-CP, r-TK, r-TT) methods
//! (plain methods of the 2-way fc1 weight all are its truncated SVD); accuracy right after the
//! decomposition, after sequential data reconstruction
//! (stage 1 ends at conv2, stage 2 at fc1; MSE against the dense network's outputs there), and
//! after plain cross-entropy fine-tuning with as many steps from the same decomposition.

use std::fmt::Write as _;
use std::time::Instant;

use tensorize::compress::{FineTune, Reconstruction};
use tensorize::data::{Mnist, MNIST_NORMALIZATION};
use tensorize::nn::{
    Adam, CpConv, DenseLayer, Layer, Sequential, SvdLinear, Tensorized, Train, TtConv, Tucker2Conv,
};
use tensorize::rank::tspc::{cp_rank, svd_rank, tt_rank, tucker2_rank};
use tensorize::tensorization::{Compress, Method, DEFAULT_FACTORS};
use tensorize::{Budget, Error, Result};

use crate::harness::{Clock, Ctx, PartOutput, Plot, Series, Throughput};

const STAGES: [&str; 2] = ["conv2", "fc1"];

struct Setup {
    fractions: Vec<f64>,
    methods: Vec<Method>,
    train: usize,
    test: usize,
    batch: usize,
    /// Reconstruction steps per stage; fine-tuning takes as many in all.
    steps: usize,
}

impl Setup {
    fn new(quick: bool) -> Self {
        let all = Method::all(DEFAULT_FACTORS).into_iter().filter(|m| *m != Method::Svd).collect();
        if quick {
            Self {
                fractions: vec![0.1],
                methods: vec![Method::Tucker2, Method::RTt { factors: DEFAULT_FACTORS }],
                train: 256,
                test: 200,
                batch: 32,
                steps: 3,
            }
        } else {
            Self {
                fractions: vec![0.05, 0.1, 0.2],
                methods: all,
                // The tensorized conv layers train at a few dozen images per second here (the
                // throughput table), so every method gets the same short recipe.
                train: 12_000,
                test: 500,
                batch: 32,
                steps: 10,
            }
        }
    }
}

/// The dense model with conv2 and fc1 compressed by `method` to `fraction` of their
/// parameters. A plain CP, Tucker-2 or TT of a matrix is a low-rank factorization, so fc1 is the
/// truncated SVD at the TSPC SVD rank under the plain methods; the tensorized methods factor
/// its tensorized weight.
fn compressed(ctx: &Ctx, method: Method, fraction: f64) -> Result<Sequential<f32>> {
    let mut model = ctx.cnn.model()?;
    let budget = Budget::KeepFraction(fraction);
    // r-TK at uniform ranks leaves most of a small budget unused: fill it mode by mode.
    let tensorized =
        Compress::new(method).budget(budget).fill_budget(matches!(method, Method::RTucker { .. }));
    for name in STAGES {
        let at = model.index_of(name)?;
        let new: Box<dyn Layer<f32>> = match (model.layers()[at].as_dense(), method) {
            (Some(DenseLayer::Conv2d(c)), Method::Cp | Method::Tucker2 | Method::Tt) => {
                let (s, t) = (c.in_channels(), c.out_channels());
                let k = c.weight().shape();
                let (kh, kw) = (k[2], k[3]);
                match method {
                    Method::Cp => Box::new(CpConv::from_conv(c, cp_rank(fraction, s, t, kh, kw)?)?),
                    Method::Tucker2 => {
                        let r = tucker2_rank(fraction, s, t, kh, kw)?;
                        Box::new(Tucker2Conv::from_conv(c, r, r)?)
                    }
                    _ => Box::new(TtConv::from_conv(c, tt_rank(fraction, s, t, kh, kw)?)?),
                }
            }
            (Some(DenseLayer::Linear(l)), Method::Cp | Method::Tucker2 | Method::Tt) => {
                let r = svd_rank(fraction, l.out_features(), l.in_features())?;
                Box::new(SvdLinear::from_linear(l, r)?)
            }
            (Some(DenseLayer::Linear(l)), _) => Box::new(Tensorized::from_linear(l, &tensorized)?),
            (Some(DenseLayer::Conv2d(c)), _) => Box::new(Tensorized::from_conv(c, &tensorized)?),
            (None, _) => {
                return Err(Error::InvalidParameter {
                    name: "layers",
                    value: name.into(),
                    expected: "a dense layer of the pretrained CNN",
                })
            }
        };
        model.replace(at, new)?;
    }
    Ok(model)
}

struct Row {
    method: Method,
    fraction: f64,
    /// Parameters of conv2 + fc1 after / before.
    kept: f64,
    /// The whole model's parameters after / before.
    model_kept: f64,
    decomposed: f64,
    reconstructed: f64,
    stage_errors: Vec<(f64, f64)>,
    tuned: f64,
    images_per_s: f64,
}

fn accuracy(model: &Sequential<f32>, test: &Mnist) -> Result<f64> {
    Ok(test.evaluate(model, 250, MNIST_NORMALIZATION)?.accuracy())
}

fn layer_params(model: &Sequential<f32>) -> Result<usize> {
    STAGES.iter().map(|n| Ok(model.layers()[model.index_of(n)?].num_params())).sum()
}

fn measure(
    ctx: &Ctx,
    setup: &Setup,
    train: &Mnist,
    test: &Mnist,
    method: Method,
    fraction: f64,
) -> Result<Row> {
    let dense = ctx.cnn.model()?;
    let data = train.dataset(MNIST_NORMALIZATION)?;
    let per_epoch = train.len().div_ceil(setup.batch);
    let t0 = Instant::now();
    let mut model = compressed(ctx, method, fraction)?;
    let t_decompose = t0.elapsed().as_secs_f64();
    let kept = layer_params(&model)? as f64 / layer_params(&dense)? as f64;
    let model_kept = model.num_params() as f64 / dense.num_params() as f64;
    let decomposed = accuracy(&model, test)?;
    let stages = Reconstruction::new(&STAGES, setup.steps.div_ceil(per_epoch).max(1), setup.batch)?
        .seed(ctx.seed)
        .max_steps(setup.steps)
        .run(&dense, &mut model, &Adam::new(1e-3)?, &data, &mut |_, _| {})?;
    let reconstructed = accuracy(&model, test)?;
    let t_reconstruct = t0.elapsed().as_secs_f64();
    // Plain fine-tuning from the same decomposition, as many steps as all stages together.
    let mut model = compressed(ctx, method, fraction)?;
    let steps = setup.steps * STAGES.len();
    let recipe =
        Train::new(steps.div_ceil(per_epoch).max(1), setup.batch)?.seed(ctx.seed).max_steps(steps);
    let clock = Clock::default();
    let tune = FineTune::new(recipe).eval_batch(250).run(
        &mut model,
        &mut Adam::new(1e-3)?,
        &data,
        &test.dataset(MNIST_NORMALIZATION)?,
        &mut |_| clock.tick(setup.batch),
    )?;
    eprintln!(
        "  {} {:.0}%: decompose {t_decompose:.1} s, + evaluate and reconstruct {:.1} s, + fine-tune {:.1} s",
        method.name(),
        100.0 * fraction,
        t_reconstruct - t_decompose,
        t0.elapsed().as_secs_f64() - t_reconstruct
    );
    Ok(Row {
        method,
        fraction,
        kept,
        model_kept,
        decomposed,
        reconstructed,
        stage_errors: stages.iter().map(|s| (s.first_rel_mse, s.last_rel_mse)).collect(),
        tuned: tune.after.accuracy(),
        images_per_s: clock.images_per_s(),
    })
}

/// The part.
pub fn run(ctx: &Ctx) -> Result<PartOutput> {
    let setup = Setup::new(ctx.quick);
    let train = ctx.train.take(setup.train);
    let test = ctx.test.take(setup.test);
    let dense = ctx.cnn.model()?;
    let dense_acc = accuracy(&dense, &test)?;
    let mut rows = Vec::new();
    for &method in &setup.methods {
        for &fraction in &setup.fractions {
            rows.push(measure(ctx, &setup, &train, &test, method, fraction)?);
        }
    }
    // Dense training throughput, the same recipe for a few steps.
    let clock = Clock::default();
    let mut model = ctx.cnn.model()?;
    Train::new(1, setup.batch)?.max_steps(setup.steps.min(40)).fit(
        &mut model,
        &mut Adam::new(1e-3)?,
        &train.dataset(MNIST_NORMALIZATION)?,
        &mut |_| clock.tick(setup.batch),
    )?;
    let mut throughput = vec![Throughput {
        model: "dense CNN".into(),
        params: dense.num_params(),
        images_per_s: clock.images_per_s(),
    }];
    let middle = setup.fractions[setup.fractions.len() / 2];
    for r in rows.iter().filter(|r| r.fraction == middle) {
        throughput.push(Throughput {
            model: format!("{} at {:.0}%", r.method.name(), 100.0 * r.fraction),
            params: (r.model_kept * dense.num_params() as f64).round() as usize,
            images_per_s: r.images_per_s,
        });
    }
    Ok(PartOutput {
        markdown: page(&setup, &rows, dense_acc, train.len(), test.len()),
        plots: plots(&setup, &rows),
        throughput,
    })
}

fn page(setup: &Setup, rows: &[Row], dense_acc: f64, train: usize, test: usize) -> String {
    let mut md =
        String::from("# TSPC: tensorized decompositions and sequential data reconstruction\n\n");
    let _ = writeln!(
        md,
        "The pretrained CNN with conv2 (64×32×3×3) and fc1 (3136→128) compressed to a kept \
         fraction ρ of their parameters by the TSPC rank formulas: conv2 by plain CP / Tucker-2 \
         (TK) / TT or by the tensorized r-CP / r-TK / r-TT ({DEFAULT_FACTORS} channel factors; r-TK \
         fills its budget mode by mode); under the plain methods fc1 is its truncated SVD (a \
         plain CP, Tucker-2 or TT of a matrix is a low-rank factorization), under the \
         tensorized ones it is tensorized the same way as conv2; conv1 and fc2 stay dense. \
         *Reconstructed*: sequential data reconstruction, stage 1 = conv1…conv2, stage 2 = \
         the layers after conv2 up to fc1, {} Adam steps (rate 1e-3, batch {}) per stage on the first \
         {train} training images, each stage's MSE against the dense network's output at the \
         same layer. *Fine-tuned*: from the same decomposition, {} steps of cross-entropy on the \
         whole model with the same optimizer. Accuracy on the first {test} test images; dense \
         {:.2}%. Stage errors: ‖y − t‖²/‖t‖² on the first mini-batch → mean over the last \
         epoch's mini-batches.\n",
        setup.steps,
        setup.batch,
        setup.steps * STAGES.len(),
        100.0 * dense_acc
    );
    md += "| method | ρ | kept (conv2+fc1) | kept (model) | decomposed | reconstructed | fine-tuned | stage 1 error | stage 2 error |\n";
    md += "|---|---:|---:|---:|---:|---:|---:|---|---|\n";
    for r in rows {
        let stage = |k: usize| {
            r.stage_errors.get(k).map_or("–".to_string(), |(a, b)| format!("{a:.3} → {b:.3}"))
        };
        let _ = writeln!(
            md,
            "| {} | {:.0}% | {:.2}% | {:.2}% | {:.2}% | {:.2}% | {:.2}% | {} | {} |",
            r.method.name(),
            100.0 * r.fraction,
            100.0 * r.kept,
            100.0 * r.model_kept,
            100.0 * r.decomposed,
            100.0 * r.reconstructed,
            100.0 * r.tuned,
            stage(0),
            stage(1)
        );
    }
    // The claims, from the numbers above.
    let tensorized =
        |m: Method| matches!(m, Method::RCp { .. } | Method::RTucker { .. } | Method::RTt { .. });
    let best = |f: f64, tens: bool| {
        rows.iter()
            .filter(|r| r.fraction == f && tensorized(r.method) == tens)
            .map(|r| (r.reconstructed, r.method.name()))
            .fold((f64::NAN, ""), |a, b| if a.0.is_nan() || b.0 > a.0 { b } else { a })
    };
    let mut better = 0;
    let mut lines = Vec::new();
    for &f in &setup.fractions {
        let (t, tn) = best(f, true);
        let (p, pn) = best(f, false);
        if t.is_nan() || p.is_nan() {
            continue;
        }
        better += usize::from(t > p);
        lines.push(format!(
            "ρ {:.0}%: best tensorized {tn} {:.2}%, best plain {pn} {:.2}%",
            100.0 * f,
            100.0 * t,
            100.0 * p
        ));
    }
    let recon_wins = rows.iter().filter(|r| r.reconstructed > r.tuned).count();
    let recon_helps = rows.iter().filter(|r| r.reconstructed > r.decomposed).count();
    let n = rows.len();
    let compared = lines.len();
    let say = |k: usize, of: usize| match k {
        _ if of == 0 => "not compared",
        k if k == of => "agrees",
        0 => "disagrees",
        _ => "agrees in part",
    };
    let _ = writeln!(
        md,
        "\n**Paper:** tensorized compression (r-CP / r-TK / r-TT) outperforms the plain \
         decompositions at the same kept fraction, and the data-reconstruction learning recovers \
         accuracy without end-to-end fine-tuning (Su et al. 2018, abstract; shared/notes/papers.md \
         §2; ResNet-32 on CIFAR-10 there, no MNIST numbers). **Here**, after reconstruction: {}. \
         Tensorized ahead at {better} of {compared} fractions: {}. Reconstruction raised the \
         accuracy of the decomposed model in {recon_helps} of {n} rows: {}. (Plain fine-tuning \
         with the same steps was ahead of reconstruction in {} of {n} rows.)",
        lines.join("; "),
        say(better, compared),
        say(recon_helps, n),
        n - recon_wins
    );
    md
}

fn plots(setup: &Setup, rows: &[Row]) -> Vec<Plot> {
    let stage = |name: &str, file: &str, pick: fn(&Row) -> f64| Plot {
        file: file.into(),
        title: format!("TSPC on the MNIST CNN: accuracy {name}"),
        x_label: "kept fraction of conv2 + fc1 (%)".into(),
        y_label: "test accuracy (%)".into(),
        log_x: false,
        series: setup
            .methods
            .iter()
            .map(|m| Series {
                name: m.name().into(),
                points: rows
                    .iter()
                    .filter(|r| r.method == *m)
                    .map(|r| (100.0 * r.kept, 100.0 * pick(r)))
                    .collect(),
            })
            .collect(),
    };
    vec![
        stage("right after decomposition", "paper_mnist_tspc_decomposed.svg", |r| r.decomposed),
        stage("after sequential data reconstruction", "paper_mnist_tspc_reconstructed.svg", |r| {
            r.reconstructed
        }),
        stage("after plain fine-tuning (same steps)", "paper_mnist_tspc_finetuned.svg", |r| {
            r.tuned
        }),
    ]
}
