package io.somastack.memory.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.memory.Memories.IdempotencyKey;
import io.somastack.memory.Remembered;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * Remembered results for {@code Idempotency-Key} retries, in the shared {@code idempotency}
 * table (key namespaced with {@code memory:}). Looked up again under the change lock, so two
 * concurrent requests with one key store once.
 */
public final class Idempotency {
    private static final String NAMESPACE = "memory:";

    private Idempotency() {
    }

    /** The first result for this key, or empty; throws when the key was used for another request. */
    public static Optional<List<Remembered>> replay(Handle handle, TenantId tenant, IdempotencyKey key) {
        return handle.createQuery("SELECT request_hash, body FROM idempotency WHERE tenant_id = :tenant AND key = :key")
                .bind("tenant", tenant.value()).bind("key", NAMESPACE + key.key())
                .map((rs, ctx) -> {
                    if (!rs.getString("request_hash").equals(key.requestSha256())) {
                        throw new SomaException(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                                "Idempotency-Key '%s' was already used with a different request body".formatted(key.key()));
                    }
                    return Arrays.asList(Json.mapper().readValue(rs.getBytes("body"), Remembered[].class));
                }).findOne();
    }

    public static void save(Handle handle, TenantId tenant, IdempotencyKey key, int status, List<Remembered> results, Instant at) {
        handle.createUpdate("""
                INSERT INTO idempotency (tenant_id, key, request_hash, status, body, created_at)
                VALUES (:tenant, :key, :hash, :status, :body, :at)""")
                .bind("tenant", tenant.value()).bind("key", NAMESPACE + key.key()).bind("hash", key.requestSha256())
                .bind("status", status).bind("body", Json.bytes(results)).bind("at", Timestamp.from(at)).execute();
    }
}
