//! Sandbox tests over real sockets.

/// A `reqwest` client for the tests. The workspace builds reqwest's rustls backend without a
/// default crypto provider (Ferry's clients bring ring themselves), so make ring the default.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

mod sandbox {
    #[cfg(feature = "amazon")]
    mod amazon;
    #[cfg(feature = "dataverse")]
    mod dataverse;
    mod faults;
    #[cfg(feature = "fno")]
    mod fno;
    mod tls;
}
