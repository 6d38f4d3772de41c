//! The store suite: every test runs unchanged against SQLite and PostgreSQL.

mod store {
    mod coalesce;
    pub mod common;
    mod counters;
    mod fairness;
    mod faults;
    mod flow_versions;
    mod pool;
    mod privacy;
    mod queue;
    mod rate_buckets;
    mod records;
    mod secrets;
    mod tenants;
    mod tls;
    mod wakeups;
}
