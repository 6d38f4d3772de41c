//! The simulators over HTTPS: a certificate signed by the CA generated at start, which a
//! client must trust to get through; plain HTTP stays available when no TLS is given.

use std::sync::Arc;

use ferry_sandbox::tls::SandboxTls;

fn trusting(tls: &SandboxTls) -> reqwest::Client {
    let _ = crate::http(); // makes ring the process's default provider
    let ca = reqwest::Certificate::from_pem(tls.ca_pem().as_bytes()).expect("the CA is PEM");
    reqwest::Client::builder().tls_certs_only([ca]).build().expect("client")
}

/// Where the failure of `error` comes from, its sources included.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(feature = "amazon")]
#[tokio::test]
async fn amazon_sandbox_serves_lwa_and_sp_api_over_https_to_clients_that_trust_its_ca() {
    use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
    let tls = SandboxTls::generate().expect("certificates");
    let sandbox =
        AmazonSandbox::start(AmazonSandboxConfig { tls: Some(Arc::clone(&tls)), ..Default::default() }).await.unwrap();
    assert!(sandbox.base_url().starts_with("https://127.0.0.1:"), "{}", sandbox.base_url());
    assert!(sandbox.token_url().starts_with("https://"));
    assert!(sandbox.queue_url().starts_with("https://"), "the queue URL names the scheme served");

    let c = sandbox.config();
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
        super::amazon::urlenc(&c.refresh_token),
        super::amazon::urlenc(&c.client_id),
        super::amazon::urlenc(&c.client_secret)
    );
    let reply = trusting(&tls)
        .post(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .expect("LWA over HTTPS");
    assert_eq!(reply.status().as_u16(), 200);
    let token: serde_json::Value = serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
    assert!(token["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    // A client that does not trust the CA is refused in the handshake, before any request.
    let before = sandbox.stats().lwa_requests.load(std::sync::atomic::Ordering::Relaxed);
    let refused = crate::http()
        .post(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect_err("an unknown CA is refused");
    assert!(chain(&refused).to_lowercase().contains("certificate"), "{}", chain(&refused));
    assert_eq!(sandbox.stats().lwa_requests.load(std::sync::atomic::Ordering::Relaxed), before);

    // Plain HTTP to the HTTPS port gets no answer.
    let plain = sandbox.base_url().replacen("https://", "http://", 1);
    assert!(crate::http().get(format!("{plain}/orders/v0/orders")).send().await.is_err());
}

#[cfg(feature = "dataverse")]
#[tokio::test]
async fn dataverse_sandbox_serves_entra_and_the_web_api_over_https_and_plain_http_without_tls() {
    use ferry_sandbox::dataverse::{DataverseSandbox, DataverseSandboxConfig};
    let tls = SandboxTls::generate().expect("certificates");
    let secure = DataverseSandbox::start(DataverseSandboxConfig { tls: Some(Arc::clone(&tls)), ..Default::default() })
        .await
        .unwrap();
    assert!(secure.base_url().starts_with("https://127.0.0.1:"), "{}", secure.base_url());
    assert!(secure.api_url().starts_with("https://"));
    let http = trusting(&tls);
    let token = super::dataverse::support::Api::get_token(&http, &secure).await;
    let who = http
        .get(format!("{}/contacts?$top=1", secure.api_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("Web API over HTTPS");
    assert_eq!(who.status().as_u16(), 200, "{}", who.text().await.unwrap_or_default());
    // The CA of another sandbox does not open this one.
    let other = SandboxTls::generate().expect("certificates");
    let refused =
        trusting(&other).get(format!("{}/contacts?$top=1", secure.api_url())).send().await.expect_err("refused");
    assert!(chain(&refused).to_lowercase().contains("certificate"), "{}", chain(&refused));

    // Without TLS the sandbox speaks plain HTTP, for clients that need it.
    let plain = DataverseSandbox::start(DataverseSandboxConfig::default()).await.unwrap();
    assert!(plain.base_url().starts_with("http://"), "{}", plain.base_url());
    let token = super::dataverse::support::Api::get_token(&crate::http(), &plain).await;
    assert!(!token.is_empty());
}

#[test]
fn the_written_ca_is_the_pem_certificate_clients_are_given() {
    let tls = SandboxTls::generate().expect("certificates");
    let dir = std::env::temp_dir().join(format!("ferry-sandbox-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    tls.write_ca(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(written, tls.ca_pem());
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(written.matches("BEGIN CERTIFICATE").count(), 1, "the CA only, no key");
    assert!(!written.contains("PRIVATE KEY"));
}
