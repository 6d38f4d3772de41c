//! Alerts to a local webhook receiver: a breaker open longer than the rule allows alerts
//! exactly once per episode (across two nodes checking at once), a failed delivery is sent
//! again at the next check, a breaker that closes ends the episode and the next opening is a
//! new one; another tenant's hosts never alert this tenant; no buyer data in any text. By
//! e-mail to a local SMTP receiver: one message per episode with the webhook's text, a refused
//! send tried again without posting the webhook twice, a bad SMTP config named.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use ferry_console::alerts::{Condition, Rule, add_rule, check_tenant, check_tenant_with};
use ferry_console::email::{Mailer, Security, SmtpSettings};
use ferry_store::{AnyStore, Connection, Store as _, TenantId};
use jiff::{SignedDuration, Timestamp};

/// A webhook receiver that records each body and answers `status`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<String>>>,
    status: Arc<Mutex<StatusCode>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<String>>> = Arc::default();
        let status = Arc::new(Mutex::new(StatusCode::OK));
        let (g, s) = (got.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    let status = *s.lock().unwrap();
                    if status.is_success() {
                        g.lock().unwrap().push(body);
                    }
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got, status }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

async fn tenant_with_crm(store: &AnyStore, tenant: &str, host: &str) -> TenantId {
    let t: TenantId = tenant.parse().unwrap();
    store.ensure_tenant(&t, tenant).await.unwrap();
    store
        .upsert_connection(&Connection {
            tenant: t.clone(),
            id: "crm".parse().unwrap(),
            system: "dataverse".into(),
            endpoint: format!("https://{host}"),
            credentials_ref: None,
            limits: serde_json::json!({}),
            options: serde_json::json!({}),
        })
        .await
        .unwrap();
    t
}

async fn breaker_episodes(node_a: AnyStore, node_b: AnyStore) {
    let receiver = Receiver::start().await;
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    let acme = tenant_with_crm(&node_a, "acme", "acme.crm.example").await;
    let globex = tenant_with_crm(&node_a, "globex", "globex.crm.example").await;
    let rule = Rule {
        condition: Condition::BreakerOpen { seconds: 60 },
        webhook: Some(receiver.url.clone()),
        email: Vec::new(),
    };
    add_rule(&node_a, &acme, &rule, "test", false).await.unwrap();
    let console = "https://ferry.example.com";
    let check = |store: &AnyStore, at: Timestamp| {
        let (store, http, acme) = (store.clone(), http.clone(), acme.clone());
        async move { check_tenant(&store, &http, &acme, console, at).await.unwrap() }
    };
    let t0 = Timestamp::now();
    let at = |s: i64| t0 + SignedDuration::from_secs(s);

    // Globex's CRM down: not acme's business.
    node_a.record_breakers("n1", &[("globex.crm.example".into(), "open".into())]).await.unwrap();
    assert_eq!(check(&node_a, at(0)).await + check(&node_a, at(600)).await, 0);
    let _ = globex;

    // Acme's CRM down: nothing until it has been open for the rule's 60 s, then one alert,
    // sent by one of the two nodes checking at once.
    node_a
        .record_breakers(
            "n1",
            &[("acme.crm.example".into(), "open".into()), ("globex.crm.example".into(), "open".into())],
        )
        .await
        .unwrap();
    assert_eq!(check(&node_a, at(700)).await, 0, "just opened");
    assert_eq!(check(&node_b, at(730)).await, 0, "open 30 s");
    let (a, b) = tokio::join!(check(&node_a, at(761)), check(&node_b, at(761)));
    assert_eq!(a + b, 1, "one node sends it");
    assert_eq!(check(&node_a, at(900)).await + check(&node_b, at(1800)).await, 0, "once per episode");
    assert_eq!(receiver.count(), 1);
    let text = receiver.got.lock().unwrap()[0].clone();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let said = body["text"].as_str().unwrap();
    assert!(said.contains("acme.crm.example") && said.contains("open for over 60 s"), "{said}");
    assert!(said.contains("https://ferry.example.com/api/v1/queue"), "links to where it shows: {said}");
    assert!(said.contains("tenant acme") && !said.contains("globex"), "{said}");

    // It closes: the episode ends. It opens again: a new episode, a new alert, whose first
    // delivery fails and is sent at the next check.
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "closed".into())]).await.unwrap();
    assert_eq!(check(&node_a, at(1900)).await, 0);
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "open".into())]).await.unwrap();
    assert_eq!(check(&node_a, at(2000)).await, 0);
    *receiver.status.lock().unwrap() = StatusCode::INTERNAL_SERVER_ERROR;
    assert_eq!(check(&node_a, at(2100)).await, 0, "the receiver refused it");
    *receiver.status.lock().unwrap() = StatusCode::OK;
    assert_eq!(check(&node_b, at(2130)).await, 1, "sent again at the next check");
    assert_eq!(check(&node_a, at(2200)).await, 0);
    assert_eq!(receiver.count(), 2, "two episodes, two alerts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_open_too_long_alerts_once_per_episode_on_sqlite() {
    let dir = ferry_store::testing::TempDir::new("ferry-alerts").unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let a = AnyStore::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = AnyStore::open(&url).await.unwrap();
    breaker_episodes(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_open_too_long_alerts_once_per_episode_across_nodes_on_postgres() {
    let Some(url) = ferry_store::testing::fresh_pg_schema("console_alerts").await.unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let a = AnyStore::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = AnyStore::open(&url).await.unwrap();
    breaker_episodes(a, b).await;
}

#[test]
fn rules_refuse_what_would_never_work() {
    let rule = |webhook: &str| Rule {
        condition: Condition::BreakerOpen { seconds: 60 },
        webhook: Some(webhook.into()),
        email: Vec::new(),
    };
    assert!(rule("https://hooks.slack.com/services/T/B/X").check().is_ok());
    assert!(rule("http://127.0.0.1:9000/hook").check().is_ok());
    let e = rule("http://hooks.example.com/x").check().unwrap_err();
    assert!(e.contains("must be an https:// URL"), "{e}");
    let e = Rule {
        condition: Condition::DeadLetters { above: 5, minutes: 0 },
        webhook: Some("https://x.example/h".into()),
        email: Vec::new(),
    }
    .check()
    .unwrap_err();
    assert!(e.contains("minutes must be 1 to 10080"), "{e}");
    // Somewhere to send it, and recipients that are addresses.
    let nowhere = Rule { condition: Condition::Anomaly, webhook: None, email: Vec::new() };
    assert!(nowhere.check().unwrap_err().contains("needs somewhere to send"));
    let mailed = |to: &str| Rule { condition: Condition::Anomaly, webhook: None, email: vec![to.into()] };
    assert!(mailed("ops@example.com").check().is_ok());
    let e = mailed("ops at example.com").check().unwrap_err();
    assert!(e.contains("`ops at example.com` is not an e-mail address"), "{e}");
}

// E-mail: a local SMTP receiver on 127.0.0.1, a few lines of tokio.

/// The messages an SMTP receiver took: each one's recipients and text.
type Received = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// An SMTP server that takes every message (its recipients and its text), or refuses DATA
/// with 451 while `refuse` is set.
struct SmtpReceiver {
    port: u16,
    got: Received,
    refuse: Arc<Mutex<bool>>,
}

impl SmtpReceiver {
    async fn start() -> SmtpReceiver {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Received = Arc::default();
        let refuse: Arc<Mutex<bool>> = Arc::default();
        let (g, r) = (got.clone(), refuse.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (g, r) = (g.clone(), r.clone());
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 test ESMTP\r\n").await;
                    let (mut to, mut data, mut in_data) = (Vec::new(), String::new(), false);
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply: &[u8] = if in_data {
                            if line != "." {
                                data.push_str(&line);
                                data.push('\n');
                                continue;
                            }
                            in_data = false;
                            g.lock().unwrap().push((std::mem::take(&mut to), std::mem::take(&mut data)));
                            b"250 queued\r\n"
                        } else {
                            let verb = line.split([' ', ':']).next().unwrap_or_default().to_ascii_uppercase();
                            match verb.as_str() {
                                "EHLO" | "HELO" => b"250 test\r\n",
                                "RCPT" => {
                                    to.push(line.trim_start_matches("RCPT TO:").trim_matches(['<', '>']).to_owned());
                                    b"250 ok\r\n"
                                }
                                "DATA" if *r.lock().unwrap() => b"451 try again later\r\n",
                                "DATA" => {
                                    in_data = true;
                                    b"354 go on\r\n"
                                }
                                "QUIT" => {
                                    let _ = write.write_all(b"221 bye\r\n").await;
                                    break;
                                }
                                _ => b"250 ok\r\n",
                            }
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpReceiver { port, got, refuse }
    }

    fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security: Security::None,
            username: None,
            password_secret: None,
            from: "Ferry <ferry@example.com>".into(),
        }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

/// A quoted-printable text decoded (soft line breaks, `=XX` bytes).
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let mut bytes = Vec::new();
    let mut rest = joined.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' && tail.len() >= 2 {
            bytes.push(u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap(), 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap()
}

async fn email_episodes(node_a: AnyStore, node_b: AnyStore) {
    let smtp = SmtpReceiver::start().await;
    let hooks = Receiver::start().await;
    let mail = Mailer::new(&smtp.settings(), None).unwrap();
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::default()).unwrap();
    let acme = tenant_with_crm(&node_a, "acme", "acme.crm.example").await;
    let rule = Rule {
        condition: Condition::BreakerOpen { seconds: 60 },
        webhook: Some(hooks.url.clone()),
        email: vec!["ops@example.com".into(), "oncall@example.com".into()],
    };
    // A node without [smtp] refuses a rule whose e-mail would never go.
    let e = add_rule(&node_a, &acme, &rule, "test", false).await.unwrap_err().to_string();
    assert!(e.contains("no [smtp] section"), "{e}");
    add_rule(&node_a, &acme, &rule, "test", true).await.unwrap();
    let console = "https://ferry.example.com";
    let check = |store: &AnyStore, mail: Option<Mailer>, at: Timestamp| {
        let (store, http, acme) = (store.clone(), http.clone(), acme.clone());
        async move { check_tenant_with(&store, &http, mail.as_ref(), &acme, console, at).await.unwrap() }
    };
    let t0 = Timestamp::now();
    let at = |s: i64| t0 + SignedDuration::from_secs(s);

    // Open past the rule's 60 s: two nodes with [smtp] check at once, one message goes (and one
    // webhook post), and later checks send nothing more.
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "open".into())]).await.unwrap();
    assert_eq!(check(&node_a, Some(mail.clone()), at(0)).await, 0);
    let (a, b) = tokio::join!(check(&node_a, Some(mail.clone()), at(61)), check(&node_b, Some(mail.clone()), at(61)));
    assert_eq!(a + b, 2, "one e-mail and one webhook post");
    assert_eq!(check(&node_b, Some(mail.clone()), at(300)).await, 0, "once per episode");
    assert_eq!((smtp.count(), hooks.count()), (1, 1));
    let (to, message) = smtp.got.lock().unwrap()[0].clone();
    assert_eq!(to, ["ops@example.com", "oncall@example.com"]);
    let webhook_text = serde_json::from_str::<serde_json::Value>(&hooks.got.lock().unwrap()[0]).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let (headers, body) = message.split_once("\n\n").expect("headers, then the text");
    assert_eq!(quoted_printable(body).trim_end(), webhook_text, "the e-mail says what the webhook says: {message}");
    assert!(webhook_text.contains("https://ferry.example.com/api/v1/queue"), "{webhook_text}");
    let headers = headers.replace("\n ", " ");
    assert!(headers.contains("Subject: Ferry alert for tenant acme: a remote system's circuit is open"), "{headers}");

    // A new episode while the mail server refuses: the webhook goes once, the e-mail is sent
    // at the next check (by a node with [smtp]; a node without leaves it alone).
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "closed".into())]).await.unwrap();
    assert_eq!(check(&node_a, Some(mail.clone()), at(400)).await, 0);
    node_a.record_breakers("n1", &[("acme.crm.example".into(), "open".into())]).await.unwrap();
    assert_eq!(check(&node_a, Some(mail.clone()), at(500)).await, 0);
    *smtp.refuse.lock().unwrap() = true;
    assert_eq!(check(&node_a, Some(mail.clone()), at(600)).await, 1, "the webhook post only");
    *smtp.refuse.lock().unwrap() = false;
    assert_eq!(check(&node_b, None, at(630)).await, 0, "a node without [smtp] sends no e-mail");
    assert_eq!(check(&node_b, Some(mail.clone()), at(660)).await, 1, "the e-mail, at the next check");
    assert_eq!(check(&node_a, Some(mail.clone()), at(700)).await, 0);
    assert_eq!((smtp.count(), hooks.count()), (2, 2), "two episodes: two e-mails, two posts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_goes_by_email_once_per_episode_on_sqlite() {
    let dir = ferry_store::testing::TempDir::new("ferry-alerts-mail").unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let a = AnyStore::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = AnyStore::open(&url).await.unwrap();
    email_episodes(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_goes_by_email_once_per_episode_across_nodes_on_postgres() {
    let Some(url) = ferry_store::testing::fresh_pg_schema("console_mail").await.unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let a = AnyStore::open(&url).await.unwrap();
    a.migrate().await.unwrap();
    let b = AnyStore::open(&url).await.unwrap();
    email_episodes(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_smtp_config_is_named() {
    let good = SmtpReceiver::start().await.settings();
    let e = Mailer::new(&SmtpSettings { host: "mail.example.com".into(), ..good.clone() }, None).unwrap_err();
    assert!(e.contains("smtp.security") && e.contains("`mail.example.com` needs starttls or tls"), "{e}");
    let e = Mailer::new(&SmtpSettings { from: "ferry at example".into(), ..good.clone() }, None).unwrap_err();
    assert!(e.contains("smtp.from: `ferry at example` is not an e-mail address"), "{e}");
    let e = Mailer::new(&SmtpSettings { username: Some("ferry".into()), ..good.clone() }, None).unwrap_err();
    assert!(e.contains("smtp.username is set without smtp.password_secret"), "{e}");
    // Nobody listens there: the send fails naming the server.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mailer = Mailer::new(&SmtpSettings { port, ..good }, None).unwrap();
    let e = mailer.send(&["ops@example.com".into()], "s", "t").await.unwrap_err();
    assert!(e.contains(&format!("smtp 127.0.0.1:{port} (none)")), "{e}");
    let e = mailer.test().await.unwrap_err();
    assert!(e.contains(&format!("smtp 127.0.0.1:{port} (none)")), "{e}");
}
