-- Rate buckets shared by every node on the store (GCRA): `tat` is the bucket's theoretical
-- arrival time, in microseconds since the epoch; a request is admitted while
-- max(tat, now) + interval - now <= burst * interval, and moves tat on by one interval.
-- `paused_until` holds a remote's Retry-After for every node. Keys name the vendor's bucket
-- (e.g. seller × application × operation); they hold no tenant data.
CREATE TABLE rate_buckets (
    key          TEXT PRIMARY KEY,
    tat          BIGINT NOT NULL,
    paused_until BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);
