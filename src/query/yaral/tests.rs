//! Tests of the YARA-L front end.
