-- Cancelling a run that another node runs: the request is stored on the run (so it survives a
-- restart of the node that received it and any node can see it), and a trigger tells every node
-- (LISTEN soma_agent_cancels, payload "<run id> <by>") at commit; the node running the run
-- stops it. A trigger, not application code, so a cancel written in SQL by an operator is heard
-- too. The live node also checks its runs for stored requests every second, for a notification
-- lost while its LISTEN connection was down.
ALTER TABLE agent_runs
    ADD COLUMN cancel_requested_at TIMESTAMPTZ,
    ADD COLUMN cancel_requested_by TEXT;

CREATE FUNCTION soma_notify_agent_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('soma_agent_cancels', NEW.id::text || ' ' || COALESCE(NEW.cancel_requested_by, 'client'));
    RETURN NULL;
END $$;

CREATE TRIGGER agent_runs_notify_cancel AFTER UPDATE OF cancel_requested_at ON agent_runs
    FOR EACH ROW WHEN (OLD.cancel_requested_at IS NULL AND NEW.cancel_requested_at IS NOT NULL)
    EXECUTE FUNCTION soma_notify_agent_cancel();
