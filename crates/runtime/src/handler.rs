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

/// Flows by name.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn Handler>>,
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

    pub fn get(&self, flow: &str) -> Option<&Arc<dyn Handler>> {
        self.handlers.get(flow)
    }

    /// Registered flow names, sorted, for messages.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}
