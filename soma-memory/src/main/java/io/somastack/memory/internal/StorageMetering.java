package io.somastack.memory.internal;

import io.somastack.kernel.TenantId;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The SQL and arithmetic of storage metering: meters per tenant in {@code memory_storage_meter},
 * elapsed time in whole micro-hours (3.6 ms, so that MB-hours are an exact decimal), and
 * {@code MB-hours = bytes × micro-hours / 10^12}.
 */
public final class StorageMetering {
    /** One micro-hour, the unit of metered time. */
    public static final Duration MICRO_HOUR = Duration.ofNanos(3_600_000);

    private StorageMetering() {
    }

    /** A tenant whose meter is due: stored {@code bytes} now, metered up to {@code from}. */
    public record Due(TenantId tenantId, Instant from, long bytes) {
    }

    /** Starts, at {@code now}, the meter of every tenant with usage but no meter (a safety net: the first write starts it). */
    public static void startUnseen(Handle handle, Instant now) {
        handle.createUpdate("""
                INSERT INTO memory_storage_meter (tenant_id, metered_until)
                SELECT u.tenant_id, :now FROM memory_usage u
                 WHERE NOT EXISTS (SELECT 1 FROM memory_storage_meter s WHERE s.tenant_id = u.tenant_id)
                ON CONFLICT DO NOTHING""").bind("now", Timestamp.from(now)).execute();
    }

    /** Locks up to {@code limit} meters at least one micro-hour behind {@code now}, skipping those another node holds. */
    public static List<Due> lockDue(Handle handle, Instant now, int limit) {
        return handle.createQuery("""
                SELECT s.tenant_id, s.metered_until, coalesce(u.bytes, 0) AS bytes
                  FROM memory_storage_meter s LEFT JOIN memory_usage u ON u.tenant_id = s.tenant_id
                 WHERE s.metered_until <= :due
                 ORDER BY s.tenant_id LIMIT :limit
                   FOR UPDATE OF s SKIP LOCKED""")
                .bind("due", Timestamp.from(now.minus(MICRO_HOUR))).bind("limit", limit)
                .map((rs, ctx) -> new Due(new TenantId(rs.getObject("tenant_id", UUID.class)), rs.getTimestamp("metered_until").toInstant(),
                        rs.getLong("bytes")))
                .list();
    }

    public static void advance(Handle handle, TenantId tenant, Instant to) {
        handle.createUpdate("UPDATE memory_storage_meter SET metered_until = :to WHERE tenant_id = :tenant")
                .bind("to", Timestamp.from(to)).bind("tenant", tenant.value()).execute();
    }

    /** Whole micro-hours from {@code from} to {@code to} (0 when {@code to} is not later). */
    public static long microHours(Instant from, Instant to) {
        return Math.max(0, Duration.between(from, to).toNanos() / MICRO_HOUR.toNanos());
    }

    /** {@code from} plus {@code microHours} micro-hours: where the meter stands after metering them. */
    public static Instant after(Instant from, long microHours) {
        return from.plus(MICRO_HOUR.multipliedBy(microHours));
    }

    /** Exactly {@code bytes / 10^6 × microHours / 10^6}. */
    public static BigDecimal mbHours(long bytes, long microHours) {
        return BigDecimal.valueOf(bytes).multiply(BigDecimal.valueOf(microHours)).movePointLeft(12);
    }
}
