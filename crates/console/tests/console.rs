//! Console tests: one binary, a module per part.

mod console {
    mod alerts;
    mod anomaly;
    mod api;
    mod dashboard;
    mod designer;
    mod live;
    mod support;
}
