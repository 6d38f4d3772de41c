//! Ferry's clients over HTTPS: LWA, SP-API and SQS on the Amazon sandbox, Entra and the Web
//! API on the Dataverse sandbox, both serving a certificate of a CA generated at start. With
//! that CA as the connection's extra roots (`ca_file`) every call goes through; without it
//! every call is refused in the handshake, with a message that says why and what to do, and
//! no request reaches the sandbox.

use std::path::Path;
use std::sync::atomic::Ordering;

use ferry_connectors::amazon::AmazonClient;
use ferry_connectors::amazon::sigv4::AwsCredentials;
use ferry_connectors::amazon::sqs::{SqsConfig, SqsConsumer};
use ferry_connectors::dataverse::{DataverseClient, DataverseConfig, Query, RecordKey};
use ferry_connectors::http::{Tls, TlsError};
use ferry_runtime::failure::Failure;
use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
use ferry_sandbox::dataverse::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox, DataverseSandboxConfig,
};
use ferry_sandbox::tls::SandboxTls;
use ferry_store::secrets::SecretValue;
use serde_json::json;

struct Sandboxes {
    amazon: AmazonSandbox,
    dataverse: DataverseSandbox,
    /// The CA both sandboxes' certificates chain to, as a connection would trust it.
    trusted: Tls,
}

async fn https_sandboxes() -> Sandboxes {
    let ca = SandboxTls::generate().expect("certificates");
    let amazon = AmazonSandbox::start(AmazonSandboxConfig {
        tls: Some(ca.clone()),
        order_lifecycle: false,
        ..Default::default()
    })
    .await
    .expect("amazon sandbox");
    let dataverse = DataverseSandbox::start(DataverseSandboxConfig { tls: Some(ca.clone()), ..Default::default() })
        .await
        .expect("dataverse sandbox");
    let trusted = Tls::from_ca_pem(ca.ca_pem().as_bytes(), Path::new("sandbox-ca.pem")).expect("the CA is usable");
    Sandboxes { amazon, dataverse, trusted }
}

fn amazon_client(sandbox: &AmazonSandbox, tls: Tls) -> AmazonClient {
    let mut config = super::amazon::config_for(sandbox);
    config.tls = tls;
    AmazonClient::new(config).expect("client")
}

fn sqs(sandbox: &AmazonSandbox, tls: Tls) -> SqsConsumer {
    let c = sandbox.config();
    SqsConsumer::new(SqsConfig {
        endpoint: sandbox.base_url().to_owned(),
        queue_url: sandbox.queue_url(),
        region: c.aws_region.clone(),
        credentials: AwsCredentials {
            access_key_id: c.aws_access_key_id.clone(),
            secret_access_key: SecretValue::new(c.aws_secret_access_key.clone()),
            session_token: None,
        },
        tls,
    })
    .expect("consumer")
}

fn crm(sandbox: &DataverseSandbox, tls: Tls) -> DataverseClient {
    DataverseClient::new(
        DataverseConfig::new(
            sandbox.base_url(),
            DEFAULT_TENANT,
            DEFAULT_CLIENT_ID,
            SecretValue::new(DEFAULT_CLIENT_SECRET),
        )
        .with_authority(sandbox.authority_url())
        .with_tls(tls),
    )
    .expect("client")
}

/// A refusal for an untrusted certificate: transient like any transport failure, and its
/// message says the certificate is not trusted and names the option that fixes it.
fn assert_untrusted(failure: &Failure, what: &str) {
    let text = failure.to_string();
    assert!(matches!(failure, Failure::Transient { .. }), "{what}: {text}");
    assert!(text.contains("certificate is not trusted"), "{what}: {text}");
    assert!(text.contains("UnknownIssuer"), "{what}: {text}");
    assert!(text.contains("options.ca_file"), "{what}: {text}");
}

#[tokio::test]
async fn every_client_reaches_both_sandboxes_over_https_when_the_connection_trusts_their_ca() {
    let s = https_sandboxes().await;
    assert!(s.amazon.base_url().starts_with("https://") && s.dataverse.base_url().starts_with("https://"));

    // LWA, then SP-API.
    let ids = s.amazon.seed_orders(1, 0.0);
    let amazon = amazon_client(&s.amazon, s.trusted.clone());
    let order = amazon.get_order_v0(&ids[0]).await.expect("getOrder over HTTPS");
    assert_eq!(order.amazon_order_id, ids[0]);
    assert_eq!(s.amazon.stats().lwa_requests.load(Ordering::Relaxed), 1);

    // The SQS-compatible queue, SigV4-signed.
    let queue = sqs(&s.amazon, s.trusted.clone());
    let sent = queue.send(r#"{"over":"tls"}"#).await.expect("SendMessage over HTTPS");
    let received = queue.receive(10, 0, None).await.expect("ReceiveMessage over HTTPS");
    assert!(received.iter().any(|m| m.message_id == sent && m.body == r#"{"over":"tls"}"#), "{received:?}");

    // Entra, then the Web API.
    let crm = crm(&s.dataverse, s.trusted.clone());
    let id = crm.create("accounts", json!({ "name": "Contoso over TLS" }).as_object().unwrap()).await.expect("create");
    let row = crm.retrieve("accounts", &RecordKey::Id(id), &Query::new().select(&["name"])).await.expect("retrieve");
    assert_eq!(row.str("name"), Some("Contoso over TLS"));
}

#[tokio::test]
async fn a_connection_without_the_ca_is_refused_with_an_error_that_says_why() {
    let s = https_sandboxes().await;
    let ids = s.amazon.seed_orders(1, 0.0);

    let amazon = amazon_client(&s.amazon, Tls::public_roots());
    assert_untrusted(&amazon.get_order_v0(&ids[0]).await.expect_err("refused"), "LWA");
    let queue = sqs(&s.amazon, Tls::public_roots());
    assert_untrusted(&queue.receive(1, 0, None).await.expect_err("refused"), "SQS");
    let crm = crm(&s.dataverse, Tls::public_roots());
    let refused = crm.create("accounts", json!({ "name": "x" }).as_object().unwrap()).await.expect_err("refused");
    assert_untrusted(&refused, "Entra");

    // Nothing got through the handshake.
    assert_eq!(s.amazon.stats().lwa_requests.load(Ordering::Relaxed), 0);
    assert_eq!(s.amazon.stats().requests.load(Ordering::Relaxed), 0);
    assert_eq!(s.dataverse.request_count(), 0);
    assert!(s.dataverse.rows("accounts").is_empty());

    // Another CA does not open them either.
    let other = SandboxTls::generate().expect("certificates");
    let other = Tls::from_ca_pem(other.ca_pem().as_bytes(), Path::new("other-ca.pem")).expect("usable");
    let crm = self::crm(&s.dataverse, other);
    let refused = crm.create("accounts", json!({ "name": "x" }).as_object().unwrap()).await.expect_err("refused");
    assert_untrusted(&refused, "Entra with another CA");
}

#[test]
fn a_ca_file_that_is_missing_not_pem_or_empty_is_refused_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("ferry-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let missing = dir.join("missing.pem");
    let err = Tls::from_ca_file(&missing).expect_err("missing");
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n").unwrap();
    let err = Tls::from_ca_file(&garbage).expect_err("not PEM");
    assert!(matches!(err, TlsError::NotPem { .. }), "{err}");
    assert!(err.to_string().contains("garbage.pem"), "{err}");

    let text = dir.join("notes.txt");
    std::fs::write(&text, "just some notes\n").unwrap();
    let err = Tls::from_ca_file(&text).expect_err("no certificate");
    assert!(matches!(err, TlsError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"), "{err}");

    let not_der = dir.join("not-der.pem");
    std::fs::write(&not_der, "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n").unwrap();
    let err = Tls::from_ca_file(&not_der).expect_err("not a certificate");
    assert!(matches!(err, TlsError::BadCertificate { .. }), "{err}");
    assert!(err.to_string().contains("not-der.pem"), "{err}");

    let good = dir.join("ca.pem");
    let ca = SandboxTls::generate().expect("certificates");
    ca.write_ca(&good).unwrap();
    let tls = Tls::from_ca_file(&good).expect("a CA file");
    assert_eq!(tls.extra_roots().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
