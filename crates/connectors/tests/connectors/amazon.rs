//! Amazon connector tests.
