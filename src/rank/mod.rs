//! Rank rules: choosing decomposition ranks from a parameter budget (TSPC formulas in
//! [`tspc`]), an error target, or empirical variational Bayes.

pub mod tspc;
