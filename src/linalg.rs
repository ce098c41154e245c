//! Dense linear algebra: the one adapter over faer (truncated SVD, subspaces, QR, solves).
