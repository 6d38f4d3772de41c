//! The one place Ferry builds an HTTP client. Every client (LWA, SP-API, SQS, Entra,
//! Dataverse, the `http_call` built-in) comes from [`client_builder`], so every one speaks
//! TLS the same way: rustls with the `ring` provider, the Mozilla roots compiled in
//! (`webpki-roots`, so a container without a system certificate store still verifies public
//! endpoints), plus the connection's own extra CA bundle ([`Tls::from_ca_file`], the
//! `ca_file` option) for corporate proxies and the sandboxes. Certificates are always
//! verified: nothing here can turn verification off.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Why a CA bundle cannot be used. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the CA file {path} is not PEM: {detail}")]
    NotPem { path: PathBuf, detail: String },
    #[error("the CA file {path} holds no certificate (expected `-----BEGIN CERTIFICATE-----` blocks)")]
    Empty { path: PathBuf },
    #[error("the CA file {path} holds a certificate that is not a usable CA: {detail}")]
    BadCertificate { path: PathBuf, detail: String },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// How a client verifies servers: the public roots plus, optionally, extra trusted CAs.
#[derive(Clone, Default)]
pub struct Tls {
    extra: Vec<CertificateDer<'static>>,
    /// Where the extra CAs came from, for messages.
    source: Option<PathBuf>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("extra_cas", &self.extra.len()).field("source", &self.source).finish()
    }
}

impl Tls {
    /// Public roots only.
    pub fn public_roots() -> Self {
        Tls::default()
    }

    /// Public roots plus the CA certificates of the PEM file at `path`. A missing file, a
    /// file that is not PEM, one without a certificate, or one whose certificate cannot be
    /// a trust anchor is an error naming the file.
    pub fn from_ca_file(path: &Path) -> Result<Self, TlsError> {
        let bytes = std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })?;
        Self::from_ca_pem(&bytes, path)
    }

    /// Public roots plus the CA certificates in `pem`; `origin` names it in errors.
    pub fn from_ca_pem(pem: &[u8], origin: &Path) -> Result<Self, TlsError> {
        let mut extra = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsError::NotPem { path: origin.to_owned(), detail: e.to_string() })?;
            extra.push(cert);
        }
        if extra.is_empty() {
            return Err(TlsError::Empty { path: origin.to_owned() });
        }
        let tls = Tls { extra, source: Some(origin.to_owned()) };
        // Each certificate must parse as a trust anchor; find out now, not at the first call.
        tls.roots()?;
        Ok(tls)
    }

    /// These roots and `other`'s extra CAs together.
    pub fn merged(mut self, other: &Tls) -> Self {
        self.extra.extend(other.extra.iter().cloned());
        if self.source.is_none() {
            self.source.clone_from(&other.source);
        }
        self
    }

    /// The extra CA certificates (DER), beside the public roots.
    pub fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for cert in &self.extra {
            roots.add(cert.clone()).map_err(|e| TlsError::BadCertificate {
                path: self.source.clone().unwrap_or_default(),
                detail: e.to_string(),
            })?;
        }
        Ok(roots)
    }

    /// The rustls client settings: ring, TLS 1.2 and 1.3, these roots, HTTP/1.1.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_root_certificates(self.roots()?)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A `reqwest` builder that verifies servers against `tls`; add timeouts and the like to it.
pub fn client_builder(tls: &Tls) -> Result<reqwest::ClientBuilder, TlsError> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls.client_config()?))
}

/// A client with no settings beyond `tls`.
pub fn client(tls: &Tls) -> Result<reqwest::Client, TlsError> {
    client_builder(tls)?.build().map_err(|e| TlsError::Setup(e.to_string()))
}

/// What went wrong with a request, for a failure's message: reqwest's own words without the
/// URL (a pre-signed URL is a credential), then each underlying cause (connection refused,
/// the TLS alert, …). A server certificate that does not verify gets a hint naming the
/// `ca_file` option.
pub fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut untrusted = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        let tls = cause.downcast_ref::<rustls::Error>().or_else(|| {
            cause.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).and_then(|e| e.downcast_ref())
        });
        // The rustls error often arrives inside wrappers that hide its type; its words stay.
        untrusted |=
            matches!(tls, Some(rustls::Error::InvalidCertificate(_))) || line.starts_with("invalid peer certificate");
        source = cause.source();
    }
    if untrusted {
        text.push_str(
            " (the server's certificate is not trusted; if a private or corporate CA signed it, give that CA's \
             PEM file as the connection's options.ca_file)",
        );
    }
    text
}
