//! Compressing a layer's weight, planned from its shape alone: the weight shape, the seven
//! methods, each method's reshaping (`layout`), its ranks and parameter counts, and the [`Plan`].

pub(crate) mod layout;
pub(crate) mod method;
pub(crate) mod plan;
pub(crate) mod ranks;
pub(crate) mod shape;

pub use method::{Method, DEFAULT_FACTORS};
pub use plan::{plan, plan_filled, plan_ranks, Plan};
pub use shape::WeightShape;
