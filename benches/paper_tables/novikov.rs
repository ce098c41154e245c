//! Novikov et al. 2015 (Tensorizing Neural Networks): the VGG table and the MNIST TT-layer sizes.
//! Every parameter count comes from `TtRankRule` (the TT-layer rank rules) or `LowRank` at the stated shape and rank.

use tensorize::nn::TtRankRule;
use tensorize::tensorization::LowRank;
use tensorize::Result;

/// Parameters of a TT-matrix with the given modes and uniform internal rank, capped per bond at
/// the largest rank a TT-matrix of those modes can have (what TT-SVD would return).
pub fn tt_matrix_params(rows: &[usize], cols: &[usize], rank: usize) -> Result<usize> {
    TtRankRule::Capped.params(rows, cols, rank)
}

/// Parameters of VGG (3×3 convs with biases on the given channel widths, then the three FC layers
/// 25088→4096→4096→1000 with biases), for a 224×224 RGB input.
fn vgg_params(widths: &[usize]) -> usize {
    let mut total = 0;
    let mut c = 3;
    for &w in widths {
        total += 9 * c * w + w;
        c = w;
    }
    total + FC6 + 4096 + FC7 + 4096 + 4096 * 1000 + 1000
}

const FC6: usize = 25088 * 4096;
const FC7: usize = 4096 * 4096;
const VGG16: &[usize] = &[64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
const VGG19: &[usize] =
    &[64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512];

/// FC6 as a TT-matrix: 25088 = 2·7·8·8·7·4 inputs by 4096 = 4⁶ outputs.
const FC6_IN: [usize; 6] = [2, 7, 8, 8, 7, 4];
const FC6_OUT: [usize; 6] = [4; 6];

/// The VGG table (Novikov et al. Table 2) as markdown, with the paper's figures beside ours.
pub fn vgg_table() -> Result<String> {
    let (vgg16, vgg19) = (vgg_params(VGG16), vgg_params(VGG19));
    // (name, params of the replaced layers, dense params they replace, paper's params, paper's compression)
    let mut rows: Vec<(String, usize, usize, usize, &str)> = Vec::new();
    for (name, r, paper_params, paper_compression) in [
        ("TT4 FC6", 4, 2016, "50972"),
        ("TT2 FC6", 2, 528, "194622"),
        ("TT1 FC6", 1, 144, "713614"),
    ] {
        let p = tt_matrix_params(&FC6_IN, &FC6_OUT, r)?;
        rows.push((name.into(), p, FC6, paper_params, paper_compression));
    }
    let both = tt_matrix_params(&FC6_IN, &FC6_OUT, 4)? + tt_matrix_params(&[4; 6], &[4; 6], 4)?;
    rows.push(("TT4 FC6 + TT4 FC7".into(), both, FC6 + FC7, 2016 + 1152, "37732.8"));
    for (r, paper_params, paper_compression) in
        [(1, 29184, "3521"), (5, 145920, "704"), (50, 1459200, "70.4")]
    {
        let p = LowRank::<f32>::params_for(25088, 4096, r)?;
        rows.push((format!("MR{r} FC6"), p, FC6, paper_params, paper_compression));
    }
    let mut out = String::from(
        "| layers | parameters | paper | layer compression | paper | VGG-16 compression | VGG-19 compression |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    out += &format!("| FC6 dense | {FC6} | 102760448 | 1 | 1 | 1 | 1 |\n");
    for (name, p, dense, paper_p, paper_compression) in rows {
        let layer = dense as f64 / p as f64;
        let net16 = vgg16 as f64 / (vgg16 - dense + p) as f64;
        let net19 = vgg19 as f64 / (vgg19 - dense + p) as f64;
        let mark = if p == paper_p { "" } else { " **differs**" };
        out += &format!(
            "| {name} | {p}{mark} | {paper_p} | {layer:.1} | {paper_compression} | {net16:.2} | {net19:.2} |\n"
        );
    }
    out += &format!(
        "\nWhole networks (biases kept): VGG-16 {vgg16} parameters (paper: 138357544), \
         VGG-19 {vgg19} (paper: 143667240).\n"
    );
    Ok(out)
}

/// TT-layer parameter counts (cores only) of the MNIST 1024×1024 layer for the paper's five
/// shapes: capped minimal ranks first (what this page always listed), then every inner rank
/// equal to r as the paper's code builds the cores.
pub fn mnist_table() -> Result<String> {
    let shapes: [&[usize]; 5] =
        [&[32, 32], &[4, 8, 8, 4], &[4, 4, 4, 4, 4], &[2, 2, 8, 8, 2, 2], &[2; 10]];
    let ranks = [1, 2, 4, 8, 16];
    let mut out = String::new();
    for (rule, heading) in [
        (
            TtRankRule::Capped,
            "Capped minimal ranks: each bond capped at the largest rank a TT-matrix of these modes can \
             have, r_k = min(r, ∏_{l≤k} m_l n_l, ∏_{l>k} m_l n_l) (what TT-SVD returns; e.g. the \
             first bond of 2¹⁰ holds at most 2·2 = 4).",
        ),
        (
            TtRankRule::Uniform,
            "Every inner rank equal to r, no capping: how the paper's code builds the cores (the \
             counts behind its MNIST plot; the layers trained in paper_mnist_novikov.md are built so).",
        ),
    ] {
        out += &format!("**{}.** {heading}\n\n| modes (rows = cols) |", rule.label());
        for r in ranks {
            out += &format!(" rank {r} |");
        }
        out += "\n|---|";
        out += &"---:|".repeat(ranks.len());
        out += "\n";
        for modes in shapes {
            let label = modes.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("×");
            out += &format!("| {label} |");
            for r in ranks {
                out += &format!(" {} |", rule.params(modes, modes, r)?);
            }
            out += "\n";
        }
        out += "\n";
    }
    out +=
        &format!("Dense 1024×1024: {} parameters. Counts are cores only (no bias).\n", 1024 * 1024);
    Ok(out)
}
