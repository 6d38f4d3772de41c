//! Typed Web API operations: create, update (never creates), upsert and create-only by key,
//! retrieve, delete, queries with paging, `$batch`, state changes and change tracking.
//!
//! Every call returns a classified [`Failure`]; nothing here sleeps or retries. Two limits are
//! kept in the client because they belong to the identity, not to a job: at most
//! `max_concurrency` requests in flight (52), and after a 429 no request leaves before its
//! `Retry-After` has passed (the call is refused locally as `Throttled` with the time left).

use std::sync::Arc;
use std::time::Duration;

use ferry_model::DataverseId;
use ferry_runtime::failure::Failure;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use super::auth::EntraAuth;
use super::batch::{Batch, OperationResult};
use super::config::DataverseConfig;
use super::errors;
use super::models::{FulfilledStatus, IncidentResolution, Page, Record, SalesOrderState, id_from_entity_url};
use super::query::{Query, RecordKey, bind};
use crate::retry_gate::RetryGate;

/// An HTTP answer that was a success.
pub(super) struct Reply {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(super) fn json(&self) -> Result<Map<String, Value>, Failure> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Failure::transient("Dataverse answered with JSON that is not an object")),
            Err(e) => Err(Failure::transient(format!("Dataverse answered with invalid JSON: {e}"))),
        }
    }

    fn entity_id(&self) -> Result<DataverseId, Failure> {
        self.header("OData-EntityId")
            .or_else(|| self.header("Location"))
            .and_then(id_from_entity_url)
            .ok_or_else(|| Failure::transient("Dataverse did not return the row id (no OData-EntityId header)"))
    }
}

/// Whether an update may create (it may not, by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concurrency {
    /// `If-Match: *`: update an existing row; 404 if it is gone.
    Exists,
    /// `If-Match: <etag>`: update only if nobody changed it since it was read; 412 otherwise.
    Etag(String),
}

pub use crate::retry_gate::ClientStats;

/// A Dataverse Web API client for one identity.
#[derive(Clone)]
pub struct DataverseClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: DataverseConfig,
    auth: EntraAuth,
    slots: Semaphore,
    /// No request leaves while the last 429's `Retry-After` runs.
    gate: RetryGate,
}

impl std::fmt::Debug for DataverseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataverseClient").field("org_url", &self.inner.config.org_url).finish_non_exhaustive()
    }
}

impl DataverseClient {
    pub fn new(config: DataverseConfig) -> Result<Self, Failure> {
        let http = crate::http::client_builder(&config.tls)
            .map_err(|e| Failure::permanent(e.to_string()))?
            .timeout(config.timeout)
            .pool_max_idle_per_host(config.max_concurrency.max(1))
            .build()
            .map_err(|e| Failure::permanent(format!("cannot build the HTTP client: {e}")))?;
        let auth = EntraAuth::new(http.clone(), &config);
        let slots = Semaphore::new(config.max_concurrency.clamp(1, Semaphore::MAX_PERMITS));
        Ok(DataverseClient { inner: Arc::new(Inner { http, config, auth, slots, gate: RetryGate::default() }) })
    }

    pub fn config(&self) -> &DataverseConfig {
        &self.inner.config
    }

    pub fn stats(&self) -> &ClientStats {
        self.inner.gate.stats()
    }

    /// How long the remote asked us to wait still, if it did.
    pub fn told_to_wait(&self) -> Option<Duration> {
        self.inner.gate.told_to_wait()
    }

    fn url(&self, relative: &str) -> String {
        format!("{}/{relative}", self.inner.config.api_base())
    }

    /// Sends one request. `url` is absolute.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<Reply, Failure> {
        self.send_inner(method, url, headers, body, content_type, false).await
    }

    /// `multipart_errors`: a 400 with a multipart body is a `$batch` answer (it stopped at a
    /// failed part) and is returned for decoding.
    async fn send_inner(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        content_type: &str,
        multipart_errors: bool,
    ) -> Result<Reply, Failure> {
        let _slot = self
            .inner
            .slots
            .acquire()
            .await
            .map_err(|_| Failure::transient("the Dataverse client is shutting down"))?;
        let token = self.inner.auth.token().await?;
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header("Accept", "application/json")
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0")
            .bearer_auth(token.expose());
        // `If-None-Match: null` avoids cached expands, unless the call sets its own condition.
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("if-none-match")) {
            request = request.header("If-None-Match", "null");
        }
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        if let Some(body) = body {
            request = request.header("Content-Type", content_type).body(body);
        }
        // Checked at the last moment: a request never leaves while we have been told to wait.
        self.inner.gate.admit("Dataverse")?;
        let response = request.send().await.map_err(errors::transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(errors::transport)?.to_vec();
        let multipart = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/mixed"));
        if (200..300).contains(&status) || status == 304 || (multipart_errors && status == 400 && multipart) {
            return Ok(Reply { headers, body });
        }
        let retry_after = headers.get("retry-after").and_then(|v| v.to_str().ok());
        let failure = errors::classify(status, retry_after, &body);
        match &failure {
            Failure::Throttled { retry_after, .. } => self.inner.gate.throttled(*retry_after, Duration::from_secs(1)),
            Failure::Auth { .. } if status == 401 => self.inner.auth.invalidate().await,
            _ => {}
        }
        Err(failure)
    }

    pub(super) async fn send_json(
        &self,
        method: reqwest::Method,
        relative: &str,
        headers: &[(&str, String)],
        body: Option<&Map<String, Value>>,
    ) -> Result<Reply, Failure> {
        let bytes = body.map(|b| Value::Object(b.clone()).to_string().into_bytes());
        self.send(method, &self.url(relative), headers, bytes, "application/json").await
    }

    fn key_path(entity_set: &str, key: &RecordKey) -> Result<String, Failure> {
        key.path(entity_set).map_err(|e| Failure::permanent_with_code("invalid_key", e.to_string()))
    }

    /// POST: creates a row and returns its id (from `OData-EntityId`).
    pub async fn create(&self, entity_set: &str, body: &Map<String, Value>) -> Result<DataverseId, Failure> {
        self.send_json(reqwest::Method::POST, entity_set, &[], Some(body)).await?.entity_id()
    }

    /// PATCH that never creates (`If-Match: *` or an ETag); 404 / 412 come back as failures
    /// ([`errors::is_not_found`], [`errors::is_conflict`]).
    pub async fn update(
        &self,
        entity_set: &str,
        key: &RecordKey,
        body: &Map<String, Value>,
        concurrency: Concurrency,
    ) -> Result<(), Failure> {
        let if_match = match concurrency {
            Concurrency::Exists => "*".to_owned(),
            Concurrency::Etag(tag) => tag,
        };
        let path = Self::key_path(entity_set, key)?;
        self.send_json(reqwest::Method::PATCH, &path, &[("If-Match", if_match)], Some(body)).await?;
        Ok(())
    }

    /// PATCH by key: creates the row or updates it. Idempotent.
    pub async fn upsert(
        &self,
        entity_set: &str,
        key: &RecordKey,
        body: &Map<String, Value>,
    ) -> Result<DataverseId, Failure> {
        let path = Self::key_path(entity_set, key)?;
        self.send_json(reqwest::Method::PATCH, &path, &[], Some(body)).await?.entity_id()
    }

    /// PATCH by key with `If-None-Match: *`: creates, or fails with a 412 conflict when the
    /// row already exists.
    pub async fn create_only(
        &self,
        entity_set: &str,
        key: &RecordKey,
        body: &Map<String, Value>,
    ) -> Result<DataverseId, Failure> {
        let path = Self::key_path(entity_set, key)?;
        self.send_json(reqwest::Method::PATCH, &path, &[("If-None-Match", "*".into())], Some(body)).await?.entity_id()
    }

    /// GET one row.
    pub async fn retrieve(&self, entity_set: &str, key: &RecordKey, query: &Query) -> Result<Record, Failure> {
        let mut path = Self::key_path(entity_set, key)?;
        let qs = query.to_query_string();
        if !qs.is_empty() {
            path = format!("{path}?{qs}");
        }
        let reply = self.send_json(reqwest::Method::GET, &path, &[], None).await?;
        Ok(Record::from_json(reply.json()?))
    }

    /// DELETE, optionally only if the row still has `etag`.
    pub async fn delete(&self, entity_set: &str, key: &RecordKey, etag: Option<&str>) -> Result<(), Failure> {
        let path = Self::key_path(entity_set, key)?;
        let headers: Vec<(&str, String)> = etag.map(|t| ("If-Match", t.to_owned())).into_iter().collect();
        self.send_json(reqwest::Method::DELETE, &path, &headers, None).await?;
        Ok(())
    }

    fn page_headers(page_size: Option<u32>, track: bool) -> Vec<(&'static str, String)> {
        let mut prefer = Vec::new();
        if let Some(n) = page_size {
            prefer.push(format!("odata.maxpagesize={}", n.clamp(1, 5000)));
        }
        if track {
            prefer.push("odata.track-changes".to_owned());
        }
        if prefer.is_empty() { Vec::new() } else { vec![("Prefer", prefer.join(","))] }
    }

    fn page_from(map: Map<String, Value>) -> Page {
        let next_link = map.get("@odata.nextLink").and_then(Value::as_str).map(str::to_owned);
        let count = map.get("@odata.count").and_then(Value::as_u64);
        let records = match map.get("value") {
            Some(Value::Array(rows)) => {
                rows.iter().filter_map(|r| r.as_object().cloned()).map(Record::from_json).collect()
            }
            _ => Vec::new(),
        };
        Page { records, next_link, count }
    }

    /// The first page of a query (`page_size` ≤ 5000 via `Prefer: odata.maxpagesize`).
    pub async fn query(&self, entity_set: &str, query: &Query, page_size: Option<u32>) -> Result<Page, Failure> {
        let qs = query.to_query_string();
        let path = if qs.is_empty() { entity_set.to_owned() } else { format!("{entity_set}?{qs}") };
        let reply = self.send_json(reqwest::Method::GET, &path, &Self::page_headers(page_size, false), None).await?;
        Ok(Self::page_from(reply.json()?))
    }

    /// The page behind an `@odata.nextLink`, fetched unchanged (same page size).
    pub async fn next_page(&self, next_link: &str, page_size: Option<u32>) -> Result<Page, Failure> {
        self.check_own_link(next_link)?;
        let reply = self.send(reqwest::Method::GET, next_link, &Self::page_headers(page_size, false), None, "").await?;
        Ok(Self::page_from(reply.json()?))
    }

    /// Links come from the server; following one elsewhere would send our token there.
    fn check_own_link(&self, link: &str) -> Result<(), Failure> {
        if link.starts_with(&format!("{}/", self.inner.config.api_base())) {
            Ok(())
        } else {
            Err(Failure::permanent("a paging or delta link points outside the configured Dataverse environment"))
        }
    }

    /// Every row of a query, following `@odata.nextLink` to the end.
    pub async fn query_all(
        &self,
        entity_set: &str,
        query: &Query,
        page_size: Option<u32>,
    ) -> Result<Vec<Record>, Failure> {
        let mut page = self.query(entity_set, query, page_size).await?;
        let mut rows = std::mem::take(&mut page.records);
        while let Some(link) = page.next_link.take() {
            page = self.next_page(&link, page_size).await?;
            rows.append(&mut page.records);
        }
        Ok(rows)
    }

    /// `GET set/$count`: rows in a table (the platform caps it at 5000).
    pub async fn count(&self, entity_set: &str) -> Result<u64, Failure> {
        let reply = self.send_json(reqwest::Method::GET, &format!("{entity_set}/$count"), &[], None).await?;
        let text = String::from_utf8_lossy(&reply.body);
        text.trim()
            .trim_start_matches('\u{feff}')
            .parse()
            .map_err(|_| Failure::transient(format!("$count of {entity_set} is not a number")))
    }

    /// Sets a valid statecode/statuscode pair (states that need a message have their own
    /// calls).
    pub async fn set_sales_order_state(&self, id: DataverseId, state: SalesOrderState) -> Result<(), Failure> {
        let (statecode, statuscode) = state.codes();
        let body = json!({ "statecode": statecode, "statuscode": statuscode });
        let body = body.as_object().cloned().unwrap_or_default();
        self.update("salesorders", &RecordKey::Id(id), &body, Concurrency::Exists).await
    }

    async fn close(
        &self,
        action: &str,
        activity: &str,
        parent_nav: &str,
        parent: String,
        subject: &str,
        status: i64,
    ) -> Result<(), Failure> {
        let body = json!({
            activity: { "subject": subject, format!("{parent_nav}@odata.bind"): parent },
            "Status": status,
        });
        let body = body.as_object().cloned().unwrap_or_default();
        self.send_json(reqwest::Method::POST, action, &[], Some(&body)).await?;
        Ok(())
    }

    /// `FulfillSalesOrder`: the only way to set an order Fulfilled.
    pub async fn fulfill_sales_order(
        &self,
        id: DataverseId,
        status: FulfilledStatus,
        subject: &str,
    ) -> Result<(), Failure> {
        self.close("FulfillSalesOrder", "OrderClose", "salesorderid", bind("salesorders", id), subject, status.code())
            .await
    }

    /// `CancelSalesOrder` (status 4, No Money).
    pub async fn cancel_sales_order(&self, id: DataverseId, subject: &str) -> Result<(), Failure> {
        self.close("CancelSalesOrder", "OrderClose", "salesorderid", bind("salesorders", id), subject, 4).await
    }

    /// `CloseIncident`: resolves a case.
    pub async fn close_incident(
        &self,
        id: DataverseId,
        resolution: IncidentResolution,
        subject: &str,
    ) -> Result<(), Failure> {
        self.close(
            "CloseIncident",
            "IncidentResolution",
            "incidentid",
            bind("incidents", id),
            subject,
            resolution.code(),
        )
        .await
    }

    /// Sends a `$batch`; every operation's result comes back with its index. A 429 or an
    /// unreadable answer fails the whole call.
    pub async fn execute_batch(&self, batch: &Batch, continue_on_error: bool) -> Result<Vec<OperationResult>, Failure> {
        let encoded = batch.encode(&self.inner.config.api_path());
        let headers: Vec<(&str, String)> =
            if continue_on_error { vec![("Prefer", "odata.continue-on-error".into())] } else { Vec::new() };
        let url = self.url("$batch");
        let reply = self
            .send_inner(
                reqwest::Method::POST,
                &url,
                &headers,
                Some(encoded.body.into_bytes()),
                &encoded.content_type,
                true,
            )
            .await?;
        let content_type = reply.header("content-type").map(str::to_owned);
        let text = String::from_utf8_lossy(&reply.body);
        batch.decode(content_type.as_deref(), &text).map_err(|e| Failure::transient(e.to_string()))
    }

    /// Writes many operations as `$batch` requests of up to `batch_size` (≤ 1000) with
    /// `continue-on-error`, and hands each record's outcome back with its tag (the source
    /// record). A whole batch that fails (429, outage) fails the call: nothing of it is
    /// reported done, and since every write is keyed, sending it again is safe.
    pub async fn execute_in_batches<T>(
        &self,
        items: Vec<(T, super::batch::Operation)>,
        batch_size: usize,
    ) -> Result<Vec<(T, super::batch::Outcome)>, Failure> {
        let size = batch_size.clamp(1, super::batch::MAX_OPERATIONS);
        let mut out = Vec::with_capacity(items.len());
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let mut tags = Vec::with_capacity(size);
            let mut batch = Batch::new();
            for (tag, operation) in items.by_ref().take(size) {
                batch.push(operation).map_err(|e| Failure::permanent(e.to_string()))?;
                tags.push(tag);
            }
            let mut results = self.execute_batch(&batch, true).await?;
            results.sort_by_key(|r| r.index);
            if results.len() != tags.len() {
                return Err(Failure::transient(format!(
                    "the $batch answer has {} results for {} operations",
                    results.len(),
                    tags.len()
                )));
            }
            out.extend(tags.into_iter().zip(results.into_iter().map(|r| r.outcome)));
        }
        Ok(out)
    }

    /// Change tracking: with no cursor, the current rows and a delta link; with one, what
    /// changed since. The returned cursor is the new delta link (store it with the enqueue).
    pub async fn poll_changes(
        &self,
        entity_set: &str,
        select: &[&str],
        cursor: Option<&super::changes::DeltaCursor>,
        page_size: Option<u32>,
    ) -> Result<super::changes::ChangeBatch, Failure> {
        let mut url = match cursor {
            Some(cursor) => {
                self.check_own_link(cursor.as_str())?;
                cursor.as_str().to_owned()
            }
            None => {
                let qs = Query::new().select(select).to_query_string();
                self.url(&if qs.is_empty() { entity_set.to_owned() } else { format!("{entity_set}?{qs}") })
            }
        };
        let mut changes = Vec::new();
        loop {
            let reply = self.send(reqwest::Method::GET, &url, &Self::page_headers(page_size, true), None, "").await?;
            let map = reply.json()?;
            changes.extend(super::changes::parse_changes(&map)?);
            if let Some(next) = map.get("@odata.nextLink").and_then(Value::as_str) {
                self.check_own_link(next)?;
                url = next.to_owned();
                continue;
            }
            let delta = map.get("@odata.deltaLink").and_then(Value::as_str).ok_or_else(|| {
                Failure::permanent(format!("change tracking is not enabled for {entity_set} (no @odata.deltaLink)"))
            })?;
            return Ok(super::changes::ChangeBatch { changes, cursor: super::changes::DeltaCursor::new(delta) });
        }
    }
}
