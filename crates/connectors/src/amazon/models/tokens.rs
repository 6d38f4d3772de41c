//! Tokens 2021-03-01 (`createRestrictedDataToken`).

use serde::{Deserialize, Serialize};

use crate::amazon::rdt::RestrictedResource;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestrictedDataTokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_application: Option<String>,
    pub restricted_resources: Vec<RestrictedResource>,
}

/// The RDT is a credential: `Debug` must not show it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestrictedDataTokenResponse {
    pub restricted_data_token: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for CreateRestrictedDataTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRestrictedDataTokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
