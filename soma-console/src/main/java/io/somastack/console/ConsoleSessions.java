package io.somastack.console;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.TenantId;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Browser sessions of the console, in PostgreSQL so every node knows them. The cookie holds a
 * random 256-bit token; the table holds only its SHA-256. A session ends at sign-out, after
 * {@code idle} without a request, or {@code absolute} after sign-in, whichever comes first.
 * Thread-safe.
 */
public final class ConsoleSessions {
    private final Jdbi jdbi;
    private final Clock clock;
    private final Duration idle;
    private final Duration absolute;
    private final SecureRandom random = new SecureRandom();

    public ConsoleSessions(Jdbi jdbi, Clock clock, Duration idle, Duration absolute) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.idle = requireNonNull(idle, "idle is null");
        this.absolute = requireNonNull(absolute, "absolute is null");
    }

    /**
     * A signed-in person: a tenant's API key, or the operator.
     *
     * @param token the cookie's token (never rendered)
     * @param csrf the token every form of this session carries
     */
    public record Session(String token, Optional<TenantId> tenant, Optional<UUID> keyId, boolean operator, String csrf) {
        public Session {
            requireNonNull(token, "token is null");
            requireNonNull(tenant, "tenant is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(csrf, "csrf is null");
        }
    }

    /** Starts a session; its token goes in the cookie. */
    public Session start(Optional<TenantId> tenant, Optional<UUID> keyId, boolean operator) {
        String token = randomToken();
        String csrf = randomToken();
        Instant now = clock.now();
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO console_sessions (token_hash, tenant_id, key_id, operator, csrf_token, created_at, last_seen_at, expires_at)
                VALUES (:hash, :tenant, :key, :operator, :csrf, :now, :now, :expires)""")
                .bind("hash", Tenants.hash(token)).bind("tenant", tenant.map(TenantId::value).orElse(null)).bind("key", keyId.orElse(null))
                .bind("operator", operator).bind("csrf", csrf).bind("now", Timestamp.from(now))
                .bind("expires", Timestamp.from(now.plus(absolute))).execute());
        return new Session(token, tenant, keyId, operator, csrf);
    }

    /** The live session of a cookie token, its idle clock restarted; empty when unknown, ended or expired. */
    public Optional<Session> find(String token) {
        if (token == null || token.isBlank()) {
            return Optional.empty();
        }
        Instant now = clock.now();
        return jdbi.withHandle(handle -> handle.createQuery("""
                UPDATE console_sessions SET last_seen_at = :now
                WHERE token_hash = :hash AND ended_at IS NULL AND expires_at > :now AND last_seen_at > :idleSince
                RETURNING tenant_id, key_id, operator, csrf_token""")
                .bind("hash", Tenants.hash(token)).bind("now", Timestamp.from(now)).bind("idleSince", Timestamp.from(now.minus(idle)))
                .map((rs, ctx) -> new Session(token, Optional.ofNullable(rs.getObject("tenant_id", UUID.class)).map(TenantId::new),
                        Optional.ofNullable(rs.getObject("key_id", UUID.class)), rs.getBoolean("operator"), rs.getString("csrf_token")))
                .findOne());
    }

    /** Ends the session (sign-out); a later request with its cookie is signed out. */
    public void end(String token) {
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE console_sessions SET ended_at = :now WHERE token_hash = :hash AND ended_at IS NULL")
                .bind("now", Timestamp.from(clock.now())).bind("hash", Tenants.hash(token)).execute());
    }

    /** A fresh random token, base64url without padding (43 characters). */
    String randomToken() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
