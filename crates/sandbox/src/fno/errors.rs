//! F&O error bodies. The one shape the reference shows (DYNAMICS.md §B.2, from a third-party
//! issue) is `{"error":{"code":"","message":"An error has occurred.","innererror":{"message":
//! "…"}}}`; the sandbox answers every error that way, with the specific text in
//! `innererror.message` and an exception type in `innererror.type`. The reference gives no
//! official error spec: the types and texts below are the sandbox's choice, worded as the
//! OData library and the X++ validation messages read.

use serde_json::json;

/// The outer message F&O puts on every error.
pub const OUTER_MESSAGE: &str = "An error has occurred.";

/// Exception type of OData grammar and request errors.
pub const ODATA_EXCEPTION: &str = "Microsoft.OData.ODataException";
/// Exception type of entity validation (X++ `validateWrite`, `validateField`) failures.
pub const VALIDATION_EXCEPTION: &str = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException";
/// Exception type of unsupported query features.
pub const NOT_IMPLEMENTED: &str = "System.NotImplementedException";

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FnoError {
    pub status: u16,
    /// `innererror.message`: what went wrong.
    pub message: String,
    /// `innererror.type`.
    pub kind: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl FnoError {
    pub fn new(status: u16, kind: &str, message: impl Into<String>) -> Self {
        FnoError { status, message: message.into(), kind: kind.to_owned(), retry_after: None }
    }

    /// A malformed request (URL, query option, body).
    pub fn bad_request(message: impl Into<String>) -> Self {
        FnoError::new(400, ODATA_EXCEPTION, message)
    }

    /// A write the entity's validation refuses.
    pub fn validation(message: impl Into<String>) -> Self {
        FnoError::new(400, VALIDATION_EXCEPTION, message)
    }

    /// A query feature F&O does not implement (`in`, `has`, nested `$expand`).
    pub fn not_supported(message: impl Into<String>) -> Self {
        FnoError::new(400, NOT_IMPLEMENTED, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        FnoError::new(404, ODATA_EXCEPTION, message)
    }

    pub fn throttled(retry_after: u64) -> Self {
        FnoError {
            status: 429,
            message: "Too many requests. The request was throttled by priority-based throttling; retry after the time in the Retry-After header.".into(),
            kind: "Microsoft.Dynamics.Platform.Integration.Services.OData.ThrottlingException".into(),
            retry_after: Some(retry_after),
        }
    }

    pub fn body(&self) -> Vec<u8> {
        json!({
            "error": {
                "code": "",
                "message": OUTER_MESSAGE,
                "innererror": { "message": self.message, "type": self.kind, "stacktrace": "" }
            }
        })
        .to_string()
        .into_bytes()
    }
}

impl std::fmt::Display for FnoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}
