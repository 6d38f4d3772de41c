//! What a flow looks like to the runtime: a named handler that turns one job into effects or
//! an error that says which step failed and how.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferry_store::{CursorUpdate, Echo, Job, RunRecord, Xref};

use crate::failure::Failure;
use crate::resilience::Resilience;

/// The effects a successful job commits atomically with its completion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub xrefs: Vec<Xref>,
    pub cursor: Option<CursorUpdate>,
    pub echoes: Vec<Echo>,
    pub trace: Vec<RunRecord>,
    /// The run read its record from the source after it was claimed, so the waiting jobs of
    /// the same record enqueued before the claim complete as covered with it (see
    /// [`ferry_store::NewJob::record`]). Leave it false when the run used a copy carried by the
    /// job or skipped the read: then each later job still runs.
    pub covers_earlier: bool,
}

impl Effects {
    /// Marks the run as having read its record afresh (see [`Effects::covers_earlier`]).
    pub fn covering(mut self) -> Self {
        self.covers_earlier = true;
        self
    }
}

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// A step failed; the failure's class decides retry, backoff or dead letter.
    Failed { step: String, failure: Failure },
    /// The job could not run now (open circuit, a long rate-limit wait): it is rescheduled
    /// after `wait` without losing an attempt, and without holding a worker meanwhile.
    Deferred { step: String, wait: Duration, reason: String },
}

impl JobError {
    pub fn failed(step: impl Into<String>, failure: Failure) -> Self {
        JobError::Failed { step: step.into(), failure }
    }

    /// The job's payload does not fit the flow: a permanent failure naming the job.
    pub fn bad_payload(job: &Job, err: impl std::fmt::Display) -> Self {
        JobError::failed("decode", Failure::permanent(format!("job {}: {err}", job.id)))
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Failed { step, failure } => write!(f, "step `{step}`: {failure}"),
            JobError::Deferred { step, wait, reason } => write!(f, "step `{step}` deferred {wait:?}: {reason}"),
        }
    }
}

/// What a handler gets besides the job: the shared rate limiters, concurrency caps and
/// circuit breakers every remote call must go through.
#[derive(Clone)]
pub struct JobContext {
    pub resilience: Arc<Resilience>,
}

/// A boxed future, so handlers of different flows fit one registry.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Effects, JobError>> + Send + 'a>>;

/// A flow's executable form.
pub trait Handler: Send + Sync + 'static {
    fn run<'a>(&'a self, ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a>;

    /// Whether a run of `job` that gives up has read its record afresh (so the waiting jobs of
    /// the same record enqueued before its claim would fail the same way, and complete as
    /// covered by its one dead letter). False by default: each of them then runs, and one that
    /// gives up too updates the record's dead letter rather than adding one.
    fn failure_covers_earlier(&self, _job: &Job) -> bool {
        false
    }
}

/// The handlers a tenant's flows run, by job flow name.
pub type TenantHandlers = HashMap<String, Arc<dyn Handler>>;

/// Flows by name: the built-in ones every tenant may run, and each tenant's own flow
/// instances, which a running node replaces when the tenant's flows or connections change
/// (and removes when the tenant is disabled), without a restart.
#[derive(Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn Handler>>,
    tenants: std::sync::RwLock<HashMap<ferry_store::TenantId, Arc<TenantHandlers>>>,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers a handler under a flow name, replacing any earlier one.
    pub fn register(&mut self, flow: impl Into<String>, handler: impl Handler) -> &mut Self {
        self.handlers.insert(flow.into(), Arc::new(handler));
        self
    }

    /// The handler of `tenant`'s job flow `flow`: the tenant's own, else a built-in one.
    pub fn get(&self, tenant: &ferry_store::TenantId, flow: &str) -> Option<Arc<dyn Handler>> {
        let own = self.tenants.read().unwrap_or_else(|e| e.into_inner()).get(tenant).cloned();
        own.and_then(|h| h.get(flow).cloned()).or_else(|| self.handlers.get(flow).cloned())
    }

    /// Replaces every flow handler of `tenant` with `handlers`.
    pub fn set_tenant(&self, tenant: ferry_store::TenantId, handlers: TenantHandlers) {
        self.tenants.write().unwrap_or_else(|e| e.into_inner()).insert(tenant, Arc::new(handlers));
    }

    /// Removes `tenant`'s flow handlers (the built-in ones stay).
    pub fn remove_tenant(&self, tenant: &ferry_store::TenantId) {
        self.tenants.write().unwrap_or_else(|e| e.into_inner()).remove(tenant);
    }

    /// The flow names `tenant` can run, sorted, for messages (never another tenant's).
    pub fn names(&self, tenant: &ferry_store::TenantId) -> Vec<String> {
        let own = self.tenants.read().unwrap_or_else(|e| e.into_inner()).get(tenant).cloned();
        let mut v: Vec<String> = self.handlers.keys().chain(own.iter().flat_map(|h| h.keys())).cloned().collect();
        v.sort_unstable();
        v
    }
}
