//! Runtime tests: resilience primitives and the worker pool over a real store.

mod runtime {
    mod coalesce;
    mod limits_view;
    mod pool;
    mod primitives;
    mod shared_limits;
}
