package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.somastack.console.ConsoleSessions.Session;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Aead;
import io.somastack.kernel.Clock;
import io.somastack.kernel.TenantId;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * New API keys between their creation (a form's POST) and the one page that shows them (the GET
 * it redirects to), so reloading that page never creates a second key. The secret waits sealed
 * with {@link Aead#fromSecret} of the creating session's cookie token (the database has only the
 * token's hash, so only that browser's session opens it), under a random one-time nonce; the
 * first GET erases it, and later ones learn it was shown. Unshown keys expire after {@link #TTL}.
 */
final class CreatedKeys {
    /** How long a created key waits to be shown. */
    static final Duration TTL = Duration.ofMinutes(10);

    private final Jdbi jdbi;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    CreatedKeys(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** What the GET finds: the secret the first time, or only the key's tenant and name once shown (or expired). */
    record Shown(TenantId tenant, String name, Optional<String> secret) {
    }

    /** Holds {@code secret} for {@code session}; returns the one-time nonce of the page that shows it. */
    String hold(Session session, TenantId tenant, String name, String secret) {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String nonce = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        byte[] sealed = Aead.fromSecret(session.token()).seal(secret.getBytes(StandardCharsets.UTF_8), associated(nonce, tenant));
        Instant now = clock.now();
        jdbi.useTransaction(handle -> {
            handle.createUpdate("DELETE FROM console_created_keys WHERE expires_at < :now").bind("now", Timestamp.from(now)).execute();
            handle.createUpdate("""
                    INSERT INTO console_created_keys (nonce_hash, session_hash, tenant_id, key_name, sealed, created_at, expires_at)
                    VALUES (:nonce, :session, :tenant, :name, :sealed, :now, :expires)""")
                    .bind("nonce", Tenants.hash(nonce)).bind("session", Tenants.hash(session.token())).bind("tenant", tenant.value())
                    .bind("name", name).bind("sealed", sealed).bind("now", Timestamp.from(now)).bind("expires", Timestamp.from(now.plus(TTL)))
                    .execute();
        });
        return nonce;
    }

    /** The key behind {@code nonce} for this session: its secret only the first time; empty when the nonce is not this session's. */
    Optional<Shown> show(Session session, String nonce) {
        Instant now = clock.now();
        return jdbi.inTransaction(handle -> {
            // The row locked, its sealed value read and erased in one statement: of two concurrent GETs, one shows the key.
            Optional<Shown> first = handle.createQuery("""
                    WITH taken AS (
                        SELECT nonce_hash, sealed FROM console_created_keys
                        WHERE nonce_hash = :nonce AND session_hash = :session AND shown_at IS NULL AND expires_at > :now FOR UPDATE)
                    UPDATE console_created_keys held SET sealed = NULL, shown_at = :now FROM taken WHERE held.nonce_hash = taken.nonce_hash
                    RETURNING held.tenant_id, held.key_name, taken.sealed""")
                    .bind("now", Timestamp.from(now)).bind("nonce", Tenants.hash(nonce)).bind("session", Tenants.hash(session.token()))
                    .map((rs, ctx) -> {
                        TenantId tenant = new TenantId(rs.getObject("tenant_id", UUID.class));
                        byte[] secret = Aead.fromSecret(session.token()).open(rs.getBytes("sealed"), associated(nonce, tenant));
                        return new Shown(tenant, rs.getString("key_name"), Optional.of(new String(secret, StandardCharsets.UTF_8)));
                    }).findOne();
            if (first.isPresent()) {
                return first;
            }
            return handle.createQuery("SELECT tenant_id, key_name FROM console_created_keys WHERE nonce_hash = :nonce AND session_hash = :session")
                    .bind("nonce", Tenants.hash(nonce)).bind("session", Tenants.hash(session.token()))
                    .map((rs, ctx) -> new Shown(new TenantId(rs.getObject("tenant_id", UUID.class)), rs.getString("key_name"), Optional.empty()))
                    .findOne();
        });
    }

    /** Binds a sealed secret to its nonce and tenant: a value copied to another row does not open. */
    private static byte[] associated(String nonce, TenantId tenant) {
        return (nonce + "\n" + tenant.value()).getBytes(StandardCharsets.UTF_8);
    }
}
