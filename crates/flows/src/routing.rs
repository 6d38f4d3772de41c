//! Which jobs an incoming event starts: every enabled flow instance that subscribes to it.
//! Used by every way an event arrives (EventBridge ingress, SQS, Dataverse webhook), so they
//! all start the same work; each job's dedupe key makes a redelivered event start nothing
//! new, and its record (`amazon:order:<id>`, the same as the polls use) makes the jobs of one
//! record run one at a time and coalesce.

use std::sync::Arc;

use ferry_connectors::amazon::notifications::Notification;
use ferry_connectors::dataverse::webhooks::DataverseEvent;
use ferry_model::ConnectionId;
use ferry_store::NewJob;

use crate::plugin::FlowInstance;

/// An event as it arrived, on the connection it arrived on.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// An Amazon notification (EventBridge or SQS).
    Amazon { connection: &'a ConnectionId, notification: &'a Notification },
    /// A Dataverse webhook call.
    Dataverse { connection: &'a ConnectionId, event: &'a DataverseEvent },
}

impl Event<'_> {
    /// The connection the event arrived on.
    pub fn connection(&self) -> &ConnectionId {
        match self {
            Event::Amazon { connection, .. } | Event::Dataverse { connection, .. } => connection,
        }
    }
}

/// A tenant's running flow instances, as events see them.
#[derive(Clone, Default)]
pub struct Router {
    instances: Vec<Arc<dyn FlowInstance>>,
}

impl Router {
    pub fn new(instances: Vec<Arc<dyn FlowInstance>>) -> Self {
        Router { instances }
    }

    /// The one routing function: the jobs `event` starts in every instance.
    pub fn route(&self, event: &Event<'_>) -> Vec<NewJob> {
        self.instances.iter().flat_map(|i| i.route(event)).collect()
    }

    /// Jobs for one Amazon notification on `connection`.
    pub fn amazon(&self, connection: &ConnectionId, notification: &Notification) -> Vec<NewJob> {
        self.route(&Event::Amazon { connection, notification })
    }

    /// Jobs for one Dataverse webhook call on `connection`.
    pub fn dataverse(&self, connection: &ConnectionId, event: &DataverseEvent) -> Vec<NewJob> {
        self.route(&Event::Dataverse { connection, event })
    }
}
