//! Alerts by e-mail: the node's `[smtp]` section ([`SmtpSettings`]) and a [`Mailer`] that
//! sends one plain-text message per alert to a rule's recipients.
//!
//! Sent with `lettre` (features `smtp-transport`, `tokio1`, `tokio1-rustls`, `ring`,
//! `webpki-roots`, `builder`; no native-tls, no connection pool, no hostname lookup): TLS goes
//! through rustls with the ring provider and the public roots, as every other client of
//! Ferry's does, and it adds six small crates to the build (lettre, async-trait,
//! email-encoding, email_address, nom 8, quoted_printable). A connection is opened for each
//! message: alerts are rare, and nothing is held open to a server that may go away.
//!
//! The password is never in the config file: `smtp.password_secret` names a secret of the
//! node's tenant (`ferry secrets set <name>`), sealed in the store like the connections'
//! secrets, and opened when the node starts. An e-mail carries the alert's text only (no
//! buyer data: the same words and console link as the webhook's message).

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587 by default).
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// No encryption: only to a relay on this machine (127.0.0.1, ::1, localhost).
    None,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Starttls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "starttls" => Ok(Security::Starttls),
            "tls" => Ok(Security::Tls),
            "none" => Ok(Security::None),
            other => Err(format!("`{other}` is not one of starttls, tls, none")),
        }
    }

    /// The port used when `smtp.port` is not given.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// The node's `[smtp]` section: where alert e-mail goes out, as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The login, if the server wants one (with [`Self::password_secret`]).
    pub username: Option<String>,
    /// The name of the node tenant's secret that holds the password.
    pub password_secret: Option<String>,
    /// The sender: `ferry@example.com` or `Ferry <ferry@example.com>`.
    pub from: String,
}

/// Whether `host` is this machine.
fn loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "::1" | "[::1]" | "localhost")
}

impl SmtpSettings {
    /// Every problem with the settings, each naming its setting (`smtp.host`…).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.host.trim().is_empty() || self.host.contains(['/', ' ', '@']) {
            problems.push(format!("smtp.host: `{}` is not a host name or address", self.host));
        }
        if self.port == 0 {
            problems.push("smtp.port: must be between 1 and 65535, got 0".into());
        }
        if self.security == Security::None && !loopback(&self.host) {
            problems.push(format!(
                "smtp.security: `none` sends the password and the alerts in clear, so it is only for a relay on this \
                 machine (127.0.0.1); `{}` needs starttls or tls",
                self.host
            ));
        }
        match (&self.username, &self.password_secret) {
            (Some(_), None) => problems.push(
                "smtp.username is set without smtp.password_secret: name the secret that holds the password \
                 (ferry secrets set <name>)"
                    .into(),
            ),
            (None, Some(_)) => {
                problems.push("smtp.password_secret is set without smtp.username: give both or neither".into())
            }
            _ => {}
        }
        if let Err(e) = self.from.parse::<Mailbox>() {
            problems.push(format!("smtp.from: `{}` is not an e-mail address ({e})", self.from));
        }
        problems
    }

    /// `host:port (security)`, for messages.
    pub fn server(&self) -> String {
        format!("{}:{} ({})", self.host, self.port, self.security.as_str())
    }
}

/// An alert's recipient must be one address (`ops@example.com`).
pub fn check_recipient(to: &str) -> Result<(), String> {
    let address: lettre::Address = to.trim().parse().map_err(|e| format!("`{to}` is not an e-mail address ({e})"))?;
    if address.to_string() != to.trim() {
        return Err(format!("`{to}` is not one e-mail address"));
    }
    Ok(())
}

/// Sends alert e-mail through the node's SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

/// How long one SMTP command may take.
const TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    /// A mailer for `settings`, with the password opened from its secret (`None` when the
    /// settings name no secret). Bad settings are refused, each problem named.
    pub fn new(settings: &SmtpSettings, password: Option<&str>) -> Result<Mailer, String> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let from: Mailbox = settings.from.parse().map_err(|e| format!("smtp.from: {e}"))?;
        let host = settings.host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| format!("smtp: TLS for {}: {e}", settings.server()))
        };
        let tls = match settings.security {
            Security::Starttls => Tls::Required(tls(&host)?),
            Security::Tls => Tls::Wrapper(tls(&host)?),
            Security::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        match (&settings.username, password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.to_owned()));
            }
            (Some(_), None) => return Err("smtp.username is set but no password was given".into()),
            _ => {}
        }
        Ok(Mailer { transport: builder.build(), from, server: settings.server() })
    }

    /// `host:port (security)` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Connects, secures the connection and logs in as a send would, then quits: what
    /// `ferry check --online` runs.
    pub async fn test(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("smtp {}: the server did not answer NOOP", self.server)),
            Err(e) => Err(format!("smtp {}: {e}", self.server)),
        }
    }

    /// Sends `text` (plain, UTF-8) to each of `to`, in one message.
    pub async fn send(&self, to: &[String], subject: &str, text: &str) -> Result<(), String> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for address in to {
            let mailbox: Mailbox = address.parse().map_err(|e| format!("recipient `{address}`: {e}"))?;
            message = message.to(mailbox);
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_owned())
            .map_err(|e| format!("the alert e-mail could not be written: {e}"))?;
        self.transport.send(message).await.map_err(|e| format!("smtp {}: {e}", self.server))?;
        Ok(())
    }
}
