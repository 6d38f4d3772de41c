-- Jobs about the same record of a flow run one at a time, and a run that read the record
-- afresh covers the jobs of that record enqueued before it was claimed: 4,000 events for one
-- order cost a bounded number of runs, and a dead-lettered record is one dead letter.
-- (Numbered 3: version 2 is left to the store-fault work landing beside this one.)
ALTER TABLE jobs ADD COLUMN record TEXT;
-- The highest id among the record's waiting and running jobs when this one was claimed.
ALTER TABLE jobs ADD COLUMN cover_id INTEGER;
CREATE INDEX jobs_record ON jobs (tenant_id, flow, record, state, run_at, id) WHERE record IS NOT NULL;

ALTER TABLE dead_letters ADD COLUMN record TEXT;
CREATE INDEX dead_letters_open_record ON dead_letters (tenant_id, flow, record)
    WHERE status = 'open' AND record IS NOT NULL;
