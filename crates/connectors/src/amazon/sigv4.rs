//! AWS Signature Version 4, for the SQS queue that receives SP-API notifications (SP-API
//! itself no longer needs it since October 2023: LWA tokens suffice).

use ferry_store::secrets::SecretValue;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// RFC 3986 unreserved characters stay as they are; SigV4 encodes everything else.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// An IAM user's or role's keys.
#[derive(Clone, Debug)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretValue,
    /// For temporary credentials (`x-amz-security-token`).
    pub session_token: Option<SecretValue>,
}

/// One request to sign.
#[derive(Debug, Clone)]
pub struct SigningRequest<'a> {
    pub method: &'a str,
    /// Absolute path, not yet encoded.
    pub path: &'a str,
    /// Query parameters, not yet encoded.
    pub query: &'a [(String, String)],
    /// Headers to sign (names in any case); must include `host`.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, SIGV4).to_string()
}

/// The canonical request of SigV4 (exposed for tests and for the sandbox's checks).
pub fn canonical_request(request: &SigningRequest<'_>) -> (String, String) {
    let path = if request.path.is_empty() {
        "/".to_owned()
    } else {
        request.path.split('/').map(encode).collect::<Vec<_>>().join("/")
    };
    let mut query: Vec<(String, String)> = request.query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    query.sort();
    let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical =
        format!("{}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{}", request.method, sha256_hex(request.body));
    (canonical, signed)
}

/// The `Authorization` header value for `request` at `at` (`x-amz-date` in the headers must
/// carry the same instant as `YYYYMMDDTHHMMSSZ`).
pub fn authorization(
    request: &SigningRequest<'_>,
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    at: Timestamp,
) -> String {
    let amz_date = amz_date(at);
    let date = &amz_date[..8];
    let (canonical, signed) = canonical_request(request);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical.as_bytes()));
    let secret = format!("AWS4{}", credentials.secret_access_key.expose());
    let key = [date, region, service, "aws4_request"]
        .iter()
        .fold(secret.into_bytes(), |key, part| hmac(&key, part.as_bytes()));
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        credentials.access_key_id
    )
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}
