//! How the command line fails: one line on stderr and an exit code that says which side was at
//! fault (docs/cli.md lists them; `tensorize --help` repeats them).

use std::fmt::Display;

use tensorize::Error;

/// Bad options or arguments (clap uses the same code for its own usage errors).
pub const USAGE: i32 = 2;
/// An input file that is missing, unreadable, corrupt, or lacks a tensor asked for.
pub const INPUT: i32 = 3;
/// A decomposition or rank rule failed (no convergence, NaN/Inf in a weight, no rank fits).
pub const NUMERICAL: i32 = 4;
/// The output cannot be written: it exists (without `--force`), it is the input, its folder is
/// missing, or the disk refused the write. Nothing is left behind.
pub const OUTPUT: i32 = 5;
/// A reproduction's `cargo bench` failed (`tensorize reproduce`; its own output says why).
pub const REPRODUCTION: i32 = 6;
/// Stopped by Ctrl-C (128 + SIGINT): no output file, no temporary file.
pub const INTERRUPTED: i32 = 130;

/// The text of `--help`'s last section.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 success, 2 usage (bad options, a --layers \
pattern that matches nothing), 3 input (missing, unreadable or corrupt file, missing tensor), \
4 numerical (a decomposition failed, NaN/Inf in a weight), 5 output (OUT exists without \
--force, OUT is the input, missing folder, failed write), 6 a reproduction's cargo bench failed, 130 interrupted (nothing written).";

/// A failed command: its exit code and its one-line message.
#[derive(Debug)]
pub struct Failure {
    /// The process exit code.
    pub code: i32,
    /// What went wrong, naming the file and the tensor where there is one.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: i32, message: impl Display) -> Self {
        Self { code, message: message.to_string() }
    }

    /// A usage error.
    pub fn usage(message: impl Display) -> Self {
        Self::new(USAGE, message)
    }

    /// Prints the message on one line (any line break in a library message becomes a space)
    /// and exits with the code.
    pub fn exit(self) -> ! {
        let line = self.message.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("error: {line}");
        std::process::exit(self.code)
    }
}

/// The exit code for a library error met while doing `stage` work.
fn code_of(e: &Error, stage: i32) -> i32 {
    match e {
        Error::OutputExists { .. } | Error::OutputIsInput { .. } => OUTPUT,
        Error::TensorNotFound { .. } | Error::Format { .. } => INPUT,
        Error::Io { .. } => stage,
        Error::NonFinite { .. } | Error::NoConvergence { .. } | Error::IllConditioned { .. } => {
            NUMERICAL
        }
        _ => stage,
    }
}

/// `file: message`, unless the library's message names the file already.
fn naming(file: &std::path::Path, e: &Error) -> String {
    let (file, message) = (file.display().to_string(), e.to_string());
    if message.contains(&file) {
        message
    } else {
        format!("{file}: {message}")
    }
}

/// An error while reading `file` (exit code 3 unless the error says otherwise).
pub fn reading(file: &std::path::Path) -> impl Fn(Error) -> Failure + '_ {
    move |e| Failure::new(code_of(&e, INPUT), naming(file, &e))
}

/// An error while decomposing tensor `name` of `file` (exit code 4 unless the error says
/// otherwise).
pub fn decomposing<'a>(file: &'a std::path::Path, name: &'a str) -> impl Fn(Error) -> Failure + 'a {
    move |e| {
        Failure::new(code_of(&e, NUMERICAL), format!("{}: tensor {name:?}: {e}", file.display()))
    }
}

/// An error while writing `file` (exit code 5).
pub fn writing(file: &std::path::Path) -> impl Fn(Error) -> Failure + '_ {
    move |e| Failure::new(OUTPUT, naming(file, &e))
}
