//! `node.tls_cert` / `node.tls_key`: checked by the one validation `check` and `run` share,
//! errors at their lines; with them, `ferry run` serves HTTPS.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::{TempDir, ferry, node, text};

/// A self-signed certificate for localhost, as `node.crt` / `node.key` in `dir`; its DER.
fn certificate(dir: &Path) -> rustls::pki_types::CertificateDer<'static> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("node.crt"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("node.key"), made.signing_key.serialize_pem()).unwrap();
    made.cert.der().clone()
}

fn config(dir: &Path, node_lines: &str) -> std::path::PathBuf {
    let path = dir.join("ferry.toml");
    let text = format!(
        "[node]\n{node_lines}listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n[store]\nurl = \"sqlite://{}\"\n",
        dir.join("data").display(),
        dir.join("ferry.db").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_refuses_a_lone_or_unusable_certificate_or_key_at_its_line() {
    let dir = TempDir::new("tls-check");
    certificate(dir.path());
    std::fs::write(dir.path().join("junk.pem"), "not a key").unwrap();
    let (crt, key, junk) = (dir.path().join("node.crt"), dir.path().join("node.key"), dir.path().join("junk.pem"));
    let check = |node_lines: String| {
        let cfg = config(dir.path(), &node_lines);
        let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
        (out.status.code(), text(&out).1)
    };

    let (code, err) = check(format!("tls_cert = \"{}\"\n", crt.display()));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("ferry.toml:2:") && err.contains("node.tls_cert is set without node.tls_key"), "{err}");

    let (code, err) = check(format!("tls_cert = \"{}\"\ntls_key = \"{}\"\n", crt.display(), junk.display()));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("ferry.toml:3:") && err.contains("junk.pem") && err.contains("private key"), "{err}");

    let (code, err) =
        check(format!("tls_cert = \"{}\"\ntls_key = \"{}\"\n", dir.path().join("gone.crt").display(), key.display()));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("ferry.toml:2:") && err.contains("gone.crt") && err.contains("cannot read"), "{err}");

    let (code, err) = check(format!("tls_cert = \"{}\"\ntls_key = \"{}\"\n", crt.display(), key.display()));
    assert_eq!(code, Some(0), "a usable pair passes: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_run_with_a_certificate_serves_https() {
    use std::io::BufRead as _;
    let dir = TempDir::new("tls-run");
    let der = certificate(dir.path());
    let lines = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        dir.path().join("node.crt").display(),
        dir.path().join("node.key").display()
    );
    let cfg = config(dir.path(), &lines);
    let migrate = ferry(dir.path()).arg("--config").arg(&cfg).arg("migrate").output().unwrap();
    assert!(migrate.status.success(), "{}", text(&migrate).1);
    let mut child = node(dir.path(), &cfg).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("node running")
                && let Some(addr) = line.split("listen=").nth(1).and_then(|r| r.split_whitespace().next())
            {
                let _ = addr_tx
                    .send((addr.to_string(), line.contains("scheme=\"https\"") || line.contains("scheme=https")));
            }
        }
    });
    let (addr, says_https) = addr_rx.recv_timeout(Duration::from_secs(30)).expect("the node logs where it listens");
    assert!(says_https, "the node says it serves HTTPS");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut bytes = Vec::new();
    // The server may close without a TLS close_notify: what arrived before counts.
    let _ = tokio::time::timeout(Duration::from_secs(30), tls.read_to_end(&mut bytes)).await.expect("answer");
    let answer = String::from_utf8_lossy(&bytes);
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer}");

    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(child.wait().unwrap().success());
}
