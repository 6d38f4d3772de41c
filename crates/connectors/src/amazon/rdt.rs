//! Restricted Data Tokens: obtained automatically for the restricted operations a flow calls
//! when it needs buyer or address data, scoped to exactly the paths and data elements it
//! asks for, cached until shortly before they expire.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_runtime::failure::Failure;
use ferry_store::secrets::SecretValue;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::models::tokens::{CreateRestrictedDataTokenRequest, CreateRestrictedDataTokenResponse};
use crate::token::{IssuedToken, TokenCache};

pub const API: &str = "tokens_2021-03-01";

/// A kind of personal data an RDT unlocks (`dataElements`). Amazon wants them only for
/// getOrder, getOrders and getOrderItems; the address and buyer-info paths need none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DataElement {
    BuyerInfo,
    ShippingAddress,
    BuyerTaxInformation,
}

/// One restricted operation on one path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestrictedResource {
    pub method: String,
    /// A specific path (`/orders/v0/orders/123-1234567-1234567/address`) or a generic one
    /// (`/orders/v0/orders/{orderId}/address`).
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_elements: Vec<DataElement>,
}

impl RestrictedResource {
    pub fn get(path: impl Into<String>, data_elements: Vec<DataElement>) -> Self {
        RestrictedResource { method: "GET".into(), path: path.into(), data_elements }
    }
}

/// Request of createRestrictedDataToken.
pub fn create_rdt_request(request: &CreateRestrictedDataTokenRequest) -> Result<super::HttpRequest, Failure> {
    let body =
        serde_json::to_value(request).map_err(|e| Failure::permanent(format!("createRestrictedDataToken: {e}")))?;
    Ok(super::HttpRequest {
        method: "POST",
        path: "/tokens/2021-03-01/restrictedDataToken".into(),
        query: Vec::new(),
        body: Some(body),
    })
}

/// RDTs by the exact set of resources they were issued for.
#[derive(Debug, Default)]
pub struct RdtCache {
    caches: Mutex<HashMap<Vec<RestrictedResource>, Arc<TokenCache>>>,
}

impl RdtCache {
    pub(crate) async fn cache(&self, resources: &[RestrictedResource]) -> Arc<TokenCache> {
        let mut key = resources.to_vec();
        key.sort();
        let mut caches = self.caches.lock().await;
        Arc::clone(caches.entry(key).or_insert_with(|| Arc::new(TokenCache::new(Duration::from_secs(60)))))
    }
}

impl super::AmazonClient {
    /// An RDT for exactly `resources` (at most 50), cached for its lifetime.
    pub async fn restricted_data_token(&self, resources: &[RestrictedResource]) -> Result<SecretValue, Failure> {
        if resources.is_empty() || resources.len() > 50 {
            return Err(Failure::permanent("createRestrictedDataToken: 1 to 50 restricted resources"));
        }
        let cache = self.rdts().cache(resources).await;
        cache
            .get(|| async {
                let http = create_rdt_request(&CreateRestrictedDataTokenRequest {
                    target_application: None,
                    restricted_resources: resources.to_vec(),
                })?;
                let response = self.execute(API, "createRestrictedDataToken", &http).await?;
                let token: CreateRestrictedDataTokenResponse =
                    super::client::decode("createRestrictedDataToken", "CreateRestrictedDataTokenResponse", &response)?;
                Ok(IssuedToken {
                    value: SecretValue::new(token.restricted_data_token),
                    expires_in: Duration::from_secs(token.expires_in),
                })
            })
            .await
    }

    /// Sends a restricted operation with an RDT for `resources`; a 403 renews the RDT once.
    pub async fn execute_restricted(
        &self,
        api: &str,
        operation: &str,
        request: &super::HttpRequest,
        resources: &[RestrictedResource],
    ) -> Result<super::client::ApiResponse, Failure> {
        let token = self.restricted_data_token(resources).await?;
        match self.execute_token(api, operation, request, token.expose()).await {
            Err(Failure::Auth { .. }) => {
                self.rdts().cache(resources).await.invalidate().await;
                let token = self.restricted_data_token(resources).await?;
                self.execute_token(api, operation, request, token.expose()).await
            }
            other => other,
        }
    }
}
