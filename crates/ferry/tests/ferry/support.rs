//! Running the binary, temporary folders, and a local HTTP receiver that records effects.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub fn ferry_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferry")
}

/// A `ferry` command run in `dir` with a clean environment for Ferry's own variables.
pub fn ferry(dir: &Path) -> Command {
    let mut c = Command::new(ferry_bin());
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("FERRY_") && k != "FERRY_REQUIRE_PG" && k != "FERRY_TEST_PG_URL" {
            c.env_remove(k);
        }
    }
    c.env("FERRY_LOG", "info");
    c
}

/// `ferry --config CONFIG run` in `dir`, stdout discarded (the node logs to stderr).
pub fn node(dir: &Path, config: &Path) -> Command {
    let mut c = ferry(dir);
    c.arg("--config").arg(config).arg("run").stdout(Stdio::null());
    c
}

/// Runs a command with `stdin` text and returns its output.
pub fn run_with_stdin(cmd: &mut Command, stdin: &str) -> Output {
    use std::io::Write as _;
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ferry");
    if let Some(mut s) = child.stdin.take() {
        s.write_all(stdin.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait ferry")
}

pub fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A temporary folder removed on drop.
pub struct TempDir(ferry_store::testing::TempDir);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        TempDir(ferry_store::testing::TempDir::new(prefix).expect("temp dir"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Effects applied, by idempotency key: the body applied and how often it was applied.
    pub applied: HashMap<String, (String, u32)>,
    /// Every request received, including idempotent repeats.
    pub deliveries: u64,
    /// Repeats whose body differed from the applied one (must never happen).
    pub conflicting: u64,
}

/// An HTTP/1.1 server on 127.0.0.1 that applies each `Idempotency-Key` once, answering
/// repeats with 200 and the first delivery with 201, after an optional delay.
pub struct Receiver {
    pub addr: SocketAddr,
    pub ledger: Arc<Mutex<Ledger>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start(delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let l2 = Arc::clone(&ledger);
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let ledger = Arc::clone(&l2);
                tokio::spawn(async move {
                    let _ = serve(sock, ledger, delay).await;
                });
            }
        });
        Receiver { addr, ledger, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/effects", self.addr)
    }
}

async fn serve(sock: tokio::net::TcpStream, ledger: Arc<Mutex<Ledger>>, delay: Duration) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut len = 0usize;
        let mut key = None;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = value.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = Some(value.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let status = {
            let mut l = ledger.lock().unwrap();
            l.deliveries += 1;
            let body = String::from_utf8_lossy(&body).into_owned();
            match key {
                None => "400 Bad Request",
                Some(k) => match l.applied.get(&k).cloned() {
                    Some((first, _)) => {
                        if first != body {
                            l.conflicting += 1;
                        }
                        "200 OK"
                    }
                    None => {
                        l.applied.insert(k, (body, 1));
                        "201 Created"
                    }
                },
            }
        };
        w.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").as_bytes()).await?;
    }
}

/// Writes a node config for a store URL into `dir`.
pub fn write_config(dir: &Path, store_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("ferry.toml");
    let text =
        // Port 0: every node a test starts listens on a free port of its own.
        format!(
            "[node]\ndata_dir = \"{}\"\nlisten = \"127.0.0.1:0\"\n\n[store]\nurl = \"{store_url}\"\n\n{extra}\n",
            dir.join("data").display()
        );
    std::fs::write(&path, text).expect("write config");
    path
}

/// A fresh PostgreSQL URL (own schema), or None when PG is absent and not required.
pub async fn pg_url(hint: &str) -> Option<String> {
    ferry_store::testing::fresh_pg_schema(hint).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The `[[connections]]` of a node on one Amazon and one Dataverse sandbox (TLS through
/// `ca_file`, notifications from the sandbox's queue), their limits scaled by `amazon_scale`
/// and `crm_scale`; secrets are named `amazon.*` and `crm.*`.
pub fn sandbox_connections(
    amazon: &ferry_sandbox::amazon::AmazonSandbox,
    dataverse: &ferry_sandbox::dataverse::DataverseSandbox,
    (amazon_scale, crm_scale): (f64, f64),
    ca_file: &Path,
) -> String {
    use ferry_sandbox::dataverse::{DEFAULT_CLIENT_ID, DEFAULT_TENANT};
    format!(
        "[[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"{}\"\ncredentials = \"amazon\"\nlimits = {{ scale = {amazon_scale} }}\n\
         options = {{ marketplace_ids = [\"{}\"], token_url = \"{}\", queue_url = \"{}\", queue_wait_seconds = 1, fulfilment_poll_seconds = 1.0, ca_file = \"{ca}\" }}\n\n\
         [[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"{}\"\ncredentials = \"crm\"\nlimits = {{ scale = {crm_scale} }}\n\
         options = {{ tenant = \"{DEFAULT_TENANT}\", client_id = \"{DEFAULT_CLIENT_ID}\", authority = \"{}\", ca_file = \"{ca}\" }}\n",
        amazon.base_url(),
        amazon.config().marketplace_id,
        amazon.token_url(),
        amazon.queue_url(),
        dataverse.base_url(),
        dataverse.authority_url(),
        ca = ca_file.display(),
    )
}
