//! Entra ID client-credentials tokens for F&O (DYNAMICS.md §B.1): the Dataverse connector's
//! [`EntraAuth`] (shared token cache, refresh ahead of expiry), asked for the environment URL
//! as a v2 scope (`<env>/.default`) or a v1 resource (`<env>`, no trailing slash).

use crate::dataverse::auth::{Audience, EntraAuth};

use super::config::{FnoConfig, TokenForm};

/// The token source of one F&O connection.
pub fn entra(http: reqwest::Client, config: &FnoConfig) -> EntraAuth {
    let audience = match config.token_form {
        TokenForm::V2Scope => Audience::Scope(format!("{}/.default", config.environment_url)),
        TokenForm::V1Resource => Audience::Resource(config.environment_url.clone()),
    };
    EntraAuth::for_client(
        http,
        config.token_url(),
        config.client_id.clone(),
        config.client_secret.clone(),
        audience,
        config.refresh_ahead,
    )
}
