//! The listener terminating TLS itself with `node.tls_cert`/`node.tls_key`: a certificate made
//! here, a client that trusts it gets answers, one that does not is refused.

use std::path::Path;
use std::sync::Arc;

use ferry_server::{TlsConfig, TlsError};
use ferry_store::testing::TempDir;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::{API_KEY, Harness, order_change_with_id, read_answer};

struct Pki {
    dir: TempDir,
    cert_der: CertificateDer<'static>,
}

impl Pki {
    fn cert(&self) -> std::path::PathBuf {
        self.dir.path().join("node.crt")
    }
    fn key(&self) -> std::path::PathBuf {
        self.dir.path().join("node.key")
    }
}

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM files.
fn make_pki() -> Pki {
    let dir = TempDir::new("server-tls").expect("temp dir");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("certificate");
    std::fs::write(dir.path().join("node.crt"), made.cert.pem()).expect("write cert");
    std::fs::write(dir.path().join("node.key"), made.signing_key.serialize_pem()).expect("write key");
    Pki { dir, cert_der: made.cert.der().clone() }
}

fn client(trusted: Option<&CertificateDer<'static>>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(cert) = trusted {
        roots.add(cert.clone()).expect("trust the certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn the_listener_serves_https_to_a_client_trusting_its_certificate_and_nothing_else() {
    let pki = make_pki();
    let tls = TlsConfig::from_pem_files(&pki.cert(), &pki.key()).expect("the certificate and key load");
    let h = Harness::start_with(|c| c.tls(tls)).await;
    let name = ServerName::try_from("localhost").expect("name");

    // Trusted: /healthz, then an EventBridge event stored, over one TLS connection.
    let stream = TcpStream::connect(h.addr).await.expect("connect");
    let mut tls_stream = client(Some(&pki.cert_der)).connect(name.clone(), stream).await.expect("handshake");
    tls_stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("send");
    let answer = read_answer(&mut tls_stream).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
    let event = order_change_with_id("tls-1").to_string();
    let post = format!(
        "POST /ingress/amazon/eventbridge HTTP/1.1\r\nHost: localhost\r\nx-api-key: {API_KEY}\r\ncontent-length: {}\r\n\r\n{event}",
        event.len()
    );
    tls_stream.write_all(post.as_bytes()).await.expect("send");
    let answer = read_answer(&mut tls_stream).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(h.in_inbox("amazon", "amazon:ORDER_CHANGE:tls-1").await);

    // Not trusted: the handshake fails, no silent acceptance.
    let stream = TcpStream::connect(h.addr).await.expect("connect");
    let refused = client(None).connect(name, stream).await;
    let Err(error) = refused else { panic!("a client without the certificate must be refused") };
    let error = error.to_string();
    assert!(error.contains("UnknownIssuer") || error.contains("invalid peer certificate"), "{error}");

    // Plain HTTP to the HTTPS listener gets no HTTP answer.
    let mut plain = TcpStream::connect(h.addr).await.expect("connect");
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("send");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(crate::HANG_GUARD, tokio::io::AsyncReadExt::read_to_end(&mut plain, &mut buf)).await;
    assert!(!buf.starts_with(b"HTTP/1.1 200"), "plain HTTP must not be served: {:?}", String::from_utf8_lossy(&buf));
}

#[tokio::test]
async fn a_missing_unreadable_or_mismatched_certificate_or_key_is_an_error_naming_the_file() {
    let pki = make_pki();
    let other = make_pki();
    let missing = pki.dir.path().join("missing.crt");
    let error = TlsConfig::from_pem_files(&missing, &pki.key()).expect_err("missing file");
    assert!(matches!(error, TlsError::Read { .. }) && error.to_string().contains("missing.crt"), "{error}");

    let not_pem = pki.dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let error = TlsConfig::from_pem_files(&not_pem, &pki.key()).expect_err("not PEM");
    assert!(error.to_string().contains("not.pem") && error.to_string().contains("no PEM CERTIFICATE"), "{error}");
    let error = TlsConfig::from_pem_files(&pki.cert(), &not_pem).expect_err("no key");
    assert!(error.to_string().contains("not.pem") && error.to_string().contains("private key"), "{error}");

    // A key that is not the certificate's.
    let error = TlsConfig::from_pem_files(&pki.cert(), &other.key()).expect_err("mismatched pair");
    assert!(matches!(error, TlsError::Mismatch { .. }), "{error}");
    assert!(names_both(&error, &pki.cert(), &other.key()), "{error}");
}

fn names_both(error: &TlsError, cert: &Path, key: &Path) -> bool {
    let text = error.to_string();
    text.contains(&cert.display().to_string()) && text.contains(&key.display().to_string())
}
