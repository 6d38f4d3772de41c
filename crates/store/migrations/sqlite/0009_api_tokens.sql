-- Bearer tokens of the admin API and console: one row per token, never the token itself.
-- A token is "fy_<id>_<secret>"; `hash` is the SHA-256 of the whole token, compared in
-- constant time after the row is found by `id`. Each token belongs to one tenant and one
-- role (viewer, operator, admin); revoked or expired tokens are kept for the audit trail.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    label TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);
