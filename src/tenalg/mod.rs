//! Tensor algebra: unfoldings, mode products, Khatri–Rao/Kronecker/outer products, MTTKRP, contraction.
