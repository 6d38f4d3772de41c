//! Console tests: one binary, a module per part.

mod console {
    mod alerts;
    mod api;
}
