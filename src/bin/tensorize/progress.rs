//! Progress bars on stderr for work that takes more than a second (indicatif hides them when
//! stderr is not a terminal, so pipes, tests and `--json` consumers see none).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tensorize::nn::Dataset;
use tensorize::{Scalar, Tensor};

/// A bar of `len` steps titled `what`; the message names the current tensor.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} {wide_msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// A data set that advances `bar` by the samples of every batch read from it, so that a
/// library loop over it (`nn::evaluate`) shows its progress without knowing of the bar.
pub struct Counted<'a, D> {
    /// The data set read.
    pub data: &'a D,
    /// The bar advanced.
    pub bar: &'a ProgressBar,
}

impl<T: Scalar, D: Dataset<T>> Dataset<T> for Counted<'_, D> {
    fn len(&self) -> usize {
        self.data.len()
    }

    fn num_classes(&self) -> usize {
        self.data.num_classes()
    }

    fn batch(&self, indices: &[usize]) -> tensorize::Result<(Tensor<T>, Vec<usize>)> {
        let batch = self.data.batch(indices)?;
        self.bar.inc(indices.len() as u64);
        Ok(batch)
    }
}
