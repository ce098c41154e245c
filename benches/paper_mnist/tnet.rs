//! T-Net (Kossaifi et al. 2019): an MNIST CNN whose block of `L` same-shape convolutions takes
//! every kernel from one Tucker tensor (modes layer, out, in, kh, kw), trained from scratch at
//! several Tucker ranks, beside the same network with `L` separate convolutions.

use crate::harness::{Ctx, PartOutput, Plot, Series, Throughput};
use crate::nets_train::{train_and_test, Recipe};
use tensorize::data::MNIST_NORMALIZATION;
use tensorize::nn::{tnet_cnn, tnet_twin, Layer, Sequential, TuckerConvBlock};
use tensorize::Result;

/// Channels of the block's convolutions and their number.
const CHANNELS: usize = 16;
const LAYERS: usize = 4;

struct Row {
    name: String,
    ranks: Option<[usize; 5]>,
    block_params: usize,
    net_params: usize,
    accuracy: f64,
}

pub fn run(ctx: &Ctx) -> Result<PartOutput> {
    let (n_train, n_test) = if ctx.quick { (200, 200) } else { (6000, 5000) };
    let recipe = if ctx.quick {
        Recipe { epochs: 1, batch: 50, lr: 3e-3, max_steps: Some(3) }
    } else {
        Recipe { epochs: 2, batch: 64, lr: 3e-3, max_steps: None }
    };
    let all_ranks: Vec<[usize; 5]> = if ctx.quick {
        vec![[2, 4, 4, 3, 3]]
    } else {
        vec![
            [LAYERS, CHANNELS, CHANNELS, 3, 3],
            [4, 8, 8, 3, 3],
            [2, 8, 8, 3, 3],
            [2, 4, 4, 3, 3],
            [1, 4, 4, 2, 2],
        ]
    };
    let (train_set, test_set) = (ctx.train.take(n_train), ctx.test.take(n_test));
    let train = train_set.dataset(MNIST_NORMALIZATION)?;
    let test = test_set.dataset(MNIST_NORMALIZATION)?;
    let seed = ctx.seed;

    let mut rows = Vec::new();
    let mut throughput = Vec::new();
    let dense_block = LAYERS * CHANNELS * CHANNELS * 9 + 2 * LAYERS * CHANNELS;
    let mut twin: Sequential<f32> = tnet_twin(CHANNELS, LAYERS, seed)?;
    let t = train_and_test(&mut twin, &train, &test, recipe, seed)?;
    throughput.push(Throughput {
        model: "dense twin (4 separate convs)".into(),
        params: twin.num_params(),
        images_per_s: t.images_per_s,
    });
    rows.push(Row {
        name: "uncompressed twin".into(),
        ranks: None,
        block_params: dense_block,
        net_params: twin.num_params(),
        accuracy: t.accuracy,
    });
    for ranks in all_ranks {
        let mut net = tnet_cnn::<f32>(CHANNELS, LAYERS, ranks, seed)?;
        let block = TuckerConvBlock::<f32>::new(LAYERS, CHANNELS, [3, 3], ranks, seed)?;
        let t = train_and_test(&mut net, &train, &test, recipe, seed)?;
        throughput.push(Throughput {
            model: format!("T-Net ranks {ranks:?}"),
            params: net.num_params(),
            images_per_s: t.images_per_s,
        });
        rows.push(Row {
            name: "T-Net (shared Tucker)".into(),
            ranks: Some(ranks),
            block_params: block.num_params(),
            net_params: net.num_params(),
            accuracy: t.accuracy,
        });
    }

    let mut md = String::from(
        "# T-Net (Kossaifi et al. 2019) — one Tucker tensor for a block of convolutions, MNIST\n\n",
    );
    md += &format!(
        "Network: conv 1→{CHANNELS} 3×3, BN, ReLU, max-pool → **block** of {LAYERS} convolutions {CHANNELS}→{CHANNELS} 3×3 \
         (each with BN and ReLU) at 14×14 → max-pool → linear {}→10. In T-Net the block's kernels are the slices of one \
         tensor W ∈ R^({LAYERS}×{CHANNELS}×{CHANNELS}×3×3) (modes layer, out, in, kh, kw) in Tucker form, trained end to end; \
         the twin has {LAYERS} separate kernels. Trained from scratch with Adam (rate {}, cosine) for {} epoch(s) of \
         {n_train} images in batches of {}; accuracy on {n_test} test images. Block parameters include the {} of the \
         batch normalizations.\n\n",
        CHANNELS * 49,
        recipe.lr,
        recipe.epochs,
        recipe.batch,
        2 * LAYERS * CHANNELS,
    );
    md += "| network | Tucker ranks (layer, out, in, kh, kw) | block params | block compression | network params | test accuracy (%) |\n";
    md += "|---|---|---:|---:|---:|---:|\n";
    for r in &rows {
        let ranks = r.ranks.map_or("–".into(), |x| format!("{x:?}"));
        md += &format!(
            "| {} | {ranks} | {} | {:.2}× | {} | {:.2} |\n",
            r.name,
            r.block_params,
            dense_block as f64 / r.block_params as f64,
            r.net_params,
            100.0 * r.accuracy
        );
    }
    let twin_acc = 100.0 * rows[0].accuracy;
    let compressed: Vec<&Row> = rows[1..].iter().filter(|r| r.block_params < dense_block).collect();
    md += "\n**Paper:** a single low-rank high-order tensor for the whole network \"can achieve superior performance with \
           small compression rates, and attain high compression rates with negligible drop in accuracy\" (abstract; human \
           pose estimation, exact modes and ranks not recovered: shared/notes/papers.md).\n\n";
    if let Some(most) = compressed.iter().max_by_key(|r| dense_block / r.block_params.max(1)) {
        let small: Vec<&&Row> = compressed
            .iter()
            .filter(|r| dense_block as f64 / (r.block_params as f64) < 5.0)
            .collect();
        let best_small = small.iter().map(|r| 100.0 * r.accuracy).fold(f64::NEG_INFINITY, f64::max);
        let drop = twin_acc - 100.0 * most.accuracy;
        md += &format!(
            "**Here:** the twin reaches {twin_acc:.2}%. At the highest block compression ({:.1}×) T-Net reaches {:.2}%, \
             a drop of {drop:.2} points ({}: negligible taken as ≤ 1 point). {}\n",
            dense_block as f64 / most.block_params as f64,
            100.0 * most.accuracy,
            if drop <= 1.0 { "agrees" } else { "disagrees" },
            if small.is_empty() {
                "No rank setting with a small compression (< 5×) was run.".to_string()
            } else {
                format!(
                    "At small compression (< 5×) the best T-Net reaches {best_small:.2}% ({} the twin: {}).",
                    if best_small > twin_acc { "above" } else { "not above" },
                    if best_small > twin_acc { "agrees" } else { "disagrees" }
                )
            }
        );
    }
    let plot = Plot {
        file: "paper_mnist_tnet.svg".into(),
        title: "T-Net: test accuracy vs block parameters".into(),
        x_label: "block parameters".into(),
        y_label: "test accuracy (%)".into(),
        log_x: true,
        series: vec![
            Series {
                name: "T-Net (shared Tucker)".into(),
                points: rows[1..]
                    .iter()
                    .map(|r| (r.block_params as f64, 100.0 * r.accuracy))
                    .collect(),
            },
            Series {
                name: "uncompressed twin".into(),
                points: vec![(dense_block as f64, twin_acc)],
            },
        ],
    };
    Ok(PartOutput { markdown: md, plots: vec![plot], throughput })
}
