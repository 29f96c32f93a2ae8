package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.javalin.http.Context;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.store.Tx;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code Idempotency-Key} for write routes: the first answer to a key is stored in the same
 * transaction as the write it reports, and a retry with the same key and body gets that
 * answer again (with {@code Idempotent-Replayed: true}); the same key with another body is
 * a 409. Keys are scoped per tenant; operator routes use {@link #OPERATOR}. Thread-safe.
 */
public final class Idempotency {
    /** The scope of operator (admin) keys. */
    public static final UUID OPERATOR = new UUID(0, 0);
    private static final String HEADER = "Idempotency-Key";

    private final Jdbi jdbi;

    public Idempotency(Jdbi jdbi) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
    }

    /** The request's key and body hash, if it carries a key; validated. */
    public Optional<Request> of(Context ctx, UUID scope) {
        String key = ctx.header(HEADER);
        if (key == null || key.isBlank()) {
            return Optional.empty();
        }
        if (key.length() > 255) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Idempotency-Key must be at most 255 characters");
        }
        return Optional.of(new Request(scope, key.strip(), sha256(ctx.bodyAsBytes())));
    }

    /** Answers {@code ctx} with the stored response and returns true, if this key was seen. */
    public boolean replay(Context ctx, Optional<Request> request) {
        if (request.isEmpty()) {
            return false;
        }
        Request wanted = request.get();
        var stored = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT request_hash, status, body FROM idempotency WHERE tenant_id = :scope AND key = :key")
                .bind("scope", wanted.scope()).bind("key", wanted.key())
                .map((rs, context) -> new Stored(rs.getString("request_hash"), rs.getInt("status"), rs.getBytes("body"))).findOne());
        if (stored.isEmpty()) {
            return false;
        }
        if (!stored.get().requestHash().equals(wanted.bodyHash())) {
            throw new SomaException(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "Idempotency-Key '%s' was already used with a different request body".formatted(wanted.key()));
        }
        ctx.header("Idempotent-Replayed", "true");
        ctx.status(stored.get().status()).contentType("application/json").result(stored.get().body());
        return true;
    }

    /** Stores the answer inside the write's transaction (a concurrent twin keeps the first). */
    public void remember(Tx tx, Optional<Request> request, int status, byte[] body) {
        request.ifPresent(wanted -> tx.handle().createUpdate("""
                INSERT INTO idempotency (tenant_id, key, request_hash, status, body, created_at)
                VALUES (:scope, :key, :hash, :status, :body, :now) ON CONFLICT DO NOTHING""")
                .bind("scope", wanted.scope()).bind("key", wanted.key()).bind("hash", wanted.bodyHash()).bind("status", status)
                .bind("body", body).bind("now", Timestamp.from(Instant.now())).execute());
    }

    private static String sha256(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A keyed request: its scope, key and body hash. */
    public record Request(UUID scope, String key, String bodyHash) {
    }

    private record Stored(String requestHash, int status, byte[] body) {
    }

}
