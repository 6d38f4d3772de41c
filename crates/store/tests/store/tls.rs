//! PostgreSQL over TLS: `sslmode` in the store URL is honoured (the server's certificate is
//! verified with `verify-ca` / `verify-full`, refused when it cannot be), through the same
//! `PgStore::open` that `ferry run` uses. The local server is Debian's, which serves TLS with
//! its snakeoil certificate (CN and SAN `localhost`).

use ferry_store::PgStore;

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// A URL of a fresh schema and the server's TLS setting, or `None` (with a note) when
/// PostgreSQL is unreachable and not required.
async fn server() -> Option<(String, bool)> {
    let url = ferry_store::testing::fresh_pg_schema("tls").await.unwrap_or_else(|e| panic!("{e}"))?;
    let store = PgStore::open(&with(&url, "sslmode=disable"), 1).await.expect("open pg");
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(store.pool()).await.unwrap();
    Some((url, ssl == "on"))
}

async fn session_uses_tls(store: &PgStore) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn sslmode_in_the_store_url_is_honoured_and_verification_is_real() {
    let Some((base, ssl)) = server().await else { return };
    assert!(ssl, "the local PostgreSQL must serve TLS for this test (ssl = on, Debian's default)");

    let plain = PgStore::open(&with(&base, "sslmode=disable"), 1).await.unwrap();
    assert!(!session_uses_tls(&plain).await, "sslmode=disable stays in clear");

    let required = PgStore::open(&with(&base, "sslmode=require"), 1).await.expect("sslmode=require connects");
    assert!(session_uses_tls(&required).await, "sslmode=require must encrypt the session");

    // verify-full against a certificate no root trusts: refused, with a message that says why.
    let localhost = base.replace("127.0.0.1", "localhost");
    let untrusted = PgStore::open(&with(&localhost, "sslmode=verify-full"), 1).await;
    let e = untrusted.expect_err("an untrusted server certificate must be refused").to_string();
    assert!(e.contains("cannot open store"), "{e}");
    assert!(e.to_lowercase().contains("certificate") || e.to_lowercase().contains("issuer"), "{e}");

    if std::path::Path::new(SNAKEOIL).exists() {
        // Trusting the server's certificate: verify-full passes for the name it was issued to…
        let trusted = with(&localhost, &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}"));
        let store = PgStore::open(&trusted, 1).await.expect("verify-full with the server's CA connects");
        assert!(session_uses_tls(&store).await);
        // …and is refused for another name (the certificate says localhost, not 127.0.0.1).
        let wrong_name = with(&base, &format!("sslmode=verify-full&sslrootcert={SNAKEOIL}"));
        let e = PgStore::open(&wrong_name, 1).await.expect_err("a name mismatch must be refused").to_string();
        assert!(e.contains("cannot open store"), "{e}");
    }
}
