//! Explicit parallelism: every heavy function takes a [`Par`]; this module picks sensible defaults.

pub use faer::Par;

/// Below this many floating-point operations a kernel runs sequentially: thread start-up would
/// cost more than it saves.
pub const PARALLEL_FLOP_THRESHOLD: f64 = 4.0e6;

/// The default parallelism for a kernel of about `flops` floating-point operations: sequential
/// for small problems, all rayon threads otherwise.
///
/// ```
/// use tensorize::par::{auto_par, Par};
/// assert!(matches!(auto_par(1.0e3), Par::Seq));
/// ```
pub fn auto_par(flops: f64) -> Par {
    if flops < PARALLEL_FLOP_THRESHOLD || rayon::current_num_threads() < 2 {
        Par::Seq
    } else {
        Par::rayon(0)
    }
}

/// The number of threads `par` stands for (1 for [`Par::Seq`]).
pub fn thread_count(par: Par) -> usize {
    match par {
        Par::Seq => 1,
        Par::Rayon(n) => n.get(),
    }
}
