//! Response shapes shared by every SP-API route: the `{"errors":[…]}` body, `x-amzn-RequestId`
//! on every response, `x-amzn-RateLimit-Limit` only where Amazon sends it (2xx, 400, 404), and
//! form/query decoding (SP-API sends arrays as comma-separated values).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// A JSON response with Amazon's headers. `rate` is announced only on 2xx/400/404, as Amazon
/// documents ("should never be expected in the response to a throttled, unauthorized, or
/// unauthenticated request").
pub fn json_response(status: StatusCode, body: &Value, rate: Option<f64>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    add_request_id(&mut response);
    if let Some(rate) = rate
        && (status.is_success() || status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND)
        && let Ok(value) = HeaderValue::from_str(&format_rate(rate))
    {
        response.headers_mut().insert("x-amzn-RateLimit-Limit", value);
    }
    response
}

/// A response without a body (204 of confirmShipment), with Amazon's headers.
pub fn empty_response(status: StatusCode, rate: Option<f64>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    add_request_id(&mut response);
    if let Some(rate) = rate
        && let Ok(value) = HeaderValue::from_str(&format_rate(rate))
    {
        response.headers_mut().insert("x-amzn-RateLimit-Limit", value);
    }
    response
}

fn add_request_id(response: &mut Response) {
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
}

/// Amazon writes the rate as a decimal, e.g. `0.5` or `10.0`.
fn format_rate(rate: f64) -> String {
    let text = format!("{rate}");
    if text.contains('.') || text.contains('e') { text } else { format!("{text}.0") }
}

/// `{"errors":[{"code","message","details"}]}`.
pub fn error_body(code: &str, message: &str, details: &str) -> Value {
    json!({ "errors": [ { "code": code, "message": message, "details": details } ] })
}

/// A classified error response.
pub fn error(status: StatusCode, code: &str, message: &str, rate: Option<f64>) -> Response {
    json_response(status, &error_body(code, message, ""), rate)
}

/// 400 InvalidInput naming the parameter at fault.
pub fn invalid_input(message: impl AsRef<str>, rate: Option<f64>) -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidInput", message.as_ref(), rate)
}

/// 404 NotFound.
pub fn not_found(message: impl AsRef<str>, rate: Option<f64>) -> Response {
    error(StatusCode::NOT_FOUND, "NotFound", message.as_ref(), rate)
}

/// Amazon's throttling answer: 429, QuotaExceeded, only `x-amzn-RequestId` as header.
pub fn quota_exceeded() -> Response {
    error(StatusCode::TOO_MANY_REQUESTS, "QuotaExceeded", "You exceeded your quota for the requested resource.", None)
}

/// Decodes `a=1&b=x%2Cy` (query strings and form bodies) into pairs, `+` as space.
pub fn decode_pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
}

/// Query parameters, looked up by name.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Query(raw.map(decode_pairs).unwrap_or_default())
    }

    /// The (last) value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The names of the parameters given (empty values included), in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// A comma-separated array (`collectionFormat: csv`), also accepting repeated keys.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned))
            .collect()
    }
}

/// Admits a request (token, then the operation's token bucket) or returns the sandbox's
/// error response from the calling handler; evaluates to the rate to announce.
macro_rules! gate {
    ($shared:expr, $($args:tt)*) => {
        match $shared.gate($($args)*).await {
            Ok(rate) => rate,
            Err(response) => return response,
        }
    };
}
pub(crate) use gate;
