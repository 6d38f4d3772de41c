//! Console tests: one binary, a module per part.

mod console {
    mod anomaly;
}
