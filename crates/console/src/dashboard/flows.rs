//! The console's flow pages: the list (pause, resume) and the mapping designer (the flow file,
//! a sample record, the mapped output updated as the text is edited, problems at their lines,
//! suggestions for unmapped target fields; save, rollback, shadow and its differences). Every
//! change goes through [`crate::flows`], as the API's do.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{PageError, Shared, require};
use crate::api::ApiState;
use crate::auth::{Principal, Role};
use crate::flows::{self, FlowView, Problem, SaveAs, VersionView};

/// The flow pages' routes (state applied by the console's router).
pub(super) fn routes() -> axum::Router<std::sync::Arc<ApiState>> {
    axum::Router::new()
        .route("/console/flows", get(list))
        .route("/console/flows/{flow}", get(designer))
        .route("/console/flows/{flow}/preview", post(preview))
        .route("/console/flows/{flow}/save", post(save))
        .route("/console/flows/{flow}/activate", post(activate))
        .route("/console/flows/{flow}/shadow", post(shadow))
        .route("/console/flows/{flow}/pause", post(pause))
        .route("/console/flows/{flow}/resume", post(resume))
}

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage {
    tenant: String,
    role: Role,
    can_operate: bool,
    message: Option<String>,
    flows: Vec<FlowView>,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn list(State(s): Shared, headers: HeaderMap, Query(q): Query<Done>) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let page = FlowsPage {
        tenant: p.tenant.to_string(),
        role: p.role,
        can_operate: p.role.allows(Role::Operator),
        message: q.done,
        flows: flows::list(&s.store, &p.tenant).await?,
    };
    Ok(Html(page.render()?))
}

/// One differing field of a shadow run, as a row.
struct DiffRow {
    record: String,
    field: String,
    current: String,
    shadow: String,
}

struct ShadowShown {
    version: i64,
    records: u64,
    differing_records: u64,
    rows: Vec<DiffRow>,
}

#[derive(Template)]
#[template(path = "flow.html")]
struct DesignerPage {
    tenant: String,
    role: Role,
    can_admin: bool,
    message: Option<String>,
    flow: String,
    active: i64,
    paused: bool,
    /// The version whose text is shown, when not the running one.
    showing: Option<i64>,
    text: String,
    sample: String,
    problems: Vec<Problem>,
    versions: Vec<VersionRow>,
    shadow_report: Option<ShadowShown>,
}

/// A version as a row of the designer's table.
struct VersionRow {
    version: i64,
    created_at: String,
    created_by: String,
    note: String,
    active: bool,
    shadow: bool,
}

impl VersionRow {
    fn of(v: VersionView, shadow: Option<i64>) -> Self {
        VersionRow {
            shadow: shadow == Some(v.version),
            version: v.version,
            created_at: v.created_at.to_string(),
            created_by: v.created_by,
            note: v.note,
            active: v.active,
        }
    }
}

#[derive(Deserialize)]
struct DesignerQuery {
    version: Option<i64>,
    done: Option<String>,
}

/// What the designer page shows of `flow`, with `text` in the editor (else the shown version's).
async fn designer_page(
    s: &ApiState,
    p: &Principal,
    flow: &str,
    shown: Option<i64>,
    edited: Option<(String, String, Vec<Problem>)>,
    message: Option<String>,
) -> Result<DesignerPage, PageError> {
    let head = flows::head(&s.store, &p.tenant, flow).await?;
    let (text, sample, problems) = match edited {
        Some(edited) => edited,
        None => {
            let row = flows::version(&s.store, &p.tenant, flow, shown.unwrap_or(head.active)).await?;
            let sample = flows::samples(&s.store, &p.tenant, flow)
                .await?
                .first()
                .and_then(|x| serde_json::from_str::<serde_json::Value>(&x.sample).ok())
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_default();
            (row.text, sample, Vec::new())
        }
    };
    let shadow_report = match head.shadow {
        Some(_) => {
            let (version, report) = flows::shadow_report(&s.store, &p.tenant, flow, None, 50).await?;
            let rows = report
                .results
                .iter()
                .flat_map(|r| {
                    let diff: Vec<serde_json::Value> = serde_json::from_str(&r.diff).unwrap_or_default();
                    diff.into_iter().map(|d| DiffRow {
                        record: r.record.clone(),
                        field: d["field"].as_str().unwrap_or_default().to_owned(),
                        current: d["current"].to_string(),
                        shadow: d["shadow"].to_string(),
                    })
                })
                .take(200)
                .collect();
            Some(ShadowShown { version, records: report.records, differing_records: report.differing_records, rows })
        }
        None => None,
    };
    Ok(DesignerPage {
        tenant: p.tenant.to_string(),
        role: p.role,
        can_admin: p.role.allows(Role::Admin),
        message,
        flow: flow.to_owned(),
        active: head.active,
        paused: head.paused,
        showing: shown.filter(|v| *v != head.active),
        text,
        sample,
        problems,
        versions: flows::versions(&s.store, &p.tenant, flow)
            .await?
            .into_iter()
            .map(|v| VersionRow::of(v, head.shadow))
            .collect(),
        shadow_report,
    })
}

async fn designer(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Query(q): Query<DesignerQuery>,
) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Html(designer_page(&s, &p, &flow, q.version, None, q.done).await?.render()?))
}

#[derive(Template)]
#[template(path = "flow_preview.html")]
struct PreviewFragment {
    output: Option<String>,
    problems: Vec<Problem>,
    suggestions: Vec<SuggestionRow>,
}

struct SuggestionRow {
    target: String,
    source: String,
    reason: String,
}

#[derive(Deserialize)]
struct DesignerForm {
    text: String,
    sample: Option<String>,
    save_as: Option<SaveAs>,
}

/// The mapped output of the sample with the text as edited: nothing is saved.
async fn preview(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Form(form): Form<DesignerForm>,
) -> Result<Html<String>, PageError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    flows::head(&s.store, &p.tenant, &flow).await?;
    let fragment = match flows::sample_or_recent(&s.store, &p.tenant, &flow, form.sample.as_deref()).await {
        Ok(sample) => {
            let view = flows::preview_text(&flow, &form.text, &sample);
            PreviewFragment {
                output: view.output.as_ref().and_then(|o| serde_json::to_string_pretty(o).ok()),
                problems: view.problems,
                suggestions: view
                    .suggestions
                    .iter()
                    .map(|x| match x.best() {
                        Some(best) => SuggestionRow {
                            target: x.target.clone(),
                            source: best.source.clone(),
                            reason: best.reason.clone(),
                        },
                        None => SuggestionRow {
                            target: x.target.clone(),
                            source: "—".into(),
                            reason: x.note.clone().unwrap_or_else(|| "nothing in the sample fits".into()),
                        },
                    })
                    .collect(),
            }
        }
        Err(crate::ServiceError::BadInput(why)) => PreviewFragment {
            output: None,
            problems: vec![Problem { line: 0, column: 0, field: Some("sample".into()), message: why }],
            suggestions: Vec::new(),
        },
        Err(other) => return Err(other.into()),
    };
    Ok(Html(fragment.render()?))
}

fn to_flow(flow: &str, message: &str) -> Response {
    let message: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    let flow: String = form_urlencoded::byte_serialize(flow.as_bytes()).collect();
    Redirect::to(&format!("/console/flows/{flow}?done={message}")).into_response()
}

fn source(s: &ApiState) -> Result<&flows::Source, PageError> {
    s.flows.as_ref().ok_or_else(|| {
        PageError::Status(StatusCode::SERVICE_UNAVAILABLE, "this node runs no flows, so it cannot check a flow".into())
    })
}

/// Saves the edited text as a version (that runs, or shadows); a text that does not check is
/// shown again with every problem at its line, and nothing is saved.
async fn save(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Form(form): Form<DesignerForm>,
) -> Result<Response, PageError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let source = source(&s)?;
    flows::head(&s.store, &p.tenant, &flow).await?;
    let problems = flows::check(source, &s.store, &p.tenant, &flow, &form.text).await?;
    if !problems.is_empty() {
        let message = format!("not saved: the flow does not check ({} problem(s))", problems.len());
        let edited = (form.text, form.sample.unwrap_or_default(), problems);
        let page = designer_page(&s, &p, &flow, None, Some(edited), Some(message)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    }
    let how = form.save_as.unwrap_or_default();
    let saved = flows::save(source, &s.store, &p.tenant, &flow, &form.text, how, &p.actor()).await?;
    let what = match how {
        SaveAs::Running => "runs now (every node picks it up within seconds)",
        SaveAs::Shadow => "shadows the running version: it maps live records and writes nothing",
        SaveAs::Draft => "is kept as a draft",
    };
    let kept = if saved.new { "saved as" } else { "the same text as" };
    Ok(to_flow(&flow, &format!("{kept} version {}; it {what}", saved.version)))
}

#[derive(Deserialize)]
struct VersionForm {
    version: String,
}

fn version_of(form: &VersionForm) -> Result<Option<i64>, PageError> {
    let v = form.version.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| PageError::Status(StatusCode::BAD_REQUEST, format!("`{v}` is not a version number")))
}

async fn activate(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Form(form): Form<VersionForm>,
) -> Result<Response, PageError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let Some(version) = version_of(&form)? else {
        return Err(PageError::Status(StatusCode::BAD_REQUEST, "which version? none was given".into()));
    };
    flows::activate(source(&s)?, &s.store, &p.tenant, &flow, version, &p.actor()).await?;
    Ok(to_flow(&flow, &format!("version {version} runs now")))
}

async fn shadow(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Form(form): Form<VersionForm>,
) -> Result<Response, PageError> {
    let p = require(&s, &headers, Role::Admin).await?;
    let version = version_of(&form)?;
    flows::shadow(source(&s)?, &s.store, &p.tenant, &flow, version, &p.actor()).await?;
    let message = match version {
        Some(v) => format!("version {v} shadows the running version; it writes nothing"),
        None => "the shadow stopped".to_owned(),
    };
    Ok(to_flow(&flow, &message))
}

async fn set_paused(s: &ApiState, headers: &HeaderMap, flow: &str, paused: bool) -> Result<Response, PageError> {
    let p = require(s, headers, Role::Operator).await?;
    flows::pause(&s.store, &p.tenant, flow, paused, &p.actor()).await?;
    let what = if paused { "paused: its jobs wait" } else { "resumed: its waiting jobs run" };
    let message: String = form_urlencoded::byte_serialize(format!("flow {flow} {what}").as_bytes()).collect();
    Ok(Redirect::to(&format!("/console/flows?done={message}")).into_response())
}

async fn pause(State(s): Shared, headers: HeaderMap, Path(flow): Path<String>) -> Result<Response, PageError> {
    set_paused(&s, &headers, &flow, true).await
}

async fn resume(State(s): Shared, headers: HeaderMap, Path(flow): Path<String>) -> Result<Response, PageError> {
    set_paused(&s, &headers, &flow, false).await
}
