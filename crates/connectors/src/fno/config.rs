//! Connection settings of one F&O environment.

use std::time::Duration;

use ferry_store::secrets::SecretValue;

use super::models::DataAreaId;

/// Which Entra endpoint and parameter the token request uses (DYNAMICS.md §B.1): F&O
/// accepts tokens from both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenForm {
    /// `/{tenant}/oauth2/v2.0/token` with `scope=<environment>/.default`.
    #[default]
    V2Scope,
    /// `/{tenant}/oauth2/token` with `resource=<environment>` (the ADAL-era form many F&O
    /// scripts use).
    V1Resource,
}

/// Where the environment is, who we are and which company we work in. The secret comes
/// from the secrets store.
#[derive(Debug, Clone)]
pub struct FnoConfig {
    /// Environment URL, e.g. `https://contoso.operations.dynamics.com` (no trailing slash:
    /// it is the token resource).
    pub environment_url: String,
    /// Entra authority host, `https://login.microsoftonline.com` (a sandbox URL in tests).
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: SecretValue,
    /// The legal entity (`dataAreaId`) this connection reads and writes; requests add
    /// `cross-company=true` when it is not the service user's default company.
    pub company: DataAreaId,
    /// Whether `company` is the service user's default company (then reads need no
    /// `cross-company=true`).
    pub company_is_default: bool,
    pub token_form: TokenForm,
    pub max_concurrency: usize,
    pub timeout: Duration,
    pub refresh_ahead: Duration,
    pub tls: crate::http::Tls,
}

impl FnoConfig {
    pub fn new(
        environment_url: impl Into<String>,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretValue,
        company: DataAreaId,
    ) -> Self {
        FnoConfig {
            environment_url: environment_url.into().trim_end_matches('/').to_owned(),
            authority: "https://login.microsoftonline.com".into(),
            tenant: tenant.into(),
            client_id: client_id.into(),
            client_secret,
            company,
            company_is_default: false,
            token_form: TokenForm::V2Scope,
            max_concurrency: super::limits::CONCURRENT_REQUESTS,
            timeout: Duration::from_secs(120),
            refresh_ahead: Duration::from_secs(300),
            tls: crate::http::Tls::default(),
        }
    }

    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into().trim_end_matches('/').to_owned();
        self
    }

    pub fn with_tls(mut self, tls: crate::http::Tls) -> Self {
        self.tls = tls;
        self
    }

    pub fn with_token_form(mut self, form: TokenForm) -> Self {
        self.token_form = form;
        self
    }

    /// Marks `company` as the service user's default company.
    pub fn default_company(mut self) -> Self {
        self.company_is_default = true;
        self
    }

    /// `https://env/data`
    pub fn data_url(&self) -> String {
        format!("{}/data", self.environment_url)
    }

    /// The token endpoint of the configured form.
    pub fn token_url(&self) -> String {
        match self.token_form {
            TokenForm::V2Scope => format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant),
            TokenForm::V1Resource => format!("{}/{}/oauth2/token", self.authority, self.tenant),
        }
    }
}
