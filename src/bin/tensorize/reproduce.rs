//! `tensorize reproduce [PAPER] [--print] [-- ARGS]`: the quick mode of the seed papers'
//! reproductions. They are benches of the repository (`benches/paper_tables`,
//! `benches/paper_mnist`, `benches/cnn_layers`: programs beside the library, with their own
//! tables and plots), so this command runs `cargo bench` in the checkout the binary was built
//! from when that checkout is there, and prints the commands when it is not (an installed
//! binary) or when asked to (`--print`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::failure::{self, Failure};

/// A reproduction: its name, what it reproduces, and the bench that runs it.
struct Reproduction {
    name: &'static str,
    what: &'static str,
    /// The bench target (`cargo bench --bench <bench>`).
    bench: &'static str,
    /// The bench's own arguments for this reproduction's quick mode.
    args: &'static [&'static str],
}

const ALL: &[Reproduction] = &[
    Reproduction {
        name: "novikov",
        what: "Novikov et al. 2015: TT-matrix parameter counts of VGG FC layers and the MNIST TT-layer",
        bench: "paper_tables",
        args: &[],
    },
    Reproduction {
        name: "tspc",
        what: "TSPC (Su et al.): ResNet-32 realized parameters, errors on the pretrained MNIST CNN",
        bench: "paper_tables",
        args: &[],
    },
    Reproduction {
        name: "rstd",
        what: "RsTD: shuffled vs unshuffled TT/TR on the pretrained MNIST CNN",
        bench: "paper_tables",
        args: &[],
    },
    Reproduction {
        name: "allocation",
        what: "whole-model rank allocation on the pretrained MNIST CNN",
        bench: "paper_tables",
        args: &[],
    },
    Reproduction {
        name: "novikov-mnist",
        what: "Novikov et al. 2015 §6.1: TT-layer nets trained from scratch on MNIST, error against parameters",
        bench: "paper_mnist",
        args: &["--quick", "--only", "novikov"],
    },
    Reproduction {
        name: "tspc-mnist",
        what: "TSPC: plain vs tensorized decompositions of the MNIST CNN, sequential data reconstruction vs fine-tuning",
        bench: "paper_mnist",
        args: &["--quick", "--only", "tspc"],
    },
    Reproduction {
        name: "rstd-mnist",
        what: "RsTD: shuffled vs plain TT and TR layers across ratios, accuracy over seeds",
        bench: "paper_mnist",
        args: &["--quick", "--only", "rstd"],
    },
    Reproduction {
        name: "musco",
        what: "MUSCO: iterative vs one-shot decomposition at the same compression",
        bench: "paper_mnist",
        args: &["--quick", "--only", "musco"],
    },
    Reproduction {
        name: "tnet",
        what: "T-Net: one shared Tucker tensor for a block of convolutions, parameters vs accuracy",
        bench: "paper_mnist",
        args: &["--quick", "--only", "tnet"],
    },
    Reproduction {
        name: "allocation-mnist",
        what: "whole-model allocation, weight-only vs data-aware vs uniform, accuracy at equal parameters",
        bench: "paper_mnist",
        args: &["--quick", "--only", "allocation"],
    },
    Reproduction {
        name: "cnn-layers",
        what: "the MNIST CNN with SVD / Tucker-2 / CP / TT layers, before and after fine-tuning",
        bench: "cnn_layers",
        args: &["--quick"],
    },
];

/// The names accepted.
pub const NAMES: &str = "novikov, tspc, rstd, allocation, novikov-mnist, tspc-mnist, rstd-mnist, \
                         musco, tnet, allocation-mnist, cnn-layers";

/// One `cargo bench` run: the bench and its arguments.
struct Run {
    bench: &'static str,
    args: Vec<String>,
}

impl Run {
    fn command_line(&self) -> String {
        let mut line = format!("cargo bench --bench {}", self.bench);
        if !self.args.is_empty() {
            line.push_str(" -- ");
            line.push_str(&self.args.join(" "));
        }
        line
    }
}

/// The runs for `paper` (every bench once, in its whole quick mode, when `None`), each with
/// `extra` appended to its arguments.
fn runs(paper: Option<&str>, extra: &[String]) -> Result<Vec<Run>, Failure> {
    let mut runs: Vec<Run> = Vec::new();
    match paper {
        Some(p) => {
            let r = ALL.iter().find(|r| r.name == p).ok_or_else(|| {
                Failure::usage(format!("unknown reproduction {p:?}; one of {NAMES}"))
            })?;
            runs.push(Run { bench: r.bench, args: r.args.iter().map(|a| a.to_string()).collect() });
        }
        None => {
            for r in ALL {
                if runs.iter().all(|run| run.bench != r.bench) {
                    // The whole quick mode of the bench, not one run per part.
                    let quick = r.args.iter().take_while(|a| **a != "--only");
                    runs.push(Run { bench: r.bench, args: quick.map(|a| a.to_string()).collect() });
                }
            }
        }
    }
    for run in &mut runs {
        run.args.extend(extra.iter().cloned());
    }
    Ok(runs)
}

/// The checkout whose benches run: `TENSORIZE_CHECKOUT`, or the folder this binary was built
/// from; `None` when it holds no tensorize benches (an installed binary, a moved checkout).
fn checkout(runs: &[Run]) -> Result<PathBuf, PathBuf> {
    let dir = std::env::var_os("TENSORIZE_CHECKOUT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let has_bench = |r: &Run| {
        let folder = dir.join("benches").join(r.bench);
        folder.join("main.rs").is_file() || folder.with_extension("rs").is_file()
    };
    if dir.join("Cargo.toml").is_file() && runs.iter().all(has_bench) {
        Ok(dir)
    } else {
        Err(dir)
    }
}

fn print_commands(paper: Option<&str>, runs: &[Run]) {
    for r in ALL.iter().filter(|r| paper.is_none_or(|p| p == r.name)) {
        println!("  {:<16} {}", r.name, r.what);
    }
    println!("Commands, from a checkout of tensorize:");
    for run in runs {
        println!("  {}", run.command_line());
    }
    println!(
        "paper_tables writes docs/reproductions/; paper_mnist's quick mode writes its pages to \
         the temporary folder (tensorize-paper-mnist-quick); cnn_layers prints its tables."
    );
}

/// Runs (or, with `print` or without a checkout, prints) the quick mode of `paper`, all when
/// `None`; `extra` goes to the bench (for example `--data DIR` of paper_mnist).
pub fn run(paper: Option<&str>, print: bool, extra: &[String]) -> Result<(), Failure> {
    let runs = runs(paper, extra)?;
    if print {
        print_commands(paper, &runs);
        return Ok(());
    }
    let dir = match checkout(&runs) {
        Ok(dir) => dir,
        Err(dir) => {
            println!(
                "No tensorize checkout with its benches at {} (set TENSORIZE_CHECKOUT to one); \
                 the reproductions are benches of the repository:",
                dir.display()
            );
            print_commands(paper, &runs);
            return Ok(());
        }
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for run in &runs {
        eprintln!("tensorize reproduce: {} (in {})", run.command_line(), dir.display());
        bench(&cargo, &dir, run)?;
    }
    Ok(())
}

/// One `cargo bench` in `dir`, its output passed through; its failure is ours.
fn bench(cargo: &std::ffi::OsStr, dir: &Path, run: &Run) -> Result<(), Failure> {
    let mut command = Command::new(cargo);
    command.current_dir(dir).args(["bench", "--bench", run.bench]);
    if !run.args.is_empty() {
        command.arg("--").args(&run.args);
    }
    let status = command.status().map_err(|e| {
        Failure::new(
            failure::INPUT,
            format!(
                "cannot start {} ({e}); `tensorize reproduce --print` lists the commands",
                Path::new(cargo).display()
            ),
        )
    })?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(Failure::new(
            failure::REPRODUCTION,
            format!(
                "`{}` failed ({})",
                run.command_line(),
                code.map_or("killed by a signal".into(), |c| format!("exit code {c}"))
            ),
        )),
    }
}
