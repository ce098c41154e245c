//! RsTD (Li et al. 2019): the pretrained CNN's fc1 (3136 → 128) replaced by a TT- or a TR-layer
//! fitted to its weight, plain or with the rows and columns randomly shuffled first, across
//! compression ratios and seeds: accuracy right after the fit and after fine-tuning, and its
//! spread.

use crate::harness::{Ctx, PartOutput, Plot, Series, Throughput};
use crate::nets_train::{accuracy, mean_sd, train_and_test, Recipe};
use tensorize::data::{Mnist, MNIST_NORMALIZATION};
use tensorize::decomp::{TrSvd, TtSvd};
use tensorize::nn::{
    Layer, Linear, Relu, Sequential, ShuffledTrLinear, ShuffledTtLinear, TensorDataset, TrLinear,
    TtLinear, TtRankRule,
};
use tensorize::{FitReport, Result, Tensor};

/// fc1's `[128, 3136]` weight as a TT-matrix or tensor ring: rows 2·4·4·4, columns 7·8·8·7.
const ROWS: [usize; 4] = [2, 4, 4, 4];
const COLS: [usize; 4] = [7, 8, 8, 7];

/// The low-rank format of the layer.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Tt,
    Tr,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Self::Tt => "TT",
            Self::Tr => "TR",
        }
    }

    /// The parameters of the cores the fit returns at rank cap `rank` (a random-like weight:
    /// every unfolding of full rank).
    fn params(self, rank: usize) -> Result<usize> {
        match self {
            Self::Tt => TtRankRule::Capped.params(&ROWS, &COLS, rank),
            Self::Tr => {
                let pairs: Vec<usize> = ROWS.iter().zip(&COLS).map(|(m, n)| m * n).collect();
                let r = TrSvd::new().max_rank(rank).generic_ranks(&pairs)?;
                Ok(pairs.iter().enumerate().map(|(k, s)| r[k] * s * r[k + 1]).sum())
            }
        }
    }

    /// The largest rank cap whose cores fit `budget` parameters.
    fn rank_for(self, budget: usize) -> Result<usize> {
        let mut rank = 1;
        while self.params(rank + 1)? <= budget && rank < 512 {
            rank += 1;
        }
        Ok(rank)
    }
}

/// The pretrained CNN's features (the input of fc1: conv, pool, conv, pool, flatten) of
/// `set`, with its labels, computed once: only fc1 and fc2 are fine-tuned here.
fn features(ctx: &Ctx, set: &Mnist) -> Result<TensorDataset<f32>> {
    let model = ctx.cnn.model()?;
    let fc1 = model.index_of("fc1")?;
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for idx in set.batch_indices(500, None)? {
        let (x, y) = set.batch::<f32>(&idx, MNIST_NORMALIZATION)?;
        let h = model.layers()[..fc1].iter().try_fold(x, |h, l| l.forward(&h))?;
        data.extend_from_slice(h.as_slice());
        labels.extend(y);
    }
    let n = labels.len();
    TensorDataset::new(Tensor::from_vec(&[n, data.len() / n.max(1)], data)?, labels, 10)
}

/// fc1 (any layer) → ReLU → the pretrained fc2.
fn head<L: Layer<f32> + 'static>(ctx: &Ctx, fc1: L) -> Result<Sequential<f32>> {
    let fc2 = Linear::new(ctx.cnn.fc2_weight.clone(), Some(ctx.cnn.fc2_bias.as_slice().to_vec()))?;
    Ok(Sequential::new().push_named("fc1", fc1).push(Relu::new()).push_named("fc2", fc2))
}

/// One fitted-and-tuned run.
struct Run {
    params: usize,
    rel_error: f64,
    fitted: f64,
    tuned: f64,
    images_per_s: f64,
}

fn fit_and_tune<L: Layer<f32> + 'static>(
    ctx: &Ctx,
    fc1: L,
    rel_error: f64,
    (train, test): Data<'_>,
    recipe: Recipe,
    seed: u64,
) -> Result<Run> {
    let params = fc1.num_params();
    let mut net = head(ctx, fc1)?;
    let fitted = accuracy(&net, test)?;
    let t = train_and_test(&mut net, train, test, recipe, seed)?;
    Ok(Run { params, rel_error, fitted, tuned: t.accuracy, images_per_s: t.images_per_s })
}

type Data<'a> = (&'a TensorDataset<f32>, &'a TensorDataset<f32>);

/// The plain layer `plain` and the shuffled layer `shuffled(seed)` fitted and tuned once per
/// seed (the seed draws the permutation and the mini-batch order).
fn seed_runs<P, S>(
    ctx: &Ctx,
    data: Data<'_>,
    recipe: Recipe,
    seeds: &[u64],
    (plain, plain_report): (P, FitReport),
    shuffled: impl Fn(u64) -> Result<(S, FitReport)>,
) -> Result<(Vec<Run>, Vec<Run>)>
where
    P: Layer<f32> + Clone + 'static,
    S: Layer<f32> + 'static,
{
    let (mut plain_runs, mut shuffled_runs) = (Vec::new(), Vec::new());
    for &seed in seeds {
        plain_runs.push(fit_and_tune(
            ctx,
            plain.clone(),
            plain_report.rel_error,
            data,
            recipe,
            seed,
        )?);
        let (layer, report) = shuffled(seed)?;
        shuffled_runs.push(fit_and_tune(ctx, layer, report.rel_error, data, recipe, seed)?);
    }
    Ok((plain_runs, shuffled_runs))
}

pub fn run(ctx: &Ctx) -> Result<PartOutput> {
    let (n_train, n_test) = if ctx.quick { (300, 200) } else { (8000, 5000) };
    let recipe = if ctx.quick {
        Recipe { epochs: 1, batch: 50, lr: 1e-3, max_steps: Some(4) }
    } else {
        Recipe { epochs: 2, batch: 64, lr: 1e-3, max_steps: Some(200) }
    };
    let factors: &[f64] =
        if ctx.quick { &[10.0, 100.0] } else { &[10.0, 30.0, 100.0, 300.0, 1000.0] };
    let seeds: Vec<u64> = (0..3).map(|s| ctx.seed.wrapping_add(s)).collect();
    let train = features(ctx, &ctx.train.take(n_train))?;
    let test = features(ctx, &ctx.test.take(n_test))?;
    let data = (&train, &test);
    let w = &ctx.cnn.fc1_weight;
    let b = ctx.cnn.fc1_bias.as_slice();
    let entries = w.numel();

    let mut throughput = Vec::new();
    // The reference: the dense fc1, tuned the same way.
    let dense = Linear::new(w.clone(), Some(b.to_vec()))?;
    let dense_run = fit_and_tune(ctx, dense, 0.0, data, recipe, ctx.seed)?;
    throughput.push(Throughput {
        model: "dense fc1 head".into(),
        params: dense_run.params,
        images_per_s: dense_run.images_per_s,
    });

    // (format, factor, rank, plain runs, shuffled runs)
    let mut table = Vec::new();
    for format in [Format::Tt, Format::Tr] {
        for &factor in factors {
            let rank = format.rank_for((entries as f64 / factor) as usize)?;
            let (plain_runs, shuffled_runs) = match format {
                Format::Tt => {
                    let svd = TtSvd::new().max_rank(rank);
                    seed_runs(
                        ctx,
                        data,
                        recipe,
                        &seeds,
                        TtLinear::from_dense(w, b, &ROWS, &COLS, &svd)?,
                        |seed| ShuffledTtLinear::from_dense(w, b, &ROWS, &COLS, &svd, seed),
                    )?
                }
                Format::Tr => {
                    let svd = TrSvd::new().max_rank(rank);
                    seed_runs(
                        ctx,
                        data,
                        recipe,
                        &seeds,
                        TrLinear::from_dense(w, b, &ROWS, &COLS, &svd)?,
                        |seed| ShuffledTrLinear::from_dense(w, b, &ROWS, &COLS, &svd, seed),
                    )?
                }
            };
            if factor == factors[0] {
                for (variant, runs) in [("", &plain_runs), ("shuffled ", &shuffled_runs)] {
                    throughput.push(Throughput {
                        model: format!("{variant}{} fc1 head ({factor}×)", format.name()),
                        params: runs[0].params,
                        images_per_s: runs[0].images_per_s,
                    });
                }
            }
            table.push((format, factor, rank, plain_runs, shuffled_runs));
        }
    }

    let mut md =
        String::from("# RsTD (Li et al. 2019) — shuffled vs plain TT and TR layers on MNIST\n\n");
    md += &format!(
        "The pretrained CNN's fc1 (3136 → 128, {entries} weights) is replaced by a TT-layer or a TR-layer (tensor ring; \
         rows 2·4·4·4, columns 7·8·8·7, the ring over the four row/column mode pairs) fitted by TT-SVD or TR-SVD at the \
         largest rank cap whose cores fit weights / ratio, either to the weight itself (**plain**) or to the weight with \
         its rows and columns randomly permuted (**shuffled**, RsTD: `W = π⁻¹(TT)` or `π⁻¹(TR)`, a new permutation per \
         seed). The convolutions stay frozen (their features computed once); fc1 and fc2 are then fine-tuned with Adam \
         (rate {}, {} steps of {} on {n_train} training images). Accuracy on {n_test} test images, mean ± standard \
         deviation over {} seeds (the seed draws the permutation and the mini-batch order). Dense fc1 tuned the same \
         way: {:.2}% (right after loading: {:.2}%).\n\n",
        recipe.lr,
        recipe.max_steps.unwrap_or(0),
        recipe.batch,
        seeds.len(),
        100.0 * dense_run.tuned,
        100.0 * dense_run.fitted,
    );
    md += "| format | ratio | rank cap | fc1 params | variant | weight error | accuracy after fit (%) | after fine-tuning (%) |\n";
    md += "|---|---:|---:|---:|---|---:|---:|---:|\n";
    let stat = |runs: &[Run], f: fn(&Run) -> f64| mean_sd(&runs.iter().map(f).collect::<Vec<_>>());
    let mut series = Vec::new();
    let mut summary = Vec::new();
    for format in [Format::Tt, Format::Tr] {
        let rows: Vec<_> = table.iter().filter(|r| r.0 == format).collect();
        // Per variant (plain, shuffled): the curve, the tuned means and the seed spreads.
        let mut curves: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
        let mut tuned_means: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut seed_sd: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for (_, factor, rank, plain, shuffled) in &rows {
            for (v, (name, runs)) in
                [("plain", plain), ("shuffled", shuffled)].into_iter().enumerate()
            {
                let (e, _) = stat(runs, |r| r.rel_error);
                let (fm, fs) = stat(runs, |r| 100.0 * r.fitted);
                let (tm, ts) = stat(runs, |r| 100.0 * r.tuned);
                md += &format!(
                    "| {} | {factor} | {rank} | {} | {name} | {e:.3} | {fm:.2} ± {fs:.2} | {tm:.2} ± {ts:.2} |\n",
                    format.name(),
                    runs[0].params
                );
                curves[v].push((*factor, tm));
                tuned_means[v].push(tm);
                seed_sd[v].push(ts);
            }
        }
        let range = |xs: &[f64]| {
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - xs.iter().copied().fold(f64::INFINITY, f64::min)
        };
        let (plain_range, shuffled_range) = (range(&tuned_means[0]), range(&tuned_means[1]));
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        summary.push(format!(
            "{}: after fine-tuning, accuracy spans {:.2} points across the ratios for the shuffled layers and {:.2} for \
             the plain ones ({}); the mean seed-to-seed standard deviation is {:.2} (shuffled) vs {:.2} (plain); at the \
             largest ratio ({}×) shuffled reaches {:.2}% vs plain {:.2}%.",
            format.name(),
            shuffled_range,
            plain_range,
            if shuffled_range < plain_range { "more stable: agrees" } else { "not more stable: disagrees" },
            mean(&seed_sd[1]),
            mean(&seed_sd[0]),
            factors[factors.len() - 1],
            tuned_means[1].last().copied().unwrap_or(f64::NAN),
            tuned_means[0].last().copied().unwrap_or(f64::NAN),
        ));
        let [plain_curve, shuffled_curve] = curves;
        series.push(Series { name: format!("plain {}", format.name()), points: plain_curve });
        series.push(Series {
            name: format!("shuffled {} (RsTD)", format.name()),
            points: shuffled_curve,
        });
    }
    md += "\n**Paper:** \"the CNN can be significantly compressed even if the kernels are randomly shuffled\", and \
           RsTD \"yields more stable classification accuracy than the conventional TD-based methods in a large range of \
           compression ratios\" (abstract; CIFAR-10, conv kernels, TT or TR not established: shared/notes/papers.md).\n\n";
    md += &format!("**Here:** {}\n", summary.join(" "));
    let plot = Plot {
        file: "paper_mnist_rstd.svg".into(),
        title: "RsTD: accuracy after fine-tuning vs compression of fc1".into(),
        x_label: "compression ratio of fc1 (weights / TT or TR parameters target)".into(),
        y_label: "test accuracy (%), mean over seeds".into(),
        log_x: true,
        series,
    };
    Ok(PartOutput { markdown: md, plots: vec![plot], throughput })
}
