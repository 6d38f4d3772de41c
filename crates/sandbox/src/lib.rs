//! Faithful local simulators of the remote systems Ferry talks to. They are real HTTP servers
//! on 127.0.0.1: the demo, the tests and the benchmarks talk to them over sockets exactly as
//! to the real services. Fidelity is judged against the vendored `reference/` at the
//! repository's root. Plumbing shared by the simulators (fault knobs, HTTPS) lives at this
//! crate's top level.

#[cfg(feature = "amazon")]
pub mod amazon;
#[cfg(feature = "dataverse")]
pub mod dataverse;
pub mod faults;
#[cfg(feature = "fno")]
pub mod fno;
pub mod tls;
