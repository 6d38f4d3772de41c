-- Fair claims between tenants: when several tenants have due jobs, a claim takes an equal share
-- from each (store: claim), so one tenant's backlog of 100,000 jobs does not hold back another
-- tenant's new order behind it. Each share is read from this index in run_at order.
CREATE INDEX jobs_tenant_runnable ON jobs (tenant_id, run_at, id) WHERE state = 'available';
