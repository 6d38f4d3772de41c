-- The console at scale (1,000,000 finished jobs): what its pages read is kept small.
--
-- flow_counts: each flow's finished jobs per hour, kept in the transaction that finishes
-- them (and that purges them), so the overview and the queue gauges read a few hundred rows
-- instead of every finished job. `kind` is 'completed' (ran and completed), 'covered'
-- (completed without a run, covered by a later run of its record), 'dead', or 'latNN': a
-- bucket of the latency from the job's creation (the event's acceptance) to its completion,
-- for the jobs counted as 'completed'. Bucket NN holds latencies under the NNth bound of
-- ferry_store::LATENCY_BOUNDS_MS (10 ms, 25 ms … 1 day; lat20: a day or more). The bounds
-- never change: other bounds would be other kinds.
CREATE TABLE flow_counts (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    flow        TEXT NOT NULL,
    hour        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, flow, hour, kind)
);

-- Counted from the jobs already finished (a purged job is no longer counted).
INSERT INTO flow_counts (tenant_id, flow, hour, kind, n)
SELECT tenant_id, flow, hour, kind, count(*) FROM (
    SELECT tenant_id, flow, (updated_at / 3600000000) * 3600000000 AS hour,
           CASE WHEN state = 'dead' THEN 'dead' WHEN last_error_kind = 'covered' THEN 'covered' ELSE 'completed' END AS kind
    FROM jobs WHERE state IN ('completed', 'dead')
    UNION ALL
    SELECT tenant_id, flow, (updated_at / 3600000000) * 3600000000 AS hour,
           CASE
                WHEN updated_at - created_at < 10000 THEN 'lat00'
                WHEN updated_at - created_at < 25000 THEN 'lat01'
                WHEN updated_at - created_at < 50000 THEN 'lat02'
                WHEN updated_at - created_at < 100000 THEN 'lat03'
                WHEN updated_at - created_at < 250000 THEN 'lat04'
                WHEN updated_at - created_at < 500000 THEN 'lat05'
                WHEN updated_at - created_at < 1000000 THEN 'lat06'
                WHEN updated_at - created_at < 2500000 THEN 'lat07'
                WHEN updated_at - created_at < 5000000 THEN 'lat08'
                WHEN updated_at - created_at < 10000000 THEN 'lat09'
                WHEN updated_at - created_at < 30000000 THEN 'lat10'
                WHEN updated_at - created_at < 60000000 THEN 'lat11'
                WHEN updated_at - created_at < 120000000 THEN 'lat12'
                WHEN updated_at - created_at < 300000000 THEN 'lat13'
                WHEN updated_at - created_at < 600000000 THEN 'lat14'
                WHEN updated_at - created_at < 1800000000 THEN 'lat15'
                WHEN updated_at - created_at < 3600000000 THEN 'lat16'
                WHEN updated_at - created_at < 10800000000 THEN 'lat17'
                WHEN updated_at - created_at < 21600000000 THEN 'lat18'
                WHEN updated_at - created_at < 86400000000 THEN 'lat19'
                ELSE 'lat20' END AS kind
    FROM jobs WHERE state = 'completed' AND (last_error_kind IS NULL OR last_error_kind <> 'covered')
) finished GROUP BY tenant_id, flow, hour, kind;

-- A record search by any id is an index lookup: trace rows by the last ':'-separated part of
-- their record key (the bare id of `amazon:order:<id>`), which also serves a search by the
-- whole key, so the index by whole key goes; cross-references by source id and by target id.
DROP INDEX IF EXISTS runs_by_record;
CREATE INDEX runs_by_record_id ON runs (tenant_id, split_part(record, ':', -1));
CREATE INDEX xref_by_source_id ON xref (tenant_id, source_id);
CREATE INDEX xref_by_target_id ON xref (tenant_id, target_id);

-- ferry_complete, returning what the counters need of each completed job.
CREATE OR REPLACE FUNCTION ferry_complete_counted(p_ids json, p_owner text, p_now bigint)
RETURNS TABLE (id bigint, tenant_id text, flow text, created_at bigint) LANGUAGE sql
SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, updated_at = p_now
    WHERE jobs.id = ANY(ARRAY(
        SELECT j.id FROM jobs j
        WHERE j.id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text(p_ids)))
          AND j.state = 'running' AND j.lease_owner = p_owner
        ORDER BY j.id FOR UPDATE))
      AND jobs.state = 'running' AND jobs.lease_owner = p_owner
    RETURNING jobs.id, jobs.tenant_id, jobs.flow, jobs.created_at
$$;
