package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Each tenant's trusted signing keys: add, list, revoke. Revocation is permanent and takes
 * effect on the next admission (keys are read from PostgreSQL on every admission, never
 * cached). Writes go through the group commit with an audit entry and an outbox event
 * ({@code io.somastack.policy.key.trusted} / {@code .revoked}). Thread-safe.
 */
public final class TrustedKeys {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9 ._@-]{1,100}");

    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Clock clock;

    public TrustedKeys(Jdbi jdbi, GroupCommit commit, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Trusts {@code publicKeyPem} (ECDSA P-256) for {@code tenant}; 409 if it is already known, revoked or not. */
    public TrustedKey add(TenantId tenant, String name, String role, String publicKeyPem, Actor actor) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A key name is 1 to 100 letters, digits, spaces or ._@-");
        }
        if (!TrustedKey.ROLES.contains(role)) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A key role is 'publisher' or 'marketplace', not '%s'".formatted(role));
        }
        String keyId = Signatures.keyId(publicKeyPem);
        String normalized = io.somastack.policy.internal.Pem.encode("PUBLIC KEY", Signatures.publicKey(publicKeyPem).getEncoded());
        TrustedKey key = new TrustedKey(tenant, keyId, name, role, normalized, clock.now(), actor.name(), Optional.empty());
        return commit.execute(tx -> {
            Optional<TrustedKey> existing = find(tx.handle(), tenant, keyId);
            if (existing.isPresent()) {
                throw new SomaException(ErrorCode.CONFLICT, existing.get().revoked()
                        ? "Key %s was revoked for this tenant and cannot be trusted again".formatted(keyId)
                        : "Key %s is already trusted as '%s'".formatted(keyId, existing.get().name()));
            }
            tx.handle().createUpdate("""
                    INSERT INTO policy_trusted_keys (tenant_id, key_id, name, role, public_key_pem, created_at, created_by)
                    VALUES (:tenant, :keyId, :name, :role, :pem, :at, :by)""")
                    .bind("tenant", tenant.value()).bind("keyId", keyId).bind("name", name).bind("role", role).bind("pem", normalized)
                    .bind("at", Timestamp.from(key.createdAt())).bind("by", actor.name()).execute();
            tx.audit(new AuditEntry(Optional.of(tenant), actor.name(), "policy.key.trust", keyId, actor.requestId(), Map.of("name", name, "role", role)));
            tx.publish(new OutboxEvent("io.somastack.policy.key.trusted", keyId, Optional.of(tenant), Map.of("key_id", keyId, "name", name, "role", role)));
            return key;
        });
    }

    /** Revokes a key; revoking a revoked key answers the key as it is. */
    public TrustedKey revoke(TenantId tenant, String keyId, Actor actor) {
        Instant now = clock.now();
        return commit.execute(tx -> {
            TrustedKey key = find(tx.handle(), tenant, keyId)
                    .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "No trusted key %s".formatted(keyId)));
            if (key.revoked()) {
                return key;
            }
            tx.handle().createUpdate("UPDATE policy_trusted_keys SET revoked_at = :at, revoked_by = :by WHERE tenant_id = :tenant AND key_id = :keyId")
                    .bind("at", Timestamp.from(now)).bind("by", actor.name()).bind("tenant", tenant.value()).bind("keyId", keyId).execute();
            tx.audit(new AuditEntry(Optional.of(tenant), actor.name(), "policy.key.revoke", keyId, actor.requestId(), Map.of("name", key.name())));
            tx.publish(new OutboxEvent("io.somastack.policy.key.revoked", keyId, Optional.of(tenant), Map.of("key_id", keyId)));
            return new TrustedKey(tenant, keyId, key.name(), key.role(), key.publicKeyPem(), key.createdAt(), key.createdBy(), Optional.of(now));
        });
    }

    /** All keys of {@code tenant}, revoked ones included, oldest first. */
    public List<TrustedKey> list(TenantId tenant) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM policy_trusted_keys WHERE tenant_id = :tenant ORDER BY created_at, key_id")
                .bind("tenant", tenant.value()).map(TrustedKeys::key).list());
    }

    public Optional<TrustedKey> find(TenantId tenant, String keyId) {
        return jdbi.withHandle(handle -> find(handle, tenant, keyId));
    }

    private static Optional<TrustedKey> find(Handle handle, TenantId tenant, String keyId) {
        return handle.createQuery("SELECT * FROM policy_trusted_keys WHERE tenant_id = :tenant AND key_id = :keyId")
                .bind("tenant", tenant.value()).bind("keyId", keyId).map(TrustedKeys::key).findOne();
    }

    private static TrustedKey key(java.sql.ResultSet rs, StatementContext context) throws java.sql.SQLException {
        return new TrustedKey(new TenantId((java.util.UUID) rs.getObject("tenant_id")), rs.getString("key_id"), rs.getString("name"),
                rs.getString("role"), rs.getString("public_key_pem"), rs.getTimestamp("created_at").toInstant(), rs.getString("created_by"),
                Optional.ofNullable(rs.getTimestamp("revoked_at")).map(Timestamp::toInstant));
    }
}
