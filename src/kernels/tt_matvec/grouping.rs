//! Which neighbouring cores a plan contracts as one step.
//!
//! Contracting cores `k..l` as one merged core costs, per sample and left to right,
//!
//! `2 · (∏_{t<k} out_t) · (∏_{t≥l} in_t) · r_k · (∏_{k≤t<l} in_t) · (∏_{k≤t<l} out_t) · r_l`
//!
//! flops, which depends on the group's ends only, so the cheapest split of the cores into
//! consecutive groups is a shortest path over the `d + 1` boundaries. With large ranks the end
//! groups pay: 4096² as 8⁴ × 8⁴ at rank 16 costs 35.7 Mflop per sample core by core and 16.8
//! Mflop as two merged pairs, because merging removes the rank-16 bond whose GEMMs dominate.

use std::ops::Range;

use super::TtDirection;

/// A merged core holds at most this many numbers (1 MiB of f32): the plan keeps it next to the
/// original cores, and a group that large would rather be a dense block.
pub(super) const MAX_MERGED: f64 = (1 << 18) as f64;

/// Merging trades the small-core kernel (`cin, cout ≤ 64`, fused with the copy) for larger
/// faer GEMMs, so it is chosen only when it at least halves the flops.
pub(super) const MIN_GAIN: f64 = 2.0;

/// The flops per sample of contracting `groups` (consecutive ranges in core order) in
/// `direction`; arguments as for [`cheapest`].
pub(super) fn flops(
    ins: &[usize],
    outs: &[usize],
    ranks: &[usize],
    direction: TtDirection,
    groups: &[Range<usize>],
) -> f64 {
    let p = |v: &[usize]| v.iter().map(|&x| x as f64).product::<f64>();
    let step = |g: &Range<usize>| {
        let (a, b) = (g.start, g.end);
        let (in_g, out_g) = (p(&ins[a..b]), p(&outs[a..b]));
        let rows = match direction {
            TtDirection::LeftToRight => p(&outs[..a]) * p(&ins[b..]),
            TtDirection::RightToLeft => p(&ins[..a]) * p(&outs[b..]),
        };
        2.0 * rows * ranks[a] as f64 * in_g * out_g * ranks[b] as f64
    };
    groups.iter().map(step).sum()
}

/// The cheapest split of the cores into groups for `direction` under [`MAX_MERGED`], as ranges
/// in core order, with its flops per sample; `ins`/`outs` are the input/output mode sizes and
/// `ranks` the `d + 1` bond dimensions `r_0, …, r_d`.
pub(super) fn cheapest(
    ins: &[usize],
    outs: &[usize],
    ranks: &[usize],
    direction: TtDirection,
) -> (Vec<Range<usize>>, f64) {
    let d = ins.len();
    debug_assert!(outs.len() == d && ranks.len() == d + 1);
    // The cores between contraction positions i < j (the first i and j cores contracted).
    let cores = |i: usize, j: usize| match direction {
        TtDirection::LeftToRight => i..j,
        TtDirection::RightToLeft => d - j..d - i,
    };
    let numbers = |v: &[usize]| v.iter().map(|&x| x as f64).product::<f64>();
    // best[j]: the cheapest cost of the first j cores contracted, reached from position from[j].
    let mut best = vec![f64::INFINITY; d + 1];
    let mut from = vec![0; d + 1];
    best[0] = 0.0;
    for j in 1..=d {
        for i in 0..j {
            let g = cores(i, j);
            let size = (ranks[g.start] * ranks[g.end]) as f64
                * numbers(&ins[g.clone()])
                * numbers(&outs[g.clone()]);
            if g.len() > 1 && size > MAX_MERGED {
                continue;
            }
            let cost = best[i] + flops(ins, outs, ranks, direction, &[g]);
            if cost < best[j] {
                best[j] = cost;
                from[j] = i;
            }
        }
    }
    let mut groups = Vec::new();
    let mut j = d;
    while j > 0 {
        groups.push(cores(from[j], j));
        j = from[j];
    }
    if direction == TtDirection::LeftToRight {
        groups.reverse();
    }
    (groups, best[d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_sixteen_8x8_merges_the_end_pairs_in_both_directions() {
        let (m, r) = ([8; 4], [1, 16, 16, 16, 1]);
        for dir in [TtDirection::LeftToRight, TtDirection::RightToLeft] {
            let (groups, flops) = cheapest(&m, &m, &r, dir);
            assert_eq!(groups, vec![0..2, 2..4]);
            assert_eq!(flops, 2.0 * 2.0 * 64.0 * 64.0 * 64.0 * 16.0);
        }
    }

    #[test]
    fn rank_one_keeps_every_core_alone_and_sizes_cap_the_groups() {
        // Kronecker structure: merging never saves anything.
        let (groups, flops) =
            cheapest(&[3, 4, 5], &[2, 2, 2], &[1, 1, 1, 1], TtDirection::LeftToRight);
        assert_eq!(groups, vec![0..1, 1..2, 2..3]);
        assert_eq!(flops, 2.0 * (3.0 * 2.0 * 20.0 + 2.0 * 4.0 * 2.0 * 5.0 + 4.0 * 5.0 * 2.0));
        // A merged pair of 1 × 1024 × 1024 × r would pass the size cap.
        let (groups, _) = cheapest(&[1024; 2], &[1024; 2], &[1, 64, 1], TtDirection::LeftToRight);
        assert_eq!(groups, vec![0..1, 1..2]);
    }

    /// The flops of `groups` in `direction`, straight from the step shapes (rows · cin · cout).
    fn cost(
        ins: &[usize],
        outs: &[usize],
        r: &[usize],
        dir: TtDirection,
        groups: &[Range<usize>],
    ) -> f64 {
        let p = |v: &[usize]| v.iter().map(|&x| x as f64).product::<f64>();
        groups
            .iter()
            .map(|g| {
                let (a, b) = (g.start, g.end);
                let (in_g, out_g) = (p(&ins[a..b]), p(&outs[a..b]));
                let (rows, cin, cout) = match dir {
                    TtDirection::LeftToRight => {
                        (p(&outs[..a]) * p(&ins[b..]), r[a] as f64 * in_g, out_g * r[b] as f64)
                    }
                    TtDirection::RightToLeft => {
                        (p(&ins[..a]) * p(&outs[b..]), r[b] as f64 * in_g, out_g * r[a] as f64)
                    }
                };
                2.0 * rows * cin * cout
            })
            .sum()
    }

    #[test]
    fn the_split_is_the_cheapest_of_all_splits_in_both_directions() {
        let cases: [(&[usize], &[usize], &[usize]); 4] = [
            (&[4, 4, 4, 4], &[64, 4, 2, 2], &[1, 8, 8, 8, 1]),
            (&[2, 7, 8, 8, 7], &[4, 4, 4, 4, 4], &[1, 4, 9, 4, 6, 1]),
            (&[4; 5], &[4; 5], &[1, 8, 8, 8, 8, 1]),
            (&[3, 1, 5], &[2, 6, 1], &[1, 3, 2, 1]),
        ];
        for (ins, outs, r) in cases {
            let d = ins.len();
            for dir in [TtDirection::LeftToRight, TtDirection::RightToLeft] {
                let (groups, flops) = cheapest(ins, outs, r, dir);
                assert_eq!(groups.first().map(|g| g.start), Some(0));
                assert_eq!(groups.last().map(|g| g.end), Some(d));
                assert!(groups.windows(2).all(|w| w[0].end == w[1].start));
                assert!((cost(ins, outs, r, dir, &groups) - flops).abs() <= 1e-9 * flops);
                assert!((super::flops(ins, outs, r, dir, &groups) - flops).abs() <= 1e-9 * flops);
                // Every split: bit c of `mask` cuts between cores c and c + 1.
                let brute = (0..1u32 << (d - 1))
                    .map(|mask| {
                        let mut cuts = vec![0];
                        cuts.extend((1..d).filter(|c| mask & (1 << (c - 1)) != 0));
                        cuts.push(d);
                        cuts.windows(2).map(|w| w[0]..w[1]).collect::<Vec<_>>()
                    })
                    .filter(|g| {
                        g.iter().all(|g| {
                            let size = r[g.start]
                                * ins[g.clone()].iter().product::<usize>()
                                * outs[g.clone()].iter().product::<usize>()
                                * r[g.end];
                            g.len() == 1 || size as f64 <= MAX_MERGED
                        })
                    })
                    .map(|g| cost(ins, outs, r, dir, &g))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    (brute - flops).abs() <= 1e-9 * brute,
                    "{ins:?} {dir:?}: {flops} vs {brute}"
                );
            }
        }
    }
}
