//! Black-box tests of the `ferry` binary: real processes, real stores, real sockets.

mod ferry {
    mod browser;
    mod cli;
    mod crash;
    mod demo;
    mod drain;
    mod flows;
    mod newcomer;
    mod nodes;
    mod store_fault;
    pub mod support;
    mod tenancy;
    mod tenants;
    mod tls;
}
