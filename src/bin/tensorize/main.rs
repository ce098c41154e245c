//! The `tensorize` command line (docs/cli.md): `inspect` and `compress` safetensors
//! checkpoints, `eval` the MNIST CNN, `decompose` one `.npy` tensor, `demo`, `reproduce`; with no
//! command, the MNIST main job.

// Where the repository's data folders are: shared with the tests and benches, and kept out of
// the library so that only this repository's programs carry its paths.
mod compress;
#[path = "../../../tests/common/data.rs"]
mod data_files;
mod decompose;
mod eval;
mod failure;
mod glob;
mod inspect;
mod interrupt;
mod mnist_job;
mod progress;
mod reproduce;
mod spectrum;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use compress::method::{CliMethod, RankSelect};
use compress::sizing::Size;
use failure::{Failure, EXIT_CODES_HELP};

/// Tensor decompositions and neural-network compression.
#[derive(Parser)]
#[command(name = "tensorize", version, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List every tensor of a safetensors file, with a singular-value summary of each 2-D
    /// weight and 4-D kernel (stable rank, energy kept at a few ranks, EVBMF rank).
    Inspect {
        /// The safetensors file.
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Decompose the weights of a safetensors checkpoint and write the factors to OUT.
    Compress(CompressArgs),
    /// Accuracy of the MNIST CNN checkpoint MODEL on the MNIST test images.
    Eval {
        /// The checkpoint (the layout of data/models/mnist_cnn.safetensors).
        model: PathBuf,
        /// The folder with t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)
        /// [default: the repository's data/mnist].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Only the first N test images.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        images: Option<u64>,
    },
    /// Run the quick mode of the seed papers' reproductions: `cargo bench` in the checkout
    /// this binary was built from (or TENSORIZE_CHECKOUT); without one, print the commands.
    Reproduce {
        /// One of: novikov, tspc, rstd, allocation, novikov-mnist, tspc-mnist, rstd-mnist,
        /// musco, tnet, allocation-mnist, cnn-layers (every bench's quick mode when omitted).
        paper: Option<String>,
        /// Print the commands instead of running them.
        #[arg(long)]
        print: bool,
        /// Arguments after `--` go to the bench (paper_mnist: `--data DIR`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Decompose a float .npy tensor and print the result; -o writes the factors.
    Decompose {
        /// The .npy file.
        file: PathBuf,
        /// The decomposition.
        method: decompose::TensorMethod,
        /// Target relative error (hosvd, st-hosvd, tt).
        #[arg(long)]
        eps: Option<f64>,
        /// Rank per mode (hosvd, st-hosvd, hooi), CP rank (cp), max TT rank (tt).
        #[arg(long)]
        rank: Option<usize>,
        /// Iterations of HOOI / CP-ALS.
        #[arg(long, default_value_t = 100)]
        iters: usize,
        /// Write the factors to OUT (.npz or .safetensors).
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
        /// Replace an existing OUT.
        #[arg(long)]
        force: bool,
    },
    /// The pretrained CNN on MNIST, dense and with conv2 + fc1 compressed (the default command).
    Mnist {
        /// conv2 + fc1 compressed this many times by SVD at the allocator's ranks.
        #[arg(long = "compress-by", default_value_t = 5.0, value_parser = at_least_one)]
        compress_by: f64,
        /// Only the first N test images.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        images: Option<u64>,
    },
    /// Decompose the embedded digits data (1797 x 8 x 8) with every method.
    Demo,
}

#[derive(Args)]
struct CompressArgs {
    /// The safetensors checkpoint (never modified).
    file: PathBuf,
    /// The file to write (refused if it exists, unless --force; never the input).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    /// The decomposition of every chosen weight.
    #[arg(long, value_enum)]
    method: CliMethod,
    /// Relative Frobenius error per layer (with --rank-select global: the RMS over the layers).
    #[arg(long, conflicts_with_all = ["ratio", "budget"])]
    eps: Option<f64>,
    /// Each layer R times smaller (global: the chosen layers together).
    #[arg(long, conflicts_with = "budget")]
    ratio: Option<f64>,
    /// Total parameters of the output file (tensors carried through count too).
    #[arg(long, value_name = "PARAMS")]
    budget: Option<usize>,
    /// Which tensors to compress: shell patterns (* and ?), comma-separated, matched against
    /// the whole name [default: every 2-D and 4-D float tensor].
    #[arg(long, value_name = "GLOB")]
    layers: Option<String>,
    /// How ranks are chosen.
    #[arg(long = "rank-select", value_enum, default_value = "energy")]
    rank_select: RankSelect,
    /// Channel factors of r-cp / r-tk / r-tt, and modes per side of tt-matrix.
    #[arg(long, default_value_t = 3)]
    factors: usize,
    /// Replace an existing OUT.
    #[arg(long)]
    force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn at_least_one(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 1.0 => Ok(f),
        _ => Err(format!("takes a factor >= 1, got {s:?}")),
    }
}

fn main() {
    let cli = Cli::parse();
    interrupt::install();
    let outcome = match cli.command {
        None => mnist_job::run(mnist_job::Options { factor: 5.0, images: None })
            .map_err(|e| Failure::new(failure::INPUT, e)),
        Some(Command::Mnist { compress_by, images }) => mnist_job::run(mnist_job::Options {
            factor: compress_by,
            images: images.map(|n| n as usize),
        })
        .map_err(|e| Failure::new(failure::INPUT, e)),
        Some(Command::Demo) => decompose::demo(),
        Some(Command::Inspect { file, json }) => inspect::run(&file, json),
        Some(Command::Compress(a)) => compress::run(&compress::Options {
            size: match (a.eps, a.ratio, a.budget) {
                (Some(e), _, _) => Size::Eps(e),
                (_, Some(r), _) => Size::Ratio(r),
                (_, _, Some(b)) => Size::Budget(b),
                _ => Size::Unset,
            },
            input: a.file,
            output: a.output,
            method: a.method,
            factors: a.factors,
            layers: a.layers,
            rank_select: a.rank_select,
            force: a.force,
            json: a.json,
        }),
        Some(Command::Eval { model, data, images }) => {
            eval::run(&model, data.as_deref(), images.map(|n| n as usize))
        }
        Some(Command::Reproduce { paper, print, args }) => {
            reproduce::run(paper.as_deref(), print, &args)
        }
        Some(Command::Decompose { file, method, eps, rank, iters, output, force }) => {
            decompose::run(&decompose::Options { file, method, eps, rank, iters, output, force })
        }
    };
    if let Err(failure) = outcome {
        failure.exit();
    }
}
