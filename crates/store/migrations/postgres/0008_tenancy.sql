-- Tenants kept in the store and managed from the CLI: a disabled tenant's jobs stay queued
-- and are not claimed until it is enabled again; each tenant may keep its data for its own
-- number of days (NULL: the node's store.retention_days). A connection carries its
-- system-specific options (JSON), as the node config's `options` table does.
ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled'));
ALTER TABLE tenants ADD COLUMN retention_days BIGINT CHECK (retention_days IS NULL OR retention_days > 0);
ALTER TABLE connections ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
