//! Dimension factorization: splitting a size `n` into `d` factors (balanced, or dealt
//! round-robin as TSPC does) and choosing the row/column mode pairs of a tensorized matrix.

use crate::error::{Error, Result};

/// The prime factors of `n ≥ 1`, ascending, with multiplicity (`prime_factors(12) = [2, 2, 3]`).
///
/// ```
/// use tensorize::tensorization::prime_factors;
/// assert_eq!(prime_factors(360), vec![2, 2, 2, 3, 3, 5]);
/// assert_eq!(prime_factors(1), Vec::<usize>::new());
/// ```
pub fn prime_factors(n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut m = n;
    let mut p = 2usize;
    while m > 1 {
        // p ≤ m / p  ⇔  p² ≤ m, without overflow.
        if p > m / p {
            out.push(m);
            break;
        }
        while m % p == 0 {
            out.push(p);
            m /= p;
        }
        p += if p == 2 { 1 } else { 2 };
    }
    out
}

/// The largest number of factors accepted (a `usize` has at most 64 prime factors).
pub const MAX_FACTORS: usize = usize::BITS as usize;

/// Checks `n ≥ 1` and `1 ≤ d ≤ MAX_FACTORS`; returns the prime factors of `n`.
fn checked_primes(n: usize, d: usize) -> Result<Vec<usize>> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "n",
            value: "0".into(),
            expected: "a size of at least 1",
        });
    }
    if d == 0 || d > MAX_FACTORS {
        return Err(Error::InvalidParameter {
            name: "d",
            value: d.to_string(),
            expected: "between 1 and 64 factors (a usize has at most 64 prime factors)",
        });
    }
    Ok(prime_factors(n))
}

/// Refuses `d` factors of `n` when `n` has fewer than `d` prime factors (some factor would be 1).
fn require_enough_primes(n: usize, d: usize, primes: &[usize]) -> Result<()> {
    // n = 1 with d = 1 is the one split of 1 without padding: [1].
    if primes.len() < d && !(n == 1 && d == 1) {
        return Err(Error::InvalidParameter {
            name: "d",
            value: format!(
                "{d} (n = {n} has only {} prime factor(s) {primes:?}, so some factor would be 1)",
                primes.len()
            ),
            expected: "at most as many factors as n has prime factors (counted with multiplicity)",
        });
    }
    Ok(())
}

/// `d` factors `> 1` with product `n`, as equal as possible (`d = 1` gives `[n]`, also for
/// `n = 1`).
///
/// The prime factors of `n` are dealt **largest first**, each to the slot with the currently
/// smallest product (ties: the lowest slot); the result is sorted **descending**. This is the
/// greedy (LPT) balancing: `factorize_balanced(1024, 3) = [16, 8, 8]`,
/// `factorize_balanced(3136, 3) = [16, 14, 14]`.
///
/// ```
/// use tensorize::tensorization::factorize_balanced;
/// assert_eq!(factorize_balanced(64, 3)?, vec![4, 4, 4]);
/// assert_eq!(factorize_balanced(1024, 3)?, vec![16, 8, 8]);
/// assert_eq!(factorize_balanced(3136, 3)?, vec![16, 14, 14]);
/// assert!(factorize_balanced(7, 2).is_err()); // a prime cannot be split
/// assert_eq!(factorize_balanced(1, 1)?, vec![1]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0`, `d = 0` or `d > 64`, or `n` with fewer than `d`
/// prime factors (counted with multiplicity); use [`deal_balanced`] to pad with ones instead.
pub fn factorize_balanced(n: usize, d: usize) -> Result<Vec<usize>> {
    let primes = checked_primes(n, d)?;
    require_enough_primes(n, d, &primes)?;
    Ok(balanced(&primes, d))
}

/// As [`factorize_balanced`], but pads with factors 1 when `n` has fewer than `d` prime
/// factors (`deal_balanced(6, 3) = [3, 2, 1]`).
///
/// ```
/// use tensorize::tensorization::deal_balanced;
/// assert_eq!(deal_balanced(6, 3)?, vec![3, 2, 1]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0`, `d = 0` or `d > 64`.
pub fn deal_balanced(n: usize, d: usize) -> Result<Vec<usize>> {
    Ok(balanced(&checked_primes(n, d)?, d))
}

fn balanced(primes: &[usize], d: usize) -> Vec<usize> {
    let mut slots = vec![1usize; d];
    for &p in primes.iter().rev() {
        let mut best = 0;
        for (i, &s) in slots.iter().enumerate() {
            if s < slots[best] {
                best = i;
            }
        }
        slots[best] *= p;
    }
    slots.sort_unstable_by(|a, b| b.cmp(a));
    slots
}

/// `d` factors `> 1` with product `n`, dealt as TSPC does: the prime factors **ascending**,
/// prime `i` multiplied into slot `i mod d` (`d = 1` gives `[n]`, also for `n = 1`). The order is the dealing order (slot 0 first),
/// so `64 → [4, 4, 4]`, `32 → [4, 4, 2]`, `16 → [4, 2, 2]`.
///
/// ```
/// use tensorize::tensorization::factorize_round_robin;
/// assert_eq!(factorize_round_robin(64, 3)?, vec![4, 4, 4]);
/// assert_eq!(factorize_round_robin(32, 3)?, vec![4, 4, 2]);
/// assert_eq!(factorize_round_robin(12, 2)?, vec![6, 2]); // primes 2, 2, 3 dealt 0, 1, 0
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0`, `d = 0` or `d > 64`, or `n` with fewer than `d`
/// prime factors; use [`deal_round_robin`] to pad with ones instead.
pub fn factorize_round_robin(n: usize, d: usize) -> Result<Vec<usize>> {
    let primes = checked_primes(n, d)?;
    require_enough_primes(n, d, &primes)?;
    Ok(round_robin(&primes, d))
}

/// As [`factorize_round_robin`], but slots that receive no prime stay 1
/// (`deal_round_robin(3, 3) = [3, 1, 1]`, the 3 input channels of an RGB convolution).
///
/// ```
/// use tensorize::tensorization::deal_round_robin;
/// assert_eq!(deal_round_robin(3, 3)?, vec![3, 1, 1]);
/// assert_eq!(deal_round_robin(16, 3)?, vec![4, 2, 2]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `n = 0`, `d = 0` or `d > 64`.
pub fn deal_round_robin(n: usize, d: usize) -> Result<Vec<usize>> {
    Ok(round_robin(&checked_primes(n, d)?, d))
}

fn round_robin(primes: &[usize], d: usize) -> Vec<usize> {
    let mut slots = vec![1usize; d];
    for (i, &p) in primes.iter().enumerate() {
        slots[i % d] *= p;
    }
    slots
}

/// Checks that `given` is a factorization of `n`: non-empty, every factor `≥ 1`, product `n`.
///
/// ```
/// use tensorize::tensorization::check_factors;
/// assert!(check_factors(64, &[4, 4, 4]).is_ok());
/// assert!(check_factors(64, &[4, 4, 2]).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty list, a zero factor or a product other than `n`
/// (the product is computed with checked arithmetic).
pub fn check_factors(n: usize, given: &[usize]) -> Result<()> {
    let bad = |why: &str| Error::InvalidParameter {
        name: "factors",
        value: format!("{given:?} for n = {n} ({why})"),
        expected: "non-zero factors whose product is n",
    };
    if given.is_empty() {
        return Err(bad("no factors"));
    }
    if given.contains(&0) {
        return Err(bad("a factor is 0"));
    }
    match given.iter().try_fold(1usize, |acc, &f| acc.checked_mul(f)) {
        Some(p) if p == n => Ok(()),
        Some(p) => Err(bad(&format!("product {p}"))),
        None => Err(bad("product overflows")),
    }
}

/// Row and column modes `(m_1 … m_d)`, `(n_1 … n_d)` of a `rows × cols` matrix tensorized into
/// `d` mode pairs (as a TT-matrix, core `k` of size `m_k × n_k`): each side is
/// [`factorize_balanced`] (descending). With `allow_ones`, a side with fewer than `d` prime
/// factors is padded with ones ([`deal_balanced`]); without, that is an error.
///
/// ```
/// use tensorize::tensorization::matrix_modes;
/// let (m, n) = matrix_modes(1024, 1024, 5, false)?;
/// assert_eq!((m, n), (vec![4; 5], vec![4; 5]));
/// let (m, n) = matrix_modes(10, 4096, 3, true)?;
/// assert_eq!((m, n), (vec![5, 2, 1], vec![16, 16, 16]));
/// assert!(matrix_modes(10, 4096, 3, false).is_err());
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a zero size, `d = 0`, or (without `allow_ones`) a side with
/// fewer than `d` prime factors.
pub fn matrix_modes(
    rows: usize,
    cols: usize,
    d: usize,
    allow_ones: bool,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let split = |n| if allow_ones { deal_balanced(n, d) } else { factorize_balanced(n, d) };
    Ok((split(rows)?, split(cols)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive balanced split: all multisets of d factors ≥ 2 with product n, minimal max factor.
    fn best_max_factor(n: usize, d: usize) -> Option<usize> {
        fn rec(n: usize, d: usize, min: usize) -> Option<usize> {
            if d == 1 {
                return (n >= min).then_some(n);
            }
            let mut best: Option<usize> = None;
            let mut f = min;
            while f * f <= n {
                if n % f == 0 {
                    if let Some(m) = rec(n / f, d - 1, f) {
                        let m = m.max(f);
                        best = Some(best.map_or(m, |b: usize| b.min(m)));
                    }
                }
                f += 1;
            }
            best
        }
        rec(n, d, 2)
    }

    #[test]
    fn primes_multiply_back() {
        for n in 1..2000usize {
            let p = prime_factors(n);
            assert_eq!(p.iter().product::<usize>(), n);
            assert!(p.windows(2).all(|w| w[0] <= w[1]));
            assert!(p.iter().all(|&q| prime_factors(q) == vec![q]));
        }
    }

    #[test]
    fn balanced_is_near_optimal_on_powers_of_two_and_small_n() {
        // Greedy LPT is optimal for prime powers; check against the exhaustive split.
        for e in 1..12u32 {
            let n = 1usize << e;
            for d in 1..=e as usize {
                let f = factorize_balanced(n, d).unwrap();
                assert_eq!(Some(f[0]), best_max_factor(n, d), "n = {n}, d = {d}");
            }
        }
        for n in 2..300usize {
            let p = prime_factors(n).len();
            for d in 1..=p {
                let f = factorize_balanced(n, d).unwrap();
                assert_eq!(f.iter().product::<usize>(), n);
                assert!(f.iter().all(|&x| x > 1 || n == 1));
                assert!(f.windows(2).all(|w| w[0] >= w[1]));
            }
        }
    }

    #[test]
    fn too_many_modes_is_an_error_not_a_panic() {
        assert!(factorize_balanced(13, 2).is_err());
        assert!(factorize_round_robin(4, 3).is_err());
        assert!(factorize_balanced(0, 1).is_err());
        assert!(factorize_round_robin(8, 0).is_err());
        assert_eq!(factorize_balanced(1, 1).unwrap(), vec![1]);
        assert_eq!(deal_round_robin(1, 2).unwrap(), vec![1, 1]);
    }
}
