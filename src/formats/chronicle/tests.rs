//! Tests of the Chronicle format.
