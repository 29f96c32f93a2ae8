package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.policy.internal.CompiledPolicy;
import io.somastack.policy.internal.PolicyCompiler;
import io.somastack.policy.internal.PolicyWire;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * A tenant's versioned CEL policies. A policy compiles when it is saved (a bad expression
 * or one that is not bool is a 400 naming the CEL error, and nothing is stored); an update
 * stores the next version; a delete retires every version. Each change is audited and
 * published ({@code io.somastack.policy.changed}). The compiled active policies of a tenant
 * are cached per node for {@code policy.cache.ttl}; this node's own changes take effect at
 * once, other nodes' within the TTL. Thread-safe.
 */
public final class Policies {
    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Clock clock;
    private final PolicyCompiler compiler;
    private final Duration cacheTtl;
    private final Map<TenantId, Cached> cache = new ConcurrentHashMap<>();

    public Policies(Jdbi jdbi, GroupCommit commit, Clock clock, PolicyCompiler compiler, Duration cacheTtl) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.compiler = requireNonNull(compiler, "compiler is null");
        this.cacheTtl = requireNonNull(cacheTtl, "cacheTtl is null");
    }

    /** Creates version 1 (or the next version after a delete); 409 if the name is active. */
    public StoredPolicy create(TenantId tenant, PolicyDefinition definition, Actor actor) {
        return save(tenant, definition, actor, false);
    }

    /** Stores {@code definition} as the next version of an active policy; 404 if there is none. */
    public StoredPolicy update(TenantId tenant, PolicyDefinition definition, Actor actor) {
        return save(tenant, definition, actor, true);
    }

    private StoredPolicy save(TenantId tenant, PolicyDefinition definition, Actor actor, boolean update) {
        compiler.compile(new StoredPolicy(tenant, definition, 1, clock.now(), actor.name()));
        StoredPolicy saved = commit.execute(tx -> {
            Optional<StoredPolicy> active = active(tx.handle(), tenant, definition.name());
            if (update && active.isEmpty()) {
                throw new SomaException(ErrorCode.NOT_FOUND, "No policy %s".formatted(definition.name()));
            }
            if (!update && active.isPresent()) {
                throw new SomaException(ErrorCode.CONFLICT, "Policy %s exists (version %d); update it with PUT"
                        .formatted(definition.name(), active.get().version()));
            }
            int version = tx.handle().createQuery("SELECT COALESCE(MAX(version), 0) + 1 FROM policy_policies WHERE tenant_id = :tenant AND name = :name")
                    .bind("tenant", tenant.value()).bind("name", definition.name()).mapTo(Integer.class).one();
            StoredPolicy policy = new StoredPolicy(tenant, definition, version, clock.now(), actor.name());
            tx.handle().createUpdate("""
                    INSERT INTO policy_policies (tenant_id, name, version, kind, definition, created_at, created_by)
                    VALUES (:tenant, :name, :version, :kind, CAST(:definition AS jsonb), :at, :by)""")
                    .bind("tenant", tenant.value()).bind("name", definition.name()).bind("version", version).bind("kind", definition.kind().wireName())
                    .bind("definition", Json.text(PolicyWire.definition(definition))).bind("at", Timestamp.from(policy.createdAt()))
                    .bind("by", actor.name()).execute();
            changed(tx, tenant, actor, definition.name(), version, update ? "update" : "create");
            return policy;
        });
        cache.remove(tenant);
        return saved;
    }

    /** Retires the policy (all versions); 404 if it is not active. */
    public void delete(TenantId tenant, String name, Actor actor) {
        commit.execute(tx -> {
            StoredPolicy active = active(tx.handle(), tenant, name).orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No policy %s".formatted(name)));
            tx.handle().createUpdate("UPDATE policy_policies SET deleted_at = :at WHERE tenant_id = :tenant AND name = :name AND deleted_at IS NULL")
                    .bind("at", Timestamp.from(clock.now())).bind("tenant", tenant.value()).bind("name", name).execute();
            changed(tx, tenant, actor, name, active.version(), "delete");
            return null;
        });
        cache.remove(tenant);
    }

    private static void changed(io.somastack.store.Tx tx, TenantId tenant, Actor actor, String name, int version, String change) {
        tx.audit(new AuditEntry(Optional.of(tenant), actor.name(), "policy." + change, name, actor.requestId(), Map.of("version", version)));
        tx.publish(new OutboxEvent("io.somastack.policy.changed", name + "@" + version, Optional.of(tenant),
                Map.of("name", name, "version", version, "change", change)));
    }

    /** The active version of {@code name}. */
    public Optional<StoredPolicy> get(TenantId tenant, String name) {
        return jdbi.withHandle(handle -> active(handle, tenant, name));
    }

    /** A given version, retired or not. */
    public Optional<StoredPolicy> get(TenantId tenant, String name, int version) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM policy_policies WHERE tenant_id = :tenant AND name = :name AND version = :version")
                .bind("tenant", tenant.value()).bind("name", name).bind("version", version).map(PolicyWire::row).findOne());
    }

    /** The active policies of {@code tenant}, by name. */
    public List<StoredPolicy> list(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT DISTINCT ON (name) * FROM policy_policies WHERE tenant_id = :tenant AND deleted_at IS NULL
                ORDER BY name, version DESC""").bind("tenant", tenant.value()).map(PolicyWire::row).list());
    }

    /** The compiled active policies of {@code kind}, from the per-node cache. */
    List<CompiledPolicy> compiled(TenantId tenant, PolicyKind kind) {
        long now = System.nanoTime();
        Cached cached = cache.get(tenant);
        if (cached == null || now - cached.loadedAt() > cacheTtl.toNanos()) {
            cached = new Cached(list(tenant).stream().map(compiler::compile).toList(), now);
            cache.put(tenant, cached);
        }
        return cached.policies().stream().filter(policy -> policy.policy().definition().kind() == kind).toList();
    }

    private static Optional<StoredPolicy> active(Handle handle, TenantId tenant, String name) {
        return handle.createQuery("""
                SELECT * FROM policy_policies WHERE tenant_id = :tenant AND name = :name AND deleted_at IS NULL
                ORDER BY version DESC LIMIT 1""").bind("tenant", tenant.value()).bind("name", name).map(PolicyWire::row).findOne();
    }

    private record Cached(List<CompiledPolicy> policies, long loadedAt) {
    }
}
