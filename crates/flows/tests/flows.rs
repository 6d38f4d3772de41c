//! The flows crate's tests: binding flow files to templates and connections, and a tenant
//! engine's instances, routing and handlers.

mod flows {
    pub mod binding;
    pub mod engine;
    pub mod support;
}
