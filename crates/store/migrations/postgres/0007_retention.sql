-- Retention: the periodic purge finds a tenant's old finished jobs, inbox events and run
-- traces by time without reading the whole table.
CREATE INDEX jobs_finished ON jobs (tenant_id, updated_at) WHERE state IN ('completed', 'dead');
CREATE INDEX inbox_by_time ON inbox (tenant_id, received_at);
CREATE INDEX runs_by_time ON runs (tenant_id, at);
CREATE INDEX dead_letters_by_job ON dead_letters (job_id);
