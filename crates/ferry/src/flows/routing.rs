//! Which jobs an incoming event starts. Used by every way an event arrives (EventBridge
//! ingress, SQS, Dataverse webhook), so they all start the same work; each job's dedupe key
//! makes a redelivered event start nothing new, and its record (`amazon:order:<id>`, the same
//! as the polls use) makes the jobs of one record run one at a time and coalesce.

use ferry_connectors::amazon::notifications::{AmazonEvent, Notification};
use ferry_connectors::dataverse::webhooks::DataverseEvent;
use ferry_model::{ConnectionId, TenantId};
use ferry_store::NewJob;
use serde_json::json;

use super::{amazon_orders, crm_to_fba, fba_status};

/// What a node routes: which flows run, for which tenant and connections.
#[derive(Debug, Clone)]
pub struct Routes {
    pub tenant: TenantId,
    pub amazon: ConnectionId,
    pub crm: ConnectionId,
    pub orders_to_crm: bool,
    pub crm_to_fba: bool,
}

impl Routes {
    /// Jobs for one Amazon notification.
    pub fn amazon(&self, notification: &Notification) -> Vec<NewJob> {
        match &notification.event {
            AmazonEvent::OrderChange { order_id, changed_at, .. } if self.orders_to_crm => {
                let payload = json!({
                    "order_id": order_id.as_str(),
                    "source": "notification",
                    "changed_at": changed_at.map(|t| t.to_string()),
                });
                vec![
                    NewJob::new(self.tenant.clone(), amazon_orders::FLOW, payload)
                        .connection(self.amazon.clone())
                        .dedupe_key(format!("amazon-order:{}:n:{}", order_id.as_str(), notification.notification_id))
                        .record(format!("amazon:order:{}", order_id.as_str())),
                ]
            }
            AmazonEvent::FulfillmentOrderStatus { seller_fulfillment_order_id, .. } if self.crm_to_fba => {
                vec![self.fulfilment_status(seller_fulfillment_order_id.as_str(), &notification.notification_id)]
            }
            _ => Vec::new(),
        }
    }

    /// A job that brings a fulfilment order's status back; `version` tells changes apart.
    pub fn fulfilment_status(&self, seller_fulfillment_order_id: &str, version: &str) -> NewJob {
        let payload = json!({ "seller_fulfillment_order_id": seller_fulfillment_order_id });
        NewJob::new(self.tenant.clone(), fba_status::FLOW, payload)
            .connection(self.amazon.clone())
            .dedupe_key(format!("fba-status:{seller_fulfillment_order_id}:{version}"))
            .record(format!("amazon:fulfillmentorder:{seller_fulfillment_order_id}"))
    }

    /// Jobs for one Dataverse webhook call.
    pub fn dataverse(&self, event: &DataverseEvent) -> Vec<NewJob> {
        if !self.crm_to_fba || event.entity != "salesorder" {
            return Vec::new();
        }
        let change = if event.message.eq_ignore_ascii_case("delete") { "deleted" } else { "upserted" };
        let payload = json!({ "entity_set": "salesorders", "change": change, "id": event.id.to_string() });
        vec![
            NewJob::new(self.tenant.clone(), crm_to_fba::FLOW, payload)
                .connection(self.crm.clone())
                .dedupe_key(format!("dataverse:salesorders:{}:{}", event.id, event.operation_id))
                .record(format!("dataverse:salesorders:{}", event.id)),
        ]
    }
}
