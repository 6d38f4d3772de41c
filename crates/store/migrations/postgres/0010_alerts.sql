-- Alert rules per tenant (the rule as JSON: its condition and webhook), and their episodes:
-- one row per stretch of time a rule's condition holds for one subject (a host, a flow).
-- At most one open episode per (tenant, rule, subject); `fired_at` is set by the one node
-- that sends the episode's alert (a conditional update), so it is sent once.
CREATE TABLE alert_rules (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    rule        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX alert_rules_tenant ON alert_rules (tenant_id, id);

CREATE TABLE alert_episodes (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    rule_id     BIGINT NOT NULL,
    subject     TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    fired_at    BIGINT,
    ended_at    BIGINT
);
CREATE UNIQUE INDEX alert_episodes_open ON alert_episodes (tenant_id, rule_id, subject) WHERE ended_at IS NULL;
