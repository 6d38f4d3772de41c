//! The runtime self-check: jobs that succeed, fail for a while, get throttled or fail for good,
//! so a newcomer sees every path (retry, throttling without losing attempts, dead letter).

use std::time::Duration;

use ferry_runtime::failure::Failure;
use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext, JobError};
use ferry_store::{Job, RunRecord};
use serde::{Deserialize, Serialize};

/// What a self-check job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    Succeed,
    /// Fails with a transient error on its first attempt.
    FlakyOnce,
    /// Is throttled (429 with Retry-After) on its first try.
    ThrottledOnce,
    /// Is rejected for good: lands in the dead-letter table.
    Reject,
}

#[derive(Debug, Deserialize)]
struct Payload {
    behaviour: Behaviour,
    record: String,
}

pub struct SelfCheck;

impl Handler for SelfCheck {
    fn run<'a>(&'a self, _ctx: &'a JobContext, job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async move {
            let p: Payload = job.payload_as().map_err(|e| JobError::bad_payload(job, e))?;
            let first_try = job.last_error_kind.is_none();
            match p.behaviour {
                Behaviour::FlakyOnce if job.attempts == 1 => {
                    Err(JobError::failed("write", Failure::transient("simulated 503 from the target")))
                }
                Behaviour::ThrottledOnce if first_try => Err(JobError::failed(
                    "write",
                    Failure::throttled(Some(Duration::from_millis(200)), "simulated 429 QuotaExceeded"),
                )),
                Behaviour::Reject => Err(JobError::failed(
                    "write",
                    Failure::permanent_with_code("400", format!("simulated validation error for {}", p.record)),
                )),
                _ => Ok(Effects {
                    trace: vec![RunRecord {
                        record: p.record,
                        step: "write".into(),
                        outcome: "ok".into(),
                        message: "self-check record written".into(),
                        at: jiff::Timestamp::now(),
                    }],
                    ..Effects::default()
                }),
            }
        })
    }
}
