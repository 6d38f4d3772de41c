//! The node config: one TOML file (store, listen address, data folder, flows folder,
//! workers, connections), each setting overridable by a `FERRY_*` environment variable.
//! Every error names the file, line and column.

pub mod options;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_model::{ConnectionId, TenantId};
use serde::Deserialize;
use toml::Spanned;

/// The systems a connection can point at.
pub const SYSTEMS: &[&str] = &["amazon", "dataverse", "fno", "dynamics-sl", "clarity", "http"];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    node: RawNode,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    workers: RawWorkers,
    #[serde(default)]
    connections: Vec<RawConnection>,
    smtp: Option<RawSmtp>,
}

/// `[smtp]`: where alert e-mail goes out. The password is a secret's name, never a value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Spanned<String>,
    port: Option<Spanned<u32>>,
    security: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    password_secret: Option<Spanned<String>>,
    /// Only so a password written here is refused with a word on where it goes instead.
    password: Option<Spanned<toml::Value>>,
    from: Spanned<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: Option<String>,
    tenant: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    data_dir: Option<String>,
    flows_dir: Option<String>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Option<Spanned<String>>,
    max_connections: Option<Spanned<u32>>,
    retention_days: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWorkers {
    count: Option<Spanned<u32>>,
    concurrency: Option<Spanned<u32>>,
    lease_seconds: Option<Spanned<u32>>,
    drain_seconds: Option<Spanned<u32>>,
    max_attempts: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    id: Spanned<String>,
    system: Spanned<String>,
    endpoint: Spanned<String>,
    credentials: Option<String>,
    #[serde(default)]
    limits: Option<toml::Table>,
    #[serde(default)]
    options: Option<toml::Table>,
}

pub use ferry_flows::{ConnectionConfig, connection_tls};

/// The validated node config.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    pub node_id: Option<String>,
    pub tenant: TenantId,
    pub listen: std::net::SocketAddr,
    pub data_dir: PathBuf,
    pub flows_dir: PathBuf,
    pub store_url: String,
    /// `store.max_connections`: the store's pool size; `None` is the backend's default.
    pub store_max_connections: Option<u32>,
    /// `store.retention_days`: processed buyer data (inbox events, finished jobs, resolved
    /// dead letters, run traces) older than this is purged.
    pub retention_days: u32,
    pub workers: u32,
    pub concurrency: u32,
    pub lease: Duration,
    /// How long a stop (SIGTERM) may take: running jobs finish and their outcomes commit.
    pub drain: Duration,
    pub max_attempts: u32,
    pub connections: Vec<ConnectionConfig>,
    /// `node.tls_cert` and `node.tls_key`: the listener terminates TLS itself.
    pub tls: Option<TlsFiles>,
    /// `[smtp]`: alert rules may name e-mail recipients.
    pub smtp: Option<ferry_console::email::SmtpSettings>,
}

/// A PEM certificate chain and its PEM private key, both checked to load when the config is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One problem in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Every problem found, so one run of `ferry check` shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The most connections `store.max_connections` may ask for (PostgreSQL's own default
/// `max_connections` is 100, shared by every node).
pub const MAX_STORE_CONNECTIONS: u32 = 500;

/// The defaults a node runs with when there is no config file: embedded SQLite in `.ferry/`.
pub fn defaults() -> NodeConfig {
    let data_dir = PathBuf::from(".ferry");
    NodeConfig {
        node_id: None,
        tenant: TenantId::try_from("default".to_string()).unwrap_or_else(|_| unreachable_tenant()),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        store_url: format!("sqlite://{}", data_dir.join("ferry.db").display()),
        data_dir,
        flows_dir: PathBuf::from("flows"),
        store_max_connections: None,
        retention_days: RETENTION_DAYS,
        workers: 2,
        concurrency: 64,
        lease: Duration::from_secs(30),
        drain: Duration::from_secs(20),
        max_attempts: 8,
        connections: Vec::new(),
        tls: None,
        smtp: None,
    }
}

/// The default of `store.retention_days`, and its largest value (ten years; a tenant's own
/// retention has the same bounds).
pub const RETENTION_DAYS: u32 = 30;
pub const MAX_RETENTION_DAYS: u32 = 3_650;

fn unreachable_tenant() -> TenantId {
    // "default" is a valid tenant id; this path exists only so no panic is possible.
    TenantId::try_from("t".to_string()).unwrap_or_else(|_| std::process::abort())
}

/// Reads and validates a config file, then applies `FERRY_*` overrides from `env`.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<NodeConfig, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigIssue { file: file.clone(), line: 0, column: 0, message: format!("cannot read: {e}") }])
    })?;
    parse(&text, &file, env)
}

/// Validates config text (`file` names it in errors).
pub fn parse(text: &str, file: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<NodeConfig, ConfigErrors> {
    let at = |span: Option<Range<usize>>, message: String| {
        let (line, column) = span.map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigIssue { file: file.to_string(), line, column, message }
    };
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| ConfigErrors(vec![at(e.span(), e.message().trim().to_string())]))?;
    let mut issues = Vec::new();
    let mut cfg = defaults();

    if let Some(id) = raw.node.id {
        cfg.node_id = Some(id);
    }
    if let Some(t) = &raw.node.tenant {
        match TenantId::try_from(t.get_ref().clone()) {
            Ok(t) => cfg.tenant = t,
            Err(e) => issues.push(at(Some(t.span()), format!("node.tenant: {e}"))),
        }
    }
    if let Some(l) = &raw.node.listen {
        match l.get_ref().parse() {
            Ok(a) => cfg.listen = a,
            Err(_) => issues.push(at(
                Some(l.span()),
                format!("node.listen: `{}` is not an address like 127.0.0.1:8080", l.get_ref()),
            )),
        }
    }
    if let Some(d) = raw.node.data_dir {
        cfg.store_url = format!("sqlite://{}", Path::new(&d).join("ferry.db").display());
        cfg.data_dir = PathBuf::from(d);
    }
    if let Some(d) = raw.node.flows_dir {
        cfg.flows_dir = PathBuf::from(d);
    }
    match (&raw.node.tls_cert, &raw.node.tls_key) {
        (Some(cert), Some(key)) => {
            let files = TlsFiles { cert: PathBuf::from(cert.get_ref()), key: PathBuf::from(key.get_ref()) };
            match ferry_server::TlsConfig::from_pem_files(&files.cert, &files.key) {
                Ok(_) => cfg.tls = Some(files),
                Err(e) => {
                    // Point at the setting whose file is wrong (the certificate for a mismatch).
                    let span = match &e {
                        ferry_server::TlsError::Read { path, .. } | ferry_server::TlsError::Pem { path, .. }
                            if path == &files.key =>
                        {
                            key.span()
                        }
                        _ => cert.span(),
                    };
                    issues.push(at(Some(span), format!("node.tls_cert/node.tls_key: {e}")));
                }
            }
        }
        (Some(one), None) | (None, Some(one)) => {
            let (set, missing) =
                if raw.node.tls_cert.is_some() { ("tls_cert", "tls_key") } else { ("tls_key", "tls_cert") };
            issues.push(at(
                Some(one.span()),
                format!("node.{set} is set without node.{missing}: give both (PEM files) or neither"),
            ));
        }
        (None, None) => {}
    }
    if let Some(u) = &raw.store.url {
        match check_store_url(u.get_ref()) {
            Ok(()) => cfg.store_url = u.get_ref().clone(),
            Err(m) => issues.push(at(Some(u.span()), format!("store.url: {m}"))),
        }
    }
    let mut positive = |v: &Option<Spanned<u32>>, name: &str, max: u32| -> Option<u32> {
        let v = v.as_ref()?;
        let n = *v.get_ref();
        if n == 0 || n > max {
            issues.push(at(Some(v.span()), format!("{name}: must be between 1 and {max}, got {n}")));
            None
        } else {
            Some(n)
        }
    };
    if let Some(n) = positive(&raw.store.max_connections, "store.max_connections", MAX_STORE_CONNECTIONS) {
        cfg.store_max_connections = Some(n);
    }
    if let Some(n) = positive(&raw.workers.count, "workers.count", 64) {
        cfg.workers = n;
    }
    if let Some(n) = positive(&raw.workers.concurrency, "workers.concurrency", 10_000) {
        cfg.concurrency = n;
    }
    if let Some(n) = positive(&raw.workers.lease_seconds, "workers.lease_seconds", 3_600) {
        cfg.lease = Duration::from_secs(u64::from(n));
    }
    if let Some(n) = positive(&raw.workers.drain_seconds, "workers.drain_seconds", 3_600) {
        cfg.drain = Duration::from_secs(u64::from(n));
    }
    if let Some(n) = positive(&raw.workers.max_attempts, "workers.max_attempts", 100) {
        cfg.max_attempts = n;
    }
    if let Some(n) = positive(&raw.store.retention_days, "store.retention_days", MAX_RETENTION_DAYS) {
        cfg.retention_days = n;
    }
    for c in &raw.connections {
        let id = match ConnectionId::try_from(c.id.get_ref().clone()) {
            Ok(id) => Some(id),
            Err(e) => {
                issues.push(at(Some(c.id.span()), format!("connections.id: {e}")));
                None
            }
        };
        if let Some(id) = &id
            && cfg.connections.iter().any(|k: &ConnectionConfig| &k.id == id)
        {
            issues.push(at(Some(c.id.span()), format!("connections.id: `{id}` is defined twice")));
        }
        if let Err(m) = options::check_system(c.system.get_ref()) {
            issues.push(at(Some(c.system.span()), format!("connections.system: {m}")));
        }
        let endpoint = c.endpoint.get_ref();
        if let Err(m) = options::check_endpoint(endpoint) {
            issues.push(at(Some(c.endpoint.span()), format!("connections.endpoint: {m}")));
        }
        if let Some(id) = id {
            let conn = ConnectionConfig {
                id,
                system: c.system.get_ref().clone(),
                endpoint: endpoint.clone(),
                credentials: c.credentials.clone(),
                limits: c.limits.as_ref().map(|t| serde_json::to_value(t).unwrap_or_default()).unwrap_or_default(),
                options: c.options.as_ref().map(|t| serde_json::to_value(t).unwrap_or_default()).unwrap_or_default(),
            };
            for m in options::check_settings(&conn) {
                issues.push(at(Some(c.id.span()), m));
            }
            cfg.connections.push(conn);
        }
    }
    if let Some(smtp) = &raw.smtp {
        cfg.smtp = smtp_settings(smtp, &mut |span, message| issues.push(at(Some(span), message)));
    }
    apply_env(&mut cfg, env, &mut issues);
    if issues.is_empty() { Ok(cfg) } else { Err(ConfigErrors(issues)) }
}

/// The `[smtp]` section checked, each problem reported at its setting.
fn smtp_settings(
    raw: &RawSmtp,
    issue: &mut dyn FnMut(Range<usize>, String),
) -> Option<ferry_console::email::SmtpSettings> {
    use ferry_console::email::{Security, SmtpSettings};
    let mut ok = true;
    if let Some(p) = &raw.password {
        issue(
            p.span(),
            "smtp.password: a password is never written in the config file; store it with `ferry secrets set \
             smtp-password` (it is sealed under the node's key) and name it in smtp.password_secret"
                .into(),
        );
        ok = false;
    }
    let security = match &raw.security {
        None => Security::Starttls,
        Some(s) => match Security::parse(s.get_ref()) {
            Ok(sec) => sec,
            Err(m) => {
                issue(s.span(), format!("smtp.security: {m}"));
                return None;
            }
        },
    };
    let port = match &raw.port {
        None => security.default_port(),
        Some(p) => match u16::try_from(*p.get_ref()) {
            Ok(n) if n > 0 => n,
            _ => {
                issue(p.span(), format!("smtp.port: must be between 1 and 65535, got {}", p.get_ref()));
                return None;
            }
        },
    };
    if let Some(name) = &raw.password_secret
        && !crate::commands::valid_secret_name(name.get_ref())
    {
        issue(
            name.span(),
            format!(
                "smtp.password_secret: `{}` is not a secret name: use 1–128 letters, digits, '-', '_', '.', '/'",
                name.get_ref()
            ),
        );
        ok = false;
    }
    let settings = SmtpSettings {
        host: raw.host.get_ref().trim().to_owned(),
        port,
        security,
        username: raw.username.as_ref().map(|u| u.get_ref().clone()),
        password_secret: raw.password_secret.as_ref().map(|p| p.get_ref().clone()),
        from: raw.from.get_ref().clone(),
    };
    for problem in settings.problems() {
        let span = if problem.starts_with("smtp.from") {
            raw.from.span()
        } else if problem.starts_with("smtp.port") {
            raw.port.as_ref().map_or(raw.host.span(), Spanned::span)
        } else if problem.starts_with("smtp.security") {
            raw.security.as_ref().map_or(raw.host.span(), Spanned::span)
        } else if problem.starts_with("smtp.username") {
            raw.username.as_ref().map_or(raw.host.span(), Spanned::span)
        } else if problem.starts_with("smtp.password_secret") {
            raw.password_secret.as_ref().map_or(raw.host.span(), Spanned::span)
        } else {
            raw.host.span()
        };
        issue(span, problem);
        ok = false;
    }
    ok.then_some(settings)
}

/// `FERRY_*` variables override the file.
pub fn apply_env(cfg: &mut NodeConfig, env: &dyn Fn(&str) -> Option<String>, issues: &mut Vec<ConfigIssue>) {
    let issue = |var: &str, message: String| ConfigIssue { file: format!("${var}"), line: 0, column: 0, message };
    if let Some(v) = env("FERRY_DATA_DIR") {
        if !cfg.store_url.starts_with("postgres") {
            cfg.store_url = format!("sqlite://{}", Path::new(&v).join("ferry.db").display());
        }
        cfg.data_dir = PathBuf::from(v);
    }
    if let Some(v) = env("FERRY_STORE_URL") {
        match check_store_url(&v) {
            Ok(()) => cfg.store_url = v,
            Err(m) => issues.push(issue("FERRY_STORE_URL", m)),
        }
    }
    if let Some(v) = env("FERRY_LISTEN") {
        match v.parse() {
            Ok(a) => cfg.listen = a,
            Err(_) => issues.push(issue("FERRY_LISTEN", format!("`{v}` is not an address like 127.0.0.1:8080"))),
        }
    }
    if let Some(v) = env("FERRY_FLOWS_DIR") {
        cfg.flows_dir = PathBuf::from(v);
    }
    if let Some(v) = env("FERRY_NODE_ID") {
        cfg.node_id = Some(v);
    }
    if let Some(v) = env("FERRY_WORKERS") {
        match v.parse::<u32>() {
            Ok(n) if (1..=64).contains(&n) => cfg.workers = n,
            _ => issues.push(issue("FERRY_WORKERS", format!("must be a number from 1 to 64, got `{v}`"))),
        }
    }
}

/// The roots of the `builtin.http_call` flow: the public ones plus every `http` connection's
/// `ca_file`.
pub fn http_call_tls(cfg: &NodeConfig) -> Result<ferry_connectors::http::Tls, String> {
    let mut tls = ferry_connectors::http::Tls::default();
    for conn in cfg.connections.iter().filter(|c| c.system == "http") {
        tls = tls.merged(&connection_tls(conn)?);
    }
    Ok(tls)
}

fn check_store_url(url: &str) -> Result<(), String> {
    if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a store URL: use sqlite://path/to/ferry.db or postgres://user@host:5432/db",
            ferry_store::redact::url(url)
        ))
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// The process environment, for [`load`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
