package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.Notifications;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * Tenants and their API keys in PostgreSQL. Secrets are shown once, at creation, and stored
 * only as SHA-256 hashes (a key has 256 random bits, so a fast hash is enough). Key lookups
 * are cached when built with {@link Notifications}; a revocation or tenant change still takes
 * effect within 1 s on every node (see {@link PrincipalCache}). Thread-safe.
 */
public final class Tenants {
    private static final String KEY_PREFIX = "sk-soma-";
    private static final char[] ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private final Jdbi jdbi;
    private final DataSource dataSource;
    private final Clock clock;
    private final Ids ids;
    private final SecureRandom random = new SecureRandom();
    private final PrincipalCache principals;

    /** {@code dataSource} serves the per-request key lookup as plain JDBC (JDBI's per-statement cost showed in profiles). */
    public Tenants(Jdbi jdbi, DataSource dataSource, Clock clock, Ids ids) {
        this(jdbi, dataSource, clock, ids, PrincipalCache.none());
    }

    /**
     * As above, with key lookups cached and kept fresh by {@code notifications} (see
     * {@link PrincipalCache}: a change to a key or tenant reaches every node within 1 s).
     */
    public Tenants(Jdbi jdbi, DataSource dataSource, Clock clock, Ids ids, Notifications notifications) {
        this(jdbi, dataSource, clock, ids, PrincipalCache.listening(notifications));
    }

    private Tenants(Jdbi jdbi, DataSource dataSource, Clock clock, Ids ids, PrincipalCache principals) {
        this.principals = principals;
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.dataSource = requireNonNull(dataSource, "dataSource is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** Creates a tenant inside {@code tx}, with its audit entry and outbox event. */
    public Tenant create(Tx tx, String name, String tier, String homeRegion, Optional<Money> monthlyBudget, String actor, String requestId) {
        Handle handle = tx.handle();
        boolean taken = handle.createQuery("SELECT count(*) FROM tenants WHERE name = :name").bind("name", name).mapTo(Long.class).one() > 0;
        if (taken) {
            throw new SomaException(ErrorCode.CONFLICT, "A tenant named '%s' already exists".formatted(name));
        }
        Tenant tenant = new Tenant(new TenantId(ids.next()), name, tier, homeRegion, monthlyBudget, clock.now());
        handle.createUpdate("""
                INSERT INTO tenants (id, name, tier, home_region, monthly_budget, created_at)
                VALUES (:id, :name, :tier, :region, :budget, :created)""")
                .bind("id", tenant.id().value()).bind("name", name).bind("tier", tier).bind("region", homeRegion)
                .bind("budget", monthlyBudget.map(Money::amount).orElse(null)).bind("created", Timestamp.from(tenant.createdAt()))
                .execute();
        tx.audit(new AuditEntry(Optional.of(tenant.id()), actor, "tenant.create", tenant.id().toString(), requestId,
                Map.of("name", name, "tier", tier, "home_region", homeRegion,
                        "monthly_budget", monthlyBudget.map(Money::toPlainString).orElse("unlimited"))));
        tx.publish(new OutboxEvent("io.somastack.tenant.created", tenant.id().toString(), Optional.of(tenant.id()), Map.of("name", name)));
        return tenant;
    }

    public List<Tenant> list() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM tenants ORDER BY created_at")
                .map((rs, ctx) -> tenant(rs, "")).list());
    }

    public Optional<Tenant> find(TenantId id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM tenants WHERE id = :id").bind("id", id.value())
                .map((rs, ctx) -> tenant(rs, "")).findOne());
    }

    /** A new key: the secret is in the result and nowhere else, ever. */
    public CreatedKey createKey(Tx tx, TenantId tenantId, String name, Set<String> scopes, Optional<Money> monthlyBudget,
            String actor, String requestId) {
        Handle handle = tx.handle();
        boolean exists = handle.createQuery("SELECT count(*) FROM tenants WHERE id = :id").bind("id", tenantId.value()).mapTo(Long.class).one() > 0;
        if (!exists) {
            throw new SomaException(ErrorCode.NOT_FOUND, "Tenant %s does not exist".formatted(tenantId));
        }
        String secret = KEY_PREFIX + randomText(43);
        ApiKey key = new ApiKey(ids.next(), tenantId, name, secret.substring(0, 12), scopes, monthlyBudget, clock.now(), Optional.empty());
        handle.createUpdate("""
                INSERT INTO api_keys (id, tenant_id, name, hash, prefix, scopes, monthly_budget, created_at)
                VALUES (:id, :tenant, :name, :hash, :prefix, :scopes, :budget, :created)""")
                .bind("id", key.id()).bind("tenant", tenantId.value()).bind("name", name).bind("hash", hash(secret))
                .bind("prefix", key.prefix()).bind("scopes", scopes.stream().sorted().toArray(String[]::new))
                .bind("budget", monthlyBudget.map(Money::amount).orElse(null)).bind("created", Timestamp.from(key.createdAt()))
                .execute();
        tx.audit(new AuditEntry(Optional.of(tenantId), actor, "key.create", key.id().toString(), requestId,
                Map.of("name", name, "scopes", scopes.stream().sorted().toList())));
        tx.publish(new OutboxEvent("io.somastack.key.created", key.id().toString(), Optional.of(tenantId), Map.of("name", name)));
        return new CreatedKey(key, secret);
    }

    public List<ApiKey> keys(TenantId tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM api_keys WHERE tenant_id = :tenant ORDER BY created_at")
                .bind("tenant", tenantId.value()).map((rs, ctx) -> key(rs)).list());
    }

    /** Revokes a key; it fails from the next request on. Revoking twice is a no-op. */
    public ApiKey revokeKey(Tx tx, UUID keyId, String actor, String requestId) {
        Handle handle = tx.handle();
        ApiKey key = handle.createQuery("SELECT * FROM api_keys WHERE id = :id FOR UPDATE").bind("id", keyId)
                .map((rs, ctx) -> key(rs)).findOne()
                .orElseThrow(() -> new SomaException(ErrorCode.NOT_FOUND, "API key %s does not exist".formatted(keyId)));
        if (key.revokedAt().isPresent()) {
            return key;
        }
        handle.createUpdate("UPDATE api_keys SET revoked_at = :now WHERE id = :id").bind("now", Timestamp.from(clock.now())).bind("id", keyId).execute();
        tx.audit(new AuditEntry(Optional.of(key.tenantId()), actor, "key.revoke", keyId.toString(), requestId, Map.of()));
        tx.publish(new OutboxEvent("io.somastack.key.revoked", keyId.toString(), Optional.of(key.tenantId()), Map.of()));
        return handle.createQuery("SELECT * FROM api_keys WHERE id = :id").bind("id", keyId).map((rs, ctx) -> key(rs)).one();
    }

    /**
     * Drops this node's cached principal of a key whose change has committed (a revocation),
     * so this node refuses it from the next request; other nodes hear it through NOTIFY.
     */
    public void forgetKey(UUID keyId) {
        principals.invalidate("key:" + keyId);
    }

    /** As {@link #forgetKey}, for every key of a tenant whose row changed. */
    public void forgetTenant(TenantId tenantId) {
        principals.invalidate("tenant:" + tenantId.value());
    }

    /** The caller behind an API key secret, or a problem naming why not. */
    public Principal authenticate(String secret) {
        if (!secret.startsWith(KEY_PREFIX)) {
            throw new SomaException(ErrorCode.INVALID_API_KEY, "The bearer token is neither a SomaStack API key nor a session token");
        }
        String hash = hash(secret);
        return principals.get(hash, () -> principal("k.hash = :value", hash, Principal.Via.API_KEY, "This API key is not known"));
    }

    /** The caller behind a session: re-reads its key so that revoking the key ends the session. */
    public Principal authenticateSession(UUID keyId) {
        return principals.get(keyId, () -> principal("k.id = :value", keyId, Principal.Via.SESSION,
                "The API key of this session no longer exists"));
    }

    private Principal principal(String condition, Object value, Principal.Via via, String unknownMessage) {
        String sql = """
                SELECT k.id AS k_id, k.scopes AS k_scopes, k.monthly_budget AS k_budget, k.revoked_at AS k_revoked, t.*
                FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE\s""" + condition.replace(":value", "?");
        try (Connection connection = dataSource.getConnection();
                PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setObject(1, value);
            try (ResultSet rs = statement.executeQuery()) {
                if (!rs.next()) {
                    throw new SomaException(ErrorCode.INVALID_API_KEY, unknownMessage);
                }
                if (rs.getTimestamp("k_revoked") != null) {
                    throw new SomaException(ErrorCode.REVOKED_API_KEY, "This API key was revoked");
                }
                Set<String> scopes = new HashSet<>(Arrays.asList((String[]) rs.getArray("k_scopes").getArray()));
                return new Principal(tenant(rs, ""), (UUID) rs.getObject("k_id"), scopes,
                        Optional.ofNullable(rs.getBigDecimal("k_budget")).map(Money::of), via);
            }
        } catch (SQLException e) {
            throw new SomaException(ErrorCode.NOT_READY, "Cannot check credentials: the database does not answer (%s)"
                    .formatted(e.getMessage()), Map.of(), e);
        }
    }

    public static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public String randomText(int length) {
        char[] text = new char[length];
        for (int i = 0; i < length; i++) {
            text[i] = ALPHABET[random.nextInt(ALPHABET.length)];
        }
        return new String(text);
    }

    private static Tenant tenant(ResultSet rs, String prefix) throws SQLException {
        return new Tenant(new TenantId((UUID) rs.getObject(prefix + "id")), rs.getString(prefix + "name"), rs.getString(prefix + "tier"),
                rs.getString(prefix + "home_region"), Optional.ofNullable(rs.getBigDecimal(prefix + "monthly_budget")).map(Money::of),
                rs.getTimestamp(prefix + "created_at").toInstant());
    }

    private static ApiKey key(ResultSet rs) throws SQLException {
        return new ApiKey((UUID) rs.getObject("id"), new TenantId((UUID) rs.getObject("tenant_id")), rs.getString("name"),
                rs.getString("prefix"), new HashSet<>(Arrays.asList((String[]) rs.getArray("scopes").getArray())),
                Optional.ofNullable(rs.getBigDecimal("monthly_budget")).map(Money::of), rs.getTimestamp("created_at").toInstant(),
                Optional.ofNullable(rs.getTimestamp("revoked_at")).map(Timestamp::toInstant));
    }

    /** A key just made, with its secret (shown once). */
    public record CreatedKey(ApiKey key, String secret) {
    }
}
