//! The runtime's one decision: given how a job ended, what becomes of it.

use ferry_store::{Completion, Job, Outcome, RunRecord};
use jiff::{SignedDuration, Timestamp};

use crate::backoff::RetryPolicy;
use crate::failure::Failure;
use crate::handler::{Effects, JobError};

/// Turns a handler's result into the outcome to commit.
pub fn decide(job: &Job, result: Result<Effects, JobError>, policy: &RetryPolicy, now: Timestamp) -> Completion {
    let record = format!("job:{}", job.id);
    let trace_line = |step: &str, outcome: &str, message: String| RunRecord {
        record: record.clone(),
        step: step.to_string(),
        outcome: outcome.to_string(),
        message,
        at: now,
    };
    let after = |d: std::time::Duration| {
        now.saturating_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
    };
    match result {
        Ok(effects) => Completion {
            job: job.id,
            outcome: Outcome::Completed {
                xrefs: effects.xrefs,
                cursor: effects.cursor,
                echoes: effects.echoes,
                covers_earlier: effects.covers_earlier,
            },
            trace: effects.trace,
        },
        Err(JobError::Deferred { step, wait, reason }) => Completion {
            job: job.id,
            outcome: Outcome::Retry {
                run_at: after(wait),
                refund_attempt: true,
                error_kind: "deferred".into(),
                error: reason.clone(),
            },
            trace: vec![trace_line(&step, "deferred", format!("{reason}; next try in {}", human(wait)))],
        },
        Err(JobError::Failed { step, failure }) => {
            let kind = failure.kind().as_str().to_string();
            let message = failure.message().to_string();
            match failure {
                // Throttling never costs an attempt: wait as long as the remote said, or back off.
                Failure::Throttled { retry_after, .. } => {
                    let wait = retry_after.unwrap_or_else(|| policy.delay(job.attempts.max(1)));
                    Completion {
                        job: job.id,
                        outcome: Outcome::Retry {
                            run_at: after(wait),
                            refund_attempt: true,
                            error_kind: kind,
                            error: message.clone(),
                        },
                        trace: vec![trace_line(&step, "throttled", format!("{message}; next try in {}", human(wait)))],
                    }
                }
                Failure::Permanent { .. } => dead(job, &step, kind, message, &trace_line),
                Failure::Transient { .. } | Failure::Auth { .. } => {
                    if policy.is_exhausted(job.attempts) || job.attempts >= job.max_attempts {
                        let message = format!("gave up after {} attempts: {message}", job.attempts);
                        dead(job, &step, kind, message, &trace_line)
                    } else {
                        let wait = policy.delay(job.attempts.max(1));
                        Completion {
                            job: job.id,
                            outcome: Outcome::Retry {
                                run_at: after(wait),
                                refund_attempt: false,
                                error_kind: kind,
                                error: message.clone(),
                            },
                            trace: vec![trace_line(
                                &step,
                                "retry",
                                format!(
                                    "attempt {} of {} failed: {message}; next try in {}",
                                    job.attempts,
                                    job.max_attempts,
                                    human(wait)
                                ),
                            )],
                        }
                    }
                }
            }
        }
    }
}

fn dead(
    job: &Job,
    step: &str,
    kind: String,
    message: String,
    trace_line: &dyn Fn(&str, &str, String) -> RunRecord,
) -> Completion {
    Completion {
        job: job.id,
        trace: vec![trace_line(step, "dead", message.clone())],
        outcome: Outcome::Dead { step: step.to_string(), error_kind: kind, error: message, covers_earlier: false },
    }
}

/// A duration as a person reads it: "350 ms", "12 s", "4 min".
pub fn human(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{} s", ms / 1_000)
    } else {
        format!("{} min", ms / 60_000)
    }
}
