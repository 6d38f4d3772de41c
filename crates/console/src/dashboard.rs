//! The operator console's pages, served by the node under `/console`: server-rendered
//! (askama templates in `templates/`, compiled into the binary) with htmx (vendored in
//! `assets/`, BSD-0 licensed) the overview kept current by server-sent events (`/console/events`, see [`crate::live`]). No npm step: one
//! binary.
//!
//! Sign-in takes an admin API token (`ferry tokens create`); it is kept in an `HttpOnly`,
//! `SameSite=Strict` cookie and checked on every request exactly as the API checks a bearer
//! token, so a page shows only the token's tenant and offers only what its role may do (a
//! viewer sees no replay button, and a replay posted anyway is refused). Every change goes
//! through [`crate::service`], the functions the API and the CLI use.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use ferry_store::{DeadLetterId, Store as _};

use crate::api::ApiState;
use crate::auth::{self, AuthError, Principal, Role};
use crate::service::{self, BulkAction, CauseGroup, DeadLetterFilter, RecordTrace, ServiceError};

mod flows;

const COOKIE: &str = "ferry_console";
const HTMX: &str = include_str!("../assets/htmx.min.js");

type Shared = State<Arc<ApiState>>;

/// The console's routes.
pub fn router(state: Arc<ApiState>) -> axum::Router {
    axum::Router::new()
        .route("/console", get(overview))
        .route("/console/live", get(live))
        .route("/console/events", get(events))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/dead-letters", get(dead_letters))
        .route("/console/dead-letters/bulk", post(bulk))
        .route("/console/dead-letters/{id}", get(dead_letter))
        .route("/console/dead-letters/{id}/replay", post(replay))
        .route("/console/dead-letters/{id}/discard", post(discard))
        .route("/console/records", get(records))
        .route("/console/assets/htmx.min.js", get(htmx))
        .merge(flows::routes())
        .with_state(state)
}

/// A page's refusal: to the sign-in page without a (valid) token, else a short page.
enum PageError {
    SignIn,
    Status(StatusCode, String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/console/login").into_response(),
            PageError::Status(status, message) => {
                let body = format!(
                    "<!doctype html><title>Ferry</title><p id=\"refusal\">{}</p><p><a href=\"/console\">Back</a></p>",
                    escape(&message)
                );
                (status, Html(body)).into_response()
            }
        }
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => PageError::Status(StatusCode::NOT_FOUND, format!("{what} not found")),
            ServiceError::BadInput(m) => PageError::Status(StatusCode::BAD_REQUEST, m),
            ServiceError::Conflict(m) => PageError::Status(StatusCode::CONFLICT, m),
            ServiceError::Store(e) => {
                tracing::warn!(error = %e, "console: the store failed");
                PageError::Status(StatusCode::SERVICE_UNAVAILABLE, "the store failed; retry shortly".into())
            }
        }
    }
}

impl From<ferry_store::StoreError> for PageError {
    fn from(e: ferry_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        tracing::warn!(error = %e, "console: a page could not be rendered");
        PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered".into())
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The token in the console's cookie.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The signed-in token's principal, with at least `needed`.
async fn require(state: &ApiState, headers: &HeaderMap, needed: Role) -> Result<Principal, PageError> {
    let Some(token) = cookie_token(headers) else { return Err(PageError::SignIn) };
    let principal = match auth::authenticate(&state.store, Some(&format!("Bearer {token}"))).await {
        Ok(p) => p,
        Err(AuthError::Store(e)) => {
            tracing::warn!(error = %e, "console: cannot check a token");
            return Err(PageError::Status(StatusCode::SERVICE_UNAVAILABLE, "the store cannot be read".into()));
        }
        Err(_) => return Err(PageError::SignIn),
    };
    if !principal.role.allows(needed) {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            format!("this needs the {needed} role; you are signed in as {}", principal.role),
        ));
    }
    Ok(principal)
}

async fn htmx() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=86400")], HTMX)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
}

async fn login_page() -> Result<Html<String>, PageError> {
    Ok(Html(LoginPage { error: None }.render()?))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(s): Shared, headers: HeaderMap, Form(form): Form<LoginForm>) -> Result<Response, PageError> {
    let token = form.token.trim();
    match auth::authenticate(&s.store, Some(&format!("Bearer {token}"))).await {
        Ok(_) => {
            // Secure when the console is reached over HTTPS (a proxy says so).
            let secure = headers.get("x-forwarded-proto").is_some_and(|v| v == "https");
            let cookie = format!(
                "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict{}",
                if secure { "; Secure" } else { "" }
            );
            let mut response = Redirect::to("/console").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(response)
        }
        Err(e) => {
            let page = LoginPage { error: Some(e.to_string()) }.render()?;
            Ok((StatusCode::UNAUTHORIZED, Html(page)).into_response())
        }
    }
}

async fn logout() -> Response {
    let mut response = Redirect::to("/console/login").into_response();
    let cleared = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&cleared) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    tenant: String,
    role: Role,
    /// The live fragment (`live.html`), rendered here or taken from the tenant's live updates.
    live: String,
}

/// One flow's last 24 hours on the overview.
struct FlowDay {
    flow: String,
    finished: u64,
    failed: u64,
    /// An inline SVG line of the 24 hourly counts (numbers only, made here).
    chart: String,
    /// Event accepted → job completed over the last hour: median and 99th percentile, in
    /// words ("< 250 ms"), "—" without completed jobs.
    p50: String,
    p99: String,
}

/// The tenant's flows over the last 24 hours, busiest first, with their latency over the
/// last hour.
fn flow_days(
    counts: &[ferry_store::FlowHourCount],
    latency: &[ferry_store::FlowLatency],
    now: jiff::Timestamp,
) -> Vec<FlowDay> {
    let first = crate::anomaly::last_complete_hour(now) - jiff::SignedDuration::from_hours(23);
    let mut flows: Vec<&str> = counts.iter().map(|c| c.flow.as_str()).collect();
    flows.sort_unstable();
    flows.dedup();
    let mut days: Vec<FlowDay> = flows
        .into_iter()
        .map(|flow| {
            let mut hours = [0u64; 24];
            let (mut finished, mut failed) = (0, 0);
            for c in counts.iter().filter(|c| c.flow == flow && c.hour >= first) {
                let slot = (c.hour.duration_since(first).as_secs() / 3600).clamp(0, 23) as usize;
                hours[slot] += c.completed + c.dead;
                finished += c.completed + c.dead;
                failed += c.dead;
            }
            let l = latency.iter().find(|l| l.flow == flow);
            FlowDay {
                flow: flow.to_owned(),
                finished,
                failed,
                chart: sparkline(&hours),
                p50: crate::flow_stats::latency_cell(l, 0.5),
                p99: crate::flow_stats::latency_cell(l, 0.99),
            }
        })
        .collect();
    days.sort_by(|a, b| b.finished.cmp(&a.finished).then_with(|| a.flow.cmp(&b.flow)));
    days
}

/// A 120×24 SVG polyline of `values` (hours, oldest first).
fn sparkline(values: &[u64]) -> String {
    let top = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = 120.0 / (values.len().max(2) - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, 22.0 - 20.0 * (*v as f64) / top))
        .collect();
    format!(
        "<svg width=\"120\" height=\"24\" role=\"img\" aria-label=\"records per hour, last 24 hours\"><polyline fill=\"none\" stroke=\"#2a6fdb\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        points.join(" ")
    )
}

#[derive(Template)]
#[template(path = "live.html")]
struct Live {
    flows: Vec<FlowDay>,
    queue: ferry_store::QueueStats,
    groups: Vec<CauseGroup>,
    anomalies: Vec<String>,
    breakers: Vec<(String, String, String)>,
    limits: Limits,
}

/// The rate-limit budgets and recent 429s as the overview shows them.
struct Limits {
    /// Why there are none (a node that runs no flows).
    note: Option<String>,
    budgets: Vec<Budget>,
    throttles: Vec<Throttle>,
}

/// One connection's budget for one operation: a gauge.
struct Budget {
    connection: String,
    operation: String,
    /// `tokens / burst` as a percentage, 0 to 100.
    percent: u32,
    /// "7.5 of 10, 0.5/s".
    figures: String,
    /// "paused until 12:00:31 (Retry-After)".
    paused: Option<String>,
}

struct Throttle {
    at: String,
    connection: String,
    operation: String,
    retry_after: String,
}

fn limits_shown(view: crate::limits::LimitsView) -> Limits {
    let clock = |t: jiff::Timestamp| t.strftime("%H:%M:%S UTC").to_string();
    Limits {
        note: view.note,
        budgets: view
            .budgets
            .into_iter()
            .map(|b| Budget {
                percent: (b.fraction * 100.0).round() as u32,
                figures: format!("{:.1} of {}, {}/s", b.tokens, b.burst, rate(b.rate_per_sec)),
                paused: b.paused_until.map(|t| format!("paused until {} (Retry-After)", clock(t))),
                connection: b.connection,
                operation: if b.wider_cap { format!("{} (wider cap)", b.operation) } else { b.operation },
            })
            .collect(),
        throttles: view
            .throttles
            .into_iter()
            .take(10)
            .map(|t| Throttle {
                at: clock(t.at),
                connection: t.connection,
                operation: t.operation,
                retry_after: t.retry_after_seconds.map_or_else(|| "—".to_owned(), |s| format!("{s:.0} s")),
            })
            .collect(),
    }
}

/// A rate in requests per second as people read it: `0.0167`, `2`, `20`.
fn rate(per_sec: f64) -> String {
    if per_sec >= 10.0 || per_sec.fract() == 0.0 {
        format!("{per_sec:.0}")
    } else if per_sec >= 1.0 {
        format!("{per_sec:.1}")
    } else {
        format!("{per_sec:.4}").trim_end_matches('0').to_owned()
    }
}

async fn live_figures(s: &ApiState, tenant: &ferry_store::TenantId) -> Result<Live, PageError> {
    s.live.computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let queue = s.store.queue_stats_of(Some(tenant)).await?;
    let mut groups = service::dead_letter_groups(&s.store, tenant).await?;
    groups.truncate(10);
    // One read of the hourly counts serves the anomaly flags and the flows' last 24 hours.
    let now = jiff::Timestamp::now();
    let rules = crate::anomaly::FlowRules::default();
    let counts = s.store.flow_hourly_counts(tenant, crate::anomaly::history_since(now, &rules)).await?;
    let mut flags = crate::anomaly::flag_flows(&counts, now, &rules);
    flags.extend(crate::anomaly::scan_money(&crate::anomaly::money_series(&s.store, tenant, now).await?, now));
    let anomalies = flags.iter().map(crate::anomaly::Flag::explain).collect();
    let latency = s.store.flow_latency(tenant, crate::flow_stats::latency_since(now)).await?;
    let hosts: Vec<String> =
        s.store.connections(tenant).await?.iter().map(|c| crate::alerts::authority(&c.endpoint)).collect();
    let breakers = s
        .store
        .breakers()
        .await?
        .into_iter()
        .filter(|b| hosts.contains(&b.host))
        .map(|b| (b.host, b.state, b.updated_at.to_string()))
        .collect();
    let limits = limits_shown(crate::limits::limits(s.runtime.as_deref(), tenant));
    Ok(Live { flows: flow_days(&counts, &latency, now), queue, groups, anomalies, breakers, limits })
}

/// The overview's live fragment of `tenant`, rendered (what `/console/events` sends).
pub(crate) async fn live_fragment(s: &ApiState, tenant: &ferry_store::TenantId) -> Result<String, String> {
    let live = live_figures(s, tenant).await.map_err(|e| match e {
        PageError::SignIn => "not signed in".to_owned(),
        PageError::Status(_, message) => message,
    })?;
    live.render().map_err(|e| e.to_string())
}

async fn overview(State(s): Shared, headers: HeaderMap) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let live = current_fragment(&s, &p.tenant).await?;
    Ok(Html(Overview { tenant: p.tenant.to_string(), role: p.role, live }.render()?))
}

async fn live(State(s): Shared, headers: HeaderMap) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Html(current_fragment(&s, &p.tenant).await?))
}

/// The tenant's live fragment: the one its open pages were last sent (at most an interval
/// old, and they are kept current), else rendered now. Reloads and more tabs cost nothing more.
async fn current_fragment(s: &ApiState, tenant: &ferry_store::TenantId) -> Result<String, PageError> {
    match s.live.latest(tenant) {
        Some(html) => Ok(html.to_string()),
        None => Ok(live_figures(s, tenant).await?.render()?),
    }
}

/// How often a live page's token is checked again (revoked or expired: the stream ends).
const RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The overview's live updates: an `overview` event with the fragment each time the tenant's
/// shared computation renders it (see [`crate::live`]). 401 without a valid session.
async fn events(State(s): Shared, headers: HeaderMap) -> Response {
    let p = match require(&s, &headers, Role::Viewer).await {
        Ok(p) => p,
        Err(PageError::SignIn) => return (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        Err(e) => return e.into_response(),
    };
    let rx = crate::live::subscribe(&s, &p.tenant);
    let stop = s.stop.clone();
    let client = EventClient { rx, state: s, headers, checked: tokio::time::Instant::now(), stop };
    let stream = futures_util::stream::unfold(client, |mut c| async move {
        loop {
            match &mut c.stop {
                Some(stop) => tokio::select! {
                    changed = c.rx.changed() => changed.ok()?,
                    _ = stop.wait_for(|s| *s) => return None,
                },
                None => c.rx.changed().await.ok()?,
            }
            let frame = c.rx.borrow_and_update().clone();
            let Some(html) = frame else { continue };
            if c.checked.elapsed() >= RECHECK {
                require(&c.state, &c.headers, Role::Viewer).await.ok()?;
                c.checked = tokio::time::Instant::now();
            }
            let event = axum::response::sse::Event::default().event("overview").data(html.as_ref());
            return Some((Ok::<_, std::convert::Infallible>(event), c));
        }
    });
    axum::response::sse::Sse::new(stream)
        .keep_alive(axum::response::sse::KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

/// One page listening to its tenant's overview.
struct EventClient {
    rx: tokio::sync::watch::Receiver<crate::live::Frame>,
    state: Arc<ApiState>,
    headers: HeaderMap,
    checked: tokio::time::Instant,
    /// The node's stop: the stream ends with it.
    stop: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A dead letter as a table row.
struct Row {
    id: i64,
    flow: String,
    step: String,
    error: String,
    at: String,
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct DeadLetters {
    tenant: String,
    role: Role,
    can_act: bool,
    message: Option<String>,
    cause: Option<String>,
    groups: Vec<CauseGroup>,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct ListQuery {
    flow: Option<String>,
    cause: Option<String>,
    done: Option<String>,
}

async fn dead_letters(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let filter = DeadLetterFilter { flow: q.flow, cause: q.cause.clone(), all: false };
    let rows = service::dead_letters(&s.store, &p.tenant, &filter, 200)
        .await?
        .into_iter()
        .map(|d| Row { id: d.id.0, flow: d.flow, step: d.step, error: d.error, at: d.created_at.to_string() })
        .collect();
    let page = DeadLetters {
        tenant: p.tenant.to_string(),
        role: p.role,
        can_act: p.role.allows(Role::Operator),
        message: q.done,
        cause: q.cause,
        groups: service::dead_letter_groups(&s.store, &p.tenant).await?,
        rows,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "dead_letter.html")]
struct DeadLetterPage {
    tenant: String,
    role: Role,
    can_act: bool,
    id: i64,
    status: String,
    flow: String,
    step: String,
    attempts: u32,
    error: String,
    cause: String,
    payload: String,
    /// The payload as stored, in the editor (operators, `?edit=1`).
    editing: Option<String>,
    /// Why the edited payload was not replayed, shown at the field.
    edit_error: Option<String>,
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default)]
    edit: Option<String>,
}

async fn dead_letter(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Html<String>, PageError> {
    let editing = q.edit.is_some();
    let p = require(&s, &headers, if editing { Role::Operator } else { Role::Viewer }).await?;
    Ok(Html(dead_letter_page(&s, &p, id, editing, None).await?.render()?))
}

/// The page of one dead letter; with `editing` (or an edit refused, `edited`) the payload as
/// stored in an editor, which is audited.
async fn dead_letter_page(
    s: &ApiState,
    p: &Principal,
    id: i64,
    editing: bool,
    edited: Option<(String, String)>,
) -> Result<DeadLetterPage, PageError> {
    // The editor shows the payload as stored (audited); the page shows it redacted. One read.
    let opens_editor = editing && edited.is_none();
    let mut shown = service::dead_letter(&s.store, &p.tenant, DeadLetterId(id), opens_editor, &p.actor()).await?;
    let pretty = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| text.to_owned())
    };
    let (editing, edit_error) = match edited {
        Some((text, error)) => (Some(text), Some(error)),
        None if opens_editor => {
            let stored = pretty(&shown.payload);
            shown.payload = ferry_store::redact::json_text(&shown.payload);
            (Some(stored), None)
        }
        None => (None, None),
    };
    Ok(DeadLetterPage {
        tenant: p.tenant.to_string(),
        role: p.role,
        can_act: p.role.allows(Role::Operator),
        id,
        status: shown.status.as_str().into(),
        cause: service::cause(&shown.error),
        payload: pretty(&shown.payload),
        flow: shown.flow,
        step: shown.step,
        attempts: shown.attempts,
        error: shown.error,
        editing,
        edit_error,
    })
}

fn back_to_list(message: &str) -> Redirect {
    let encoded: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    Redirect::to(&format!("/console/dead-letters?done={encoded}"))
}

#[derive(Deserialize)]
struct ReplayForm {
    /// An edited payload (the editor's text); none: replay as stored.
    payload: Option<String>,
    /// The flow version to run it with (empty: the one that runs).
    version: Option<String>,
}

async fn replay(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ReplayForm>,
) -> Result<Response, PageError> {
    let p = require(&s, &headers, Role::Operator).await?;
    let edited = match form.payload.as_deref() {
        None => None,
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) if value.is_object() => Some(value),
            // Refused at the field, the text kept: nothing is replayed.
            Ok(_) => return refused_edit(&s, &p, id, text, "the payload must be a JSON object ({ … })").await,
            Err(e) => {
                let why = format!("not valid JSON at line {}, column {}: {e}", e.line(), e.column());
                return refused_edit(&s, &p, id, text, &why).await;
            }
        },
    };
    let version = match form.version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            PageError::Status(StatusCode::BAD_REQUEST, format!("flow version `{v}` is not a version number"))
        })?),
    };
    let job = match service::replay(&s.store, &p.tenant, DeadLetterId(id), edited.as_ref(), version, &p.actor()).await {
        // An edit that does not fit the job is refused at the editor, the text kept.
        Err(ServiceError::BadInput(why)) if edited.is_some() => {
            return refused_edit(&s, &p, id, form.payload.as_deref().unwrap_or_default(), &why).await;
        }
        other => other?,
    };
    s.live.changed(&p.tenant);
    let mut how = if edited.is_some() { " with the edited payload".to_owned() } else { String::new() };
    if let Some(v) = version {
        how.push_str(&format!(" with flow version {v}"));
    }
    Ok(back_to_list(&format!("dead letter {id} replayed as job {job}{how}")).into_response())
}

async fn refused_edit(s: &ApiState, p: &Principal, id: i64, text: &str, why: &str) -> Result<Response, PageError> {
    let page = dead_letter_page(s, p, id, true, Some((text.to_owned(), why.to_owned()))).await?;
    Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
}

async fn discard(State(s): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Result<Redirect, PageError> {
    let p = require(&s, &headers, Role::Operator).await?;
    service::discard(&s.store, &p.tenant, DeadLetterId(id), &p.actor()).await?;
    s.live.changed(&p.tenant);
    Ok(back_to_list(&format!("dead letter {id} discarded")))
}

#[derive(Deserialize)]
struct BulkForm {
    flow: Option<String>,
    cause: Option<String>,
    action: BulkAction,
}

async fn bulk(State(s): Shared, headers: HeaderMap, Form(form): Form<BulkForm>) -> Result<Redirect, PageError> {
    let p = require(&s, &headers, Role::Operator).await?;
    let filter = DeadLetterFilter { flow: form.flow, cause: form.cause, all: false };
    let done = service::bulk(&s.store, &p.tenant, &filter, form.action, false, &p.actor()).await?;
    s.live.changed(&p.tenant);
    let verb = match form.action {
        BulkAction::Replay => "replayed",
        BulkAction::Discard => "discarded",
    };
    let mut message = format!("{} of {} dead letters {verb}", done.done, done.matched);
    if !done.failed.is_empty() {
        message.push_str(&format!("; {} could not be: {}", done.failed.len(), done.failed.join("; ")));
    }
    Ok(back_to_list(&message))
}

#[derive(Template)]
#[template(path = "records.html")]
struct Records {
    tenant: String,
    role: Role,
    query: String,
    message: Option<String>,
    trace: Option<RecordTrace>,
}

#[derive(Deserialize)]
struct RecordQuery {
    id: Option<String>,
}

async fn records(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Query<RecordQuery>,
) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let query = q.id.unwrap_or_default().trim().to_owned();
    let (trace, message) = if query.is_empty() {
        (None, None)
    } else {
        match service::record_trace(&s.store, &p.tenant, &query).await {
            Ok(t) => (Some(t), None),
            Err(ServiceError::NotFound(_)) => {
                (None, Some(format!("nothing of tenant {} has the id {query}", p.tenant)))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let page = Records { tenant: p.tenant.to_string(), role: p.role, query, message, trace };
    Ok(Html(page.render()?))
}
