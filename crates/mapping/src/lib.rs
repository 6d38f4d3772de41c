//! Mapping engine and flow definitions (being written).
