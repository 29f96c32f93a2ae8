package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import java.sql.Timestamp;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * Per-tenant settings of agent runs, set by the operator: today what a run does when its client
 * leaves ({@code continue} or {@code cancel}). A tenant without settings follows the server's
 * {@code agents.on-client-gone}. Thread-safe.
 */
public final class TenantSettings {
    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Clock clock;

    public TenantSettings(Jdbi jdbi, GroupCommit commit, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The tenant's own {@code on_client_gone}, if the operator set one. */
    public Optional<String> onClientGone(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT on_client_gone FROM agent_tenant_settings WHERE tenant_id = :tenant")
                .bind("tenant", tenant.value()).mapTo(String.class).findOne());
    }

    /** True when {@code tenant} exists. */
    public boolean tenantExists(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM tenants WHERE id = :tenant").bind("tenant", tenant.value())
                .mapTo(Long.class).one() > 0);
    }

    /** Sets the tenant's {@code on_client_gone} ({@code continue} or {@code cancel}); false when there is no such tenant. */
    public boolean setOnClientGone(TenantId tenant, String onClientGone, String actor, String requestId) {
        return commit.execute(tx -> {
            int written = tx.handle().createUpdate("""
                    INSERT INTO agent_tenant_settings (tenant_id, on_client_gone, updated_at, updated_by)
                    SELECT :tenant, :value, :now, :actor WHERE EXISTS (SELECT 1 FROM tenants WHERE id = :tenant)
                    ON CONFLICT (tenant_id) DO UPDATE SET on_client_gone = :value, updated_at = :now, updated_by = :actor""")
                    .bind("tenant", tenant.value()).bind("value", onClientGone).bind("now", Timestamp.from(clock.now())).bind("actor", actor)
                    .execute();
            if (written == 1) {
                tx.audit(new AuditEntry(Optional.of(tenant), actor, "agent.settings.update", tenant.toString(), requestId,
                        Map.of("on_client_gone", onClientGone)));
            }
            return written == 1;
        });
    }
}
