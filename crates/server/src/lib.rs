//! Ferry server (being written).
