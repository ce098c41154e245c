//! RsTD (Li et al. 2019): the pretrained CNN's fc1 (3136 → 128) replaced by a TT-layer fitted to
//! its weight, plain or with the rows and columns randomly shuffled first, across compression
//! ratios and seeds: accuracy right after the fit and after fine-tuning, and its spread.

use crate::harness::{Ctx, PartOutput, Plot, Series, Throughput};
use crate::nets_train::{accuracy, mean_sd, train_and_test, Recipe};
use tensorize::data::{Mnist, MNIST_NORMALIZATION};
use tensorize::decomp::TtSvd;
use tensorize::nn::{
    Layer, Linear, Relu, Sequential, ShuffledTtLinear, TensorDataset, TtLinear, TtRankRule,
};
use tensorize::{Result, Tensor};

/// fc1's `[128, 3136]` weight as a TT-matrix: rows 2·4·4·4, columns 7·8·8·7.
const ROWS: [usize; 4] = [2, 4, 4, 4];
const COLS: [usize; 4] = [7, 8, 8, 7];

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
    (train, test): (&TensorDataset<f32>, &TensorDataset<f32>),
    recipe: Recipe,
    seed: u64,
) -> Result<Run> {
    let params = fc1.num_params();
    let mut net = head(ctx, fc1)?;
    let fitted = accuracy(&net, test)?;
    let t = train_and_test(&mut net, train, test, recipe, seed)?;
    Ok(Run { params, rel_error, fitted, tuned: t.accuracy, images_per_s: t.images_per_s })
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

    // (factor, rank, plain runs, shuffled runs)
    let mut table = Vec::new();
    for &factor in factors {
        // The largest TT rank whose (capped: what TT-SVD returns) cores fit entries / factor.
        let budget = (entries as f64 / factor) as usize;
        let mut rank = 1;
        while TtRankRule::Capped.params(&ROWS, &COLS, rank + 1)? <= budget && rank < 512 {
            rank += 1;
        }
        let svd = TtSvd::new().max_rank(rank);
        let (plain, report) = TtLinear::from_dense(w, b, &ROWS, &COLS, &svd)?;
        let mut plain_runs = Vec::new();
        let mut shuffled_runs = Vec::new();
        for &seed in &seeds {
            plain_runs.push(fit_and_tune(
                ctx,
                plain.clone(),
                report.rel_error,
                data,
                recipe,
                seed,
            )?);
            let (layer, rep) = ShuffledTtLinear::from_dense(w, b, &ROWS, &COLS, &svd, seed)?;
            shuffled_runs.push(fit_and_tune(ctx, layer, rep.rel_error, data, recipe, seed)?);
        }
        if factor == factors[0] {
            for (name, runs) in
                [("TT fc1 head", &plain_runs), ("shuffled TT fc1 head", &shuffled_runs)]
            {
                throughput.push(Throughput {
                    model: format!("{name} ({factor}×)"),
                    params: runs[0].params,
                    images_per_s: runs[0].images_per_s,
                });
            }
        }
        table.push((factor, rank, plain_runs, shuffled_runs));
    }

    let mut md = String::from("# RsTD (Li et al. 2019) — shuffled vs plain TT layers on MNIST\n\n");
    md += &format!(
        "The pretrained CNN's fc1 (3136 → 128, {entries} weights) is replaced by a TT-layer (rows 2·4·4·4, columns 7·8·8·7) \
         fitted by TT-SVD at the largest rank whose cores fit weights / ratio, either to the weight itself (**plain**) or \
         to the weight with its rows and columns randomly permuted (**shuffled**, RsTD: `W = π⁻¹(TT)`, a new permutation \
         per seed). The convolutions stay frozen (their features computed once); fc1 and fc2 are then fine-tuned with \
         Adam (rate {}, {} steps of {} on {n_train} training images). Accuracy on {n_test} test images, mean ± standard \
         deviation over {} seeds (the seed draws the permutation and the mini-batch order). Dense fc1 tuned the same \
         way: {:.2}% (right after loading: {:.2}%).\n\n",
        recipe.lr,
        recipe.max_steps.unwrap_or(0),
        recipe.batch,
        seeds.len(),
        100.0 * dense_run.tuned,
        100.0 * dense_run.fitted,
    );
    md += "| ratio | TT rank | fc1 params | variant | weight error | accuracy after fit (%) | after fine-tuning (%) |\n";
    md += "|---:|---:|---:|---|---:|---:|---:|\n";
    let stat = |runs: &[Run], f: fn(&Run) -> f64| mean_sd(&runs.iter().map(f).collect::<Vec<_>>());
    let mut curves: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let mut tuned_means: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut seed_sd: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for (factor, rank, plain, shuffled) in &table {
        for (v, (name, runs)) in [("plain", plain), ("shuffled", shuffled)].into_iter().enumerate()
        {
            let (e, _) = stat(runs, |r| r.rel_error);
            let (fm, fs) = stat(runs, |r| 100.0 * r.fitted);
            let (tm, ts) = stat(runs, |r| 100.0 * r.tuned);
            md += &format!(
                "| {factor} | {rank} | {} | {name} | {e:.3} | {fm:.2} ± {fs:.2} | {tm:.2} ± {ts:.2} |\n",
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
    md += "\n**Paper:** \"the CNN can be significantly compressed even if the kernels are randomly shuffled\", and \
           RsTD \"yields more stable classification accuracy than the conventional TD-based methods in a large range of \
           compression ratios\" (abstract; CIFAR-10, conv kernels, TT or TR not established: shared/notes/papers.md).\n\n";
    md += &format!(
        "**Here:** after fine-tuning, accuracy spans {:.2} points across the ratios for the shuffled layers and {:.2} for \
         the plain ones ({}); the mean seed-to-seed standard deviation is {:.2} (shuffled) vs {:.2} (plain). At the largest \
         ratio ({}×) shuffled reaches {:.2}% vs plain {:.2}%.\n",
        shuffled_range,
        plain_range,
        if shuffled_range < plain_range { "more stable: agrees" } else { "not more stable: disagrees" },
        mean(&seed_sd[1]),
        mean(&seed_sd[0]),
        factors[factors.len() - 1],
        tuned_means[1].last().copied().unwrap_or(f64::NAN),
        tuned_means[0].last().copied().unwrap_or(f64::NAN),
    );
    let [plain_curve, shuffled_curve] = curves;
    let plot = Plot {
        file: "paper_mnist_rstd.svg".into(),
        title: "RsTD: accuracy after fine-tuning vs compression of fc1".into(),
        x_label: "compression ratio of fc1 (weights / TT parameters target)".into(),
        y_label: "test accuracy (%), mean over seeds".into(),
        log_x: true,
        series: vec![
            Series { name: "plain TT".into(), points: plain_curve },
            Series { name: "shuffled TT (RsTD)".into(), points: shuffled_curve },
        ],
    };
    Ok(PartOutput { markdown: md, plots: vec![plot], throughput })
}
