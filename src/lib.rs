//! ruledex turns the detection rules of many security vendors into one cross-indexed,
//! tested catalog: a static HTML site, a Markdown tree and machine-readable exports.
//!
//! The flow runs one way:
//! `discover` reads rule roots → `formats::<vendor>` makes `model::Rule`s, calling
//! `query::<language>` for the condition IR → `catalog` indexes them (facets, indicator
//! counts) → `verify` runs bundled tests on `verify::matcher` and lints → `render` writes
//! HTML, Markdown and exports as pure functions of the catalog.

pub mod attack;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod diag;
pub mod discover;
pub mod formats;
pub mod model;
pub mod pipeline;
pub mod query;
pub mod render;
pub mod serve;
pub mod verify;
