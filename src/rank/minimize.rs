//! Bounded scalar minimization (Brent's method, as in Forsythe–Malcolm–Moler `fmin`), crate-internal.

/// The minimizer of `f` on `[lo, hi]` found by Brent's method (golden-section steps safeguarding
/// parabolic interpolation). Stops when the bracket around the best point is narrower than
/// `2·(sqrt(eps)·|x| + rel_tol·(hi − lo)/3)`: the tolerance is **relative** to the bracket (and to
/// `x`), so tiny or huge scales work alike. `f` is never evaluated at the end points.
pub(crate) fn brent_bounded(f: impl Fn(f64) -> f64, lo: f64, hi: f64, rel_tol: f64) -> f64 {
    if hi <= lo {
        return lo;
    }
    let xatol = rel_tol * (hi - lo);
    let sqrt_eps = f64::EPSILON.sqrt();
    let golden = 0.5 * (3.0 - 5f64.sqrt());
    let (mut a, mut b) = (lo, hi);
    let mut xf = a + golden * (b - a);
    let (mut nfc, mut fulc) = (xf, xf);
    let (mut rat, mut e) = (0.0f64, 0.0f64);
    let mut fx = f(xf);
    let (mut fnfc, mut ffulc) = (fx, fx);
    let mut xm = 0.5 * (a + b);
    let mut tol1 = sqrt_eps * xf.abs() + xatol / 3.0;
    let mut tol2 = 2.0 * tol1;
    let sign = |v: f64| if v < 0.0 { -1.0 } else { 1.0 };
    for _ in 0..500 {
        if (xf - xm).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut golden_step = true;
        if e.abs() > tol1 {
            golden_step = false;
            let mut r = (xf - nfc) * (fx - ffulc);
            let mut q = (xf - fulc) * (fx - fnfc);
            let mut p = (xf - fulc) * q - (xf - nfc) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            r = e;
            e = rat;
            if p.abs() < (0.5 * q * r).abs() && p > q * (a - xf) && p < q * (b - xf) {
                rat = p / q;
                let x = xf + rat;
                if (x - a) < tol2 || (b - x) < tol2 {
                    rat = tol1 * sign(xm - xf);
                }
            } else {
                golden_step = true;
            }
        }
        if golden_step {
            e = if xf >= xm { a - xf } else { b - xf };
            rat = golden * e;
        }
        let x = xf + sign(rat) * rat.abs().max(tol1);
        let fu = f(x);
        if fu <= fx {
            if x >= xf {
                a = xf;
            } else {
                b = xf;
            }
            (fulc, ffulc) = (nfc, fnfc);
            (nfc, fnfc) = (xf, fx);
            (xf, fx) = (x, fu);
        } else {
            if x < xf {
                a = x;
            } else {
                b = x;
            }
            if fu <= fnfc || nfc == xf {
                (fulc, ffulc) = (nfc, fnfc);
                (nfc, fnfc) = (x, fu);
            } else if fu <= ffulc || fulc == xf || fulc == nfc {
                (fulc, ffulc) = (x, fu);
            }
        }
        xm = 0.5 * (a + b);
        tol1 = sqrt_eps * xf.abs() + xatol / 3.0;
        tol2 = 2.0 * tol1;
    }
    xf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_minimum_of_smooth_functions_at_any_scale() {
        for &scale in &[1e-12, 1e-3, 1.0, 1e6] {
            let c = 0.37 * scale;
            let x = brent_bounded(|x| (x - c) * (x - c), 0.0, scale, 1e-10);
            assert!((x - c).abs() <= 1e-7 * scale, "scale {scale}: {x} vs {c}");
            // A non-quadratic one: x − log x has its minimum at 1.
            let y =
                brent_bounded(|x| x / scale - (x / scale).ln(), 0.01 * scale, 5.0 * scale, 1e-10);
            assert!((y / scale - 1.0).abs() <= 1e-6, "scale {scale}: {y}");
        }
        // Minimum at the end of the bracket: converges to it.
        let x = brent_bounded(|x| x, 2.0, 3.0, 1e-10);
        assert!((x - 2.0).abs() < 1e-7);
        assert_eq!(brent_bounded(|x| x, 3.0, 3.0, 1e-10), 3.0);
    }
}
