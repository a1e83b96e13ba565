//! Front end for this query language (not yet written).
