//! `/api/v1/limits`: the caller's tenant's rate-limit budgets, recent 429s and breakers, as
//! the node's runtime sees them now (see [`crate::limits`]).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use super::{ApiError, ErrorBody, Shared, require};
use crate::auth::Role;
use crate::limits::{self, LimitsView};

#[utoipa::path(get, path = "/limits", tag = "queue",
    responses((status = 200, body = LimitsView), (status = 401, body = ErrorBody)))]
pub(super) async fn limits(State(s): Shared, headers: HeaderMap) -> Result<Json<LimitsView>, ApiError> {
    let p = require(&s, &headers, Role::Viewer).await?;
    Ok(Json(limits::limits(s.runtime.as_deref(), &p.tenant)))
}
