//! Every decomposition and rank-selection entry point on a small decoded tensor with decoded
//! parameters. A non-finite input must be refused; every `Ok` is checked (shape, finite
//! reconstruction, reported error = recomputed error within a scaled tolerance, ε honoured).

use tensorize::decomp::{CpAls, CpInit, Hooi, Hosvd, PartialHooi, TrSvd, TtSvd, TuckerInit};
use tensorize::rank::{self, LayerSpectrum};
use tensorize::tensorization::{Compress, Method, WeightShape};
use tensorize::{Budget, Factorized, FitReport, Scalar, Tensor};

use super::check::{self, eps, iterations, rank};
use super::ByteReader;

/// Decodes the precision, then one entry point and its arguments.
pub fn decompositions(data: &[u8]) {
    let mut r = ByteReader::new(data);
    if r.byte() % 2 == 0 {
        one::<f64>(&mut r);
    } else {
        one::<f32>(&mut r);
    }
}

/// A budget: valid fractions and factors, and 0, NaN, > 1, counts of 0.
fn budget(r: &mut ByteReader<'_>) -> Budget {
    match r.below(8) {
        0 => Budget::KeepFraction(0.5),
        1 => Budget::KeepFraction(1.0),
        2 => Budget::KeepFraction(f64::NAN),
        3 => Budget::KeepFraction(0.0),
        4 => Budget::CompressBy(3.0),
        5 => Budget::CompressBy(0.5),
        6 => Budget::Params(r.below(64)),
        _ => Budget::Flops(r.below(64)),
    }
}

fn one<T: Scalar>(r: &mut ByteReader<'_>) {
    let which = r.below(16);
    let x = check::tensor::<T>(r);
    let finite = check::finite(&x);
    let d = x.ndim();
    let ranks: Vec<usize> = (0..d).map(|_| rank(r)).collect();
    let name = |s: &str| format!("{s} on {:?} ({})", x.shape(), T::NAME);
    let refused = |what: &str, ok: bool| {
        assert!(!ok || finite, "{}: accepted a non-finite input", name(what));
    };
    match which {
        0 | 1 => {
            let e = eps(r);
            let h = if which == 0 { Hosvd::with_error(e) } else { Hosvd::new(&ranks) };
            let res = h.sequential(r.byte() % 2 == 0).fit(&x);
            refused("HOSVD", res.is_ok());
            if let Ok((t, rep)) = res {
                let what = name("HOSVD");
                let rec = tucker(&what, &x, &t, &rep);
                if which == 0 {
                    // The HOSVD bound: truncating each mode to ε/√d gives ‖X − X̂‖ ≤ ε‖X‖
                    // (for the format; its dense form also rounds to the subnormal grid).
                    let tol =
                        check::tolerance::<T>(x.numel(), rec) + check::underflow_tolerance(&x);
                    assert!(rec <= e + tol, "{what}: {rec} > ε = {e}");
                } else {
                    assert!(t.ranks().iter().zip(&ranks).all(|(a, b)| a <= b), "{what}: ranks");
                }
            }
        }
        2 => {
            let (max_iter, tol) = iterations(r);
            let init = [TuckerInit::Hosvd, TuckerInit::StHosvd, TuckerInit::Random][r.below(3)];
            let res = Hooi::<T>::new(&ranks)
                .max_iter(max_iter)
                .tol(tol)
                .init(init)
                .seed(u64::from(r.byte()))
                .fit(&x);
            refused("HOOI", res.is_ok());
            if let Ok((t, rep)) = res {
                tucker(&name("HOOI"), &x, &t, &rep);
                assert!(rep.iterations <= max_iter.max(1));
            }
        }
        3 => {
            let modes: Vec<usize> = (0..1 + r.below(3)).map(|_| r.below(5)).collect();
            let mode_ranks: Vec<usize> = modes.iter().map(|_| rank(r)).collect();
            let (max_iter, tol) = iterations(r);
            let res =
                PartialHooi::<T>::new(&modes, &mode_ranks).max_iter(max_iter).tol(tol).fit(&x);
            refused("partial Tucker", res.is_ok());
            if let Ok((t, rep)) = res {
                factorized(&name("partial Tucker"), &x, &t, &rep);
            }
            let res = tensorize::decomp::tucker2(&x, rank(r), rank(r));
            refused("tucker2", res.is_ok());
            if let Ok((t, rep)) = res {
                factorized(&name("tucker2"), &x, &t, &rep);
            }
        }
        4 => {
            let (max_iter, tol) = iterations(r);
            let init = if r.byte() % 2 == 0 { CpInit::Svd } else { CpInit::Random };
            let mut als = CpAls::<T>::new(rank(r))
                .max_iter(max_iter)
                .tol(tol)
                .init(init)
                .seed(u64::from(r.byte()))
                .line_search(r.byte() % 2 == 0);
            if r.byte() % 3 == 0 {
                als = als.l2([0.0, 1e-3, -1.0, f64::NAN][r.below(4)]);
            }
            let res = als.fit(&x);
            refused("CP-ALS", res.is_ok());
            if let Ok((cp, rep)) = res {
                factorized(&name("CP-ALS"), &x, &cp, &rep);
                assert!(rep.iterations <= max_iter.max(1));
            }
        }
        5 | 6 => {
            let e = eps(r);
            let mut tt = TtSvd::new().eps(e);
            if which == 6 {
                tt = tt.max_rank(rank(r));
            }
            let res = tt.fit(&x);
            refused("TT-SVD", res.is_ok());
            if let Ok((t, rep)) = res {
                let what = name("TT-SVD");
                let rec = factorized(&what, &x, &t, &rep);
                if which == 5 {
                    let tol =
                        check::tolerance::<T>(x.numel(), rec) + check::underflow_tolerance(&x);
                    assert!(rec <= e + tol, "{what}: {rec} > ε = {e}");
                }
            }
        }
        7 => {
            let e = eps(r);
            let mut tr = TrSvd::new().eps(e);
            if r.byte() % 2 == 0 {
                tr = tr.max_rank(rank(r));
            }
            if r.byte() % 2 == 0 {
                tr = tr.first_rank(rank(r));
            }
            let res = tr.fit(&x);
            refused("TR-SVD", res.is_ok());
            if let Ok((t, rep)) = res {
                factorized(&name("TR-SVD"), &x, &t, &rep);
            }
        }
        8 => tt_matrix(r, &x, finite),
        9 | 10 => tensorized(r, &x, which == 9),
        11 => {
            // Rank by ε from singular values (any order, any sign) and from a matrix.
            let s: Vec<T> = x.as_slice().to_vec();
            let e = eps(r);
            if let Ok(k) = rank::svd_rank_for_error(&s, e) {
                assert!(k <= s.len(), "svd_rank_for_error: {k} > {}", s.len());
            }
            if let Ok(m) = x.clone().reshape(&[x.shape()[0], x.numel() / x.shape()[0]]) {
                let res = m.as_mat().map(|a| rank::matrix_rank_for_error(a, e));
                if let Ok(Ok(k)) = res {
                    assert!(finite && k <= m.shape()[0].min(m.shape()[1]));
                }
            }
        }
        12 => {
            let b = budget(r);
            if let Ok(k) = rank::cp_rank_for_budget(x.shape(), b) {
                assert!(k >= 1);
            }
            if let Ok(spectra) = rank::tucker_spectra(&x) {
                assert!(finite && spectra.len() == d);
                if let Ok(rs) = rank::tucker_ranks_for_budget(&spectra, x.shape(), b) {
                    assert!(rs.iter().zip(x.shape()).all(|(&k, &n)| k >= 1 && k <= n));
                }
            }
            if let Ok(spectra) = rank::tt_bond_spectra(&x) {
                assert!(finite);
                if let Ok(rs) = rank::tt_ranks_for_budget(&spectra, x.shape(), b) {
                    assert_eq!(rs.len(), d.saturating_sub(1));
                }
            }
            if let Ok((t, rep)) = rank::tucker_for_budget(&x, b) {
                tucker(&name("tucker_for_budget"), &x, &t, &rep);
            }
            if let Ok((t, rep)) = rank::tt_for_budget(&x, b) {
                factorized(&name("tt_for_budget"), &x, &t, &rep);
            }
        }
        13 => {
            // EVBMF and MUSCO on the mode-0 unfolding / the tensor itself.
            if let Ok(m) = tensorize::tenalg::unfold(&x, 0) {
                if let Ok(Ok(e)) = m.as_mat().map(rank::evbmf) {
                    assert!(finite && e.rank <= m.shape()[0].min(m.shape()[1]));
                    assert!(e.shrunk.iter().all(|v| v.as_f64().is_finite()));
                }
            }
            let factor = [0.5, 0.0, 1.0, -1.0, f64::NAN, 2.0][r.below(6)];
            if let Ok(m) = rank::musco_ranks(&x, factor, r.below(4)) {
                assert!(finite && m.out_rank <= x.shape()[0] && m.in_rank <= x.shape()[1]);
            }
        }
        _ => {
            // Whole-model allocation over layers whose spectra are decoded values.
            let layers: Vec<LayerSpectrum> = (0..x.shape()[0])
                .map(|l| {
                    let s =
                        x.select(0, l).map(|s| s.as_slice().iter().map(|v| v.as_f64()).collect());
                    LayerSpectrum::new(
                        format!("l{l}"),
                        s.unwrap_or_default(),
                        r.below(9),
                        r.below(99),
                    )
                    .min_rank(r.below(3))
                    .max_rank(r.below(8))
                    .weight([1.0, 0.0, -1.0, f64::NAN][r.below(4)])
                    .flops_per_rank(r.below(5))
                })
                .collect();
            let b = budget(r);
            if let Ok(a) = rank::allocate(&layers, b) {
                assert_eq!(a.ranks.len(), layers.len());
                assert!(a.total_error.is_finite() && a.gap_bound.is_finite());
                assert!(a.ranks.iter().zip(&layers).all(|(&k, l)| k <= l.max_rank));
            }
            if let Ok(a) = rank::allocate_for_error(&layers, eps(r)) {
                assert_eq!(a.ranks.len(), layers.len());
                assert!(a.total_error.is_finite());
            }
        }
    }
}

/// Checks a fitted format: reconstruction against the report and against `rel_error`.
fn factorized<T: Scalar>(what: &str, x: &Tensor<T>, f: &dyn Factorized<T>, rep: &FitReport) -> f64 {
    assert_eq!(f.shape(), x.shape(), "{what}: shape");
    let dense = f.to_dense().expect("a fitted small format densifies");
    let rec = check::fit(what, x, &dense, rep.rel_error);
    let own = f.rel_error(x).expect("rel_error against the fitted tensor").as_f64();
    let tol = check::tolerance::<T>(x.numel(), rec) + check::underflow_tolerance(x);
    assert!((own - rec).abs() <= tol, "{what}: rel_error() {own:e}, recomputed {rec:e}");
    assert!(f.norm().as_f64().is_finite(), "{what}: norm");
    rec
}

fn tucker<T: Scalar>(
    what: &str,
    x: &Tensor<T>,
    t: &tensorize::format::TuckerTensor<T>,
    rep: &FitReport,
) -> f64 {
    assert!(t.ranks().iter().zip(x.shape()).all(|(&k, &n)| k >= 1 && k <= n), "{what}: ranks");
    factorized(what, x, t, rep)
}

/// `TtSvd::fit_matrix` on the tensor viewed as a matrix, with decoded row and column modes.
fn tt_matrix<T: Scalar>(r: &mut ByteReader<'_>, x: &Tensor<T>, finite: bool) {
    let split = r.below(x.ndim() + 1);
    let rows: usize = x.shape()[..split].iter().product();
    let w = x.clone().reshape(&[rows, x.numel() / rows]).expect("same element count");
    let modes =
        |r: &mut ByteReader<'_>| -> Vec<usize> { (0..r.below(4)).map(|_| r.below(7)).collect() };
    let (row_modes, col_modes) = (modes(r), modes(r));
    let res = TtSvd::new().eps(eps(r)).fit_matrix(&w, &row_modes, &col_modes);
    assert!(res.is_err() || finite, "fit_matrix accepted a non-finite input");
    let Ok((m, rep)) = res else { return };
    assert_eq!((m.nrows(), m.ncols()), (w.shape()[0], w.shape()[1]));
    assert_eq!((m.row_modes(), m.col_modes()), (row_modes, col_modes));
    let dense = m.to_dense().expect("a small TT-matrix densifies");
    let rec = check::fit("TtSvd::fit_matrix", &w, &dense, rep.rel_error);
    let own = m.rel_error(&w).expect("same shape").as_f64();
    let tol = check::tolerance::<T>(w.numel(), rec) + check::underflow_tolerance(&w);
    assert!((own - rec).abs() <= tol, "TtMatrix::rel_error");
    let (i, j) = (r.below(w.shape()[0]), r.below(w.shape()[1]));
    let e = m.get(i, j).expect("an index inside the matrix").as_f64();
    let want = dense.get(&[i, j]).expect("an index inside the matrix").as_f64();
    let scale = dense.as_slice().iter().fold(0.0f64, |a, v| a.max(v.as_f64().abs()));
    assert!(
        (e - want).abs()
            <= 1e2 * T::epsilon().as_f64() * scale * m.ranks().iter().product::<usize>() as f64,
        "TtMatrix::get({i}, {j}) = {e}, dense {want}"
    );
}

/// A linear or conv weight made of the tensor's values, planned and compressed by a decoded
/// method with decoded ranks or budget.
fn tensorized<T: Scalar>(r: &mut ByteReader<'_>, x: &Tensor<T>, conv: bool) {
    let dims: Vec<usize> = if conv {
        let k = 1 + r.below(3);
        let (out, cin) = (1 + r.below(6), 1 + r.below(6));
        vec![out, cin, k, k]
    } else {
        vec![1 + r.below(8), 1 + r.below(8)]
    };
    let n: usize = dims.iter().product();
    let data = (0..n).map(|i| x.as_slice()[i % x.numel()]).collect();
    let w = Tensor::from_vec(&dims, data).expect("decoded weight");
    let factors = r.below(4);
    let method = Method::all(factors)[r.below(7)];
    let mut c = Compress::new(method);
    c = if r.byte() % 2 == 0 {
        let ranks: Vec<usize> = (0..r.below(6)).map(|_| rank(r)).collect();
        c.ranks(&ranks)
    } else {
        c.budget(budget(r))
    };
    let (max_iter, tol) = iterations(r);
    c = c.max_iter(max_iter).tol(tol).seed(u64::from(r.byte())).fill_budget(r.byte() % 2 == 0);
    let shape = WeightShape::from_dims(&dims).expect("a 2- or 4-way weight");
    let plan = c.plan(&shape);
    let res = c.fit(&w);
    let name = format!("{} on {dims:?}", method.name());
    assert!(res.is_err() || check::finite(&w), "{name}: accepted a non-finite weight");
    let Ok(cw) = res else { return };
    assert!(plan.is_ok(), "{name}: compressed without a plan");
    // The plan's ranks are caps: on rank-deficient weights (the decoded values repeat) the
    // fit may keep fewer (found by this target: TT on [8, 8] kept 16 of 32 parameters).
    assert!(cw.num_params() <= cw.plan().params, "{name}: more parameters than planned");
    let dense = cw.reconstruct().expect("a small weight reconstructs");
    check::fit(&name, &w, &dense, cw.rel_error());
}
