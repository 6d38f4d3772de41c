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
    /// F1 runs and its file lets notifications start it.
    pub orders_to_crm: bool,
    /// F2 (and its status companion) runs.
    pub crm_to_fba: bool,
    /// The Dataverse messages that start F2 (`salesorder.Update`…), from its `trigger.events`.
    pub crm_events: Vec<String>,
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
        let kind = format!("{}.{}", event.entity, event.message);
        if !self.crm_to_fba
            || event.entity != "salesorder"
            || !self.crm_events.iter().any(|t| t.eq_ignore_ascii_case(&kind))
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str) -> DataverseEvent {
        DataverseEvent {
            message: message.into(),
            entity: "salesorder".into(),
            id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".parse().unwrap(),
            operation_id: format!("op-{message}"),
            correlation_id: None,
            occurred_at: None,
            depth: 1,
            stage: 40,
            attributes: Default::default(),
        }
    }

    #[test]
    fn a_crm_event_starts_the_flow_only_when_its_file_lists_the_type() {
        let routes = Routes {
            tenant: "default".parse().unwrap(),
            amazon: ConnectionId::try_from("amazon".to_string()).unwrap(),
            crm: ConnectionId::try_from("crm".to_string()).unwrap(),
            orders_to_crm: true,
            crm_to_fba: true,
            crm_events: vec!["salesorder.Update".into()],
        };
        assert_eq!(routes.dataverse(&event("Update")).len(), 1);
        assert!(routes.dataverse(&event("Create")).is_empty(), "Create is not in the flow's trigger.events.types");
        let all = Routes { crm_events: vec!["salesorder.Create".into(), "salesorder.Update".into()], ..routes.clone() };
        assert_eq!(all.dataverse(&event("Create")).len(), 1);
        let off = Routes { crm_to_fba: false, ..all };
        assert!(off.dataverse(&event("Update")).is_empty(), "no F2, no job");
    }
}
