-- soma-memory: every transaction that takes change seqs tells every node's index follower
-- (LISTEN soma_memory_changes) to catch up now instead of at its next poll. One payload per
-- transaction (PostgreSQL folds identical notifications of one transaction), sent at commit.
CREATE FUNCTION soma_notify_memory_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('soma_memory_changes', '');
    RETURN NULL;
END $$;

CREATE TRIGGER memory_change_head_notify AFTER UPDATE ON memory_change_head
    FOR EACH STATEMENT EXECUTE FUNCTION soma_notify_memory_changes();
