//! EVBMF and the weakened VBMF rank on the test vectors of shared/notes/papers.md §5.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::Mat;
use tensorize::rank::{evbmf, evbmf_from_spectrum, evbmf_tau_bar, weakened_rank};
use tensorize::Scalar;

struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (-53f64).exp2()
    }
}

/// Y (L×M) = Σ_{k<R} 3(R−k)·sin(0.37(i+1)(k+1))·cos(0.23(j+1)(k+1)) + σ_n·√3·(2u_ij − 1).
fn test_matrix<T: Scalar>(l: usize, m: usize, r: usize, sigma_n: f64) -> Mat<T> {
    let mut rng = SplitMix64(42);
    let mut y = Mat::<T>::zeros(l, m);
    for i in 0..l {
        for j in 0..m {
            let mut v = 0.0;
            for k in 0..r {
                let (i1, j1, k1) = ((i + 1) as f64, (j + 1) as f64, (k + 1) as f64);
                v += 3.0 * (r - k) as f64 * (0.37 * i1 * k1).sin() * (0.23 * j1 * k1).cos();
            }
            v += sigma_n * 3f64.sqrt() * (2.0 * rng.uniform() - 1.0);
            y[(i, j)] = T::of(v);
        }
    }
    y
}

#[test]
fn splitmix_first_uniforms() {
    let mut rng = SplitMix64(42);
    assert_eq!(rng.uniform(), 0.7415648787718233);
    assert_eq!(rng.uniform(), 0.1599103928769201);
    assert_eq!(rng.uniform(), 0.27860113025513866);
}

#[test]
fn tau_bar_solves_its_equation() {
    for &alpha in &[1.0, 0.4, 64.0 / 576.0, 0.01] {
        let t = evbmf_tau_bar(alpha).unwrap();
        let psi = (t + 1.0).ln() + alpha * (t / alpha + 1.0).ln() - t;
        assert!(psi.abs() < 1e-12, "alpha {alpha}: psi {psi}");
    }
    assert!((evbmf_tau_bar(1.0).unwrap() - 2.5129).abs() < 1e-4);
    for bad in [0.0, -1.0, 1.5, f64::NAN] {
        assert!(evbmf_tau_bar(bad).is_err());
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn case_20x50<T: Scalar>(tol: f64) {
    let y = test_matrix::<T>(20, 50, 3, 1.0);
    for yy in [y.as_ref(), y.transpose()] {
        let e = evbmf(yy).unwrap();
        assert_eq!(e.rank, 3);
        let s2 = e.sigma2.as_f64();
        assert!(rel(s2, 1.08111) < 1e-4 + tol, "{} sigma2 {s2}", T::NAME);
        for (s, want) in e.spectrum.iter().zip([137.6837, 97.6145, 48.816, 10.2437]) {
            assert!(rel(s.as_f64(), want) < 1e-5 + tol, "{} s {s} vs {want}", T::NAME);
        }
        for (s, want) in e.shrunk.iter().zip([137.1336, 96.8379, 47.2554]) {
            assert!(rel(s.as_f64(), want) < 1e-5 + tol, "{} shrunk {s} vs {want}", T::NAME);
        }
        assert!(e.threshold.as_f64() < 48.816 && e.threshold.as_f64() > 10.2437);
        assert_eq!(weakened_rank(20, e.rank, 0.8, 8).unwrap(), 8);
    }
}

#[test]
fn evbmf_20x50_f64() {
    case_20x50::<f64>(0.0);
}

#[test]
fn evbmf_20x50_f32() {
    // f32 input rounding and an f32 SVD: errors of a few eps·sqrt(numel).
    case_20x50::<f32>(50.0 * f32::EPSILON as f64 * 1000f64.sqrt());
}

fn case_64x576<T: Scalar>(sigma_n: f64, want_sigma2: f64, tol: f64) -> usize {
    let y = test_matrix::<T>(64, 576, 5, sigma_n);
    let e = evbmf(y.as_ref()).unwrap();
    assert_eq!(e.rank, 5, "{} sigma_n {sigma_n}", T::NAME);
    let s2 = e.sigma2.as_f64();
    assert!(rel(s2, want_sigma2) < 1e-4 + tol, "{} sigma2 {s2} vs {want_sigma2}", T::NAME);
    // The spectrum route gives the same answer.
    let again = evbmf_from_spectrum(&e.spectrum, 64, 576).unwrap();
    assert_eq!(again, e);
    e.rank
}

#[test]
fn evbmf_64x576() {
    let tol32 = 50.0 * f32::EPSILON as f64 * (64.0f64 * 576.0).sqrt();
    let r = case_64x576::<f64>(1.0, 0.992677, 0.0);
    assert_eq!(weakened_rank(64, r, 0.8, 8).unwrap(), 16);
    case_64x576::<f64>(4.0, 15.8856, 0.0);
    case_64x576::<f32>(1.0, 0.992677, tol32);
    case_64x576::<f32>(4.0, 15.8856, tol32);
}

#[test]
fn pure_noise_has_rank_zero_and_its_variance() {
    for (seed, sd) in [(1u64, 1.0f64), (2, 0.01), (3, 300.0)] {
        let z = tensorize::Tensor::<f64>::random_normal(&[40, 100], seed).unwrap();
        let y = Mat::<f64>::from_fn(40, 100, |i, j| sd * z.as_slice()[i * 100 + j]);
        let e = evbmf(y.as_ref()).unwrap();
        assert_eq!(e.rank, 0, "sd {sd}");
        // σ² within 10% of the true variance (4000 samples), at every scale (relative tolerance).
        assert!(rel(e.sigma2, sd * sd) < 0.1, "sd {sd}: sigma2 {}", e.sigma2);
    }
}

#[test]
fn known_noise_reproduces_the_estimated_solution() {
    let y = test_matrix::<f64>(20, 50, 3, 1.0);
    let e = evbmf(y.as_ref()).unwrap();
    let k =
        tensorize::rank::evbmf_from_spectrum_known_noise(&e.spectrum, 20, 50, e.sigma2).unwrap();
    assert_eq!(k.rank, e.rank);
    for (a, b) in k.shrunk.iter().zip(&e.shrunk) {
        assert!(rel(*a, *b) < 1e-12);
    }
    // Shrinkage: every kept value shrinks, and the shrunk values stay descending.
    assert!(e.shrunk.iter().zip(&e.spectrum).all(|(s, g)| s < g && *s > 0.0));
    assert!(e.shrunk.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn musco_ranks_on_a_low_rank_kernel() {
    // A kernel [64, 32, 3, 3] whose mode-0 and mode-1 unfoldings have rank 4, plus small noise.
    let (o, i) = (64usize, 32usize);
    let noise = tensorize::Tensor::<f64>::random_normal(&[o, i, 3, 3], 9).unwrap();
    let x = tensorize::Tensor::<f64>::from_fn(&[o, i, 3, 3], |ix| {
        let mut v = 0.0;
        for r in 0..4 {
            let rf = (r + 1) as f64;
            v += 10.0
                * (0.3 * rf * (ix[0] + 1) as f64).sin()
                * (0.5 * rf * (ix[1] + 1) as f64).cos()
                * (0.7 * rf * (ix[2] * 3 + ix[3] + 1) as f64).sin();
        }
        v + 0.01 * noise.as_slice()[((ix[0] * i + ix[1]) * 3 + ix[2]) * 3 + ix[3]]
    })
    .unwrap();
    let r = tensorize::rank::musco_ranks(&x, 0.8, 8).unwrap();
    assert_eq!((r.vbmf_out, r.vbmf_in), (4, 4));
    assert_eq!(r.out_rank, weakened_rank(64, 4, 0.8, 8).unwrap()); // ⌊64 − 48⌋ = 16
    assert_eq!(r.in_rank, weakened_rank(32, 4, 0.8, 8).unwrap()); // ⌊32 − 22.4⌋ = 9
    assert_eq!((r.out_rank, r.in_rank), (16, 9));
    assert!(tensorize::rank::musco_ranks(&x, 1.5, 8).is_err());
}

#[test]
fn exact_low_rank_matrix_gives_its_rank() {
    // Rank 2 without noise: the σ² bracket's lower end is (numerically) 0; no panic, rank 2.
    fn check<T: Scalar>() {
        let y = Mat::<T>::from_fn(10, 20, |i, j| {
            let (i, j) = (i as f64, j as f64);
            T::of((0.3 * i).sin() * (0.2 * j).cos() + 0.5 * (0.7 * i).cos() * (0.4 * j).sin())
        });
        let e = evbmf(y.as_ref()).unwrap();
        assert_eq!(e.rank, 2, "{}", T::NAME);
        assert!(e.sigma2.as_f64() >= 0.0 && e.sigma2.as_f64() < 1e-3);
    }
    check::<f64>();
    check::<f32>();
}
