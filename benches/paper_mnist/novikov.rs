//! Novikov et al. 2015 §6.1: a two-layer MNIST net whose first layer `1024 → 1024` (images
//! zero-padded to 32×32) is a TT-layer trained from scratch, for several mode shapes and
//! ranks, beside a matrix-rank layer and the dense layer: test error against parameters.

use crate::harness::{Ctx, PartOutput, Plot, Series, Throughput};
use crate::nets_train::{train_and_test, Recipe};
use tensorize::data::MNIST_NORMALIZATION;
use tensorize::nn::{
    glorot_linear, two_layer_net, Dataset, Layer, PadFlatten, SvdLinear, TtLinear, TtRankRule,
};
use tensorize::Result;

/// One trained first layer.
struct Row {
    layer: String,
    modes: String,
    rank: Option<usize>,
    /// Layer parameters (weights + bias) as trained (the paper's code: every inner rank r).
    params: usize,
    /// The same layer at capped minimal ranks (TT-layers only).
    capped: Option<usize>,
    net_params: usize,
    error: f64,
}

/// Where the row's layer goes in the plot.
#[derive(PartialEq)]
enum Kind {
    Tt(String),
    MatrixRank,
    Dense,
}

pub fn run(ctx: &Ctx) -> Result<PartOutput> {
    let (n_train, n_test) = if ctx.quick { (300, 200) } else { (12000, 5000) };
    let recipe = if ctx.quick {
        Recipe { epochs: 1, batch: 50, lr: 2e-3, max_steps: None }
    } else {
        Recipe { epochs: 3, batch: 100, lr: 2e-3, max_steps: None }
    };
    let shapes: Vec<Vec<usize>> = if ctx.quick {
        vec![vec![4, 8, 8, 4], vec![2; 10]]
    } else {
        vec![
            vec![32, 32],
            vec![4, 8, 8, 4],
            vec![4, 4, 4, 4, 4],
            vec![2, 2, 8, 8, 2, 2],
            vec![2; 10],
        ]
    };
    let tt_ranks: &[usize] = if ctx.quick { &[8] } else { &[1, 2, 4, 8] };
    let mr_ranks: &[usize] = if ctx.quick { &[2] } else { &[1, 2, 4, 8, 16, 32] };

    let (train_set, test_set) = (ctx.train.take(n_train), ctx.test.take(n_test));
    let (train_images, test_images) =
        (train_set.dataset(MNIST_NORMALIZATION)?, test_set.dataset(MNIST_NORMALIZATION)?);
    // A black pixel after normalization: what "zero-padded" images hold around the digit.
    let fill = -MNIST_NORMALIZATION.0 / MNIST_NORMALIZATION.1;
    let train = PadFlatten::new(&train_images, [32, 32], fill)?;
    let test = PadFlatten::new(&test_images, [32, 32], fill)?;

    let mut rows: Vec<(Kind, Row)> = Vec::new();
    let mut throughput = Vec::new();
    let seed = ctx.seed;

    let dense = glorot_linear::<f32>(1024, 1024, seed)?;
    let dense_params = dense.num_params();
    let (net_params, error, ips) = fit(dense, &train, &test, recipe, seed)?;
    throughput.push(Throughput {
        model: "dense 1024→1024".into(),
        params: net_params,
        images_per_s: ips,
    });
    rows.push((
        Kind::Dense,
        Row {
            layer: "dense".into(),
            modes: "1024×1024".into(),
            rank: None,
            params: dense_params,
            capped: None,
            net_params,
            error,
        },
    ));
    for &r in mr_ranks {
        let layer = SvdLinear::<f32>::random(1024, 1024, r, true, seed)?;
        let params = layer.num_params();
        let (net_params, error, ips) = fit(layer, &train, &test, recipe, seed)?;
        if r == 8 || ctx.quick {
            throughput.push(Throughput {
                model: format!("matrix rank {r}"),
                params: net_params,
                images_per_s: ips,
            });
        }
        rows.push((
            Kind::MatrixRank,
            Row {
                layer: "matrix rank".into(),
                modes: "1024×1024".into(),
                rank: Some(r),
                params,
                capped: None,
                net_params,
                error,
            },
        ));
    }
    for modes in &shapes {
        let label = modes.iter().map(ToString::to_string).collect::<Vec<_>>().join("×");
        for &r in tt_ranks {
            let layer = TtLinear::<f32>::glorot_rank(modes, modes, r, TtRankRule::Uniform, seed)?;
            let params = layer.num_params();
            let capped = TtRankRule::Capped.params(modes, modes, r)? + 1024;
            let (net_params, error, ips) = fit(layer, &train, &test, recipe, seed)?;
            if r == 8 || ctx.quick {
                throughput.push(Throughput {
                    model: format!("TT {label} rank {r}"),
                    params: net_params,
                    images_per_s: ips,
                });
            }
            rows.push((
                Kind::Tt(label.clone()),
                Row {
                    layer: "TT".into(),
                    modes: label.clone(),
                    rank: Some(r),
                    params,
                    capped: Some(capped),
                    net_params,
                    error,
                },
            ));
        }
    }

    let mut md = String::from(
        "# Novikov et al. 2015 §6.1 — TT-layer networks trained from scratch on MNIST\n\n",
    );
    md += &format!(
        "Network: 32×32 image (28×28 MNIST zero-padded, flattened) → first layer 1024 → 1024 → ReLU → dense 1024 → 10. \
         Trained from scratch with Adam (rate {}, cosine to 1/100) for {} epochs of {} training images in batches of {}; \
         test error on the first {} test images. Scaled down from the paper (100 epochs on 60,000 images).\n\n",
        recipe.lr, recipe.epochs, n_train, recipe.batch, n_test
    );
    md += "Parameters of the first layer (weights + its 1024 biases): **as built and trained** = as the paper's code builds \
           the cores, every inner TT rank equal to r (no capping); **capped** = today's minimal ranks \
           (r_k = min(r, ∏_{l≤k} m_l n_l, ∏_{l>k} m_l n_l), what TT-SVD returns; docs/reproductions/novikov_mnist.md lists these).\n\n";
    md += "| first layer | modes (rows = cols) | rank | layer params, as built (paper's code) | layer params, capped (minimal) | network params | test error (%) |\n";
    md += "|---|---|---:|---:|---:|---:|---:|\n";
    for (_, r) in &rows {
        let rank = r.rank.map_or("–".into(), |x| x.to_string());
        let capped = r.capped.map_or("–".into(), |x| x.to_string());
        md += &format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} |\n",
            r.layer, r.modes, rank, r.params, capped, r.net_params, r.error
        );
    }

    // The claims, from this run's numbers.
    let dense_row = rows.iter().find(|(k, _)| *k == Kind::Dense).map(|(_, r)| r);
    let tts: Vec<&Row> =
        rows.iter().filter(|(k, _)| matches!(k, Kind::Tt(_))).map(|(_, r)| r).collect();
    let mrs: Vec<&Row> =
        rows.iter().filter(|(k, _)| *k == Kind::MatrixRank).map(|(_, r)| r).collect();
    md += "\n**Paper:** the TT-layer reduces the parameters of a fully connected layer \"by a huge factor\" while \
           \"the expressive power of the layer is preserved\" (abstract); on MNIST (Fig. 1, no numbers recovered, \
           shared/notes/papers.md) TT-layers reach a lower test error than matrix-rank layers with the same number of parameters.\n\n";
    if let (Some(d), Some(best)) =
        (dense_row, tts.iter().min_by(|a, b| a.error.total_cmp(&b.error)))
    {
        let factor = d.params as f64 / best.params as f64;
        let within = best.error <= d.error + 0.5;
        md += &format!(
            "**Here:** dense layer {:.2}% error ({} parameters); the best TT-layer ({} rank {}) {:.2}% with {} parameters, \
             {:.0}× fewer: {} (within 0.5 points of the dense layer{}).\n",
            d.error,
            d.params,
            best.modes,
            best.rank.unwrap_or(0),
            best.error,
            best.params,
            factor,
            if within { "agrees" } else { "disagrees" },
            if within { "" } else { " is the test" },
        );
    }
    // TT vs matrix rank at equal parameters: a matrix-rank point is beaten when some TT layer with
    // no more parameters has no higher error.
    let beaten: Vec<String> = mrs
        .iter()
        .filter(|m| tts.iter().any(|t| t.params <= m.params && t.error <= m.error))
        .map(|m| format!("rank {}", m.rank.unwrap_or(0)))
        .collect();
    md += &format!(
        "TT vs matrix rank: {} of {} matrix-rank layers are matched or beaten by a TT-layer with no more parameters ({}): {}.\n",
        beaten.len(),
        mrs.len(),
        if beaten.is_empty() { "none".to_string() } else { beaten.join(", ") },
        if beaten.len() == mrs.len() { "agrees" } else if beaten.is_empty() { "disagrees" } else { "agrees in part" },
    );

    let mut series: Vec<Series> = Vec::new();
    for modes in &shapes {
        let label = modes.iter().map(ToString::to_string).collect::<Vec<_>>().join("×");
        let points = rows
            .iter()
            .filter(|(k, _)| *k == Kind::Tt(label.clone()))
            .map(|(_, r)| (r.params as f64, r.error))
            .collect();
        series.push(Series { name: format!("TT {label}"), points });
    }
    series.push(Series {
        name: "matrix rank".into(),
        points: mrs.iter().map(|r| (r.params as f64, r.error)).collect(),
    });
    if let Some(d) = dense_row {
        series.push(Series { name: "dense".into(), points: vec![(d.params as f64, d.error)] });
    }
    let plot = Plot {
        file: "paper_mnist_novikov.svg".into(),
        title: "Novikov §6.1: test error vs first-layer parameters".into(),
        x_label: "first-layer parameters (as built)".into(),
        y_label: "test error (%)".into(),
        log_x: true,
        series,
    };
    Ok(PartOutput { markdown: md, plots: vec![plot], throughput })
}

/// Trains Novikov's net around `first`: (network parameters, test error in %, images/s).
fn fit<L: Layer<f32> + 'static>(
    first: L,
    train: &dyn Dataset<f32>,
    test: &dyn Dataset<f32>,
    recipe: Recipe,
    seed: u64,
) -> Result<(usize, f64, f64)> {
    let mut net = two_layer_net(first, 1024, 10, seed.wrapping_add(1))?;
    let t = train_and_test(&mut net, train, test, recipe, seed)?;
    Ok((net.num_params(), 100.0 * (1.0 - t.accuracy), t.images_per_s))
}
