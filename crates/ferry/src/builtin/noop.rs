use ferry_runtime::{Effects, Handler, HandlerFuture, JobContext};
use ferry_store::Job;

/// Does nothing: measures the queue itself.
pub struct Noop;

impl Handler for Noop {
    fn run<'a>(&'a self, _ctx: &'a JobContext, _job: &'a Job) -> HandlerFuture<'a> {
        Box::pin(async { Ok(Effects::default()) })
    }
}
