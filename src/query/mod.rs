//! Query front ends: each turns one query language into the `Detection` IR.
//!
//! What a front end does not understand becomes `Expr::Opaque` with the source text.

pub mod eql;
pub mod esql;
pub mod kql;
pub mod kuery;
pub mod lucene;
pub mod panther_detection;
pub mod python;
pub mod sigma;
pub mod spl;
pub mod yaral;
