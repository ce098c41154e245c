//! `tensorize reproduce [PAPER]`: the reproductions of the seed papers live in the benches
//! (`benches/paper_tables`, `benches/cnn_layers`, `benches/paper_mnist`), which are programs of this repository and
//! not library code the binary could call; so this command prints the exact `cargo bench`
//! command of each (their quick mode where they have one) instead of duplicating them.

use crate::failure::Failure;

/// A reproduction: its name, what it reproduces, and how to run it.
struct Reproduction {
    name: &'static str,
    what: &'static str,
    command: &'static str,
}

const ALL: &[Reproduction] = &[
    Reproduction {
        name: "novikov",
        what: "Novikov et al. 2015: TT-matrix parameter counts of VGG FC layers and the MNIST TT-layer",
        command: "cargo bench --bench paper_tables",
    },
    Reproduction {
        name: "tspc",
        what: "TSPC (Su et al.): ResNet-32 realized parameters, errors on the pretrained MNIST CNN",
        command: "cargo bench --bench paper_tables",
    },
    Reproduction {
        name: "rstd",
        what: "RsTD: shuffled vs unshuffled TT/TR on the pretrained MNIST CNN",
        command: "cargo bench --bench paper_tables",
    },
    Reproduction {
        name: "allocation",
        what: "whole-model rank allocation on the pretrained MNIST CNN",
        command: "cargo bench --bench paper_tables",
    },
    Reproduction {
        name: "novikov-mnist",
        what: "Novikov et al. 2015 §6.1: TT-layer nets trained from scratch on MNIST, error against parameters (quick mode)",
        command: "cargo bench --bench paper_mnist -- --quick --only novikov",
    },
    Reproduction {
        name: "tspc-mnist",
        what: "TSPC: plain vs tensorized decompositions of the MNIST CNN, sequential data reconstruction vs fine-tuning (quick mode)",
        command: "cargo bench --bench paper_mnist -- --quick --only tspc",
    },
    Reproduction {
        name: "rstd-mnist",
        what: "RsTD: shuffled vs plain TT layers across ratios, accuracy over seeds (quick mode)",
        command: "cargo bench --bench paper_mnist -- --quick --only rstd",
    },
    Reproduction {
        name: "musco",
        what: "MUSCO: iterative vs one-shot decomposition at the same compression (quick mode)",
        command: "cargo bench --bench paper_mnist -- --quick --only musco",
    },
    Reproduction {
        name: "tnet",
        what: "T-Net: one shared Tucker tensor for a block of convolutions, parameters vs accuracy (quick mode)",
        command: "cargo bench --bench paper_mnist -- --quick --only tnet",
    },
    Reproduction {
        name: "allocation-mnist",
        what: "whole-model allocation, weight-only vs data-aware vs uniform, accuracy at equal parameters (quick mode)",
        command: "cargo bench --bench paper_mnist -- --quick --only allocation",
    },
    Reproduction {
        name: "cnn-layers",
        what: "the MNIST CNN with SVD / Tucker-2 / CP / TT layers, before and after fine-tuning (quick mode)",
        command: "cargo bench --bench cnn_layers -- --quick",
    },
];

/// The names accepted.
pub const NAMES: &str = "novikov, tspc, rstd, allocation, novikov-mnist, tspc-mnist, rstd-mnist, \
                         musco, tnet, allocation-mnist, cnn-layers";

/// Prints the command of `paper` (all when `None`).
pub fn run(paper: Option<&str>) -> Result<(), Failure> {
    let chosen: Vec<&Reproduction> = match paper {
        None => ALL.iter().collect(),
        Some(p) => {
            let found: Vec<_> = ALL.iter().filter(|r| r.name == p).collect();
            if found.is_empty() {
                return Err(Failure::usage(format!("unknown reproduction {p:?}; one of {NAMES}")));
            }
            found
        }
    };
    println!(
        "The reproductions are benches of the repository (not library code), so run them from a checkout:"
    );
    for r in chosen {
        println!("  {:<11} {}\n              {}", r.name, r.what, r.command);
    }
    println!(
        "paper_tables writes docs/reproductions/*.md; cnn_layers --quick prints its table only."
    );
    Ok(())
}
