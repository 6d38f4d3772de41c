//! Finances v0: financial events by posted date, by order and by event group, following
//! `NextToken` to the end.

use ferry_model::Timestamp;
use ferry_runtime::failure::Failure;

use super::{AmazonClient, HttpRequest, decode, encode_component};
use crate::amazon::models::finances::{FinancialEvents, ListFinancialEventsResponse};

pub const API: &str = "financesV0";

/// Which events to list.
#[derive(Debug, Clone, PartialEq)]
pub enum EventsQuery {
    Posted { after: Option<Timestamp>, before: Option<Timestamp> },
    Order(String),
    Group { group_id: String, after: Option<Timestamp>, before: Option<Timestamp> },
}

impl EventsQuery {
    /// The operation and request of one page.
    pub fn to_http(&self, max_results: Option<u32>, next_token: Option<&str>) -> (&'static str, HttpRequest) {
        let (operation, request) = match self {
            EventsQuery::Posted { after, before } => (
                "listFinancialEvents",
                HttpRequest::get("/finances/v0/financialEvents".into())
                    .param("PostedAfter", *after)
                    .param("PostedBefore", *before),
            ),
            EventsQuery::Order(id) => (
                "listFinancialEventsByOrderId",
                HttpRequest::get(format!("/finances/v0/orders/{}/financialEvents", encode_component(id))),
            ),
            EventsQuery::Group { group_id, after, before } => (
                "listFinancialEventsByGroupId",
                HttpRequest::get(format!(
                    "/finances/v0/financialEventGroups/{}/financialEvents",
                    encode_component(group_id)
                ))
                .param("PostedAfter", *after)
                .param("PostedBefore", *before),
            ),
        };
        (operation, request.param("MaxResultsPerPage", max_results).param("NextToken", next_token))
    }
}

fn merge(into: &mut FinancialEvents, page: FinancialEvents) {
    fn extend<T>(into: &mut Option<Vec<T>>, more: Option<Vec<T>>) {
        if let Some(more) = more {
            into.get_or_insert_with(Vec::new).extend(more);
        }
    }
    extend(&mut into.shipment_event_list, page.shipment_event_list);
    extend(&mut into.refund_event_list, page.refund_event_list);
    extend(&mut into.service_fee_event_list, page.service_fee_event_list);
    for (key, value) in page.extra {
        match (into.extra.get_mut(&key), value) {
            (Some(serde_json::Value::Array(have)), serde_json::Value::Array(more)) => have.extend(more),
            (_, value) => {
                into.extra.insert(key, value);
            }
        }
    }
}

impl AmazonClient {
    /// Every event matching `query` (pages of 100 merged).
    pub async fn list_financial_events(&self, query: &EventsQuery) -> Result<FinancialEvents, Failure> {
        let mut events = FinancialEvents::default();
        let mut next: Option<String> = None;
        loop {
            let (operation, http) = query.to_http(Some(100), next.as_deref());
            let response = self.execute(API, operation, &http).await?;
            let page: ListFinancialEventsResponse = decode(operation, "ListFinancialEventsResponse", &response)?;
            let payload = page.payload.unwrap_or(crate::amazon::models::finances::ListFinancialEventsPayload {
                next_token: None,
                financial_events: None,
            });
            if let Some(found) = payload.financial_events {
                merge(&mut events, found);
            }
            match payload.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(events),
            }
        }
    }
}
