//! RsTD (Li et al. 2019): decomposition of real kernels with and without a random shuffle of their
//! entries, at the same parameter budget, by TT and by tensor ring.

use tensorize::data::MnistCnn;
use tensorize::decomp::{TrSvd, TtSvd};
use tensorize::tensorization::{
    compare_shuffled, factorize_balanced, rstd_tr, rstd_tt, RstdFormat, ShuffleKind,
};
use tensorize::{Budget, Factorized, Result, Tensor};

/// The compression factors (entries / parameters) of the comparison.
const FACTORS: [f64; 5] = [2.0, 4.0, 8.0, 16.0, 32.0];
const SEED: u64 = 2019;

/// The conv kernel as its 4-way `[out, in, kh, kw]` tensor; the linear weight reshaped to
/// `[out_1, out_2, out_3, in_1, in_2, in_3]` with balanced factors (a 2-way TT is just an SVD).
fn kernels(cnn: &MnistCnn<f32>) -> Result<Vec<(String, Tensor<f32>)>> {
    let [out, input] = [cnn.fc1_weight.shape()[0], cnn.fc1_weight.shape()[1]];
    let mut dims = factorize_balanced(out, 3)?;
    dims.extend(factorize_balanced(input, 3)?);
    let label = |d: &[usize]| d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("×");
    Ok(vec![
        (format!("conv {}", label(cnn.conv2_weight.shape())), cnn.conv2_weight.clone()),
        (format!("linear as {}", label(&dims)), cnn.fc1_weight.clone().reshape(&dims)?),
    ])
}

/// Relative errors of the plain, whole-shuffled and within-mode-shuffled decompositions.
pub fn table(cnn: &MnistCnn<f32>) -> Result<String> {
    let mut out = format!(
        "Seed {SEED}. Each row: one uniform rank cap for all three variants (the largest whose \
         parameter count fits entries / compression).\n\n\
         | kernel | format | compression | rank cap | parameters | plain | shuffled (whole) | shuffled (within modes) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for (label, x) in kernels(cnn)? {
        for (name, format) in [("TT", RstdFormat::Tt), ("TR", RstdFormat::Tr)] {
            for factor in FACTORS {
                let budget = Budget::CompressBy(factor);
                let rows = compare_shuffled(&x, budget, format, ShuffleKind::Whole, SEED)?;
                let (plain, shuffled) = (&rows[0], &rows[1]);
                // The same rank cap, shuffled within modes (the plain fit is not redone).
                let (kind, cap) = (ShuffleKind::WithinModes, plain.max_rank);
                let within = match format {
                    RstdFormat::Tt => {
                        rstd_tt(&x, kind, SEED, &TtSvd::new().max_rank(cap))?.0.rel_error(&x)?
                    }
                    RstdFormat::Tr => {
                        rstd_tr(&x, kind, SEED, &TrSvd::new().max_rank(cap))?.0.rel_error(&x)?
                    }
                };
                out += &format!(
                    "| {label} | {name} | {factor} | {} | {} | {:.4} | {:.4} | {:.4} |\n",
                    plain.max_rank, plain.params, plain.rel_error, shuffled.rel_error, within
                );
            }
        }
    }
    out += "\nShuffling within modes permutes each mode's index set; TT-SVD is equivariant under \
            such permutations, so for TT that column equals the plain one. TR-SVD is not quite \
            (its first core splits a rank between both ends of the ring), hence small differences.\n";
    Ok(out)
}
