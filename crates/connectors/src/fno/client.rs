//! Typed `/data/` operations for one F&O connection: get by key, queries with paging across
//! `@odata.nextLink`, create, update (PATCH), delete, `$batch`, and typed helpers for the
//! entities the flows use.
//!
//! Company scoping (DYNAMICS.md §B.1): every key names `dataAreaId`; creates fill in the
//! connection's company when the body names none; reads and key operations add
//! `cross-company=true` unless the connection's company is the service user's default one
//! (F&O shows only the default company otherwise, §E.9), and queries then filter on
//! `dataAreaId` so one connection never sees another company's rows.
//!
//! Every call returns a classified [`Failure`]; nothing here sleeps or retries. After a 429
//! no request leaves before its `Retry-After` has passed (refused locally as `Throttled`).

use std::sync::Arc;
use std::time::Duration;

use ferry_runtime::failure::Failure;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use super::batch::{Batch, OperationResult};
use super::config::FnoConfig;
use super::errors;
use super::models::{
    self, Entity, JournalBatchNumber, LedgerJournalHeader, NewLedgerJournal, NewLedgerJournalLine, Page, Record,
    SalesOrderHeader, SalesOrderNumber,
};
use super::query::{EntityKey, Filter, Query};
use crate::dataverse::auth::EntraAuth;
use crate::retry_gate::RetryGate;

pub use crate::retry_gate::ClientStats;

/// An F&O client for one connection.
#[derive(Clone)]
pub struct FnoClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: FnoConfig,
    auth: EntraAuth,
    slots: Semaphore,
    /// No request leaves while the last 429's `Retry-After` runs.
    gate: RetryGate,
}

impl std::fmt::Debug for FnoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnoClient")
            .field("environment", &self.inner.config.environment_url)
            .field("company", &self.inner.config.company)
            .finish_non_exhaustive()
    }
}

struct Reply {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Result<Map<String, Value>, Failure> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Failure::transient("F&O answered with JSON that is not an object")),
            Err(e) => Err(Failure::transient(format!("F&O answered with invalid JSON: {e}"))),
        }
    }
}

fn key_failure(e: impl std::fmt::Display) -> Failure {
    Failure::permanent_with_code("invalid_key", e.to_string())
}

fn typed<T: serde::de::DeserializeOwned>(record: &Record, set: &str) -> Result<T, Failure> {
    record.typed().map_err(|e| Failure::permanent(format!("an {set} row does not have the expected fields: {e}")))
}

impl FnoClient {
    pub fn new(config: FnoConfig) -> Result<Self, Failure> {
        let http = crate::http::client_builder(&config.tls)
            .map_err(|e| Failure::permanent(e.to_string()))?
            .timeout(config.timeout)
            .pool_max_idle_per_host(config.max_concurrency.max(1))
            .build()
            .map_err(|e| Failure::permanent(format!("cannot build the HTTP client: {e}")))?;
        let auth = super::auth::entra(http.clone(), &config);
        let slots = Semaphore::new(config.max_concurrency.clamp(1, Semaphore::MAX_PERMITS));
        Ok(FnoClient { inner: Arc::new(Inner { http, config, auth, slots, gate: RetryGate::default() }) })
    }

    pub fn config(&self) -> &FnoConfig {
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
        format!("{}/{relative}", self.inner.config.data_url())
    }

    /// Whether requests need `cross-company=true` to see the connection's company.
    fn needs_cross_company(&self) -> bool {
        !self.inner.config.company_is_default
    }

    /// `relative` with `cross-company=true` when the connection's company needs it.
    fn scoped(&self, relative: String) -> String {
        if !self.needs_cross_company() {
            return relative;
        }
        let sep = if relative.contains('?') { '&' } else { '?' };
        format!("{relative}{sep}cross-company=true")
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<Reply, Failure> {
        let _slot =
            self.inner.slots.acquire().await.map_err(|_| Failure::transient("the F&O client is shutting down"))?;
        let token = self.inner.auth.token().await?;
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header("Accept", "application/json")
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0")
            .bearer_auth(token.expose());
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        if let Some(body) = body {
            request = request.header("Content-Type", content_type).body(body);
        }
        // Checked at the last moment: a request never leaves while we have been told to wait.
        self.inner.gate.admit("F&O")?;
        let response = request.send().await.map_err(errors::transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(errors::transport)?.to_vec();
        if (200..300).contains(&status) {
            return Ok(Reply { headers, body });
        }
        let retry_after = headers.get("retry-after").and_then(|v| v.to_str().ok());
        let failure = errors::classify(status, retry_after, &body);
        match &failure {
            Failure::Throttled { retry_after, .. } => {
                self.inner.gate.throttled(*retry_after, super::limits::DEFAULT_RETRY_AFTER)
            }
            Failure::Auth { .. } if status == 401 => self.inner.auth.invalidate().await,
            _ => {}
        }
        Err(failure)
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        relative: &str,
        headers: &[(&str, String)],
        body: Option<&Map<String, Value>>,
    ) -> Result<Reply, Failure> {
        let bytes = body.map(|b| Value::Object(b.clone()).to_string().into_bytes());
        self.send(method, &self.url(relative), headers, bytes, "application/json").await
    }

    fn key_path(&self, entity_set: &str, key: &EntityKey) -> Result<String, Failure> {
        key.path(entity_set).map_err(key_failure)
    }

    /// A key in the connection's company.
    pub fn key(&self) -> EntityKey {
        EntityKey::new(&self.inner.config.company)
    }

    /// GET one row by key (404 comes back as a failure, see [`errors::is_not_found`]).
    pub async fn get(&self, entity_set: &str, key: &EntityKey, query: &Query) -> Result<Record, Failure> {
        let mut path = self.key_path(entity_set, key)?;
        let qs = query.to_query_string();
        if !qs.is_empty() {
            path = format!("{path}?{qs}");
        }
        let path = if query.is_cross_company() { path } else { self.scoped(path) };
        let reply = self.send_json(reqwest::Method::GET, &path, &[], None).await?;
        Ok(Record::from_json(reply.json()?))
    }

    /// The query limited to the connection's company (unless it is already cross-company).
    fn company_query(&self, query: &Query) -> Query {
        if query.is_cross_company() || !self.needs_cross_company() {
            return query.clone();
        }
        // `cross-company=true` shows every company: keep to ours.
        query.clone().filter(Filter::compare("dataAreaId", "eq", (&self.inner.config.company).into())).cross_company()
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

    /// The first page of a query in the connection's company (or across companies when the
    /// query says so).
    pub async fn query(&self, entity_set: &str, query: &Query) -> Result<Page, Failure> {
        let qs = self.company_query(query).to_query_string();
        let path = if qs.is_empty() { entity_set.to_owned() } else { format!("{entity_set}?{qs}") };
        let reply = self.send_json(reqwest::Method::GET, &path, &[], None).await?;
        Ok(Self::page_from(reply.json()?))
    }

    /// The page behind an `@odata.nextLink`, fetched unchanged.
    pub async fn next_page(&self, next_link: &str) -> Result<Page, Failure> {
        if !next_link.starts_with(&format!("{}/", self.inner.config.data_url())) {
            return Err(Failure::permanent("a paging link points outside the configured F&O environment"));
        }
        let reply = self.send(reqwest::Method::GET, next_link, &[], None, "").await?;
        Ok(Self::page_from(reply.json()?))
    }

    /// Every row of a query, following `@odata.nextLink` to the end.
    pub async fn query_all(&self, entity_set: &str, query: &Query) -> Result<Vec<Record>, Failure> {
        let mut page = self.query(entity_set, query).await?;
        let mut rows = std::mem::take(&mut page.records);
        while let Some(link) = page.next_link.take() {
            page = self.next_page(&link).await?;
            rows.append(&mut page.records);
        }
        Ok(rows)
    }

    /// `GET set/$count` in the connection's company.
    pub async fn count(&self, entity_set: &str, query: &Query) -> Result<u64, Failure> {
        let qs = self.company_query(query).to_query_string();
        let path = if qs.is_empty() { format!("{entity_set}/$count") } else { format!("{entity_set}/$count?{qs}") };
        let reply = self.send_json(reqwest::Method::GET, &path, &[], None).await?;
        String::from_utf8_lossy(&reply.body)
            .trim()
            .trim_start_matches('\u{feff}')
            .parse()
            .map_err(|_| Failure::transient(format!("$count of {entity_set} is not a number")))
    }

    /// The body with the connection's company filled in when it names none.
    fn with_company(&self, body: &Map<String, Value>) -> Map<String, Value> {
        let mut body = body.clone();
        if body.get("dataAreaId").and_then(Value::as_str).is_none_or(str::is_empty) {
            body.insert("dataAreaId".into(), Value::String(self.inner.config.company.as_str().to_owned()));
        }
        body
    }

    /// POST: creates a row (the entity fills in numbers and defaults) and returns it.
    pub async fn create(&self, entity_set: &str, body: &Map<String, Value>) -> Result<Record, Failure> {
        let reply = self.send_json(reqwest::Method::POST, entity_set, &[], Some(&self.with_company(body))).await?;
        Ok(Record::from_json(reply.json()?))
    }

    /// PATCH by key; with an ETag only if nobody changed the row since (412 otherwise).
    pub async fn update(
        &self,
        entity_set: &str,
        key: &EntityKey,
        body: &Map<String, Value>,
        etag: Option<&str>,
    ) -> Result<(), Failure> {
        let path = self.scoped(self.key_path(entity_set, key)?);
        let headers: Vec<(&str, String)> = etag.map(|t| ("If-Match", t.to_owned())).into_iter().collect();
        self.send_json(reqwest::Method::PATCH, &path, &headers, Some(body)).await?;
        Ok(())
    }

    /// DELETE by key.
    pub async fn delete(&self, entity_set: &str, key: &EntityKey) -> Result<(), Failure> {
        let path = self.scoped(self.key_path(entity_set, key)?);
        self.send_json(reqwest::Method::DELETE, &path, &[], None).await?;
        Ok(())
    }

    /// Sends a `$batch`; every operation's outcome comes back with its index. A 429 or an
    /// unreadable answer fails the whole call.
    pub async fn execute_batch(&self, batch: &Batch, continue_on_error: bool) -> Result<Vec<OperationResult>, Failure> {
        let encoded = batch.encode("/data");
        let headers: Vec<(&str, String)> =
            if continue_on_error { vec![("Prefer", "odata.continue-on-error".into())] } else { Vec::new() };
        let reply = self
            .send(
                reqwest::Method::POST,
                &self.url("$batch"),
                &headers,
                Some(encoded.body.into_bytes()),
                &encoded.content_type,
            )
            .await?;
        let content_type = reply.headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = String::from_utf8_lossy(&reply.body);
        batch.decode(content_type.as_deref(), &text).map_err(|e| Failure::transient(e.to_string()))
    }

    /// A body for a write in this connection's company.
    pub fn body<T: serde::Serialize>(&self, value: &T) -> Result<Map<String, Value>, Failure> {
        let body = models::body_of(value).map_err(Failure::permanent)?;
        Ok(self.with_company(&body))
    }

    // Typed operations.

    /// One row, typed, by key (`None` when it does not exist in this company).
    pub async fn find<T: Entity>(&self, key: &EntityKey) -> Result<Option<T>, Failure> {
        match self.get(T::SET, key, &Query::new().select(T::FIELDS)).await {
            Ok(record) => typed(&record, T::SET).map(Some),
            Err(failure) if errors::is_not_found(&failure) => Ok(None),
            Err(failure) => Err(failure),
        }
    }

    /// Every row of a typed query (the entity's fields selected), across pages.
    pub async fn list<T: Entity>(&self, query: Query) -> Result<Vec<T>, Failure> {
        let rows = self.query_all(T::SET, &query.select(T::FIELDS)).await?;
        rows.iter().map(|r| typed(r, T::SET)).collect()
    }

    /// Creates a row from a typed body and returns the typed entity.
    pub async fn insert<N: serde::Serialize, T: Entity>(&self, new: &N) -> Result<T, Failure> {
        let record = self.create(T::SET, &self.body(new)?).await?;
        typed(&record, T::SET)
    }

    /// The sales order `number` of this company.
    pub async fn sales_order(&self, number: &SalesOrderNumber) -> Result<Option<SalesOrderHeader>, Failure> {
        self.find(&self.key().with("SalesOrderNumber", number)).await
    }

    /// The sales orders carrying `requisition` in `CustomerRequisitionNumber` (how F3 finds
    /// the order of an Amazon order again: F&O has no upsert by that field).
    pub async fn sales_orders_by_requisition(&self, requisition: &str) -> Result<Vec<SalesOrderHeader>, Failure> {
        let filter = Filter::eq("CustomerRequisitionNumber", requisition).map_err(key_failure)?;
        self.list(Query::new().filter(filter)).await
    }

    /// The journal with `integration_key` (how F7 finds a settlement's journal again).
    pub async fn journal_by_integration_key(
        &self,
        integration_key: &str,
    ) -> Result<Option<LedgerJournalHeader>, Failure> {
        let filter = Filter::eq("IntegrationKey", integration_key).map_err(key_failure)?;
        Ok(self.list::<LedgerJournalHeader>(Query::new().filter(filter).top(1)).await?.into_iter().next())
    }

    /// Creates a journal header, then its lines in atomic change sets of up to
    /// [`super::batch::MAX_OPERATIONS`]; returns the header with its totals. A failed change
    /// set fails the call with F&O's message; the lines of earlier change sets stay (look the
    /// journal up by its integration key before posting again).
    pub async fn create_journal(
        &self,
        header: &NewLedgerJournal,
        lines: &[NewLedgerJournalLine],
    ) -> Result<LedgerJournalHeader, Failure> {
        let created: LedgerJournalHeader = self.insert(header).await?;
        self.add_journal_lines(&created.journal_batch_number, lines).await?;
        self.find(&self.key().with("JournalBatchNumber", &created.journal_batch_number))
            .await?
            .ok_or_else(|| Failure::transient("the journal just created is not found"))
    }

    /// Adds lines to a journal, each chunk in one atomic change set.
    pub async fn add_journal_lines(
        &self,
        journal: &JournalBatchNumber,
        lines: &[NewLedgerJournalLine],
    ) -> Result<(), Failure> {
        for chunk in lines.chunks(super::batch::MAX_OPERATIONS) {
            let mut operations = Vec::with_capacity(chunk.len());
            for line in chunk {
                let mut line = line.clone();
                line.journal_batch_number = Some(journal.clone());
                operations.push(super::batch::Operation::create("LedgerJournalLines", self.body(&line)?));
            }
            let mut batch = Batch::new();
            batch.push_change_set(operations).map_err(|e| Failure::permanent(e.to_string()))?;
            for result in self.execute_batch(&batch, false).await? {
                match result.outcome {
                    super::batch::Outcome::Done { .. } => {}
                    super::batch::Outcome::Failed(f) | super::batch::Outcome::RolledBack(f) => return Err(f),
                    super::batch::Outcome::NotRun => {
                        return Err(Failure::transient("the journal lines' change set was not run"));
                    }
                }
            }
        }
        Ok(())
    }
}
