-- Jobs about the same record of a flow run one at a time, and a run that read the record
-- afresh covers the jobs of that record enqueued before it was claimed: 4,000 events for one
-- order cost a bounded number of runs, and a dead-lettered record is one dead letter.
-- (Numbered 3: version 2 is left to the store-fault work landing beside this one.)
ALTER TABLE jobs ADD COLUMN record TEXT;
-- The highest id among the record's waiting and running jobs when this one was claimed.
ALTER TABLE jobs ADD COLUMN cover_id BIGINT;
CREATE INDEX jobs_record ON jobs (tenant_id, flow, record, state, run_at, id) WHERE record IS NOT NULL;

ALTER TABLE dead_letters ADD COLUMN record TEXT;
CREATE INDEX dead_letters_open_record ON dead_letters (tenant_id, flow, record)
    WHERE status = 'open' AND record IS NOT NULL;

-- The claim of ferry_claim, except that a job whose record has a running job is not taken,
-- and of a record's due jobs only the first is: across nodes, one job per record at a time.
-- A claim that races another sees the other's row as still available (and earlier), so it
-- leaves the record alone; a twin committed after the claim's snapshot is not covered.
CREATE FUNCTION ferry_claim_coalesced(p_owner text, p_until bigint, p_now bigint, p_limit bigint)
RETURNS SETOF jobs LANGUAGE sql
SET enable_bitmapscan = off SET enable_sort = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = p_owner,
                    lease_until = p_until, updated_at = p_now,
                    cover_id = CASE WHEN jobs.record IS NULL THEN NULL ELSE (
                        SELECT max(t.id) FROM jobs t
                        WHERE t.tenant_id = jobs.tenant_id AND t.flow = jobs.flow AND t.record = jobs.record
                          AND t.state IN ('available', 'running')) END
    WHERE id = ANY(ARRAY(
        SELECT j.id FROM jobs j WHERE j.state = 'available' AND j.run_at <= p_now
          AND (j.record IS NULL OR (
              NOT EXISTS (SELECT 1 FROM jobs r
                          WHERE r.tenant_id = j.tenant_id AND r.flow = j.flow AND r.record = j.record
                            AND r.state = 'running')
              AND NOT EXISTS (SELECT 1 FROM jobs e
                          WHERE e.tenant_id = j.tenant_id AND e.flow = j.flow AND e.record = j.record
                            AND e.state = 'available' AND e.run_at <= p_now
                            AND (e.run_at, e.id) < (j.run_at, j.id))))
        ORDER BY j.run_at, j.id LIMIT p_limit FOR UPDATE SKIP LOCKED))
    RETURNING *
$$;
