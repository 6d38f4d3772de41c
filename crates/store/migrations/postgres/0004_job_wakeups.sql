-- Idle workers on every node wake when jobs are added, instead of at their next poll: each
-- statement that inserts jobs sends one NOTIFY (delivered at commit, once per transaction for
-- equal payloads), which the nodes' LISTEN connections turn into a wake-up (wakeups.rs).
CREATE FUNCTION ferry_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ferry_jobs', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_added AFTER INSERT ON jobs FOR EACH STATEMENT EXECUTE FUNCTION ferry_notify_jobs();
