//! Small pieces every flow handler uses: a permanent failure, a trace line, a mapping's
//! result as a flow acts on it, and the delivery metric.

/// A failure no retry can mend: it goes to the dead-letter table with `code` and `message`.
pub fn permanent(step: &str, code: &str, message: impl Into<String>) -> ferry_runtime::JobError {
    ferry_runtime::JobError::failed(step, ferry_runtime::failure::Failure::permanent_with_code(code, message))
}

/// A finished job's effects with one line of trace saying what it did.
pub fn note(record: &str, step: &str, message: String) -> ferry_runtime::Effects {
    ferry_runtime::Effects {
        trace: vec![ferry_store::RunRecord {
            record: record.to_owned(),
            step: step.into(),
            outcome: "ok".into(),
            message,
            at: ferry_model::Timestamp::now(),
        }],
        ..ferry_runtime::Effects::default()
    }
}

/// A mapping's result as a flow acts on it: `Some` to write, `None` when `only_if` skipped the
/// record, a permanent failure (dead letter) for field errors and stopping lookups.
pub fn mapped(
    result: Result<ferry_mapping::MappedRecord, Vec<ferry_mapping::FieldError>>,
) -> Result<Option<ferry_mapping::MappedRecord>, ferry_runtime::JobError> {
    let record = result.map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        permanent("map", "mapping", text.join("; "))
    })?;
    match &record.outcome {
        ferry_mapping::Outcome::Mapped => Ok(Some(record)),
        ferry_mapping::Outcome::Skipped => Ok(None),
        ferry_mapping::Outcome::DeadLetter(reason) => Err(permanent("map", "lookup", reason.clone())),
        ferry_mapping::Outcome::HoldForReview(reason) => Err(permanent("map", "hold_for_review", reason.clone())),
    }
}

/// Reports to `/metrics` that `job` has just written its record to the target: the time from
/// the event's arrival (when its job was stored) to now.
pub fn delivered(ctx: &ferry_runtime::JobContext, job: &ferry_store::Job) {
    let seconds = ferry_model::Timestamp::now().duration_since(job.created_at).as_secs_f64();
    ctx.resilience.delivered(&format!("{}/{}", job.tenant, job.flow), seconds);
}
