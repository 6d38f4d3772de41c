//! Connection settings of one Dataverse environment.

use std::time::Duration;

use ferry_runtime::bucket::DATAVERSE_CONCURRENCY;
use ferry_store::secrets::SecretValue;

/// Where the environment is and who we are. The secret comes from the secrets store.
#[derive(Debug, Clone)]
pub struct DataverseConfig {
    /// Environment URL, e.g. `https://contoso.crm.dynamics.com` (the token scope is this plus
    /// `/.default`).
    pub org_url: String,
    /// Entra authority host, `https://login.microsoftonline.com` (a sandbox URL in tests).
    pub authority: String,
    /// Entra tenant id or domain.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    pub client_secret: SecretValue,
    /// Web API version path segment.
    pub api_version: String,
    /// Requests in flight at once for this identity (service protection: 52).
    pub max_concurrency: usize,
    /// Timeout of one HTTP call.
    pub timeout: Duration,
    /// Refresh the token this long before it expires.
    pub refresh_ahead: Duration,
    /// The CAs Entra and Web API certificates are verified against (public roots by default).
    pub tls: crate::http::Tls,
}

impl DataverseConfig {
    /// Settings with the documented defaults (v9.2, 52 concurrent requests).
    pub fn new(
        org_url: impl Into<String>,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretValue,
    ) -> Self {
        DataverseConfig {
            org_url: org_url.into().trim_end_matches('/').to_owned(),
            authority: "https://login.microsoftonline.com".into(),
            tenant: tenant.into(),
            client_id: client_id.into(),
            client_secret,
            api_version: "v9.2".into(),
            max_concurrency: DATAVERSE_CONCURRENCY,
            timeout: Duration::from_secs(120),
            refresh_ahead: Duration::from_secs(300),
            tls: crate::http::Tls::default(),
        }
    }

    /// The same settings with another authority host (a sandbox).
    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into().trim_end_matches('/').to_owned();
        self
    }

    /// The same settings trusting `tls`'s CAs besides the public roots.
    pub fn with_tls(mut self, tls: crate::http::Tls) -> Self {
        self.tls = tls;
        self
    }

    /// `https://org/api/data/v9.2`
    pub fn api_base(&self) -> String {
        format!("{}/api/data/{}", self.org_url, self.api_version)
    }

    /// `/api/data/v9.2` (request lines inside `$batch`).
    pub fn api_path(&self) -> String {
        format!("/api/data/{}", self.api_version)
    }

    /// `https://org/.default`
    pub fn scope(&self) -> String {
        format!("{}/.default", self.org_url)
    }

    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant)
    }
}
