//! F&O sandbox tests: a real server on 127.0.0.1:0, spoken to over HTTP, checked against the
//! vendored F&O samples (reference/dynamics/samples/fo-*).

mod fidelity;
mod scenarios;
pub mod support;
