//! MUSCO (Gusak et al. 2019): iterative decomposition (weakened-VBMF ranks, fine-tuning, the
//! decomposed layers decomposed again) against one-shot decomposition at the same final ranks
//! with as many fine-tuning steps, on conv2 (Tucker-2) and fc1 (SVD) of the pretrained CNN.

use std::fmt::Write as _;

use tensorize::compress::{FineTune, Musco, MuscoReport};
use tensorize::data::{Mnist, MNIST_NORMALIZATION};
use tensorize::nn::{
    DenseLayer, Layer, Progress, Schedule, Sequential, Sgd, SvdLinear, Train, Tucker2Conv,
};
use tensorize::{Error, Result};

use crate::harness::{Clock, Ctx, PartOutput, Plot, Series, Throughput};

/// The layers MUSCO compresses (conv1 has one input channel: nothing to decompose).
const LAYERS: [&str; 2] = ["conv2", "fc1"];
const INPUT: [usize; 4] = [1, 1, 28, 28];

/// The sizes of a run.
struct Setup {
    train: usize,
    test: usize,
    batch: usize,
    steps: usize,
    iterations: usize,
}

impl Setup {
    fn new(quick: bool) -> Self {
        if quick {
            Self { train: 256, test: 200, batch: 32, steps: 4, iterations: 2 }
        } else {
            Self { train: 12_000, test: 10_000, batch: 64, steps: 150, iterations: 4 }
        }
    }
}

fn accuracy(model: &Sequential<f32>, test: &Mnist) -> Result<f64> {
    Ok(test.evaluate(model, 250, MNIST_NORMALIZATION)?.accuracy())
}

fn sgd() -> Result<Sgd<f32>> {
    Sgd::new(0.001)?.momentum(0.9)
}

/// One-shot: conv2 and fc1 of the dense model at the given ranks, fine-tuned for `steps` steps.
struct OneShotRow {
    params: usize,
    flops: f64,
    decomposed: f64,
    tuned: f64,
    steps: usize,
    images_per_s: f64,
}

fn one_shot(
    ctx: &Ctx,
    setup: &Setup,
    train: &Mnist,
    test: &Mnist,
    ranks: &[Vec<usize>],
    steps: usize,
) -> Result<OneShotRow> {
    let mut model = ctx.cnn.model()?;
    for (name, r) in LAYERS.iter().zip(ranks) {
        let at = model.index_of(name)?;
        let new: Box<dyn Layer<f32>> = match (model.layers()[at].as_dense(), r.as_slice()) {
            (Some(DenseLayer::Conv2d(c)), &[r_out, r_in]) => {
                Box::new(Tucker2Conv::from_conv(c, r_out, r_in)?)
            }
            (Some(DenseLayer::Linear(l)), &[r]) => Box::new(SvdLinear::from_linear(l, r)?),
            _ => {
                return Err(Error::InvalidParameter {
                    name: "ranks",
                    value: format!("{name}: {r:?}"),
                    expected: "Tucker-2 ranks for conv2, an SVD rank for fc1",
                })
            }
        };
        model.replace(at, new)?;
    }
    let per_epoch = train.len().div_ceil(setup.batch);
    let epochs = steps.div_ceil(per_epoch).max(1);
    let recipe = Train::new(epochs, setup.batch)?
        .seed(ctx.seed)
        .max_steps(steps)
        .schedule(Schedule::cosine(steps.max(1), 0.0)?);
    let clock = Clock::default();
    let report = FineTune::new(recipe).run(
        &mut model,
        &mut sgd()?,
        &train.dataset(MNIST_NORMALIZATION)?,
        &test.dataset(MNIST_NORMALIZATION)?,
        &mut |_: &Progress| clock.tick(setup.batch),
    )?;
    Ok(OneShotRow {
        params: model.num_params(),
        flops: model.flops(&INPUT)?,
        decomposed: report.before.accuracy(),
        tuned: report.after.accuracy(),
        steps: report.train.steps,
        images_per_s: clock.images_per_s(),
    })
}

fn musco(ctx: &Ctx, setup: &Setup, train: &Mnist, test: &Mnist) -> Result<(MuscoReport, f64)> {
    let mut model = ctx.cnn.model()?;
    let recipe = Train::new(1, setup.batch)?
        .seed(ctx.seed)
        .max_steps(setup.steps)
        .schedule(Schedule::cosine(setup.steps, 0.0)?);
    let clock = Clock::default();
    let report = Musco::new(&LAYERS, FineTune::new(recipe).eval_batch(250))
        .max_iterations(setup.iterations)
        .run(
            &mut model,
            &INPUT,
            &sgd()?,
            &train.dataset(MNIST_NORMALIZATION)?,
            &test.dataset(MNIST_NORMALIZATION)?,
            &mut |iteration, _| clock.tick_in(iteration, setup.batch),
        )?;
    Ok((report, clock.images_per_s()))
}

/// Dense training throughput: a few steps of the dense model.
fn dense_throughput(ctx: &Ctx, setup: &Setup, train: &Mnist) -> Result<f64> {
    let mut model = ctx.cnn.model()?;
    let clock = Clock::default();
    let steps = setup.steps.min(40);
    Train::new(1, setup.batch)?.max_steps(steps).fit(
        &mut model,
        &mut sgd()?,
        &train.dataset(MNIST_NORMALIZATION)?,
        &mut |_| clock.tick(setup.batch),
    )?;
    Ok(clock.images_per_s())
}

fn ranks_text(ranks: &[Vec<usize>]) -> String {
    LAYERS
        .iter()
        .zip(ranks)
        .map(|(n, r)| {
            let r: Vec<String> = r.iter().map(usize::to_string).collect();
            format!("{n} {}", r.join("/"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The part.
pub fn run(ctx: &Ctx) -> Result<PartOutput> {
    let setup = Setup::new(ctx.quick);
    let train = ctx.train.take(setup.train);
    let test = ctx.test.take(setup.test);
    let dense = ctx.cnn.model()?;
    let (dense_params, dense_flops) = (dense.num_params(), dense.flops(&INPUT)?);
    let dense_acc = accuracy(&dense, &test)?;
    let dense_speed = dense_throughput(ctx, &setup, &train)?;
    let (report, musco_speed) = musco(ctx, &setup, &train, &test)?;
    let last = report.last_kept().ok_or_else(|| Error::InvalidParameter {
        name: "musco",
        value: format!("{:?}", report.stop),
        expected: "at least one kept iteration",
    })?;
    let total_steps: usize = report.iterations.iter().filter(|i| i.kept).map(|i| i.steps).sum();
    let once = one_shot(ctx, &setup, &train, &test, &last.ranks, total_steps)?;

    let mut md = String::from("# MUSCO: iterative against one-shot decomposition\n\n");
    let _ = writeln!(
        md,
        "The pretrained CNN; conv2 (64×32×3×3) by Tucker-2 and fc1 (3136→128) by SVD at \
         MUSCO's weakened-VBMF ranks (f = 0.8, min_rank = 8). Every fine-tuning pass: {} steps of \
         batch {} over the first {} training images (SGD momentum 0.9, rate 0.001 cosine-annealed \
         to 0); accuracy on the first {} test images. One-shot decomposes the dense layers once \
         at MUSCO's final ranks and is fine-tuned for as many steps as MUSCO took in all ({}).\n",
        setup.steps,
        setup.batch,
        train.len(),
        test.len(),
        total_steps
    );
    md += "## MUSCO, iteration by iteration\n\n";
    md += "| iteration | ranks | params | MFLOPs | FLOP reduction | accuracy decomposed | accuracy fine-tuned | kept |\n";
    md += "|---:|---|---:|---:|---:|---:|---:|---|\n";
    let _ = writeln!(
        md,
        "| 0 (dense) | – | {dense_params} | {:.2} | 1.00× | {:.2}% | – | – |",
        dense_flops / 1e6,
        100.0 * dense_acc
    );
    for it in &report.iterations {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2} | {:.2}× | {:.2}% | {:.2}% | {} |",
            it.iteration,
            ranks_text(&it.ranks),
            it.params,
            it.flops / 1e6,
            dense_flops / it.flops,
            100.0 * it.accuracy_decomposed,
            100.0 * it.accuracy,
            if it.kept { "yes" } else { "no (below the floor)" }
        );
    }
    let _ = writeln!(md, "\nStopped: {:?}.\n", report.stop);
    md += "## Same final compression\n\n";
    md += "| method | ranks | params | MFLOPs | FLOP reduction | accuracy decomposed | accuracy fine-tuned | fine-tuning steps |\n";
    md += "|---|---|---:|---:|---:|---:|---:|---:|\n";
    let _ = writeln!(
        md,
        "| dense | – | {dense_params} | {:.2} | 1.00× | {:.2}% | – | – |",
        dense_flops / 1e6,
        100.0 * dense_acc
    );
    let first = &report.iterations[0];
    let _ = writeln!(
        md,
        "| one-shot | {} | {} | {:.2} | {:.2}× | {:.2}% | {:.2}% | {} |",
        ranks_text(&last.ranks),
        once.params,
        once.flops / 1e6,
        dense_flops / once.flops,
        100.0 * once.decomposed,
        100.0 * once.tuned,
        once.steps
    );
    let _ = writeln!(
        md,
        "| MUSCO ({} iterations) | {} | {} | {:.2} | {:.2}× | {:.2}% (first) | {:.2}% | {} |",
        last.iteration,
        ranks_text(&last.ranks),
        last.params,
        last.flops / 1e6,
        dense_flops / last.flops,
        100.0 * first.accuracy_decomposed,
        100.0 * last.accuracy,
        total_steps
    );
    let gap = 100.0 * (last.accuracy - once.tuned);
    let verdict = if last.iteration < 2 {
        "cannot say: MUSCO stopped after one iteration, so both are one-shot"
    } else if gap > 0.0 {
        "agrees"
    } else {
        "disagrees"
    };
    let _ = writeln!(
        md,
        "\n**Paper:** iterating decomposition and fine-tuning (MUSCO) keeps more accuracy than \
         decomposing once at the same compression (Gusak et al. 2019, abstract; \
         shared/notes/papers.md §5 gives the rank rule, no MNIST numbers). **Here:** at \
         {:.2}× fewer FLOPs ({:.2}× fewer parameters) MUSCO reaches {:.2}% after {} iterations, \
         one-shot {:.2}% with the same {} fine-tuning steps ({:+.2} points for MUSCO; dense \
         {:.2}%): {verdict}.",
        dense_flops / last.flops,
        dense_params as f64 / last.params as f64,
        100.0 * last.accuracy,
        last.iteration,
        100.0 * once.tuned,
        total_steps,
        gap,
        100.0 * dense_acc
    );
    let mut points: Vec<(f64, f64)> = vec![(1.0, 100.0 * dense_acc)];
    points.extend(
        report
            .iterations
            .iter()
            .filter(|i| i.kept)
            .map(|i| (dense_flops / i.flops, 100.0 * i.accuracy)),
    );
    let plot = Plot {
        file: "paper_mnist_musco.svg".into(),
        title: "MUSCO vs one-shot: accuracy against FLOP reduction".into(),
        x_label: "FLOP reduction (×)".into(),
        y_label: "test accuracy (%)".into(),
        log_x: false,
        series: vec![
            Series { name: "MUSCO, after each iteration".into(), points },
            Series {
                name: "one-shot at MUSCO's final ranks".into(),
                points: vec![(dense_flops / once.flops, 100.0 * once.tuned)],
            },
        ],
    };
    let throughput = vec![
        Throughput { model: "dense CNN".into(), params: dense_params, images_per_s: dense_speed },
        Throughput {
            model: format!("MUSCO {} (its last fine-tuning pass)", ranks_text(&last.ranks)),
            params: last.params,
            images_per_s: musco_speed,
        },
        Throughput {
            model: format!("one-shot {}", ranks_text(&last.ranks)),
            params: once.params,
            images_per_s: once.images_per_s,
        },
    ];
    Ok(PartOutput { markdown: md, plots: vec![plot], throughput })
}
