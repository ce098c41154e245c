#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The data-free parameter counts and TT ranks of `format::*::params_for` /
//! `TtTensor::svd_ranks_for` against real decompositions of random (generic) tensors.

use proptest::prelude::*;
use tensorize::decomp::{cp_als, partial_tucker, tt_svd_rank, TrSvd, TtSvd};
use tensorize::format::{CpTensor, Factorized, PartialTucker, TrTensor, TtTensor};
use tensorize::{Error, Tensor};

#[test]
fn counts_equal_num_params_of_real_decompositions() {
    let x = Tensor::<f64>::random_normal(&[5, 4, 3, 2], 1).unwrap();
    for rank in [1, 3, 7] {
        let (cp, _) = cp_als(&x, rank).unwrap();
        assert_eq!(CpTensor::<f64>::params_for(x.shape(), rank).unwrap(), cp.num_params());
    }
    for (modes, ranks) in
        [(vec![0, 1], vec![2, 3]), (vec![1, 3], vec![4, 1]), (vec![0, 1, 2, 3], vec![5, 4, 3, 2])]
    {
        let (t, _) = partial_tucker(&x, &modes, &ranks).unwrap();
        assert_eq!(
            PartialTucker::<f64>::params_for(x.shape(), &modes, &ranks).unwrap(),
            t.num_params()
        );
    }
    for cap in [1, 2, 5, 100] {
        let (tt, _) = tt_svd_rank(&x, cap).unwrap();
        let r = tt.ranks();
        assert_eq!(
            TtTensor::<f64>::params_for(x.shape(), &r[1..r.len() - 1]).unwrap(),
            tt.num_params()
        );
        let (tr, _) = TrSvd::new().max_rank(cap).fit(&x).unwrap();
        assert_eq!(TrTensor::<f64>::params_for(x.shape(), &tr.ranks()).unwrap(), tr.num_params());
    }
}

#[test]
fn bad_arguments_are_errors() {
    assert!(matches!(CpTensor::<f32>::params_for(&[3, 0], 2), Err(Error::ZeroDimension { .. })));
    assert!(matches!(CpTensor::<f32>::params_for(&[3, 2], 0), Err(Error::InvalidRank { .. })));
    let e = CpTensor::<f32>::params_for(&[usize::MAX, 2], 2);
    assert!(matches!(e, Err(Error::SizeOverflow { .. })));
    let e = PartialTucker::<f32>::params_for(&[3, 2], &[1, 0], &[1, 1]);
    assert!(matches!(e, Err(Error::InvalidModes { .. })));
    let e = PartialTucker::<f32>::params_for(&[3, 2], &[0], &[4]);
    assert!(matches!(e, Err(Error::InvalidRank { .. })));
    assert!(matches!(
        TtTensor::<f32>::params_for(&[3, 2, 2], &[2]),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(TtTensor::<f32>::params_for(&[], &[]), Err(Error::InvalidModes { .. })));
    let e = TtTensor::<f32>::params_for(&[2, usize::MAX, 2], &[2, 2]);
    assert!(matches!(e, Err(Error::SizeOverflow { .. })));
    for caps in [&[2][..], &[2, 0], &[1, 2, 3]] {
        let e = TtTensor::<f32>::svd_ranks_for(&[3, 2, 2], caps);
        assert!(matches!(e, Err(Error::InvalidRank { .. })), "{caps:?}");
    }
    let e = TtTensor::<f32>::svd_ranks_for(&[usize::MAX, 2], &[1]);
    assert!(matches!(e, Err(Error::SizeOverflow { .. })));
    assert!(matches!(TtTensor::<f32>::max_ranks_for(&[]), Err(Error::InvalidModes { .. })));
    for ranks in [&[2, 2, 2][..], &[2, 3, 2, 3], &[2, 0, 3, 2]] {
        let e = TrTensor::<f32>::params_for(&[3, 2, 2], ranks);
        assert!(matches!(e, Err(Error::InvalidRank { .. })), "{ranks:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// On random data TT-SVD reaches exactly the predicted ranks and parameter count, and the
    /// uncapped prediction is the unfolding bound `min(n_1⋯n_k, n_{k+1}⋯n_d)`.
    #[test]
    fn tt_svd_reaches_the_predicted_ranks(
        shape in prop::collection::vec(1usize..6, 1..5),
        caps in prop::collection::vec(1usize..8, 4),
        seed in 0u64..1000,
    ) {
        let caps = &caps[..shape.len() - 1];
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let (tt, _) = TtSvd::new().max_ranks(caps).fit(&x).unwrap();
        let r = tt.ranks();
        let inner = TtTensor::<f64>::svd_ranks_for(&shape, caps).unwrap();
        prop_assert_eq!(&r[1..r.len() - 1], inner.as_slice());
        prop_assert_eq!(TtTensor::<f64>::params_for(&shape, &inner).unwrap(), tt.num_params());
        let max = TtTensor::<f64>::max_ranks_for(&shape).unwrap();
        for (k, &m) in max.iter().enumerate() {
            let left: usize = shape[..=k].iter().product();
            let right: usize = shape[k + 1..].iter().product();
            prop_assert_eq!(m, left.min(right));
            prop_assert!(inner[k] <= m);
        }
    }
}
