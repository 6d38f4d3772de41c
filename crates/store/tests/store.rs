//! The store suite: every test runs unchanged against SQLite and PostgreSQL.

mod store {
    mod coalesce;
    pub mod common;
    mod faults;
    mod pool;
    mod queue;
    mod records;
    mod secrets;
}
