-- Flow versions per tenant: every text a flow has run with (imported from its file, or saved
-- from the console's mapping designer), numbered per flow; and the head of each flow: the
-- version that runs, whether an operator paused it, and the version shadowing it.
CREATE TABLE flow_versions (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    flow        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, flow, version)
);

CREATE TABLE flow_heads (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    flow        TEXT NOT NULL,
    active      INTEGER NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0,
    shadow      INTEGER,
    changed_by  TEXT NOT NULL,
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, flow)
);

-- What a shadow version would have written, per record (the latest run wins): the
-- field-by-field difference from what the active version wrote, sealed like payloads.
CREATE TABLE flow_shadow_results (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    flow        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    record      TEXT NOT NULL,
    differing   INTEGER NOT NULL,
    diff        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, flow, version, record)
);

-- Recent source records of each flow (PII redacted, sealed), for the designer's preview.
CREATE TABLE flow_samples (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    flow        TEXT NOT NULL,
    record      TEXT NOT NULL,
    sample      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, flow, record)
);

-- Amounts of the money fields a flow marks (F1: each line's unit price per SKU), one per
-- record and key (a re-run replaces it), for the anomaly flags on money.
CREATE TABLE money_observations (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    flow        TEXT NOT NULL,
    field       TEXT NOT NULL,
    per         TEXT NOT NULL,
    key         TEXT NOT NULL,
    currency    TEXT NOT NULL,
    record      TEXT NOT NULL,
    amount      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, flow, field, key, record)
);
CREATE INDEX money_observations_at ON money_observations (tenant_id, at);
