//! Wire types of the Web API: rows as JSON objects with their ETag, pages, and the typed
//! state pairs and results the client returns.

use ferry_model::DataverseId;
use serde_json::{Map, Value};

/// A row as returned by the Web API (`@odata.etag` split off).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub etag: Option<String>,
    pub fields: Map<String, Value>,
}

impl Record {
    /// From a JSON object of a response.
    pub fn from_json(mut fields: Map<String, Value>) -> Self {
        let etag = fields.remove("@odata.etag").and_then(|v| v.as_str().map(str::to_owned));
        Record { etag, fields }
    }

    pub fn get(&self, column: &str) -> Option<&Value> {
        self.fields.get(column).filter(|v| !v.is_null())
    }

    pub fn str(&self, column: &str) -> Option<&str> {
        self.get(column).and_then(Value::as_str)
    }

    /// A GUID column (primary id or `_x_value` lookup).
    pub fn id(&self, column: &str) -> Option<DataverseId> {
        self.str(column).and_then(|s| s.parse().ok())
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub records: Vec<Record>,
    /// `@odata.nextLink`: GET it unchanged for the next page.
    pub next_link: Option<String>,
    /// `@odata.count` when asked for.
    pub count: Option<u64>,
}

/// The id of a row from an `OData-EntityId` / `Location` URL (`…/accounts(<guid>)`).
pub fn id_from_entity_url(url: &str) -> Option<DataverseId> {
    let open = url.rfind('(')?;
    let close = url[open..].find(')')? + open;
    url[open + 1..close].parse().ok()
}

/// A sales order's status within its state (DYNAMICS.md §A.5). Fulfilled and Canceled are
/// reached only through [`super::client::DataverseClient::fulfill_sales_order`] and
/// [`super::client::DataverseClient::cancel_sales_order`], so they are not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesOrderState {
    /// statecode 0: New (1), Pending (2), On hold (690970000).
    Active(ActiveOrderStatus),
    /// statecode 1, status In Progress (3).
    Submitted,
    /// statecode 4, status Invoiced (100003).
    Invoiced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveOrderStatus {
    New,
    Pending,
    OnHold,
}

impl SalesOrderState {
    /// (statecode, statuscode)
    pub fn codes(self) -> (i64, i64) {
        match self {
            SalesOrderState::Active(ActiveOrderStatus::New) => (0, 1),
            SalesOrderState::Active(ActiveOrderStatus::Pending) => (0, 2),
            SalesOrderState::Active(ActiveOrderStatus::OnHold) => (0, 690970000),
            SalesOrderState::Submitted => (1, 3),
            SalesOrderState::Invoiced => (4, 100003),
        }
    }
}

/// How a fulfilled order ends (statecode 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfilledStatus {
    Complete,
    Partial,
}

impl FulfilledStatus {
    pub fn code(self) -> i64 {
        match self {
            FulfilledStatus::Complete => 100001,
            FulfilledStatus::Partial => 100002,
        }
    }
}

/// How a case is resolved (statecode 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentResolution {
    ProblemSolved,
    InformationProvided,
}

impl IncidentResolution {
    pub fn code(self) -> i64 {
        match self {
            IncidentResolution::ProblemSolved => 5,
            IncidentResolution::InformationProvided => 1000,
        }
    }
}
