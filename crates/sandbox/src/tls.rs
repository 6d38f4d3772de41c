//! HTTPS for the simulators. [`SandboxTls::generate`] makes a certificate authority and a
//! server certificate it signs for `127.0.0.1`, `::1` and `localhost`, both fresh at every
//! start (nothing is written unless asked); clients trust the sandboxes by trusting the CA
//! ([`SandboxTls::ca_pem`]), exactly as they would trust a corporate CA. A sandbox started
//! with a [`SandboxTls`] serves HTTPS only; without one, plain HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A generated CA and the server identity it signed.
pub struct SandboxTls {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for SandboxTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxTls").finish_non_exhaustive()
    }
}

/// Why the certificates could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the sandbox's TLS: {0}")]
pub struct TlsSetupError(String);

fn setup(e: impl std::fmt::Display) -> TlsSetupError {
    TlsSetupError(e.to_string())
}

impl SandboxTls {
    /// A new CA (`Ferry sandbox CA <random>`) and a server certificate for 127.0.0.1, ::1 and
    /// localhost signed by it.
    pub fn generate() -> Result<Arc<SandboxTls>, TlsSetupError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(setup)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own, so a client holding another run's CA is told "unknown issuer".
        ca_params.distinguished_name.push(DnType::CommonName, format!("Ferry sandbox CA {:08x}", fastrand::u32(..)));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().map_err(setup)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(setup)?;
        let ca_pem = ca_cert.pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        let mut leaf_params = CertificateParams::new(names).map_err(setup)?;
        leaf_params.distinguished_name.push(DnType::CommonName, "Ferry sandbox");
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().map_err(setup)?;
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(setup)?;

        let chain = vec![CertificateDer::from(leaf_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(setup)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(setup)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(SandboxTls { ca_pem, acceptor: TlsAcceptor::from(Arc::new(config)) }))
    }

    /// The CA certificate, PEM: what a client adds to its trusted roots.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes the CA certificate (public, not a secret) to `path`.
    pub fn write_ca(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.ca_pem)
    }
}

/// `https` with TLS, `http` without.
pub(crate) fn scheme(tls: &Option<Arc<SandboxTls>>) -> &'static str {
    if tls.is_some() { "https" } else { "http" }
}

/// Serves `router` on `listener` until `shutdown`, over TLS when `tls` is set.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<SandboxTls>>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => axum::serve(listener, router).with_graceful_shutdown(shutdown).await,
        Some(tls) => {
            let listener = TlsListener::new(listener, tls.acceptor.clone())?;
            axum::serve(listener, router).with_graceful_shutdown(shutdown).await
        }
    }
}

/// Accepts TCP connections and hands on those whose TLS handshake succeeded. Handshakes run
/// in their own tasks, so a client that stalls in one does not hold up the others.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

impl TlsListener {
    fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    // The server is gone: stop accepting (and free the port).
                    () = tx.closed() => return,
                    accepted = tcp.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(error) => {
                            tracing::debug!(%error, "sandbox accept failed");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    },
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "sandbox TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "sandbox TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(pair) => pair,
            // The accept task ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
