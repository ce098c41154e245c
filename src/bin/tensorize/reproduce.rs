//! `tensorize reproduce [PAPER]`: the reproductions of the seed papers live in the benches
//! (`benches/paper_tables`, `benches/cnn_layers`), which are programs of this repository and
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
        name: "cnn-layers",
        what: "the MNIST CNN with SVD / Tucker-2 / CP / TT layers, before and after fine-tuning (quick mode)",
        command: "cargo bench --bench cnn_layers -- --quick",
    },
];

/// The names accepted.
pub const NAMES: &str = "novikov, tspc, rstd, allocation, cnn-layers";

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
