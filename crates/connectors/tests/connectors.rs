//! Connector tests against the sandboxes over real sockets.

mod connectors {
    #[cfg(feature = "amazon")]
    mod amazon;
    #[cfg(feature = "dataverse")]
    mod dataverse;
    #[cfg(feature = "fno")]
    mod fno;
    #[cfg(all(feature = "amazon", feature = "dataverse"))]
    mod tls;
    mod token;
}
