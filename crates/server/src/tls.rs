//! TLS on the node's own listener (`node.tls_cert` and `node.tls_key`), for a node that faces
//! the senders without a reverse proxy terminating TLS for it. rustls with the ring provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its key, ready to serve.
#[derive(Clone)]
pub struct TlsConfig(Arc<rustls::ServerConfig>);

impl std::fmt::Debug for TlsConfig {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// Why a certificate or key cannot serve; names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {problem}", path.display())]
    Pem { path: PathBuf, problem: String },
    #[error("{} and {}: {problem}", cert.display(), key.display())]
    Mismatch { cert: PathBuf, key: PathBuf, problem: String },
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read { path: cert.into(), source })?;
        let key_pem = std::fs::read(key).map_err(|source| TlsError::Read { path: key.into(), source })?;
        Self::from_pem(&cert_pem, &key_pem, cert, key)
    }

    /// As [`TlsConfig::from_pem_files`], from bytes in hand (`cert` and `key` name them in errors).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8], cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let pem = |path: &Path, problem: String| TlsError::Pem { path: path.into(), problem };
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem(cert, format!("not a PEM certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(pem(cert, "holds no PEM CERTIFICATE block".into()));
        }
        let private_key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| pem(key, format!("not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, private_key))
            .map_err(|e| TlsError::Mismatch { cert: cert.into(), key: key.into(), problem: e.to_string() })?;
        let mut config = config;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.0))
    }
}
