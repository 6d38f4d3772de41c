//! `/api/v1/flows`: a tenant's flows, their versions, the designer's preview and save,
//! rollback, pause and resume, and shadow runs (see [`crate::flows`]).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ErrorBody, Shared, require};
use crate::auth::Role;
use crate::flows::{self, FlowView, PreviewRequest, PreviewView, Problem, Saved, VersionView};

/// A flow's head after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeadView {
    pub flow: String,
    pub active: i64,
    pub paused: bool,
    pub shadow: Option<i64>,
}

impl From<ferry_store::FlowHead> for HeadView {
    fn from(h: ferry_store::FlowHead) -> Self {
        HeadView { flow: h.flow, active: h.active, paused: h.paused, shadow: h.shadow }
    }
}

/// One version with its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionText {
    pub flow: String,
    pub version: i64,
    pub text: String,
    pub note: String,
    pub created_by: String,
    #[schema(value_type = String)]
    pub created_at: jiff::Timestamp,
}

/// A text that does not check: every problem at its line.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unsound {
    pub error: String,
    pub problems: Vec<Problem>,
}

/// A new version's text.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SaveBody {
    pub text: String,
    /// What the version becomes: `running` (default), `shadow` or `draft`.
    #[serde(default)]
    pub save_as: flows::SaveAs,
}

/// The version to run.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivateBody {
    pub version: i64,
}

/// The version to shadow the active one with; none stops shadowing.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShadowBody {
    pub version: Option<i64>,
}

/// Which shadow results to read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ShadowQuery {
    /// The shadow version (default: the current shadow).
    pub version: Option<i64>,
    /// The most records listed (default 100).
    pub limit: Option<u32>,
}

/// One record's difference.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShadowRecord {
    pub record: String,
    pub differing: u32,
    /// `[{"field", "current", "shadow"}]`, PII redacted.
    #[schema(value_type = Vec<Object>)]
    pub diff: serde_json::Value,
    #[schema(value_type = String)]
    pub at: jiff::Timestamp,
}

/// What a shadow version would have written differently.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShadowView {
    pub flow: String,
    pub version: i64,
    pub records: u64,
    pub differing_records: u64,
    pub results: Vec<ShadowRecord>,
}

/// A kept source record.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleView {
    pub record: String,
    #[schema(value_type = Object)]
    pub sample: serde_json::Value,
    #[schema(value_type = String)]
    pub at: jiff::Timestamp,
}

fn source(s: &super::ApiState) -> Result<&flows::Source, ApiError> {
    s.flows.as_ref().ok_or_else(|| {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, "this node runs no flows, so it cannot check a flow's text".into())
    })
}

#[utoipa::path(get, path = "/flows", tag = "flows",
    responses((status = 200, body = Vec<FlowView>), (status = 401, body = ErrorBody)))]
pub(super) async fn list_flows(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<FlowView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(flows::list(&s.store, &p.tenant).await?))
}

#[utoipa::path(get, path = "/flows/{flow}/versions", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")),
    responses((status = 200, body = Vec<VersionView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn list_versions(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(flows::versions(&s.store, &p.tenant, &flow).await?))
}

#[utoipa::path(post, path = "/flows/{flow}/versions", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")), request_body = SaveBody,
    responses((status = 201, body = Saved), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = Unsound), (status = 503, body = ErrorBody)))]
pub(super) async fn save_version(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Json(body): Json<SaveBody>,
) -> Result<Response, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    flows::head(&s.store, &p.tenant, &flow).await?;
    let source = source(&s)?;
    let problems = flows::check(source, &s.store, &p.tenant, &flow, &body.text).await?;
    if !problems.is_empty() {
        let error = format!("the flow does not check: {} problem(s); nothing was saved", problems.len());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(Unsound { error, problems })).into_response());
    }
    let saved = flows::save(source, &s.store, &p.tenant, &flow, &body.text, body.save_as, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

#[utoipa::path(get, path = "/flows/{flow}/versions/{version}", tag = "flows",
    params(("flow" = String, Path, description = "Flow name"), ("version" = i64, Path, description = "Version")),
    responses((status = 200, body = VersionText), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_version(
    State(s): Shared,
    headers: HeaderMap,
    Path((flow, version)): Path<(String, i64)>,
) -> Result<Json<VersionText>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let v = flows::version(&s.store, &p.tenant, &flow, version).await?;
    Ok(Json(VersionText {
        flow: v.flow,
        version: v.version,
        text: v.text,
        note: v.note,
        created_by: v.created_by,
        created_at: v.created_at,
    }))
}

#[utoipa::path(post, path = "/flows/{flow}/activate", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")), request_body = ActivateBody,
    responses((status = 200, body = HeadView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn activate_version(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Json(body): Json<ActivateBody>,
) -> Result<Json<HeadView>, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    flows::head(&s.store, &p.tenant, &flow).await?;
    let head = flows::activate(source(&s)?, &s.store, &p.tenant, &flow, body.version, &p.actor()).await?;
    Ok(Json(head.into()))
}

#[utoipa::path(post, path = "/flows/{flow}/pause", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")),
    responses((status = 200, body = HeadView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn pause_flow(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
) -> Result<Json<HeadView>, ApiError> {
    let p = require(&s, &headers, Role::Operator).await?;
    Ok(Json(flows::pause(&s.store, &p.tenant, &flow, true, &p.actor()).await?.into()))
}

#[utoipa::path(post, path = "/flows/{flow}/resume", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")),
    responses((status = 200, body = HeadView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn resume_flow(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
) -> Result<Json<HeadView>, ApiError> {
    let p = require(&s, &headers, Role::Operator).await?;
    Ok(Json(flows::pause(&s.store, &p.tenant, &flow, false, &p.actor()).await?.into()))
}

#[utoipa::path(put, path = "/flows/{flow}/shadow", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")), request_body = ShadowBody,
    responses((status = 200, body = HeadView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub(super) async fn set_shadow(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Json(body): Json<ShadowBody>,
) -> Result<Json<HeadView>, ApiError> {
    let p = require(&s, &headers, Role::Admin).await?;
    flows::head(&s.store, &p.tenant, &flow).await?;
    let head = flows::shadow(source(&s)?, &s.store, &p.tenant, &flow, body.version, &p.actor()).await?;
    Ok(Json(head.into()))
}

#[utoipa::path(get, path = "/flows/{flow}/shadow", tag = "flows",
    params(("flow" = String, Path, description = "Flow name"), ShadowQuery),
    responses((status = 200, body = ShadowView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn shadow_results(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Query(q): Query<ShadowQuery>,
) -> Result<Json<ShadowView>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let (version, report) =
        flows::shadow_report(&s.store, &p.tenant, &flow, q.version, q.limit.unwrap_or(100).min(1000)).await?;
    Ok(Json(ShadowView {
        flow,
        version,
        records: report.records,
        differing_records: report.differing_records,
        results: report
            .results
            .into_iter()
            .map(|r| ShadowRecord {
                diff: serde_json::from_str(&r.diff).unwrap_or(serde_json::Value::Null),
                record: r.record,
                differing: r.differing,
                at: r.at,
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/flows/{flow}/preview", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")), request_body = PreviewRequest,
    responses((status = 200, body = PreviewView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(super) async fn preview_flow(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Json(body): Json<PreviewRequest>,
) -> Result<Json<PreviewView>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    flows::head(&s.store, &p.tenant, &flow).await?;
    let sample = flows::sample_or_recent(&s.store, &p.tenant, &flow, body.sample.as_deref()).await?;
    Ok(Json(flows::preview_text(&flow, &body.text, &sample)))
}

#[utoipa::path(get, path = "/flows/{flow}/samples", tag = "flows",
    params(("flow" = String, Path, description = "Flow name")),
    responses((status = 200, body = Vec<SampleView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn list_samples(
    State(s): Shared,
    headers: HeaderMap,
    Path(flow): Path<String>,
) -> Result<Json<Vec<SampleView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    let samples = flows::samples(&s.store, &p.tenant, &flow).await?;
    Ok(Json(
        samples
            .into_iter()
            .map(|x| SampleView {
                sample: serde_json::from_str(&x.sample).unwrap_or(serde_json::Value::Null),
                record: x.record,
                at: x.at,
            })
            .collect(),
    ))
}
