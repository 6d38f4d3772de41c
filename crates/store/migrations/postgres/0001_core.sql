-- Ferry core schema, PostgreSQL dialect. Times are microseconds since the Unix epoch (UTC),
-- the same representation as the PostgreSQL schema so both backends behave identically.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE connections (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    system          TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    credentials_ref TEXT,
    limits          TEXT NOT NULL DEFAULT '{}',
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE inbox (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    connection  TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (tenant_id, dedupe_key)
);

CREATE TABLE jobs (
    id            BIGSERIAL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    flow          TEXT NOT NULL,
    connection    TEXT,
    dedupe_key    TEXT,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('available', 'running', 'completed', 'dead')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    run_at        BIGINT NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT,
    last_error    TEXT,
    last_error_kind TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- Claims read only runnable rows in run_at order: no sort of the backlog.
CREATE INDEX jobs_runnable ON jobs (run_at, id) WHERE state = 'available';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_dedupe ON jobs (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

CREATE TABLE dead_letters (
    id            BIGSERIAL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    job_id        BIGINT NOT NULL,
    flow          TEXT NOT NULL,
    step          TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    error_kind    TEXT NOT NULL,
    error         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'replayed', 'discarded')),
    replay_job_id BIGINT,
    created_at    BIGINT NOT NULL,
    resolved_at   BIGINT,
    resolved_by   TEXT
);
CREATE INDEX dead_letters_open ON dead_letters (tenant_id, id) WHERE status = 'open';

CREATE TABLE xref (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    source_system  TEXT NOT NULL,
    source_entity  TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    target_system  TEXT NOT NULL,
    target_entity  TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, source_system, source_entity, source_id, target_system, target_entity)
);
CREATE INDEX xref_by_target ON xref (tenant_id, target_system, target_entity, target_id);

CREATE TABLE cursors (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    job_id      BIGINT NOT NULL,
    flow        TEXT NOT NULL,
    record      TEXT NOT NULL,
    step        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    message     TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX runs_by_job ON runs (job_id);
CREATE INDEX runs_by_record ON runs (tenant_id, record);

CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL
);

CREATE TABLE secrets (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    nonce       BYTEA NOT NULL,
    ciphertext  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE echo (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    system      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    direction   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    written_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, system, entity, record_id, direction)
);

-- Lookup tables and exchange rates that mappings read (`lookup('table')`, `convert_currency`).
CREATE TABLE lookup_entries (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    table_name  TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, table_name, key)
);

CREATE TABLE fx_rates (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    from_currency  TEXT NOT NULL,
    to_currency    TEXT NOT NULL,
    rate           TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, from_currency, to_currency)
);

-- Circuit breaker states as each node last saw them, for `ferry status` (node-level, not tenant data).
CREATE TABLE breakers (
    node_id     TEXT NOT NULL,
    host        TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (node_id, host)
);

-- The hot queue statements run as functions pinned to index plans. With autovacuum off or
-- stale statistics the planner would otherwise guess a handful of rows and choose a bitmap
-- scan plus a sort of the whole backlog on every claim; these plans stay O(batch).
CREATE FUNCTION ferry_claim(p_owner text, p_until bigint, p_now bigint, p_limit bigint)
RETURNS SETOF jobs LANGUAGE sql
SET enable_bitmapscan = off SET enable_sort = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = p_owner,
                    lease_until = p_until, updated_at = p_now
    WHERE id = ANY(ARRAY(
        SELECT id FROM jobs WHERE state = 'available' AND run_at <= p_now
        ORDER BY run_at, id LIMIT p_limit FOR UPDATE SKIP LOCKED))
    RETURNING *
$$;

CREATE FUNCTION ferry_complete(p_ids json, p_owner text, p_now bigint)
RETURNS SETOF bigint LANGUAGE sql
SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, updated_at = p_now
    WHERE id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text(p_ids)))
      AND state = 'running' AND lease_owner = p_owner
    RETURNING id
$$;

CREATE FUNCTION ferry_heartbeat(p_ids json, p_owner text, p_until bigint)
RETURNS SETOF bigint LANGUAGE sql
SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET lease_until = p_until
    WHERE id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text(p_ids)))
      AND state = 'running' AND lease_owner = p_owner
    RETURNING id
$$;
