//! TSPC (Su et al. 2018): realized parameters of the plain and tensorized methods on ResNet-32
//! (CIFAR-10 widths), and the errors of each method on the pretrained MNIST CNN's layers.

use tensorize::data::MnistCnn;
use tensorize::tensorization::{
    plan, plan_filled, Compress, Method, Plan, WeightShape, DEFAULT_FACTORS,
};
use tensorize::{Budget, Result};

/// The fractions of the original parameters the paper keeps.
pub const FRACTIONS: [f64; 3] = [0.05, 0.10, 0.20];

/// ResNet-32 for CIFAR-10: three stages of widths 16, 32, 64, five basic blocks each (two 3×3
/// convs per block: 30 convs); each stage's first block has a 1×1 projection shortcut
/// (16→16, 16→32, 32→64). The stem conv (3→16) and the classifier are not compressed.
pub fn resnet32() -> Vec<(WeightShape, usize)> {
    let conv = |input, out| WeightShape::Conv { out, input, kh: 3, kw: 3 };
    let proj = |input, out| WeightShape::Conv { out, input, kh: 1, kw: 1 };
    vec![
        (conv(16, 16), 10),
        (conv(16, 32), 1),
        (conv(32, 32), 9),
        (conv(32, 64), 1),
        (conv(64, 64), 9),
        (proj(16, 16), 1),
        (proj(16, 32), 1),
        (proj(32, 64), 1),
    ]
}

/// The methods of the tables: the six of TSPC with uniform ranks, plus r-TK with its budget
/// filled mode by mode (uniform r-TK ranks leave most of the budget unused).
fn variants() -> Vec<(String, Method, bool)> {
    let mut v: Vec<(String, Method, bool)> = Method::all(DEFAULT_FACTORS)
        .into_iter()
        .map(|m| (m.name().to_string(), m, false))
        .collect();
    v.push(("r-TK (filled)".into(), Method::RTucker { factors: DEFAULT_FACTORS }, true));
    v
}

fn plan_of(w: &WeightShape, method: Method, filled: bool, budget: Budget) -> Result<Plan> {
    if filled {
        plan_filled(w, method, budget)
    } else {
        plan(w, method, budget)
    }
}

/// Realized parameters of every method on ResNet-32's compressed layers at each kept fraction. 1×1
/// projections are compressed by SVD whatever the method (as in TSPC); the tensorized methods deal
/// channel factors round-robin into `DEFAULT_FACTORS` factors.
pub fn resnet32_table() -> Result<String> {
    let layers = resnet32();
    let original: usize =
        layers.iter().map(|(w, n)| w.numel().map(|p| p * n)).sum::<Result<_>>()?;
    let mut out = format!(
        "Original: {original} parameters in the 30 3×3 convs and 3 1×1 projections.\n\n| method |"
    );
    for f in FRACTIONS {
        out += &format!(" {:.0}%: parameters (realized) |", f * 100.0);
    }
    out += "\n|---|";
    out += &"---:|".repeat(FRACTIONS.len());
    out += "\n";
    for (name, method, filled) in variants().into_iter().filter(|v| v.1 != Method::Svd) {
        out += &format!("| {name} |");
        for fraction in FRACTIONS {
            let budget = Budget::KeepFraction(fraction);
            let mut total = 0;
            for (w, count) in &layers {
                total += if w.kernel() == (1, 1) {
                    plan(w, Method::Svd, budget)?.params * count
                } else {
                    plan_of(w, method, filled, budget)?.params * count
                };
            }
            out += &format!(" {total} ({:.2}%) |", 100.0 * total as f64 / original as f64);
        }
        out += "\n";
    }
    Ok(out)
}

/// Relative Frobenius and spectrum errors of every method on the pretrained CNN's 64×32×3×3
/// conv and 128×3136 linear layer, at each kept fraction.
pub fn mnist_cnn_table(cnn: &MnistCnn<f32>) -> Result<String> {
    let mut out = String::from(
        "| layer | method | kept | ranks | parameters (realized) | rel. error | spectrum error |\n\
         |---|---|---:|---|---:|---:|---:|\n",
    );
    for (label, w) in [("conv 64×32×3×3", &cnn.conv2_weight), ("linear 128×3136", &cnn.fc1_weight)]
    {
        for (name, method, filled) in variants() {
            for fraction in FRACTIONS {
                let budget = Budget::KeepFraction(fraction);
                let c = Compress::new(method).budget(budget).fill_budget(filled).seed(0).fit(w)?;
                let p = c.plan();
                out += &format!(
                    "| {label} | {} | {:.0}% | {:?} | {} ({:.2}%) | {:.4} | {:.4} |\n",
                    name,
                    fraction * 100.0,
                    p.ranks,
                    p.params,
                    100.0 * p.kept_fraction,
                    c.rel_error(),
                    c.spectrum_error()
                );
            }
        }
    }
    Ok(out)
}
