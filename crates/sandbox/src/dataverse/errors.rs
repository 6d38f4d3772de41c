//! Dataverse error bodies: `{"error":{"code":"…","message":"…"}}` (DYNAMICS.md §A.2), with the
//! codes and messages the platform uses for the cases the sandbox reproduces.

use serde_json::json;

/// An error answer of the Web API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// Dataverse's code (hex, or empty as in the conditional-operation examples).
    pub code: String,
    pub message: String,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
}

/// Service-protection codes (DYNAMICS.md §A.3).
pub const REQUESTS_EXCEEDED: &str = "0x80072322";
pub const EXECUTION_TIME_EXCEEDED: &str = "0x80072321";
pub const CONCURRENCY_EXCEEDED: &str = "0x80072326";
/// A column value too long (from the `$batch` error sample).
pub const VALIDATION: &str = "0x80044331";
/// A row with the same alternate key already exists (DuplicateRecord).
pub const DUPLICATE_RECORD: &str = "0x80040237";
/// Missing required column or bad argument (InvalidArgument).
pub const INVALID_ARGUMENT: &str = "0x80040203";
/// An OData query names a property the type does not have (`Could not find a property
/// named …`; not in the reference, the platform's answer as clients report it).
pub const PROPERTY_NOT_FOUND: &str = "0x80060888";
/// A create/update body names a property the type does not have (not in the reference).
pub const UNDECLARED_PROPERTY: &str = "0x80048d19";
/// ObjectDoesNotExist.
pub const NOT_FOUND: &str = "0x80040217";
/// A state change the record's current state does not allow (-2147220970, as Microsoft KB
/// 932477 quotes it; DYNAMICS.md is silent on closing a closed order).
pub const INVALID_STATE_TRANSITION: &str = "0x80040216";

/// The message of [`INVALID_STATE_TRANSITION`], as KB 932477 quotes it.
pub const INVALID_STATE_TRANSITION_MESSAGE: &str = "The target state is invalid. The target state may not exist or the system does not allow changing to the target state from the current state. Please check the documentation on this state change request.";

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_owned(), message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, INVALID_ARGUMENT, message)
    }

    /// As in the conditional-operation example of the reference: an empty code.
    pub fn not_found(logical: &str, id: impl std::fmt::Display) -> Self {
        ApiError::new(404, "", format!("{logical} With Id = {id} Does Not Exist"))
    }

    pub fn key_not_found(logical: &str) -> Self {
        ApiError::new(
            404,
            NOT_FOUND,
            format!("A record with the specified key values does not exist in {logical} entity"),
        )
    }

    pub fn resource_not_found(path: &str) -> Self {
        ApiError::new(404, "0x8006088a", format!("Resource not found for the segment '{path}'."))
    }

    pub fn throttled(code: &str, message: impl Into<String>, retry_after: u64) -> Self {
        ApiError { status: 429, code: code.to_owned(), message: message.into(), retry_after: Some(retry_after) }
    }

    pub fn body(&self) -> Vec<u8> {
        json!({ "error": { "code": self.code, "message": self.message } }).to_string().into_bytes()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}
