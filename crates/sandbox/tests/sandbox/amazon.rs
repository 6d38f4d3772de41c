//! Amazon sandbox tests.
