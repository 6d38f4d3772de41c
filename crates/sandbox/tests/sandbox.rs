//! Sandbox tests over real sockets.

mod sandbox {
    #[cfg(feature = "amazon")]
    mod amazon;
    #[cfg(feature = "dataverse")]
    mod dataverse;
    mod faults;
}
