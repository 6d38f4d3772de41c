//! Mapping tests.
