//! Bearer tokens and roles. A token is `fy_<id>_<secret>`: the id finds its row, the SHA-256 of
//! the whole token is compared in constant time (`subtle`) with the stored hash, and the token
//! itself is shown once and kept nowhere. SHA-256 rather than a password hash: the secret is
//! 32 random bytes, which no dictionary guesses, so a slow hash would only slow every request.
//!
//! Each token belongs to one tenant and one role: a viewer reads; an operator also replays,
//! discards and edits dead letters and toggles flows; an admin also manages connections, tokens
//! and flow versions.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use ferry_store::{ApiTokenRow, Store as _, TenantId};

/// What a token may do; each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!("role must be viewer, operator or admin, got `{other}`")),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Who is asking: a valid token's tenant and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub role: Role,
    pub token_id: String,
}

impl Principal {
    /// How the audit log names it.
    pub fn actor(&self) -> String {
        format!("token {}", self.token_id)
    }
}

/// Why a request's token was refused (each a 401; none says whose token it was).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("an `Authorization: Bearer <token>` header is required")]
    Missing,
    #[error("the bearer token is not a Ferry token (fy_…)")]
    Malformed,
    #[error("the bearer token is not valid")]
    Unknown,
    #[error("the bearer token was revoked")]
    Revoked,
    #[error("the bearer token expired")]
    Expired,
    #[error("the token store cannot be read: {0}")]
    Store(String),
}

const PREFIX: &str = "fy_";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token as made: its row (stored) and the token (shown once).
pub struct Issued {
    pub row: ApiTokenRow,
    pub token: String,
}

/// Makes a token for `tenant` with `role`, stores its hash (audited as `actor`) and returns it.
pub async fn issue(
    store: &ferry_store::AnyStore,
    tenant: &TenantId,
    role: Role,
    label: &str,
    expires_at: Option<Timestamp>,
    actor: &str,
) -> Result<Issued, crate::ServiceError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(crate::ServiceError::BadInput(
            "label must be 1 to 100 printable characters (what the token is for, e.g. `finance team`)".into(),
        ));
    }
    if let Some(at) = expires_at
        && at <= Timestamp::now()
    {
        return Err(crate::ServiceError::BadInput(format!("expiry {at} is in the past")));
    }
    let id = hex::encode(rand::random::<[u8; 6]>());
    let token = format!("{PREFIX}{id}_{}", hex::encode(rand::random::<[u8; 32]>()));
    let row = ApiTokenRow {
        id,
        tenant: tenant.clone(),
        role: role.as_str().into(),
        label: label.into(),
        hash: hash(&token),
        created_by: actor.into(),
        created_at: Timestamp::now(),
        expires_at,
        revoked_at: None,
    };
    store.add_api_token(&row, actor).await?;
    Ok(Issued { row, token })
}

/// Checks an `Authorization` header's value.
pub async fn authenticate(store: &ferry_store::AnyStore, header: Option<&str>) -> Result<Principal, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let token =
        header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).ok_or(AuthError::Missing)?.trim();
    let id = token
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
        .ok_or(AuthError::Malformed)?;
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::Malformed);
    }
    let row = store.api_token(id).await.map_err(|e| AuthError::Store(e.to_string()))?.ok_or(AuthError::Unknown)?;
    if !bool::from(hash(token).as_bytes().ct_eq(row.hash.as_bytes())) {
        return Err(AuthError::Unknown);
    }
    if row.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    if row.expires_at.is_some_and(|at| at <= Timestamp::now()) {
        return Err(AuthError::Expired);
    }
    let role = row.role.parse().map_err(|_| AuthError::Unknown)?;
    Ok(Principal { tenant: row.tenant, role, token_id: row.id })
}

/// Parses `--expires`: a number of days (`30d`), hours (`12h`) or an RFC 3339 instant.
pub fn parse_expiry(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let t = text.trim();
    let span = |n: &str, unit: i64| -> Result<Timestamp, String> {
        let n: i64 = n.parse().map_err(|_| format!("expiry `{t}`: not a number of days or hours"))?;
        if n <= 0 || n > 3650 * 24 {
            return Err(format!("expiry `{t}` must be positive and at most ten years"));
        }
        now.checked_add(jiff::SignedDuration::from_secs(n * unit)).map_err(|e| format!("expiry `{t}`: {e}"))
    };
    if let Some(days) = t.strip_suffix('d') {
        return span(days, 86_400);
    }
    if let Some(hours) = t.strip_suffix('h') {
        return span(hours, 3_600);
    }
    t.parse::<Timestamp>().map_err(|_| format!("expiry `{t}` must be like 30d, 12h or 2027-01-31T00:00:00Z"))
}
