//! An idempotent HTTP POST: the effect of a job is a request carrying an `Idempotency-Key`
//! that stays the same across retries, restarts and crashes, so the receiver applies it once.

use std::time::Duration;

use ferry_runtime::failure::{Failure, classify_http_status, parse_retry_after};
use ferry_runtime::{CallSpec, Effects, Handler, HandlerFuture, JobContext, JobError};
use ferry_store::{Job, RunRecord};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    url: String,
    #[serde(default)]
    body: serde_json::Value,
    /// Defaults to the job's dedupe key, else `job-<id>`.
    idempotency_key: Option<String>,
}

pub struct HttpCall {
    client: reqwest::Client,
}

impl HttpCall {
    pub fn new(tls: &ferry_connectors::http::Tls) -> anyhow::Result<Self> {
        let client = ferry_connectors::http::client_builder(tls)?
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(HttpCall { client })
    }
}

impl Handler for HttpCall {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let p: Payload = job.payload_as().map_err(|e| JobError::bad_payload(job, e))?;
            let url =
                reqwest::Url::parse(&p.url).map_err(|e| JobError::bad_payload(job, format!("url `{}`: {e}", p.url)))?;
            let host = url.host_str().unwrap_or("unknown").to_string();
            let key = p.idempotency_key.or_else(|| job.dedupe_key.clone()).unwrap_or_else(|| format!("job-{}", job.id));
            let spec = CallSpec {
                connection: "http",
                scope: &host,
                operation: "post",
                host: &host,
                rate_per_sec: 10_000.0,
                burst: 10_000,
                max_concurrency: 256,
                caps: Vec::new(),
            };
            let request = self
                .client
                .post(url)
                .header("Idempotency-Key", &key)
                .header("Content-Type", "application/json")
                .body(p.body.to_string());
            let status = ctx
                .resilience
                .call("post", &spec, async {
                    let resp = request.send().await.map_err(|e| {
                        Failure::transient(format!("POST to {host}: {}", ferry_connectors::http::describe(e)))
                    })?;
                    let status = resp.status().as_u16();
                    if resp.status().is_success() {
                        return Ok(status);
                    }
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
                    let text = resp.text().await.unwrap_or_default();
                    let snippet: String = text.chars().take(300).collect();
                    Err(classify_http_status(
                        status,
                        retry_after,
                        format!("POST to {host} answered {status}: {snippet}"),
                    ))
                })
                .await?;
            Ok(Effects {
                trace: vec![RunRecord {
                    record: format!("http:{key}"),
                    step: "post".into(),
                    outcome: "ok".into(),
                    message: format!("delivered to {host} ({status})"),
                    at: jiff::Timestamp::now(),
                }],
                ..Effects::default()
            })
        })
    }
}
