//! Mapping tests: one binary, one submodule per area.

mod mapping {
    mod check;
    mod filters;
    mod flows;
    mod preview;
    mod suggest;
    mod suggest_generalise;
    mod support;
}
