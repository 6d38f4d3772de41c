//! The admin API: JSON under `/api/v1`, described by the OpenAPI document generated from these
//! handlers and types (`utoipa`, served at `/api/v1/openapi.json`; the router is built from the
//! documented handlers, so no route escapes the document). Every route but the document needs
//! a bearer token (401 without, or with a bad one); a role below the route's is 403; anything
//! of another tenant is 404, the same as what does not exist.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ferry_store::{AnyStore, DeadLetter, DeadLetterId, Store as _};

use crate::auth::{self, AuthError, Principal, Role};
use crate::service::{self, BulkAction, BulkOutcome, CauseGroup, DeadLetterFilter, ServiceError};

mod flows;
mod limits;
mod tenants;

/// What the handlers share.
pub struct ApiState {
    pub store: AnyStore,
    /// Where the node's tenants' connections and flow files are, to check a flow's text before
    /// it is saved; `None` (a node that runs no flows): saving answers 503.
    pub flows: Option<crate::flows::Source>,
    /// The node's master key, to open a connection's secrets for a test; `None`: connection
    /// tests answer 503.
    pub key: Option<Arc<ferry_store::secrets::MasterKey>>,
    /// The node's alert e-mail (its `[smtp]` section); `None`: a rule naming e-mail
    /// recipients is refused.
    pub mail: Option<crate::email::Mailer>,
    /// The node's runtime, to show each tenant's rate-limit budgets, recent 429s and breakers;
    /// `None` (a node that runs no flows): `/limits` answers empty lists and says why.
    pub runtime: Option<Arc<ferry_runtime::Resilience>>,
    /// The overview's live updates: one computation per tenant and interval, however many
    /// pages are open.
    pub live: crate::live::Hub,
    /// Turns true when the node stops: live updates end then (none: they end with the client).
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl ApiState {
    /// The state of a console on `store` alone: what needs more answers 503 (or, for the
    /// limits, says that this node runs no flows) until given with the `with_…` methods.
    pub fn new(store: AnyStore) -> Self {
        ApiState {
            store,
            flows: None,
            key: None,
            mail: None,
            runtime: None,
            live: crate::live::Hub::default(),
            stop: None,
        }
    }

    /// Where the node's tenants' connections and flow files are.
    pub fn with_flows(mut self, flows: crate::flows::Source) -> Self {
        self.flows = Some(flows);
        self
    }

    /// The node's master key.
    pub fn with_key(mut self, key: Arc<ferry_store::secrets::MasterKey>) -> Self {
        self.key = Some(key);
        self
    }

    /// The node's alert e-mail, if it has an `[smtp]` section.
    pub fn with_mail(mut self, mail: Option<crate::email::Mailer>) -> Self {
        self.mail = mail;
        self
    }

    /// The node's runtime (its limits, throttles and breakers).
    pub fn with_runtime(mut self, runtime: Arc<ferry_runtime::Resilience>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Ends the live updates when `stop` turns true (the node's drain).
    pub fn with_stop(mut self, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// How often the overview's live updates are computed (default
    /// [`crate::live::EVERY`]).
    pub fn with_live_every(mut self, every: std::time::Duration) -> Self {
        self.live = crate::live::Hub::new(every);
        self
    }
}

type Shared = State<Arc<ApiState>>;

/// An error answer: `{"error": "…"}` with its status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// A refusal or failure, as the API answers it.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(ErrorBody { error: self.1 })).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(_) => {
                tracing::warn!(error = %e, "admin API: cannot check a token");
                ApiError(StatusCode::SERVICE_UNAVAILABLE, "the store cannot be read; retry shortly".into())
            }
            other => ApiError(StatusCode::UNAUTHORIZED, other.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => ApiError(StatusCode::NOT_FOUND, format!("{what} not found")),
            ServiceError::BadInput(m) => ApiError(StatusCode::BAD_REQUEST, m),
            ServiceError::Conflict(m) => ApiError(StatusCode::CONFLICT, m),
            ServiceError::Store(e) => {
                tracing::warn!(error = %e, "admin API: the store failed");
                ApiError(StatusCode::SERVICE_UNAVAILABLE, "the store failed; retry shortly".into())
            }
        }
    }
}

impl From<ferry_store::StoreError> for ApiError {
    fn from(e: ferry_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

/// The caller, if its token is valid and its role at least `needed`.
async fn require(state: &ApiState, headers: &HeaderMap, needed: Role) -> Result<Principal, ApiError> {
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal = auth::authenticate(&state.store, header).await?;
    if !principal.role.allows(needed) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("this needs the {needed} role; the token's role is {}", principal.role),
        ));
    }
    Ok(principal)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Ferry admin API", description = "Tenants' connections, queue, dead letters, tokens and audit."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The API's router with the console's pages (to merge into the node's) and the OpenAPI
/// document.
pub fn router(state: Arc<ApiState>) -> axum::Router {
    let (router, doc) = documented(state.clone());
    let doc = Arc::new(doc);
    router
        .route("/api/v1/openapi.json", axum::routing::get(move || async move { Json(doc.as_ref().clone()) }))
        .merge(crate::dashboard::router(state))
}

/// The documented routes and the document.
pub fn documented(state: Arc<ApiState>) -> (axum::Router, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(queue))
        .routes(routes!(flows_stats))
        .routes(routes!(limits::limits))
        .routes(routes!(tenants::list_tenants))
        .routes(routes!(tenants::show_tenant))
        .routes(routes!(connections))
        .routes(routes!(test_connection))
        .routes(routes!(list_dead_letters))
        .routes(routes!(dead_letter_groups))
        .routes(routes!(show_dead_letter))
        .routes(routes!(replay_dead_letter))
        .routes(routes!(discard_dead_letter))
        .routes(routes!(bulk_dead_letters))
        .routes(routes!(record_trace))
        .routes(routes!(anomalies))
        .routes(routes!(list_alerts, create_alert))
        .routes(routes!(remove_alert))
        .routes(routes!(audit_log))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(flows::list_flows))
        .routes(routes!(flows::list_versions, flows::save_version))
        .routes(routes!(flows::show_version))
        .routes(routes!(flows::activate_version))
        .routes(routes!(flows::pause_flow))
        .routes(routes!(flows::resume_flow))
        .routes(routes!(flows::set_shadow, flows::shadow_results))
        .routes(routes!(flows::preview_flow))
        .routes(routes!(flows::list_samples));
    let (router, doc) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).with_state(state).split_for_parts();
    (router, doc)
}

/// Who the token is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub tenant: String,
    pub role: Role,
    pub token: String,
}

#[utoipa::path(get, path = "/me", tag = "access",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(State(s): Shared, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(Me { tenant: p.tenant.to_string(), role: p.role, token: p.token_id }))
}

/// The tenant's queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    pub ready: u64,
    pub scheduled: u64,
    pub running: u64,
    pub completed: u64,
    pub dead: u64,
    pub dead_letters_open: u64,
}

#[utoipa::path(get, path = "/queue", tag = "queue",
    responses((status = 200, body = QueueView), (status = 401, body = ErrorBody)))]
async fn queue(State(s): Shared, headers: HeaderMap) -> Result<Json<QueueView>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let q = s.store.queue_stats_of(Some(&p.tenant)).await?;
    Ok(Json(QueueView {
        ready: q.ready,
        scheduled: q.scheduled,
        running: q.running,
        completed: q.completed,
        dead: q.dead,
        dead_letters_open: q.dead_letters_open,
    }))
}

/// Each flow's jobs over the last 24 hours and its latency (event accepted → job completed,
/// p50 and p99) over the last hour, from the store's hourly counters.
#[utoipa::path(get, path = "/flows/stats", tag = "queue",
    responses((status = 200, body = Vec<crate::flow_stats::FlowStats>), (status = 401, body = ErrorBody)))]
async fn flows_stats(
    State(s): Shared,
    headers: HeaderMap,
) -> Result<Json<Vec<crate::flow_stats::FlowStats>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(crate::flow_stats::flow_stats(&s.store, &p.tenant, jiff::Timestamp::now()).await?))
}

/// A connection: what it is and which secrets it has, never their values.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub id: String,
    pub system: String,
    /// Without credentials.
    pub endpoint: String,
    /// Secrets named after the connection (`<id>.client_secret`…): names and when set.
    pub secrets: Vec<SecretView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub name: String,
    pub updated_at: String,
}

#[utoipa::path(get, path = "/connections", tag = "connections",
    responses((status = 200, body = Vec<ConnectionView>), (status = 401, body = ErrorBody)))]
async fn connections(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let secrets = s.store.secret_names(&p.tenant).await?;
    let views = s
        .store
        .connections(&p.tenant)
        .await?
        .into_iter()
        .map(|c| {
            let prefix = format!("{}.", c.credentials_ref.as_deref().unwrap_or(c.id.as_ref()));
            ConnectionView {
                secrets: secrets
                    .iter()
                    .filter(|s| s.name.starts_with(&prefix))
                    .map(|s| SecretView { name: s.name.clone(), updated_at: s.updated_at.to_string() })
                    .collect(),
                id: c.id.to_string(),
                system: c.system,
                endpoint: ferry_store::redact::url(&c.endpoint),
            }
        })
        .collect();
    Ok(Json(views))
}

/// What a connection test found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTest {
    pub connection: String,
    pub ok: bool,
    /// What was checked, or what failed (never a secret).
    pub message: String,
}

#[utoipa::path(post, path = "/connections/{id}/test", tag = "connections",
    params(("id" = String, Path, description = "Connection id")),
    responses((status = 200, body = ConnectionTest), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn test_connection(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ConnectionTest>, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let connections = ferry_flows::tenants::stored_connections(&s.store, &p.tenant)
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let conn = connections
        .iter()
        .find(|c| c.id.as_ref() == id)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("connection {id} not found")))?;
    let Some(key) = &s.key else {
        return Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, "this server cannot open secrets".into()));
    };
    let resilience = Arc::new(ferry_runtime::Resilience::default());
    let ctx =
        ferry_flows::connectors::BuildContext { tenant: &p.tenant, store: &s.store, key, resilience: &resilience };
    let outcome = ferry_flows::connectors::test_connection(&ctx, conn).await;
    let ok = outcome.is_ok();
    Ok(Json(ConnectionTest { connection: id, ok, message: outcome.unwrap_or_else(|e| e) }))
}

/// A dead letter as listed and shown (the payload PII-redacted unless asked otherwise).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    pub id: i64,
    pub flow: String,
    pub step: String,
    pub attempts: u32,
    pub error_kind: String,
    pub error: String,
    /// The error without what names one record: what the dead letters are grouped by.
    pub cause: String,
    pub status: String,
    pub created_at: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub replay_job: Option<i64>,
    /// Only in the single view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

fn view(d: DeadLetter, with_payload: bool) -> DeadLetterView {
    DeadLetterView {
        id: d.id.0,
        cause: service::cause(&d.error),
        flow: d.flow,
        step: d.step,
        attempts: d.attempts,
        error_kind: d.error_kind,
        error: d.error,
        status: d.status.as_str().into(),
        created_at: d.created_at.to_string(),
        resolved_at: d.resolved_at.map(|t| t.to_string()),
        resolved_by: d.resolved_by,
        replay_job: d.replay_job.map(|j| j.0),
        payload: with_payload.then_some(d.payload),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only this flow's.
    pub flow: Option<String>,
    /// Only this cause's.
    pub cause: Option<String>,
    /// Replayed and discarded ones too.
    #[serde(default)]
    pub all: bool,
    /// At most this many (default 100, at most 10,000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/dead-letters", tag = "dead letters", params(ListQuery),
    responses((status = 200, body = Vec<DeadLetterView>), (status = 401, body = ErrorBody)))]
async fn list_dead_letters(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<DeadLetterView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let filter = DeadLetterFilter { flow: q.flow, cause: q.cause, all: q.all };
    let limit = q.limit.unwrap_or(100).min(service::MAX_DEAD_LETTERS);
    let rows = service::dead_letters(&s.store, &p.tenant, &filter, limit).await?;
    Ok(Json(rows.into_iter().map(|d| view(d, false)).collect()))
}

#[utoipa::path(get, path = "/dead-letters/groups", tag = "dead letters",
    responses((status = 200, body = Vec<CauseGroup>), (status = 401, body = ErrorBody)))]
async fn dead_letter_groups(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<CauseGroup>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(service::dead_letter_groups(&s.store, &p.tenant).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ShowQuery {
    /// The payload as stored, to edit it for a replay (operator; audited).
    #[serde(default)]
    pub unredacted: bool,
}

#[utoipa::path(get, path = "/dead-letters/{id}", tag = "dead letters",
    params(("id" = i64, Path, description = "Dead letter id"), ShowQuery),
    responses((status = 200, body = DeadLetterView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn show_dead_letter(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Json<DeadLetterView>, ApiError> {
    let needed = if q.unredacted { Role::Operator } else { Role::Viewer };
    let p = require(&s, &headers, needed).await?;
    let d = service::dead_letter(&s.store, &p.tenant, DeadLetterId(id), q.unredacted, &p.actor()).await?;
    Ok(Json(view(d, true)))
}

/// A replay, with an edited payload if given.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReplayBody {
    /// The payload to run instead of the stored one (a JSON object).
    pub payload: Option<serde_json::Value>,
    /// Run it with this version of its flow instead of the one that runs now.
    pub version: Option<i64>,
}

/// A replay's new job.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    pub dead_letter: i64,
    pub job: i64,
}

#[utoipa::path(post, path = "/dead-letters/{id}/replay", tag = "dead letters",
    params(("id" = i64, Path, description = "Dead letter id")), request_body = ReplayBody,
    responses((status = 200, body = Replayed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn replay_dead_letter(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Option<Json<ReplayBody>>,
) -> Result<Json<Replayed>, ApiError> {
    let p = require(&s, &headers, Role::Operator).await?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let job =
        service::replay(&s.store, &p.tenant, DeadLetterId(id), body.payload.as_ref(), body.version, &p.actor()).await?;
    s.live.changed(&p.tenant);
    Ok(Json(Replayed { dead_letter: id, job: job.0 }))
}

#[utoipa::path(post, path = "/dead-letters/{id}/discard", tag = "dead letters",
    params(("id" = i64, Path, description = "Dead letter id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn discard_dead_letter(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let p = require(&s, &headers, Role::Operator).await?;
    service::discard(&s.store, &p.tenant, DeadLetterId(id), &p.actor()).await?;
    s.live.changed(&p.tenant);
    Ok(StatusCode::NO_CONTENT)
}

/// A bulk replay or discard of the open dead letters a filter matches.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkBody {
    pub action: BulkAction,
    pub flow: Option<String>,
    pub cause: Option<String>,
    /// Count only, change nothing (what a confirmation dialog shows).
    #[serde(default)]
    pub preview: bool,
}

#[utoipa::path(post, path = "/dead-letters/bulk", tag = "dead letters", request_body = BulkBody,
    responses((status = 200, body = BulkOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn bulk_dead_letters(
    State(s): Shared,
    headers: HeaderMap,
    Json(body): Json<BulkBody>,
) -> Result<Json<BulkOutcome>, ApiError> {
    let p = require(&s, &headers, Role::Operator).await?;
    let filter = DeadLetterFilter { flow: body.flow, cause: body.cause, all: false };
    let done = service::bulk(&s.store, &p.tenant, &filter, body.action, body.preview, &p.actor()).await?;
    if !body.preview {
        s.live.changed(&p.tenant);
    }
    Ok(Json(done))
}

#[utoipa::path(get, path = "/records/{id}", tag = "records",
    params(("id" = String, Path, description = "Any id of the record: Amazon order id, CRM order id, FBA fulfilment id…")),
    responses((status = 200, body = service::RecordTrace), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn record_trace(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<service::RecordTrace>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(service::record_trace(&s.store, &p.tenant, &id).await?))
}

/// An anomaly flag in words, with its figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnomalyView {
    /// What is unusual, in words (no buyer data).
    pub explanation: String,
    /// `volume of flow …`, `failure rate of flow …`.
    pub subject: String,
    /// The start of the hour judged.
    pub at: String,
    pub severity: String,
}

#[utoipa::path(get, path = "/anomalies", tag = "alerts",
    responses((status = 200, body = Vec<AnomalyView>), (status = 401, body = ErrorBody)))]
async fn anomalies(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<AnomalyView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let flags = crate::anomaly::scan_flows(&s.store, &p.tenant, jiff::Timestamp::now()).await?;
    Ok(Json(
        flags
            .into_iter()
            .map(|f| AnomalyView {
                explanation: f.explain(),
                subject: f.subject.to_string(),
                at: f.at.to_string(),
                severity: format!("{:?}", f.severity).to_lowercase(),
            })
            .collect(),
    ))
}

/// An alert rule of the tenant (its webhook shown as scheme and host: the path is a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: i64,
    #[serde(flatten)]
    pub rule: crate::alerts::Rule,
    pub created_by: String,
    pub created_at: String,
}

#[utoipa::path(get, path = "/alerts", tag = "alerts",
    responses((status = 200, body = Vec<AlertView>), (status = 401, body = ErrorBody)))]
async fn list_alerts(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<AlertView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let rules = crate::alerts::rules(&s.store, &p.tenant).await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|(row, rule)| AlertView {
                id: row.id,
                rule: rule.shown(),
                created_by: row.created_by,
                created_at: row.created_at.to_string(),
            })
            .collect(),
    ))
}

/// The new rule's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

#[utoipa::path(post, path = "/alerts", tag = "alerts", request_body = crate::alerts::Rule,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn create_alert(
    State(s): Shared,
    headers: HeaderMap,
    Json(rule): Json<crate::alerts::Rule>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let id = crate::alerts::add_rule(&s.store, &p.tenant, &rule, &p.actor(), s.mail.is_some()).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(delete, path = "/alerts/{id}", tag = "alerts", params(("id" = i64, Path, description = "Alert rule id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_alert(State(s): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    s.store.remove_alert_rule(&p.tenant, id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One audited change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit_log(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let rows = s.store.audit_log(&p.tenant, q.limit.unwrap_or(100).min(10_000)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditView {
                at: r.at.to_string(),
                actor: r.entry.actor,
                action: r.entry.action,
                subject: r.entry.subject,
                detail: r.entry.detail,
            })
            .collect(),
    ))
}

/// A token as listed (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub role: String,
    pub label: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ferry_store::ApiTokenRow> for TokenView {
    fn from(r: ferry_store::ApiTokenRow) -> Self {
        TokenView {
            id: r.id,
            role: r.role,
            label: r.label,
            created_by: r.created_by,
            created_at: r.created_at.to_string(),
            expires_at: r.expires_at.map(|t| t.to_string()),
            revoked_at: r.revoked_at.map(|t| t.to_string()),
        }
    }
}

#[utoipa::path(get, path = "/tokens", tag = "access",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_tokens(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<TokenView>>, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    Ok(Json(s.store.api_tokens(&p.tenant).await?.into_iter().map(TokenView::from).collect()))
}

/// A new token of the caller's tenant.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    pub role: Role,
    pub label: String,
    /// `30d`, `12h` or an RFC 3339 instant; none: it does not expire.
    pub expires: Option<String>,
}

/// A token made: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

#[utoipa::path(post, path = "/tokens", tag = "access", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn create_token(
    State(s): Shared,
    headers: HeaderMap,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let expires = body
        .expires
        .as_deref()
        .map(|e| auth::parse_expiry(e, jiff::Timestamp::now()))
        .transpose()
        .map_err(|m| ApiError(StatusCode::BAD_REQUEST, m))?;
    let issued = auth::issue(&s.store, &p.tenant, body.role, &body.label, expires, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token: issued.token, view: issued.row.into() })))
}

#[utoipa::path(post, path = "/tokens/{id}/revoke", tag = "access",
    params(("id" = String, Path, description = "Token id (the part after fy_)")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_token(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    s.store.revoke_api_token(&p.tenant, &id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
