//! The command line as a user meets it: config errors with lines, secrets, dead letters,
//! status, migrate and the demo.

use std::time::Duration;

use ferry_store::{AnyStore, Completion, NewJob, Store, TenantId};
use serde_json::json;

use super::support::{TempDir, ferry, run_with_stdin, text, write_config};

#[test]
fn check_reports_every_config_error_at_its_line() {
    let dir = TempDir::new("check");
    let cfg = dir.path().join("ferry.toml");
    std::fs::write(
        &cfg,
        r#"[node]
listen = "not-an-address"
[store]
url = "mysql://root:hunter2@db/x"
[workers]
count = 0
[[connections]]
id = "Amazon NA"
system = "ebay"
endpoint = "ftp://example.com"
"#,
    )
    .unwrap();
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (line, what) in [
        (2, "node.listen"),
        (4, "store.url"),
        (6, "workers.count"),
        (8, "connections.id"),
        (9, "unknown system `ebay`"),
        (10, "ftp://"),
    ] {
        assert!(
            err.contains(&format!("ferry.toml:{line}:")) && err.contains(what),
            "line {line} ({what}) not reported:\n{err}"
        );
    }
    assert!(!err.contains("hunter2"), "a password in a URL is never echoed:\n{err}");
}

#[test]
fn check_names_syntax_errors_and_unknown_settings() {
    let dir = TempDir::new("check2");
    let cfg = dir.path().join("ferry.toml");
    std::fs::write(&cfg, "[node]\ntenant = \"acme\"\nlistn = \"127.0.0.1:1\"\n").unwrap();
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("ferry.toml:3:1") && err.contains("unknown field `listn`"), "{err}");

    std::fs::write(&cfg, "[node\nid = 1\n").unwrap();
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("ferry.toml:1:"), "{err}");

    let out = ferry(dir.path()).arg("--config").arg(dir.path().join("missing.toml")).arg("check").output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("missing.toml") && err.contains("cannot read"), "{err}");
}

#[test]
fn check_accepts_a_good_config_and_env_overrides_it() {
    let dir = TempDir::new("check3");
    let cfg = write_config(
        dir.path(),
        "sqlite://x.db",
        "[[connections]]\nid = \"amazon-na\"\nsystem = \"amazon\"\nendpoint = \"https://sellingpartnerapi-na.amazon.com\"\ncredentials = \"amazon-na/lwa\"\noptions = { marketplace_ids = [\"ATVPDKIKX0DER\"] }\n",
    );
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert!(o.contains("OK") && o.contains("amazon-na") && o.contains("sqlite://x.db"), "{o}");

    let out = ferry(dir.path())
        .arg("--config")
        .arg(&cfg)
        .arg("check")
        .env("FERRY_STORE_URL", "sqlite://y.db")
        .output()
        .unwrap();
    assert!(text(&out).0.contains("sqlite://y.db"), "the environment overrides the file");
    let out = ferry(dir.path()).arg("check").env("FERRY_WORKERS", "many").output().unwrap();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(e.contains("FERRY_WORKERS") && e.contains("many"), "{e}");
}

#[test]
fn secrets_are_read_from_stdin_sealed_and_never_shown() {
    let dir = TempDir::new("secrets");
    let value = "Atzr|IwEBIA-very-secret-refresh-token";
    let out = run_with_stdin(ferry(dir.path()).args(["secrets", "set", "amazon-na/lwa"]), &format!("{value}\n"));
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert!(o.contains("stored secret amazon-na/lwa"), "{o}");
    assert!(!o.contains(value) && !e.contains(value));
    assert!(e.contains("master key"), "first run says it created the key: {e}");
    let key = dir.path().join(".ferry/master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let out = ferry(dir.path()).args(["secrets", "list"]).output().unwrap();
    let (o, _) = text(&out);
    assert!(o.contains("amazon-na/lwa") && !o.contains(value), "{o}");
    for f in ["ferry.db", "ferry.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(".ferry").join(f)) {
            assert!(!bytes.windows(11).any(|w| w == b"very-secret"), "{f} holds the clear value");
        }
    }
    let out = run_with_stdin(ferry(dir.path()).args(["secrets", "set", "empty"]), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no value on standard input"));
    let out = run_with_stdin(ferry(dir.path()).args(["secrets", "set", "bad name!"]), "x");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("`bad name!` is not valid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_can_be_listed_shown_redacted_edited_replayed_and_discarded() {
    let dir = TempDir::new("dlq");
    let url = format!("sqlite://{}", dir.path().join(".ferry/ferry.db").display());
    let store = AnyStore::open(&url).await.unwrap().with_payload_key(node_key(dir.path()));
    store.migrate().await.unwrap();
    let tenant: TenantId = "default".parse().unwrap();
    store.ensure_tenant(&tenant, "default").await.unwrap();
    let payload =
        json!({ "order": "111-2222222-3333333", "sku": "SKU-404", "buyer": { "BuyerEmail": "jane@example.com" } });
    store
        .enqueue(&[
            NewJob::new(tenant.clone(), "amazon-orders", payload.clone()),
            NewJob::new(tenant.clone(), "amazon-orders", json!({})),
        ])
        .await
        .unwrap();
    let jobs = store.claim("t", 2, Duration::from_secs(30)).await.unwrap();
    let dead = |j: &ferry_store::Job| Completion::dead(j.id, "lookup product", "permanent", "unknown SKU `SKU-404`");
    store.complete("t", &[dead(&jobs[0]), dead(&jobs[1])]).await.unwrap();
    let dls = store.dead_letters(&tenant, true, 10).await.unwrap();
    let (first, second) = (dls[1].id, dls[0].id);

    let out = ferry(dir.path()).args(["dlq", "list"]).output().unwrap();
    let (o, _) = text(&out);
    assert!(
        o.contains("lookup product") && o.contains("unknown SKU `SKU-404`") && o.contains(&first.to_string()),
        "{o}"
    );

    let out = ferry(dir.path()).args(["dlq", "show", &first.to_string()]).output().unwrap();
    let (o, _) = text(&out);
    assert!(o.contains("SKU-404") && o.contains("111-2222222-3333333"), "{o}");
    assert!(!o.contains("jane@example.com"), "buyer e-mail is redacted: {o}");
    let out = ferry(dir.path()).args(["dlq", "show", &first.to_string(), "--unredacted"]).output().unwrap();
    assert!(text(&out).0.contains("jane@example.com"), "an operator can see it on purpose to edit it");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"sku\": \"SKU-1\",\n  oops\n}").unwrap();
    let out = ferry(dir.path()).args(["dlq", "replay", &first.to_string(), "--payload"]).arg(&bad).output().unwrap();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(e.contains("bad.json:3:"), "{e}");

    // Valid JSON that drops a field of the job is refused, naming it; nothing is replayed.
    let dropped = dir.path().join("dropped.json");
    std::fs::write(&dropped, r#"{"order": "111-2222222-3333333", "sku": "SKU-1"}"#).unwrap();
    let out =
        ferry(dir.path()).args(["dlq", "replay", &first.to_string(), "--payload"]).arg(&dropped).output().unwrap();
    let (_, e) = text(&out);
    assert!(!out.status.success() && e.contains("field `buyer` is missing"), "{e}");

    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"order": "111-2222222-3333333", "sku": "SKU-1", "buyer": {"BuyerEmail": "j@example.com"}}"#,
    )
    .unwrap();
    let out = ferry(dir.path()).args(["dlq", "replay", &first.to_string(), "--payload"]).arg(&good).output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    let job_id: i64 =
        o.split("as job ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()).expect(&o);
    let job = store.job(ferry_store::JobId(job_id)).await.unwrap().unwrap();
    assert_eq!(job.payload_as::<serde_json::Value>().unwrap()["sku"], "SKU-1");
    assert_eq!(job.flow, "amazon-orders");

    let out = ferry(dir.path()).args(["dlq", "replay", &first.to_string()]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).1.contains("already replayed"));

    let out = ferry(dir.path()).args(["dlq", "discard", &second.to_string()]).output().unwrap();
    assert!(out.status.success());
    let out = ferry(dir.path()).args(["dlq", "list"]).output().unwrap();
    assert!(text(&out).0.contains("no open dead letters"));
    let out = ferry(dir.path()).args(["dlq", "show", "abc"]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).1.contains("`abc` is not a dead-letter id"));
    let out = ferry(dir.path()).args(["dlq", "show", "424242"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("dead letter 424242 not found"));

    let out = ferry(dir.path()).args(["status", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["queue"]["ready"], 1, "the replayed job waits: {v}");
    assert_eq!(v["queue"]["dead"], 2);
    assert_eq!(v["queue"]["dead_letters_open"], 0);
    let out = ferry(dir.path()).args(["status"]).output().unwrap();
    let (o, _) = text(&out);
    assert!(o.contains("1 ready") && o.contains("2 dead") && o.contains("none open"), "{o}");
}

/// The master key of a node whose data folder is `dir/.ferry` (created as the node would).
fn node_key(dir: &std::path::Path) -> std::sync::Arc<ferry_store::secrets::MasterKey> {
    let (key, _) = ferry_store::secrets::MasterKey::load(&dir.join(".ferry/master.key")).expect("master key");
    std::sync::Arc::new(key)
}

/// A store in `dir/.ferry` with one open dead letter of tenant `default`, whose payload carries
/// a buyer e-mail.
async fn store_with_a_dead_letter(dir: &std::path::Path) -> (AnyStore, ferry_store::DeadLetterId) {
    let url = format!("sqlite://{}", dir.join(".ferry/ferry.db").display());
    let store = AnyStore::open(&url).await.unwrap().with_payload_key(node_key(dir));
    store.migrate().await.unwrap();
    let tenant: TenantId = "default".parse().unwrap();
    store.ensure_tenant(&tenant, "default").await.unwrap();
    let payload = json!({ "order": "111-2222222-3333333", "buyer": { "BuyerEmail": "jane@example.com" } });
    store.enqueue(&[NewJob::new(tenant.clone(), "amazon-orders", payload)]).await.unwrap();
    let jobs = store.claim("t", 1, Duration::from_secs(30)).await.unwrap();
    store.complete("t", &[Completion::dead(jobs[0].id, "write", "permanent", "refused")]).await.unwrap();
    let id = store.dead_letters(&tenant, true, 10).await.unwrap()[0].id;
    (store, id)
}

/// The OS user the tests (and so the spawned binary) run as.
fn os_user() -> String {
    let out = std::process::Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_commands_act_only_on_the_selected_tenant() {
    let dir = TempDir::new("dlq-tenant");
    let (store, id) = store_with_a_dead_letter(dir.path()).await;
    let default: TenantId = "default".parse().unwrap();
    // The selected tenant must exist: added here without an audit row, so the check below
    // sees that the other tenant's commands audited nothing.
    store.ensure_tenant(&"other".parse().unwrap(), "Other").await.unwrap();
    let other = |args: &[&str]| ferry(dir.path()).args(args).env("FERRY_TENANT", "other").output().unwrap();
    let id_text = id.to_string();

    let out = other(&["dlq", "list", "--all"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("no dead letters"), "{}", text(&out).0);
    for args in [
        vec!["dlq", "show", id_text.as_str()],
        vec!["dlq", "show", id_text.as_str(), "--unredacted"],
        vec!["dlq", "replay", id_text.as_str()],
        vec!["dlq", "discard", id_text.as_str()],
    ] {
        let out = other(&args);
        let (o, e) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {o}\n{e}");
        assert!(e.contains(&format!("dead letter {id} not found for tenant `other`")), "{args:?}: {e}");
        assert!(!o.contains("jane@example.com") && !o.contains("111-2222222"), "{args:?} showed the payload: {o}");
    }
    let mine = store.dead_letter(&default, id).await.unwrap().expect("still there");
    assert_eq!(mine.status, ferry_store::DeadLetterStatus::Open, "the other tenant changed nothing");
    let other_tenant: TenantId = "other".parse().unwrap();
    assert!(store.audit_log(&other_tenant, 10).await.unwrap().is_empty());
    assert!(store.audit_log(&default, 10).await.unwrap().is_empty());

    // The selected tenant itself sees it (the node opens the sealed payload) and resolves it.
    let out = ferry(dir.path()).args(["dlq", "show", &id_text]).output().unwrap();
    assert!(text(&out).0.contains("111-2222222-3333333"), "{}", text(&out).0);
    let out = ferry(dir.path()).args(["dlq", "discard", &id_text]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    for f in ["ferry.db", "ferry.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(".ferry").join(f)) {
            for clear in [&b"jane@example.com"[..], b"111-2222222"] {
                assert!(!bytes.windows(clear.len()).any(|w| w == clear), "{f} holds buyer data in clear");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_resolved_buyer_data_past_the_retention_and_check_refuses_a_bad_one() {
    let dir = TempDir::new("purge");
    let (store, id) = store_with_a_dead_letter(dir.path()).await;
    let default: TenantId = "default".parse().unwrap();
    store.discard_dead_letter(&default, id, "cli:ops").await.unwrap();
    let cfg = dir.path().join("ferry.toml");
    std::fs::write(&cfg, "[node]\ndata_dir = \".ferry\"\n[store]\nretention_days = 10\n").unwrap();

    // Resolved yesterday: within ten days, kept.
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("purge").output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert!(o.contains("older than 10 days") && o.contains("0 resolved dead letters"), "{o}");
    assert!(store.dead_letter(&default, id).await.unwrap().is_some());

    let AnyStore::Sqlite(sqlite) = &store else { unreachable!("a sqlite store") };
    let eleven_days_ago = ferry_store::to_micros(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(11 * 24));
    for sql in ["UPDATE dead_letters SET resolved_at = $1", "UPDATE jobs SET updated_at = $1"] {
        sqlx::query(sql).bind(eleven_days_ago).execute(sqlite.pool()).await.unwrap();
    }
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("purge").output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert!(o.contains("1 finished jobs") && o.contains("1 resolved dead letters"), "{o}");
    assert!(store.dead_letter(&default, id).await.unwrap().is_none(), "gone with its payload");

    std::fs::write(&cfg, "[node]\ndata_dir = \".ferry\"\n[store]\nretention_days = 0\n").unwrap();
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("ferry.toml:4:") && e.contains("store.retention_days") && e.contains("got 0"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_actor_is_the_os_user_with_a_label_and_unredacted_views_are_audited() {
    let dir = TempDir::new("dlq-audit");
    let (store, id) = store_with_a_dead_letter(dir.path()).await;
    let default: TenantId = "default".parse().unwrap();
    let user = os_user();
    let id_text = id.to_string();

    // A plain show is not an audited access; an unredacted one is, even with a spoofed name.
    let out = ferry(dir.path()).args(["dlq", "show", &id_text]).output().unwrap();
    assert!(out.status.success());
    assert!(store.audit_log(&default, 10).await.unwrap().is_empty());
    let out = ferry(dir.path())
        .args(["dlq", "show", &id_text, "--unredacted", "--label", "INC-42"])
        .env("FERRY_ACTOR", "mallory")
        .env("USER", "mallory")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("jane@example.com"));
    let log = store.audit_log(&default, 10).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].entry.action, "dlq.show_unredacted");
    assert_eq!(log[0].entry.subject, format!("dead letter {id}"));
    assert_eq!(log[0].entry.actor, format!("cli:{user} (INC-42)"));

    let out = ferry(dir.path()).args(["dlq", "discard", &id_text]).env("FERRY_ACTOR", "mallory").output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    let log = store.audit_log(&default, 10).await.unwrap();
    assert_eq!(
        (log[0].entry.action.as_str(), log[0].entry.actor.as_str()),
        ("dlq.discard", format!("cli:{user}").as_str())
    );
    assert_eq!(store.dead_letter(&default, id).await.unwrap().unwrap().resolved_by, Some(format!("cli:{user}")));

    let out =
        run_with_stdin(ferry(dir.path()).args(["secrets", "set", "crm.client_secret", "--label", "CHG-7"]), "s3cret\n");
    assert!(out.status.success(), "{}", text(&out).1);
    let log = store.audit_log(&default, 10).await.unwrap();
    assert_eq!(
        (log[0].entry.action.as_str(), log[0].entry.actor.as_str()),
        ("secret.set", format!("cli:{user} (CHG-7)").as_str())
    );

    let out = ferry(dir.path()).args(["dlq", "show", &id_text, "--unredacted", "--label", "x\ny"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--label"), "{}", text(&out).1);
    assert!(!text(&out).0.contains("jane@example.com"), "nothing is shown without its audit row");
}

#[test]
fn migrate_and_demo_run_from_an_empty_folder() {
    let dir = TempDir::new("demo");
    let out = ferry(dir.path()).arg("migrate").output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    assert!(o.contains("up to date") && o.contains("sqlite"), "{o}");
    let out = ferry(dir.path()).args(["demo", "--self-check", "--jobs", "300", "--exit-when-idle"]).output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    assert!(o.contains("self-check passed") && o.contains("297 completed, 3 dead letters"), "{o}");
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn check_validates_the_shipped_flows_with_the_example_config() {
    let root = repo_root();
    let out = ferry(&root).args(["--config", "ferry.example.toml", "check"]).output().unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    assert!(o.contains("amazon-orders-to-crm") && o.contains("crm-orders-to-fba"), "{o}");

    // Without the connections the flows name, each reference is reported where it is.
    let dir = TempDir::new("check-flows");
    let out = ferry(dir.path()).args(["check"]).env("FERRY_FLOWS_DIR", root.join("flows")).output().unwrap();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    let shipped = std::fs::read_to_string(root.join("flows/amazon-orders-to-crm.yaml")).unwrap();
    let line = shipped.lines().position(|l| l.starts_with("connections:")).unwrap() + 1;
    assert!(
        e.contains(&format!("amazon-orders-to-crm.yaml:{line}:")) && e.contains("unknown connection `amazon`"),
        "{e}"
    );
}

#[test]
fn check_reports_broken_flows_at_their_lines() {
    let root = repo_root();
    let broken = root.join("crates/mapping/tests/fixtures/broken");
    let dir = TempDir::new("check-broken");
    let out = ferry(dir.path()).args(["check"]).env("FERRY_FLOWS_DIR", &broken).output().unwrap();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    for entry in std::fs::read_dir(&broken).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let reported = e.lines().any(|l| {
            l.contains(&format!("{name}:"))
                && l.split(&format!("{name}:"))
                    .nth(1)
                    .and_then(|r| r.split(':').next())
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        });
        assert!(reported, "{name} has no file:line error in:\n{e}");
    }
    assert!(e.contains("problem(s) in the flows folder"), "{e}");
}

#[test]
fn map_preview_prints_the_mapped_order_or_each_field_error() {
    let root = repo_root();
    let sample = root.join("crates/mapping/tests/fixtures/samples/canonical-order.json");
    let out = ferry(&root)
        .args(["--config", "ferry.example.toml", "map", "preview", "--flow", "amazon-orders-to-crm", "--input"])
        .arg(&sample)
        .output()
        .unwrap();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{o}\n{e}");
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    let order: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sample).unwrap()).unwrap();
    let id = order.pointer("/id/id").and_then(|v| v.as_str()).unwrap_or("");
    assert!(!id.is_empty() && o.contains(id), "the output carries the order id {id}: {o}");
    assert!(v.is_object());

    let dir = TempDir::new("preview");
    let bad = dir.path().join("order.json");
    std::fs::write(&bad, r#"{"AmazonOrderId": "#).unwrap();
    let out = ferry(&root)
        .args(["--config", "ferry.example.toml", "map", "preview", "--flow", "amazon-orders-to-crm", "--input"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("order.json:1:"), "{}", text(&out).1);

    std::fs::write(&bad, r#"{"unrelated": true}"#).unwrap();
    let out = ferry(&root)
        .args(["--config", "ferry.example.toml", "map", "preview", "--flow", "amazon-orders-to-crm", "--input"])
        .arg(&bad)
        .output()
        .unwrap();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("flow amazon-orders-to-crm, field"), "each error names the flow and field: {e}");

    let out = ferry(&root)
        .args(["--config", "ferry.example.toml", "map", "preview", "--flow", "nope", "--input"])
        .arg(&sample)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no flow named `nope`"));
}

#[test]
fn preview_reads_the_stores_rates_and_lookup_tables() {
    let dir = TempDir::new("rates");
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(
        dir.path().join("flows/eu-orders.yaml"),
        r#"name: eu-orders
trigger:
  poll: { connection: amazon, operation: searchOrders, every: 5m }
source: { connection: amazon, operation: getOrder, as: order }
target:
  connection: crm
  entity: salesorder
  key: { ordernumber: "{{ order.AmazonOrderId }}" }
map:
  totalamount: "{{ order.OrderTotal | convert_currency('USD') | money_amount }}"
  new_warehouse: "{{ order.FulfillmentChannel | lookup('warehouses') }}"
"#,
    )
    .unwrap();
    let cfg = write_config(
        dir.path(),
        &format!("sqlite://{}", dir.path().join("ferry.db").display()),
        "[[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"http://127.0.0.1:1\"\n\
         options = { marketplace_ids = [\"A1PA6795UKMFR9\"] }\n\n\
         [[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"http://127.0.0.1:2\"\n\
         options = { tenant = \"t\", client_id = \"c\" }\n",
    );
    let flows = format!("{}", dir.path().join("flows").display());
    let order = dir.path().join("order.json");
    std::fs::write(&order, r#"{"AmazonOrderId":"302-1234567-1234567","FulfillmentChannel":"AFN","OrderTotal":{"CurrencyCode":"EUR","Amount":"100.00"}}"#).unwrap();
    let preview = || {
        ferry(dir.path())
            .arg("--config")
            .arg(&cfg)
            .args(["map", "preview", "--flow", "eu-orders", "--input"])
            .arg(&order)
            .env("FERRY_FLOWS_DIR", &flows)
            .output()
            .unwrap()
    };
    let out = preview();
    let (_, e) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(e.contains("no exchange rate from EUR to USD") && e.contains("lookup \"warehouses\""), "{e}");

    let set = |args: &[&str]| ferry(dir.path()).arg("--config").arg(&cfg).args(args).output().unwrap();
    assert!(set(&["rates", "set", "EUR", "USD", "1.0842"]).status.success());
    assert!(set(&["lookups", "set", "warehouses", "AFN", "\"FBA-EU\""]).status.success());
    let bad = set(&["rates", "set", "EUR", "usd", "1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).1.contains("\"usd\""), "{}", text(&bad).1);
    let bad = set(&["rates", "set", "EUR", "USD", "abc"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).1.contains("`abc` is not a positive decimal"));

    let out = preview();
    let (o, e) = text(&out);
    assert!(out.status.success(), "{e}");
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["fields"]["totalamount"], "108.42", "100.00 EUR at 1.0842, exact decimal: {o}");
    assert_eq!(v["fields"]["new_warehouse"], "FBA-EU");
    let listed = text(&set(&["rates", "list"])).0;
    assert!(listed.contains("EUR") && listed.contains("1.0842"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_command_serves_both_simulators_until_sigterm() {
    use std::io::BufRead as _;
    let dir = TempDir::new("sandbox");
    let mut child = ferry(dir.path())
        .args(["sandbox", "--orders", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.contains("Ctrl-C stops");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    let url = |label: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("no {label} line in {lines:?}"))
            .to_string()
    };
    assert!(lines.iter().any(|l| l.contains("orders seeded") && l.trim_end().ends_with('5')), "{lines:?}");
    // Both serve HTTPS; the CA they print (written in the data folder) is what a client trusts.
    assert!(url("Amazon sandbox").starts_with("https://") && url("Web API").starts_with("https://"), "{lines:?}");
    let ca_file = std::path::PathBuf::from(url("CA certificate"));
    let data_dir = dir.path().join(".ferry").canonicalize().unwrap();
    assert_eq!(ca_file, data_dir.join("sandbox").join("sandbox-ca.pem"), "in the data folder's sandbox/");
    let ca_file = if ca_file.is_absolute() { ca_file } else { dir.path().join(ca_file) };
    let tls = ferry_connectors::http::Tls::from_ca_file(&ca_file).expect("the printed CA file");
    let untrusting = ferry_connectors::http::client(&Default::default()).expect("client");
    assert!(untrusting.get(url("Amazon sandbox")).send().await.is_err(), "the public roots do not trust the sandbox");
    let http = ferry_connectors::http::client(&tls).expect("client");
    let amazon = http.get(format!("{}/orders/2026-01-01/orders", url("Amazon sandbox"))).send().await.unwrap();
    assert_eq!(amazon.status().as_u16(), 403, "SP-API without a token is refused");
    let body: serde_json::Value = serde_json::from_str(&amazon.text().await.unwrap()).unwrap();
    assert!(body["errors"].is_array(), "Amazon's error body shape: {body}");
    let dataverse = http.get(format!("{}/contacts", url("Web API"))).send().await.unwrap();
    assert_eq!(dataverse.status().as_u16(), 401, "Dataverse without a token is refused");
    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn sandbox_command_refuses_a_bad_crm_knob_by_its_flag_name_before_starting() {
    let dir = TempDir::new("sandbox-bad-knob");
    for (args, flag) in [
        (&["sandbox", "--crm-error-rate", "1.5"][..], "--crm-error-rate"),
        (&["sandbox", "--crm-force-status", "418", "--crm-force-count", "1"][..], "--crm-force-status"),
        (&["sandbox", "--crm-force-count", "2"][..], "--crm-force-count"),
    ] {
        let out = ferry(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_command_starts_dataverse_with_the_crm_knobs_of_its_flags() {
    use std::io::BufRead as _;
    let dir = TempDir::new("sandbox-knobs");
    let mut child = ferry(dir.path())
        .args(["sandbox", "--crm-force-status", "429", "--crm-force-count", "3", "--crm-limit-scale", "0.01"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read to the last line it prints before it waits for a signal, so SIGTERM finds its handler.
    let (base, ca_file) = tokio::task::spawn_blocking(move || {
        let (mut base, mut ca_file) = (None, None);
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.trim_start().starts_with("Dataverse sandbox") {
                base = line.split_whitespace().last().map(str::to_owned);
            }
            if line.trim_start().starts_with("CA certificate") {
                ca_file = line.split_whitespace().nth(2).map(std::path::PathBuf::from);
            }
            if line.contains("Ctrl-C stops") {
                break;
            }
        }
        (base.expect("a Dataverse sandbox line"), ca_file.expect("a CA certificate line"))
    })
    .await
    .unwrap();
    let ca_file = if ca_file.is_absolute() { ca_file } else { dir.path().join(ca_file) };
    let http = ferry_connectors::http::client(&ferry_connectors::http::Tls::from_ca_file(&ca_file).expect("CA"))
        .expect("client");
    let state: serde_json::Value =
        serde_json::from_str(&http.get(format!("{base}/_sandbox/faults")).send().await.unwrap().text().await.unwrap())
            .unwrap();
    assert_eq!(state["force_status"], 429, "{state}");
    assert_eq!(state["force_remaining"], 3, "{state}");
    assert_eq!(state["limit_requests"], 60, "{state}");
    assert_eq!(state["limit_window_seconds"], 3.0, "{state}");
    std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_prepares_a_stock_dataverse_org_once_and_a_second_run_creates_nothing() {
    use ferry_sandbox::dataverse::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox};
    let sandbox = DataverseSandbox::start(ferry_sandbox::dataverse::DataverseSandboxConfig {
        key_build: Duration::from_secs(2),
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let dir = TempDir::new("setup");
    let cfg = dir.path().join("ferry.toml");
    std::fs::write(
        &cfg,
        format!(
            "[node]\ndata_dir = \"{}\"\n\n[[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"{}\"\n\
             options = {{ tenant = \"{DEFAULT_TENANT}\", client_id = \"{DEFAULT_CLIENT_ID}\", authority = \"{}\" }}\n\n\
             [[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"http://127.0.0.1:9\"\n\
             options = {{ marketplace_ids = [\"ATVPDKIKX0DER\"] }}\n",
            dir.path().join("data").display(),
            sandbox.base_url(),
            sandbox.authority_url()
        ),
    )
    .unwrap();
    let out = run_with_stdin(
        ferry(dir.path()).arg("--config").arg(&cfg).args(["secrets", "set", "crm.client_secret"]),
        DEFAULT_CLIENT_SECRET,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let setup = |connection: &str| {
        let out = ferry(dir.path()).arg("--config").arg(&cfg).args(["setup", connection]).output().unwrap();
        (out.status.code(), text(&out))
    };
    let (code, (stdout, stderr)) = tokio::task::block_in_place(|| setup("crm"));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for line in [
        "created column salesorder.new_amazonorderid",
        "created column salesorderdetail.new_sourcelineid",
        "created column product.new_fulfillmentchannel",
        "created key salesorder(ordernumber)",
        "created key salesorderdetail(new_sourcelineid)",
        "waiting for key salesorder(ordernumber): Pending",
        "created 11 column(s) and 3 key(s)",
    ] {
        assert!(stdout.contains(line), "no '{line}' in:\n{stdout}");
    }
    let (code, (stdout, stderr)) = tokio::task::block_in_place(|| setup("crm"));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("nothing to create"), "{stdout}");
    assert!(!stdout.contains("created"), "{stdout}");
    // Only Dataverse connections, and only ones the config has.
    let (code, (_, stderr)) = tokio::task::block_in_place(|| setup("amazon"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("connection 'amazon' is of system amazon"), "{stderr}");
    let (code, (_, stderr)) = tokio::task::block_in_place(|| setup("erp"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no connection 'erp'") && stderr.contains("crm, amazon"), "{stderr}");
}

/// `ferry setup` creates what the flows bound to the connection need (no more), and
/// `ferry check --online` names what a real org still lacks, with the flows that need it,
/// changing nothing: an org prepared for F1 alone lacks F2's columns once F2's file is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_creates_what_the_bound_flows_need_and_check_online_names_what_the_org_lacks() {
    use ferry_sandbox::amazon::{AmazonSandbox, AmazonSandboxConfig};
    use ferry_sandbox::dataverse::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, DataverseSandbox};
    let crm = DataverseSandbox::start(ferry_sandbox::dataverse::DataverseSandboxConfig {
        key_build: Duration::from_millis(500),
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let amazon = AmazonSandbox::start(AmazonSandboxConfig::default()).await.expect("sandbox");
    let dir = TempDir::new("setup-online");
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let cfg = dir.path().join("ferry.toml");
    let a = amazon.config();
    std::fs::write(
        &cfg,
        format!(
            "[node]\ndata_dir = \"{}\"\nflows_dir = \"{}\"\n\n\
             [[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"{}\"\n\
             options = {{ tenant = \"{DEFAULT_TENANT}\", client_id = \"{DEFAULT_CLIENT_ID}\", authority = \"{}\" }}\n\n\
             [[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"{}\"\n\
             options = {{ marketplace_ids = [\"{}\"], token_url = \"{}\" }}\n",
            dir.path().join("data").display(),
            flows.display(),
            crm.base_url(),
            crm.authority_url(),
            amazon.base_url(),
            a.marketplace_id,
            amazon.token_url(),
        ),
    )
    .unwrap();
    for (name, value) in [
        ("crm.client_secret", DEFAULT_CLIENT_SECRET),
        ("amazon.client_id", a.client_id.as_str()),
        ("amazon.client_secret", a.client_secret.as_str()),
        ("amazon.refresh_token", a.refresh_token.as_str()),
    ] {
        let out = run_with_stdin(ferry(dir.path()).arg("--config").arg(&cfg).args(["secrets", "set", name]), value);
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let run = |args: &[&str]| {
        let out = ferry(dir.path()).arg("--config").arg(&cfg).args(args).output().unwrap();
        let (o, e) = text(&out);
        (out.status.code(), o, e)
    };
    let shipped = |name: &str| std::fs::read_to_string(repo_root().join("flows").join(name)).unwrap();
    std::fs::write(flows.join("amazon-orders-to-crm.yaml"), shipped("amazon-orders-to-crm.yaml")).unwrap();

    // A stock org: everything F1 needs is named, F2's columns are not (no F2 file yet).
    let (code, o, e) = tokio::task::block_in_place(|| run(&["check", "--online"]));
    assert_eq!(code, Some(1), "{o}\n{e}");
    assert!(o.contains("amazon") && o.contains("credentials OK"), "the Amazon credentials are tried: {o}");
    for lacking in [
        "error: connection `crm`: column salesorder.new_amazonorderid (needed by amazon-orders-to-crm): missing",
        "error: connection `crm`: key salesorder(ordernumber) (needed by amazon-orders-to-crm): missing",
        "`ferry setup crm` creates what is missing",
    ] {
        assert!(e.contains(lacking), "no '{lacking}' in:\n{e}");
    }
    assert!(!e.contains("new_trackingnumber"), "F2's columns are not asked for without F2: {e}");
    let (code, o, e) = tokio::task::block_in_place(|| run(&["setup", "crm"]));
    assert_eq!(code, Some(0), "{o}\n{e}");
    assert!(o.contains("what the flows bound to `crm` need: amazon-orders-to-crm"), "{o}");
    assert!(o.contains("created 7 column(s) and 3 key(s)") && !o.contains("new_trackingnumber"), "{o}");
    let (code, o, e) = tokio::task::block_in_place(|| run(&["check", "--online"]));
    assert_eq!(code, Some(0), "{o}\n{e}");
    assert!(o.contains("has the 10 columns and keys its flows need, every key active"), "{o}");

    // F2 added: check names exactly F2's columns; setup adds them and nothing else.
    std::fs::write(flows.join("crm-orders-to-fba.yaml"), shipped("crm-orders-to-fba.yaml")).unwrap();
    let (code, o, e) = tokio::task::block_in_place(|| run(&["check", "--online"]));
    assert_eq!(code, Some(1), "{o}\n{e}");
    assert!(
        e.contains("column salesorder.new_trackingnumber (needed by crm-orders-to-fba): missing"),
        "F2's column is named with its flow: {e}"
    );
    assert!(!e.contains("new_amazonorderid"), "what is there is not reported: {e}");
    assert_eq!(e.matches("): missing").count(), 4, "F2's four shipment columns: {e}");
    let (code, o, e) = tokio::task::block_in_place(|| run(&["setup", "crm"]));
    assert_eq!(code, Some(0), "{o}\n{e}");
    assert!(o.contains("created 4 column(s) and 0 key(s)"), "{o}");
    let (code, o, e) = tokio::task::block_in_place(|| run(&["check", "--online"]));
    assert_eq!(code, Some(0), "{o}\n{e}");

    // A wrong secret is a problem --online finds and names (without the secret).
    let out = run_with_stdin(
        ferry(dir.path()).arg("--config").arg(&cfg).args(["secrets", "set", "crm.client_secret"]),
        "not-the-secret",
    );
    assert!(out.status.success());
    let (code, o, e) = tokio::task::block_in_place(|| run(&["check", "--online"]));
    assert_eq!(code, Some(1), "{o}\n{e}");
    assert!(e.contains("error: connection `crm` (dataverse):") && !e.contains("not-the-secret"), "{e}");
    // Offline, check does not reach for the remotes at all.
    let (code, o, e) = tokio::task::block_in_place(|| run(&["check"]));
    assert_eq!(code, Some(0), "{o}\n{e}");
    assert!(!o.contains("online checks") && !o.contains("credentials OK"), "{o}");
}

#[test]
fn check_and_run_refuse_a_ca_file_that_is_missing_or_not_pem_naming_the_connection_and_the_file() {
    let dir = TempDir::new("ca-file");
    let not_pem = dir.path().join("not-a-cert.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let missing = dir.path().join("missing-ca.pem");
    let extra = format!(
        "[[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"https://sellingpartnerapi-na.amazon.com\"\n\
         options = {{ marketplace_ids = [\"ATVPDKIKX0DER\"], ca_file = \"{}\" }}\n\n\
         [[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"https://contoso.crm.dynamics.com\"\n\
         options = {{ tenant = \"t\", client_id = \"c\", ca_file = \"{}\" }}\n\n\
         [[connections]]\nid = \"erp\"\nsystem = \"fno\"\nendpoint = \"https://erp.example.com\"\n\
         options = {{ ca_file = \"{}\" }}\n",
        missing.display(),
        not_pem.display(),
        not_pem.display(),
    );
    let cfg = write_config(dir.path(), "sqlite://x.db", &extra);
    for command in ["check", "run"] {
        let out = ferry(dir.path()).arg("--config").arg(&cfg).arg(command).output().unwrap();
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains("connection amazon: options.ca_file") && err.contains("missing-ca.pem"),
            "{command}: the missing file is named:\n{err}"
        );
        assert!(
            err.contains("connection crm: options.ca_file") && err.contains("not-a-cert.pem"),
            "{command}: the file that is not PEM is named:\n{err}"
        );
        assert!(
            err.contains("connection erp: options.ca_file is not used by system `fno`"),
            "{command}: an option that does nothing is refused:\n{err}"
        );
    }
    // A real CA file passes.
    let ca = ferry_sandbox::tls::SandboxTls::generate().unwrap();
    ca.write_ca(&missing).unwrap();
    ca.write_ca(&not_pem).unwrap();
    let extra = extra.replace("system = \"fno\"", "system = \"http\"");
    let cfg = write_config(dir.path(), "sqlite://x.db", &extra);
    let out = ferry(dir.path()).arg("--config").arg(&cfg).arg("check").output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
}

/// Every number has a range, every option a system does not read is refused, and what the
/// engine needs at start is required: `check` and `run` refuse the same config with the same
/// messages (a poll interval of 1e300 used to pass `check` and panic `run`).
#[test]
fn check_and_run_refuse_out_of_range_numbers_and_options_that_do_nothing_alike() {
    let dir = TempDir::new("ranges");
    let extra = "[store]\nmax_connections = 0\n\n\
         [[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"https://sellingpartnerapi-na.amazon.com\"\n\
         limits = { scale = 1e300, burst = 3 }\n\
         options = { marketplace_ids = [\"ATVPDKIKX0DER\"], fulfilment_poll_seconds = 1e300, queue_wait_seconds = 60, poll_seconds = 5, colour = \"red\" }\n\n\
         [[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"https://contoso.crm.dynamics.com\"\n\
         options = { tenant = \"t\" }\n\n\
         [[connections]]\nid = \"amazon-eu\"\nsystem = \"amazon\"\nendpoint = \"https://sellingpartnerapi-eu.amazon.com\"\n\n\
         [[connections]]\nid = \"erp\"\nsystem = \"fno\"\nendpoint = \"https://erp.example.com\"\ncredentials = \"erp\"\n";
    // `write_config` writes its own [store] table: this config carries the whole file.
    let cfg = dir.path().join("ferry.toml");
    std::fs::write(&cfg, format!("[node]\ndata_dir = \"{}\"\n\n{extra}", dir.path().join("data").display())).unwrap();
    let mut messages = Vec::new();
    for command in ["check", "run"] {
        let out = ferry(dir.path()).arg("--config").arg(&cfg).arg(command).output().unwrap();
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(!err.contains("panicked"), "{command}: {err}");
        for needle in [
            "ferry.toml:5:19: store.max_connections: must be between 1 and 500, got 0",
            "connection amazon: limits.scale must be a number from 0.01 to 1000000, got 1e+300",
            "connection amazon: unknown limit `burst` (known: scale)",
            "connection amazon: options.fulfilment_poll_seconds (seconds) must be a number from 1 to 86400, got 1e+300",
            "connection amazon: options.queue_wait_seconds must be a whole number of seconds from 0 to 20, got 60",
            "connection amazon: options.poll_seconds is not read: the poll interval is the flow file's `trigger.poll.every`",
            "connection amazon: unknown option `colour` for system `amazon` (known: marketplace_ids, token_url,",
            "connection crm: options.client_id is required for system `dataverse`",
            "connection amazon-eu: options.marketplace_ids is required for system `amazon` (e.g. [\"ATVPDKIKX0DER\"])",
            "connection erp: credentials is not used by system `fno`",
        ] {
            assert!(err.contains(needle), "{command}: missing {needle:?} in:\n{err}");
        }
        messages.push(err);
    }
    assert_eq!(messages[0], messages[1], "check and run say the same");
}

/// `ferry check` refuses a flow setting that `ferry run` would refuse at start.
#[test]
fn check_refuses_an_order_flow_setting_that_run_refuses() {
    let dir = TempDir::new("flow-settings");
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let shipped = std::fs::read_to_string(repo_root().join("flows/amazon-orders-to-crm.yaml")).unwrap();
    let line =
        shipped.lines().find(|l| l.trim_start().starts_with("buyer_pii:")).expect("buyer_pii setting").to_owned();
    std::fs::write(flows.join("amazon-orders-to-crm.yaml"), shipped.replace(&line, "  buyer_pii: everything")).unwrap();
    let err = check_refuses(dir.path(), &flows);
    let name_line = shipped.lines().position(|l| l.starts_with("name:")).unwrap() + 1;
    assert!(
        err.contains(&format!(
            "amazon-orders-to-crm.yaml:{name_line}:7: flow amazon-orders-to-crm: settings.buyer_pii must be `full` or \
             `guest`, got `everything`"
        )),
        "{err}"
    );
}

/// Runs `ferry check` with the example config on `flows`, expects the refusal (exit 2) and
/// returns what it printed on stderr.
fn check_refuses(dir: &std::path::Path, flows: &std::path::Path) -> String {
    let out = ferry(dir)
        .arg("--config")
        .arg(repo_root().join("ferry.example.toml"))
        .arg("check")
        .env("FERRY_FLOWS_DIR", flows)
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn check_refuses_flow_keys_that_the_handlers_do_not_act_on() {
    let dir = TempDir::new("flow-contract");
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let f1 = std::fs::read_to_string(repo_root().join("flows/amazon-orders-to-crm.yaml")).unwrap();
    let f2 = std::fs::read_to_string(repo_root().join("flows/crm-orders-to-fba.yaml")).unwrap();
    // F1 writes to a connection of the wrong system; F2 claims to poll with another operation
    // and to be started by an event it cannot handle; a third file has no handler at all.
    let f1 = f1.replacen("target:\n  connection: crm", "target:\n  connection: amazon", 1);
    let target_line = f1.lines().position(|l| l == "  connection: amazon").unwrap() + 1;
    let f2 = f2
        .replace("operation: salesorders_changed", "operation: getOrders")
        .replace("types: [salesorder.Create, salesorder.Update]", "types: [salesorder.Update, account.Update]");
    std::fs::write(flows.join("amazon-orders-to-crm.yaml"), &f1).unwrap();
    std::fs::write(flows.join("crm-orders-to-fba.yaml"), &f2).unwrap();
    std::fs::write(
        flows.join("custom.yaml"),
        "name: my-own-flow\ntrigger: { poll: { connection: amazon, operation: getOrders, every: 5m } }\n\
         source: { connection: amazon, operation: getOrder, as: order }\n\
         target: { connection: crm, entity: account, key: { name: \"{{ order.id }}\" } }\n",
    )
    .unwrap();
    let err = check_refuses(dir.path(), &flows);
    let poll_line = f2.lines().position(|l| l.contains("operation: getOrders")).unwrap() + 1;
    for expected in [
        format!(
            "amazon-orders-to-crm.yaml:{target_line}:15: flow amazon-orders-to-crm: target.connection names role \
             `amazon`, but amazon-orders-to-crm acts on role `crm` there"
        ),
        format!(
            "crm-orders-to-fba.yaml:{poll_line}:39: flow crm-orders-to-fba: trigger.poll.operation must be \
             `salesorders_changed`"
        ),
        "flow crm-orders-to-fba: trigger.events.types: `account.Update` cannot start this flow".into(),
        "custom.yaml:1:7: flow my-own-flow: name `my-own-flow` is no flow Ferry ships, so it would never run".into(),
    ] {
        assert!(err.contains(&expected), "missing `{expected}` in:\n{err}");
    }
}

/// `ferry alerts`: a rule added from the CLI is listed with its webhook's secret path hidden,
/// a condition that is not one is refused naming the kinds, and a rule is removed by id.
#[test]
fn alert_rules_are_added_listed_without_their_secret_and_removed() {
    let dir = TempDir::new("alerts");
    let cfg = write_config(dir.path(), &format!("sqlite://{}", dir.path().join("ferry.db").display()), "");
    let run = |args: &[&str]| {
        let out = ferry(dir.path()).arg("--config").arg(&cfg).args(args).output().unwrap();
        let (o, e) = text(&out);
        (out.status.code(), o, e)
    };
    let hook = "https://hooks.slack.com/services/T0/B0/s3cr3t";
    let (code, o, e) = run(&["alerts", "add", r#"{"kind": "breaker_open", "seconds": 300}"#, "--webhook", hook]);
    assert_eq!(code, Some(0), "{o}\n{e}");
    assert!(o.contains("alert rule 1 added"), "{o}");
    let (code, o, _) = run(&["alerts", "list"]);
    assert_eq!(code, Some(0));
    assert!(o.contains("breaker_open") && o.contains("https://hooks.slack.com/…") && !o.contains("s3cr3t"), "{o}");
    // At rest the rule is sealed under the node's key, as payloads are.
    let raw: Vec<String> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool =
            sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("ferry.db").display())).await.unwrap();
        sqlx::query_scalar("SELECT rule FROM alert_rules").fetch_all(&pool).await.unwrap()
    });
    assert_eq!(raw.len(), 1);
    assert!(!raw[0].contains("s3cr3t") && !raw[0].contains("hooks.slack.com"), "sealed: {}", raw[0]);
    let (code, _, e) = run(&["alerts", "add", r#"{"kind": "sunspots"}"#, "--webhook", hook]);
    assert_eq!(code, Some(2));
    assert!(e.contains("kinds: breaker_open, dead_letters"), "{e}");
    let (code, _, e) = run(&["alerts", "add", r#"{"kind": "anomaly"}"#, "--webhook", "http://example.com/x"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("must be an https:// URL"), "{e}");
    // E-mail recipients on a node without [smtp]: refused, the e-mail would never go.
    let (code, _, e) = run(&["alerts", "add", r#"{"kind": "anomaly"}"#, "--email", "ops@example.com"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("no [smtp] section"), "{e}");
    let (code, o, _) = run(&["alerts", "remove", "1"]);
    assert_eq!(code, Some(0), "{o}");
    let (_, o, _) = run(&["alerts", "list"]);
    assert!(o.contains("no alert rules"), "{o}");
    let (code, _, e) = run(&["alerts", "remove", "1"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("alert rule 1 not found"), "{e}");
}

#[test]
fn flow_versions_are_listed_shown_rolled_back_paused_and_shadowed_from_the_cli() {
    let root = repo_root();
    let dir = TempDir::new("flows-cli");
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    let shipped = std::fs::read_to_string(root.join("flows/amazon-orders-to-crm.yaml")).unwrap();
    std::fs::write(flows.join("amazon-orders-to-crm.yaml"), &shipped).unwrap();
    let connections = "[[connections]]\nid = \"amazon\"\nsystem = \"amazon\"\nendpoint = \"https://127.0.0.1:9\"\noptions = { marketplace_ids = [\"ATVPDKIKX0DER\"] }\n\n\
         [[connections]]\nid = \"crm\"\nsystem = \"dataverse\"\nendpoint = \"https://127.0.0.1:9\"\noptions = { tenant = \"t\", client_id = \"c\" }\n";
    let cfg = write_config(dir.path(), &format!("sqlite://{}", dir.path().join("ferry.db").display()), connections);
    let cfg_text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[node]\n",
        &format!("[node]\nflows_dir = \"{}\"\n", flows.display()),
        1,
    );
    std::fs::write(&cfg, cfg_text).unwrap();
    let run = |args: &[&str]| {
        let out = ferry(dir.path()).arg("--config").arg(&cfg).args(args).output().unwrap();
        let (o, e) = text(&out);
        (out.status.code(), o, e)
    };
    let (code, o, e) = run(&["flows", "list"]);
    assert_eq!(code, Some(0), "{o}\n{e}");
    assert!(o.contains("amazon-orders-to-crm") && o.contains("running"), "the file is version 1: {o}");
    // The engineer edits the file: the next read makes it version 2, which runs.
    let edited = shipped.replace(r#"name: "AMZ-{{ order.id.id }}""#, r#"name: "Amazon {{ order.id.id }}""#);
    std::fs::write(flows.join("amazon-orders-to-crm.yaml"), &edited).unwrap();
    let (_, o, _) = run(&["flows", "versions", "amazon-orders-to-crm"]);
    assert!(o.contains("2 (runs)") && o.contains("imported from amazon-orders-to-crm.yaml"), "{o}");
    let (_, o, _) = run(&["flows", "show", "amazon-orders-to-crm"]);
    assert_eq!(o, edited);
    // Rollback to version 1; the unchanged file does not undo it.
    let (code, o, e) = run(&["flows", "run", "amazon-orders-to-crm", "1", "--label", "CHG-7"]);
    assert_eq!(code, Some(0), "{o}\n{e}");
    let (_, o, _) = run(&["flows", "show", "amazon-orders-to-crm"]);
    assert_eq!(o, shipped, "version 1 runs again");
    let (code, _, e) = run(&["flows", "run", "amazon-orders-to-crm", "9"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("amazon-orders-to-crm version 9 not found"), "{e}");
    // Version 2 shadows version 1; `off` stops it; the running version cannot shadow itself.
    let (code, o, e) = run(&["flows", "shadow", "amazon-orders-to-crm", "2"]);
    assert_eq!(code, Some(0), "{o}\n{e}");
    let (_, o, _) = run(&["flows", "shadow-report", "amazon-orders-to-crm"]);
    assert!(o.contains("shadow version 2: 0 record(s) mapped"), "{o}");
    let (code, _, e) = run(&["flows", "shadow", "amazon-orders-to-crm", "1"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("the one running"), "{e}");
    let (code, _, e) = run(&["flows", "shadow", "amazon-orders-to-crm", "soon"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("neither a version number nor `off`"), "{e}");
    let (code, _, _) = run(&["flows", "shadow", "amazon-orders-to-crm", "off"]);
    assert_eq!(code, Some(0));
    // Pause and resume, audited with the label.
    let (code, o, _) = run(&["flows", "pause", "amazon-orders-to-crm", "--label", "CHG-8"]);
    assert_eq!(code, Some(0));
    assert!(o.contains("paused"), "{o}");
    let (_, o, _) = run(&["flows", "list"]);
    assert!(o.contains("paused"), "{o}");
    let (code, _, _) = run(&["flows", "resume", "amazon-orders-to-crm"]);
    assert_eq!(code, Some(0));
    let (code, _, e) = run(&["flows", "pause", "no-such-flow"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("flow no-such-flow not found"), "{e}");
}

/// `[smtp]`: a password written in the file, `security = "none"` to another machine and a
/// password secret that is not stored are refused, each naming its setting; once the secret is
/// stored `ferry check` passes and a rule may name e-mail recipients.
#[test]
fn smtp_settings_are_checked_and_then_rules_may_name_recipients() {
    let dir = TempDir::new("smtp");
    let db = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let run = |smtp: &str, args: &[&str]| {
        let cfg = write_config(dir.path(), &db, smtp);
        let out = ferry(dir.path()).arg("--config").arg(&cfg).args(args).output().unwrap();
        let (o, e) = text(&out);
        (out.status.code(), o, e)
    };
    let in_clear = "[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nusername = \"ferry\"\npassword = \"hunter2\"\nfrom = \"ferry@example.com\"";
    let (code, _, e) = run(in_clear, &["check"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("ferry.toml:") && e.contains("smtp.password: a password is never written"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let remote_plain = "[smtp]\nhost = \"mail.example.com\"\nsecurity = \"none\"\nfrom = \"ferry@example.com\"";
    let (code, _, e) = run(remote_plain, &["check"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("smtp.security") && e.contains("`mail.example.com` needs starttls or tls"), "{e}");
    let bad_from = "[smtp]\nhost = \"smtp.example.com\"\nfrom = \"Ferry\"";
    let (code, _, e) = run(bad_from, &["check"]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("smtp.from: `Ferry` is not an e-mail address"), "{e}");

    let usable = "[smtp]\nhost = \"127.0.0.1\"\nport = 2525\nsecurity = \"none\"\nusername = \"ferry\"\npassword_secret = \"smtp-password\"\nfrom = \"ferry@example.com\"";
    let (code, _, e) = run(usable, &["check"]);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("smtp.password_secret: tenant `default` has no secret `smtp-password`"), "{e}");
    let cfg = write_config(dir.path(), &db, usable);
    let out =
        run_with_stdin(ferry(dir.path()).arg("--config").arg(&cfg).args(["secrets", "set", "smtp-password"]), "pw\n");
    assert!(out.status.success(), "{}", text(&out).1);
    let (code, o, e) = run(usable, &["check"]);
    assert_eq!(code, Some(0), "{e}");
    assert!(o.contains("smtp         127.0.0.1:2525 (none) from ferry@example.com"), "{o}");
    let (code, o, e) = run(usable, &["alerts", "add", r#"{"kind": "anomaly"}"#, "--email", "ops@example.com"]);
    assert_eq!(code, Some(0), "{o}{e}");
    let (_, o, _) = run(usable, &["alerts", "list"]);
    assert!(o.contains("ops@example.com"), "{o}");
    let (code, _, e) = run(usable, &["alerts", "add", r#"{"kind": "anomaly"}"#, "--email", "ops at example"]);
    assert_eq!(code, Some(2));
    assert!(e.contains("`ops at example` is not an e-mail address"), "{e}");
}
