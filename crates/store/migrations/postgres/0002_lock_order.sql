-- Row locks on jobs are taken in one order (ascending id) and the lease heartbeat never waits
-- for a lock. Before this, a heartbeat (one statement over a worker's running jobs) and that
-- worker's batched completion (a transaction that locks its jobs one outcome at a time, in
-- outcome order) could each hold a row the other wanted: "deadlock detected", a missed
-- heartbeat, and a lease that could expire under a running job.

-- A job whose row is locked is being completed, retried or released right now: its lease
-- needs no extension (the next beat, a third of a lease later, extends it if that
-- transaction rolled back).
CREATE OR REPLACE FUNCTION ferry_heartbeat(p_ids json, p_owner text, p_until bigint)
RETURNS SETOF bigint LANGUAGE sql
SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET lease_until = p_until
    WHERE id = ANY(ARRAY(
        SELECT id FROM jobs
        WHERE id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text(p_ids)))
          AND state = 'running' AND lease_owner = p_owner
        ORDER BY id FOR UPDATE SKIP LOCKED))
      AND state = 'running' AND lease_owner = p_owner
    RETURNING id
$$;

CREATE OR REPLACE FUNCTION ferry_complete(p_ids json, p_owner text, p_now bigint)
RETURNS SETOF bigint LANGUAGE sql
SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
    UPDATE jobs SET state = 'completed', lease_owner = NULL, lease_until = NULL, updated_at = p_now
    WHERE id = ANY(ARRAY(
        SELECT id FROM jobs
        WHERE id = ANY(ARRAY(SELECT value::bigint FROM json_array_elements_text(p_ids)))
          AND state = 'running' AND lease_owner = p_owner
        ORDER BY id FOR UPDATE))
      AND state = 'running' AND lease_owner = p_owner
    RETURNING id
$$;
