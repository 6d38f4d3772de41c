//! A small migration runner: each backend ships its own numbered SQL files, embedded in the
//! binary so a node never needs the source tree to start.

/// One migration step.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "core", sql: include_str!("../migrations/sqlite/0001_core.sql") },
    Migration {
        version: 3,
        name: "record_coalescing",
        sql: include_str!("../migrations/sqlite/0003_record_coalescing.sql"),
    },
    Migration { version: 5, name: "rate_buckets", sql: include_str!("../migrations/sqlite/0005_rate_buckets.sql") },
    Migration { version: 6, name: "fair_claims", sql: include_str!("../migrations/sqlite/0006_fair_claims.sql") },
    Migration { version: 7, name: "retention", sql: include_str!("../migrations/sqlite/0007_retention.sql") },
    Migration { version: 8, name: "tenancy", sql: include_str!("../migrations/sqlite/0008_tenancy.sql") },
    Migration { version: 9, name: "api_tokens", sql: include_str!("../migrations/sqlite/0009_api_tokens.sql") },
    Migration { version: 10, name: "alerts", sql: include_str!("../migrations/sqlite/0010_alerts.sql") },
    Migration { version: 11, name: "flow_versions", sql: include_str!("../migrations/sqlite/0011_flow_versions.sql") },
    Migration {
        version: 13,
        name: "console_counters",
        sql: include_str!("../migrations/sqlite/0013_console_counters.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "core", sql: include_str!("../migrations/postgres/0001_core.sql") },
    Migration { version: 2, name: "lock_order", sql: include_str!("../migrations/postgres/0002_lock_order.sql") },
    Migration {
        version: 3,
        name: "record_coalescing",
        sql: include_str!("../migrations/postgres/0003_record_coalescing.sql"),
    },
    Migration { version: 4, name: "job_wakeups", sql: include_str!("../migrations/postgres/0004_job_wakeups.sql") },
    Migration { version: 5, name: "rate_buckets", sql: include_str!("../migrations/postgres/0005_rate_buckets.sql") },
    Migration { version: 6, name: "fair_claims", sql: include_str!("../migrations/postgres/0006_fair_claims.sql") },
    Migration { version: 7, name: "retention", sql: include_str!("../migrations/postgres/0007_retention.sql") },
    Migration { version: 8, name: "tenancy", sql: include_str!("../migrations/postgres/0008_tenancy.sql") },
    Migration { version: 9, name: "api_tokens", sql: include_str!("../migrations/postgres/0009_api_tokens.sql") },
    Migration { version: 10, name: "alerts", sql: include_str!("../migrations/postgres/0010_alerts.sql") },
    Migration {
        version: 11,
        name: "flow_versions",
        sql: include_str!("../migrations/postgres/0011_flow_versions.sql"),
    },
    Migration {
        version: 13,
        name: "console_counters",
        sql: include_str!("../migrations/postgres/0013_console_counters.sql"),
    },
];

/// The bookkeeping table, the same in both dialects.
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS ferry_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
