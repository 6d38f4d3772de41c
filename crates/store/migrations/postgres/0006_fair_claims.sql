-- Fair claims between tenants: when several tenants have due jobs, a claim takes an equal share
-- from each (store: claim), so one tenant's backlog of 100,000 jobs does not hold back another
-- tenant's new order behind it. Each share is read from this index in run_at order.
CREATE INDEX jobs_tenant_runnable ON jobs (tenant_id, run_at, id) WHERE state = 'available';

-- ferry_claim_coalesced, for one tenant's jobs.
CREATE FUNCTION ferry_claim_tenant(p_owner text, p_until bigint, p_now bigint, p_limit bigint, p_tenant text)
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
        SELECT j.id FROM jobs j WHERE j.tenant_id = p_tenant AND j.state = 'available' AND j.run_at <= p_now
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
