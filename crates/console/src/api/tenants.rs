//! `/api/v1/tenants`: the caller's own tenant (a token belongs to one): its name, whether it
//! runs, its connections by name and kind and its flows. Another tenant's id is 404, like
//! everything of another tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use ferry_store::{Store as _, TenantStatus};

use super::{ApiError, ErrorBody, Shared, require};
use crate::auth::{Principal, Role};
use crate::flows::FlowView;

/// A connection as the tenant view lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantConnection {
    pub name: String,
    /// The system it connects to: `amazon`, `dataverse`, `business_central`…
    pub kind: String,
}

/// A tenant with its connections and flows.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub connections: Vec<TenantConnection>,
    pub flows: Vec<FlowView>,
}

async fn tenant_view(s: &crate::api::ApiState, p: &Principal) -> Result<TenantView, ApiError> {
    let info = s
        .store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.id == p.tenant)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("tenant {} not found", p.tenant)))?;
    let connections = s
        .store
        .connections(&p.tenant)
        .await?
        .into_iter()
        .map(|c| TenantConnection { name: c.id.to_string(), kind: c.system })
        .collect();
    Ok(TenantView {
        id: info.id.to_string(),
        name: info.name,
        enabled: info.status == TenantStatus::Active,
        connections,
        flows: crate::flows::list(&s.store, &p.tenant).await?,
    })
}

#[utoipa::path(get, path = "/tenants", tag = "tenants",
    responses((status = 200, body = Vec<TenantView>, description = "The caller's own tenant"), (status = 401, body = ErrorBody)))]
pub(super) async fn list_tenants(State(s): Shared, headers: HeaderMap) -> Result<Json<Vec<TenantView>>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(vec![tenant_view(&s, &p).await?]))
}

#[utoipa::path(get, path = "/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id (the caller's own)")),
    responses((status = 200, body = TenantView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn show_tenant(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    if p.tenant.as_ref() != id {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("tenant {id} not found")));
    }
    Ok(Json(tenant_view(&s, &p).await?))
}
