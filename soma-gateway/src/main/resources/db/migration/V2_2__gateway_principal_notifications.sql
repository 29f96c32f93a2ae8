-- soma-gateway: every change to a key or a tenant tells every node (LISTEN soma_principals) to
-- drop the principals it cached for it. Triggers, not application code, so a change made in SQL
-- by an operator is heard too. A NOTIFY is delivered at commit, never for a rolled-back change.
CREATE FUNCTION soma_notify_principal_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('soma_principals', 'key:' || OLD.id::text);
    RETURN NULL;
END $$;

CREATE FUNCTION soma_notify_principal_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('soma_principals', 'tenant:' || OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER api_keys_notify_principals AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION soma_notify_principal_key();

CREATE TRIGGER tenants_notify_principals AFTER UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION soma_notify_principal_tenant();
