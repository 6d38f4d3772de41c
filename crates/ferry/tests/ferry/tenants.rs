//! Tenants and their connections managed from the command line: two sellers on one node,
//! each seeing and changing only its own rows; every change audited; a disabled tenant's
//! queued jobs wait, untouched, until it is enabled, without restarting the node.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use ferry_store::{AnyStore, Completion, JobState, NewJob, Store, TenantId};
use serde_json::json;

use super::support::{TempDir, ferry, node, run_with_stdin, text, write_config};

fn tenant(id: &str) -> TenantId {
    id.parse().unwrap()
}

/// `ferry ARGS` in `dir` (no config: the store is `dir/.ferry/ferry.db`, node.tenant `default`).
fn run(dir: &Path, args: &[&str]) -> Output {
    ferry(dir).args(args).output().unwrap()
}

/// Asserts a refusal: exit code 2 and `message` on stderr, no panic.
fn refused(out: &Output, message: &str) {
    let (o, e) = text(out);
    assert_eq!(out.status.code(), Some(2), "expected a refusal naming {message:?}\nstdout: {o}\nstderr: {e}");
    assert!(e.contains(message), "stderr does not say {message:?}: {e}");
    assert!(!e.contains("panicked"), "{e}");
}

fn ok(out: &Output) -> String {
    let (o, e) = text(out);
    assert!(out.status.success(), "exit {:?}\nstdout: {o}\nstderr: {e}", out.status);
    o
}

/// The store `ferry` uses in `dir` without a config, opened as the node opens it.
async fn cli_store(dir: &Path) -> AnyStore {
    let (key, _) = ferry_store::secrets::MasterKey::load(&dir.join(".ferry/master.key")).expect("master key");
    let store = AnyStore::open(&format!("sqlite://{}", dir.join(".ferry/ferry.db").display()))
        .await
        .unwrap()
        .with_payload_key(std::sync::Arc::new(key));
    store.migrate().await.unwrap();
    store
}

fn os_user() -> String {
    let out = std::process::Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_added_listed_disabled_enabled_and_set_with_an_audit_row_each() {
    let dir = TempDir::new("tenants-cli");
    let d = dir.path();
    let o =
        ok(&run(d, &["tenants", "add", "acme", "--name", "Acme Ltd", "--retention-days", "90", "--label", "INC-7"]));
    assert!(o.contains("added tenant `acme` (Acme Ltd)") && o.contains("90 days"), "{o}");
    assert!(o.contains("flows/acme"), "says where its flows go: {o}");

    let o = ok(&run(d, &["tenants", "list"]));
    let lines: Vec<&str> = o.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two tenants: {o}");
    assert!(lines[1].starts_with("acme") && lines[1].contains("Acme Ltd") && lines[1].contains("active"), "{o}");
    assert!(lines[1].contains("90 days"), "{o}");
    assert!(lines[2].starts_with("default") && lines[2].contains("30 days (store.retention_days)"), "{o}");

    ok(&run(d, &["tenants", "disable", "acme"]));
    let o = ok(&run(d, &["tenants", "disable", "acme"]));
    assert!(o.contains("already disabled"), "{o}");
    ok(&run(d, &["tenants", "set", "acme", "--retention-days", "default"]));
    let list: serde_json::Value = serde_json::from_str(&ok(&run(d, &["tenants", "list", "--json"]))).unwrap();
    assert_eq!(list[0]["id"], "acme");
    assert_eq!(list[0]["status"], "disabled");
    assert_eq!(list[0]["retention_days"], serde_json::Value::Null);
    assert_eq!(list[0]["effective_retention_days"], 30);
    assert_eq!(list[1]["status"], "active", "the other tenant is untouched: {list}");
    let o = ok(&run(d, &["tenants", "enable", "acme"]));
    assert!(o.contains("enabled tenant `acme`"), "{o}");

    // Bad input: a clear error and exit code 2, and nothing changes.
    refused(&run(d, &["tenants", "add", "acme"]), "tenant `acme` already exists");
    refused(&run(d, &["tenants", "add", "Not A Tenant!"]), "tenant id `Not A Tenant!`");
    refused(&run(d, &["tenants", "disable", "ghost"]), "tenant `ghost` does not exist; `ferry tenants list`");
    refused(&run(d, &["tenants", "set", "ghost", "--retention-days", "5"]), "tenant `ghost` does not exist");
    refused(&run(d, &["tenants", "set", "acme", "--retention-days", "0"]), "from 1 to 3650");
    refused(&run(d, &["--tenant", "ghost", "dlq", "list"]), "tenant `ghost` does not exist; `ferry tenants list`");
    let list: serde_json::Value = serde_json::from_str(&ok(&run(d, &["tenants", "list", "--json"]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "no tenant was created by a typo: {list}");
    assert_eq!(list[0]["name"], "Acme Ltd");

    let store = cli_store(d).await;
    let log = store.audit_log(&tenant("acme"), 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(actions, ["tenant.enable", "tenant.retention", "tenant.disable", "tenant.add"], "{log:?}");
    let user = os_user();
    assert_eq!(log[3].entry.actor, format!("cli:{user} (INC-7)"));
    assert_eq!(log[0].entry.actor, format!("cli:{user}"));
    assert!(store.audit_log(&tenant("default"), 10).await.unwrap().is_empty(), "nothing under another tenant");
}

/// A dead letter of `tenant` in the store, with a buyer e-mail in its payload.
async fn dead_letter(store: &AnyStore, tenant: &TenantId, order: &str) -> ferry_store::DeadLetterId {
    let payload = json!({ "order": order, "buyer": { "BuyerEmail": "jane@example.com" } });
    store.enqueue(&[NewJob::new(tenant.clone(), "amazon-orders", payload)]).await.unwrap();
    let jobs = store.claim("t", 10, Duration::from_secs(30)).await.unwrap();
    let done: Vec<Completion> = jobs.iter().map(|j| Completion::dead(j.id, "write", "permanent", "refused")).collect();
    store.complete("t", &done).await.unwrap();
    store.dead_letters(tenant, true, 10).await.unwrap()[0].id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_commands_never_show_or_change_another_tenants_rows() {
    let dir = TempDir::new("tenants-apart");
    let d = dir.path();
    ok(&run(d, &["tenants", "add", "acme"]));
    let store = cli_store(d).await;
    let home = tenant("default");
    let mine = dead_letter(&store, &home, "111-0000000-0000001").await;

    // Each tenant stores a secret and a connection of the same names.
    for t in ["default", "acme"] {
        let out = run_with_stdin(ferry(d).args(["--tenant", t, "secrets", "set", &format!("{t}-only")]), "v\n");
        ok(&out);
        ok(&run(
            d,
            &[
                "--tenant",
                t,
                "connections",
                "add",
                "crm",
                "--system",
                "dataverse",
                "--endpoint",
                &format!("https://{t}.crm.dynamics.com"),
                "--option",
                "client_id=app",
                "--option",
                "tenant=contoso",
                "--credentials",
                &format!("{t}-only"),
            ],
        ));
    }

    // The flag and FERRY_TENANT select the same tenant.
    let mut by_flag = ferry(d);
    by_flag.args(["--tenant", "acme"]);
    let mut by_env = ferry(d);
    by_env.env("FERRY_TENANT", "acme");
    for mut acme in [by_flag, by_env] {
        let out = acme.args(["dlq", "list", "--all"]).output().unwrap();
        assert!(ok(&out).contains("no dead letters"), "{}", text(&out).0);
    }
    let o = ok(&run(d, &["--tenant", "acme", "secrets", "list"]));
    assert!(o.contains("acme-only") && !o.contains("default-only"), "{o}");
    let o = ok(&run(d, &["secrets", "list"]));
    assert!(o.contains("default-only") && !o.contains("acme-only"), "{o}");
    let conns: serde_json::Value =
        serde_json::from_str(&ok(&run(d, &["--tenant", "acme", "connections", "list", "--json"]))).unwrap();
    assert_eq!(conns.as_array().unwrap().len(), 1, "{conns}");
    assert_eq!(conns[0]["endpoint"], "https://acme.crm.dynamics.com");
    assert_eq!(conns[0]["credentials"], "acme-only", "the secret's name, never its value");
    assert_eq!(conns[0]["options"], json!({ "client_id": "app", "tenant": "contoso" }));
    let o = ok(&run(d, &["connections", "list"]));
    assert!(o.contains("default.crm.dynamics.com") && !o.contains("acme.crm"), "{o}");

    // Acme cannot touch the default tenant's dead letter; removing its own `crm` leaves the
    // default tenant's `crm` in place.
    let id = mine.to_string();
    refused(
        &run(d, &["--tenant", "acme", "dlq", "discard", &id]),
        &format!("dead letter {id} not found for tenant `acme`"),
    );
    ok(&run(d, &["--tenant", "acme", "connections", "remove", "crm"]));
    refused(
        &run(d, &["--tenant", "acme", "connections", "remove", "crm"]),
        "connection `crm` not found for tenant `acme`",
    );
    assert_eq!(store.connections(&home).await.unwrap().len(), 1, "the default tenant's connection stays");
    assert_eq!(store.dead_letter(&home, mine).await.unwrap().unwrap().status, ferry_store::DeadLetterStatus::Open);

    let acme_log: Vec<String> =
        store.audit_log(&tenant("acme"), 20).await.unwrap().into_iter().map(|r| r.entry.action).collect();
    assert_eq!(acme_log, ["connection.remove", "connection.add", "secret.set", "tenant.add"]);
    let home_log: Vec<String> = store.audit_log(&home, 20).await.unwrap().into_iter().map(|r| r.entry.action).collect();
    assert_eq!(home_log, ["connection.add", "secret.set"], "acme's refused commands audited nothing here");
}

#[test]
fn connections_add_refuses_what_the_node_config_refuses_naming_the_option() {
    let dir = TempDir::new("tenants-conn-check");
    let d = dir.path();
    let add = |args: &[&str]| {
        let mut all = vec!["connections", "add", "amazon"];
        all.extend_from_slice(args);
        run(d, &all)
    };
    const NA: &str = "https://sellingpartnerapi-na.amazon.com";
    const MP: &str = r#"marketplace_ids=["ATVPDKIKX0DER"]"#;
    // A valid Amazon connection plus `extra`.
    let amazon = |extra: &[&str]| {
        let mut args = vec!["--system", "amazon", "--endpoint", NA, "--option", MP];
        args.extend_from_slice(extra);
        add(&args)
    };

    refused(&add(&["--system", "ebay", "--endpoint", NA]), "unknown system `ebay` (known: amazon, dataverse");
    refused(
        &add(&["--system", "amazon", "--endpoint", "ftp://x", "--option", MP]),
        "`ftp://x` must start with http:// or https://",
    );
    refused(&add(&["--system", "amazon", "--endpoint", NA]), "options.marketplace_ids is required for system `amazon`");
    let wait = amazon(&["--option", "queue_wait_seconds=21"]);
    refused(&wait, "options.queue_wait_seconds must be a whole number of seconds from 0 to 20, got 21");
    refused(&amazon(&["--option", "colour=red"]), "unknown option `colour` for system `amazon`");
    refused(&amazon(&["--option", "novalue"]), "--option `novalue`: expected KEY=VALUE");
    refused(&amazon(&["--limit", "speed=3"]), "unknown limit `speed`");
    refused(&amazon(&["--credentials", "bad name!"]), "--credentials `bad name!`");
    let o = ok(&run(d, &["connections", "list"]));
    assert!(o.contains("has no connections"), "nothing was stored: {o}");

    // The node config says the same of the same option: one check for both.
    let cfg = d.join("ferry.toml");
    std::fs::write(
        &cfg,
        "[[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"https://sellingpartnerapi-na.amazon.com\"\n\
         options = { marketplace_ids = [\"ATVPDKIKX0DER\"], queue_wait_seconds = 21 }\n",
    )
    .unwrap();
    let out = ferry(d).arg("--config").arg(&cfg).arg("check").output().unwrap();
    refused(
        &out,
        "connection amazon: options.queue_wait_seconds must be a whole number of seconds from 0 to 20, got 21",
    );
    assert!(text(&wait).1.contains("connection amazon: options.queue_wait_seconds must be"), "{}", text(&wait).1);

    let o = ok(&amazon(&["--option", "queue_wait_seconds=20", "--limit", "scale=0.5"]));
    assert!(o.contains("added connection `amazon`"), "{o}");
    let o = ok(&run(d, &["connections", "list"]));
    assert!(o.contains("ATVPDKIKX0DER") && o.contains(r#"{"scale":0.5}"#), "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_leaves_a_disabled_tenants_jobs_queued_and_runs_them_once_enabled() {
    let dir = TempDir::new("tenants-node");
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("ferry.db").display());
    let config = write_config(d, &url, "[workers]\ncount = 1\nconcurrency = 4\n");
    let cli = |args: &[&str]| ferry(d).arg("--config").arg(&config).args(args).output().unwrap();
    ok(&cli(&["tenants", "add", "acme"]));
    ok(&cli(&["tenants", "disable", "acme"]));

    let store = AnyStore::open(&url).await.unwrap();
    // Acme's jobs are older: a claim that ignored the status would take them first.
    let acme_jobs: Vec<_> = store
        .enqueue(&(0..3).map(|n| NewJob::new(tenant("acme"), "builtin.noop", json!({ "n": n }))).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let home_jobs: Vec<_> = store
        .enqueue(&(0..3).map(|n| NewJob::new(tenant("default"), "builtin.noop", json!({ "n": n }))).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();

    let mut child = node(d, &config).stderr(Stdio::null()).spawn().unwrap();
    let all_done = |ids: Vec<ferry_store::JobId>| {
        let store = store.clone();
        async move {
            for id in ids {
                if store.job(id).await.unwrap().unwrap().state != JobState::Completed {
                    return false;
                }
            }
            true
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !all_done(home_jobs.clone()).await {
        assert!(Instant::now() < deadline, "the enabled tenant's jobs never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Several more claims go by; the disabled tenant's jobs are still queued, untouched.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in &acme_jobs {
        let job = store.job(*id).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Available, 0), "job {id} of the disabled tenant");
    }

    // Enabled while the node runs: no restart, its queued jobs run.
    ok(&cli(&["tenants", "enable", "acme"]));
    while !all_done(acme_jobs.clone()).await {
        assert!(Instant::now() < deadline + Duration::from_secs(30), "the enabled tenant's queued jobs never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_is_purged_with_its_own_retention() {
    let dir = TempDir::new("tenants-purge");
    let d = dir.path();
    let cfg = d.join("ferry.toml");
    std::fs::write(&cfg, "[node]\ndata_dir = \".ferry\"\n[store]\nretention_days = 30\n").unwrap();
    let cli = |args: &[&str]| ferry(d).arg("--config").arg(&cfg).args(args).output().unwrap();
    ok(&cli(&["tenants", "add", "acme", "--retention-days", "10"]));
    let store = cli_store(d).await;
    let (home, acme) = (tenant("default"), tenant("acme"));
    let home_letter = dead_letter(&store, &home, "111-0000000-0000001").await;
    let acme_letter = dead_letter(&store, &acme, "111-0000000-0000002").await;
    for (t, id) in [(&home, home_letter), (&acme, acme_letter)] {
        store.discard_dead_letter(t, id, "cli:ops").await.unwrap();
    }
    // Both resolved eleven days ago: past acme's ten days, within the node's thirty.
    let AnyStore::Sqlite(sqlite) = &store else { unreachable!("a sqlite store") };
    let eleven_days_ago = ferry_store::to_micros(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(11 * 24));
    for sql in ["UPDATE dead_letters SET resolved_at = $1", "UPDATE jobs SET updated_at = $1"] {
        sqlx::query(sql).bind(eleven_days_ago).execute(sqlite.pool()).await.unwrap();
    }

    // The selected tenant alone, with its own retention.
    let o = ok(&cli(&["purge"]));
    assert!(o.contains("older than 30 days for tenant `default`") && o.contains("0 resolved dead letters"), "{o}");
    assert!(store.dead_letter(&acme, acme_letter).await.unwrap().is_some(), "another tenant's purge left acme's");

    // Every tenant, each with its own, as a running node does every hour.
    let o = ok(&cli(&["purge", "--all-tenants"]));
    assert!(
        o.contains("older than 10 days for tenant `acme`: 0 inbox events, 1 finished jobs, 1 resolved dead letters"),
        "{o}"
    );
    assert!(o.contains("older than 30 days for tenant `default`"), "{o}");
    assert!(store.dead_letter(&acme, acme_letter).await.unwrap().is_none(), "past acme's ten days: gone");
    assert!(store.dead_letter(&home, home_letter).await.unwrap().is_some(), "within the node's thirty: kept");

    // Back to the node's default: acme keeps thirty days too.
    ok(&cli(&["tenants", "set", "acme", "--retention-days", "default"]));
    let o = ok(&cli(&["--tenant", "acme", "purge"]));
    assert!(o.contains("older than 30 days for tenant `acme`"), "{o}");
}
