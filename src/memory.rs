//! The memory limit: a request for a buffer larger than it is refused with
//! [`Error::MemoryLimit`](crate::Error::MemoryLimit) naming the bytes asked for, before
//! anything is allocated, instead of an abort (or the kernel's OOM killer) halfway through.
//!
//! The limit is, in order of precedence:
//! 1. what [`set_limit`] set;
//! 2. the environment variable `TENSORIZE_MEMORY_LIMIT` (read once): a number of bytes, or
//!    `none` (a value that is neither, such as `16G`, is ignored: the default applies);
//! 3. otherwise the memory the operating system says is available right now (`MemAvailable`
//!    in `/proc/meminfo` on Linux; no limit elsewhere).
//!
//! Every tensor buffer the crate allocates goes through one door (`error::reserve`) that
//! checks it; so do the up-front working-memory estimates of the operations that build a
//! large result from small inputs (a format's `to_dense`, Kronecker products).

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable read for the limit when [`set_limit`] was not called.
pub const LIMIT_ENV: &str = "TENSORIZE_MEMORY_LIMIT";

/// What the limit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLimit {
    /// The memory available on the machine when the buffer is asked for (the default).
    Available,
    /// A fixed number of bytes.
    Bytes(u64),
    /// No limit: only the allocator can refuse (as [`Error::OutOfMemory`](crate::Error::OutOfMemory)).
    Unlimited,
}

// The limit in one atomic word: `UNSET` until first use, then `AVAILABLE`, `UNLIMITED`, or a
// byte count below both.
const UNSET: u64 = u64::MAX;
const UNLIMITED: u64 = u64::MAX - 1;
const AVAILABLE: u64 = u64::MAX - 2;
static LIMIT: AtomicU64 = AtomicU64::new(UNSET);

/// Buffers smaller than this are not checked against the available memory (reading it costs
/// a few microseconds; a refusal of a small buffer is left to the allocator). A fixed limit
/// from [`set_limit`] or the environment is checked for every buffer.
const AVAILABLE_CHECK_FROM: u64 = 64 << 20;

fn encode(limit: MemoryLimit) -> u64 {
    match limit {
        MemoryLimit::Available => AVAILABLE,
        MemoryLimit::Unlimited => UNLIMITED,
        MemoryLimit::Bytes(b) => b.min(AVAILABLE - 1),
    }
}

fn decode(word: u64) -> MemoryLimit {
    match word {
        AVAILABLE => MemoryLimit::Available,
        UNLIMITED | UNSET => MemoryLimit::Unlimited,
        b => MemoryLimit::Bytes(b),
    }
}

/// Parses the environment variable's value: bytes (`17179869184`), or `none`.
fn parse_env(value: &str) -> Option<MemoryLimit> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") {
        return Some(MemoryLimit::Unlimited);
    }
    v.parse::<u64>().ok().map(MemoryLimit::Bytes)
}

/// Sets the limit for the whole process (every thread), overriding the environment.
///
/// ```
/// use tensorize::memory::{limit, set_limit, MemoryLimit};
/// use tensorize::{Error, Tensor};
/// let before = limit();
/// set_limit(MemoryLimit::Bytes(1 << 20));
/// let err = Tensor::<f64>::zeros(&[1024, 1024]).unwrap_err(); // 8 MiB
/// assert!(matches!(err, Error::MemoryLimit { bytes: 8_388_608, limit: 1_048_576, .. }));
/// set_limit(before);
/// # Ok::<(), tensorize::Error>(())
/// ```
pub fn set_limit(limit: MemoryLimit) {
    LIMIT.store(encode(limit), Ordering::Relaxed);
}

/// The limit in force (see the module documentation for where it comes from).
pub fn limit() -> MemoryLimit {
    let word = LIMIT.load(Ordering::Relaxed);
    if word != UNSET {
        return decode(word);
    }
    let from_env = std::env::var(LIMIT_ENV).ok().and_then(|v| parse_env(&v));
    let limit = from_env.unwrap_or(MemoryLimit::Available);
    // A concurrent `set_limit` wins over the default read here.
    let _ = LIMIT.compare_exchange(UNSET, encode(limit), Ordering::Relaxed, Ordering::Relaxed);
    decode(LIMIT.load(Ordering::Relaxed))
}

/// The bytes the operating system says are available now, if it says.
pub fn available_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib.saturating_mul(1024))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// `Some(limit)` if a buffer of `bytes` is over the limit in force, `None` if it may be
/// allocated.
pub(crate) fn over_limit(bytes: u64) -> Option<u64> {
    let limit = match limit() {
        MemoryLimit::Unlimited => return None,
        MemoryLimit::Bytes(b) => b,
        MemoryLimit::Available if bytes < AVAILABLE_CHECK_FROM => return None,
        MemoryLimit::Available => available_bytes()?,
    };
    (bytes > limit).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_value_is_bytes_or_none() {
        assert_eq!(parse_env(" 1024 "), Some(MemoryLimit::Bytes(1024)));
        assert_eq!(parse_env("NONE"), Some(MemoryLimit::Unlimited));
        assert_eq!(parse_env("16G"), None);
    }

    #[test]
    fn every_limit_survives_the_atomic_word() {
        for l in [
            MemoryLimit::Available,
            MemoryLimit::Unlimited,
            MemoryLimit::Bytes(0),
            MemoryLimit::Bytes(1 << 40),
        ] {
            assert_eq!(decode(encode(l)), l);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_reports_some_available_memory() {
        assert!(available_bytes().is_some_and(|b| b > 0));
    }
}
