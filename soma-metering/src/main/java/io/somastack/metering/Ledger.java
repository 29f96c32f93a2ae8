package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.metering.internal.LedgerRows;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * The usage ledger: one row per billed model call, written with its outbox event in the
 * caller's transaction. An idempotency key makes a retried call land once: the second
 * write returns the first entry. Thread-safe.
 */
public final class Ledger {
    private final Jdbi jdbi;
    private final Clock clock;
    private final Ids ids;

    public Ledger(Jdbi jdbi, Clock clock, Ids ids) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /**
     * Writes {@code usage}, settling reservation {@code reservationId}; returns its entry (the
     * existing one for a repeated idempotency key). In a transaction shared by a group of units,
     * the row is written with the group's other model calls in one statement just before the group
     * commits ({@link LedgerRows}), and the entry says {@code created}: if the key turns out to be
     * used already, that statement fails the group, which is retried in smaller groups down to
     * this unit alone, where the row is written at once and a repeated key answers the first entry.
     * So a committed answer is always exact. A row without an idempotency key is deferred in a unit
     * alone as well (it cannot conflict).
     */
    public Entry record(Tx tx, UsageRecord usage, UUID reservationId) {
        Instant now = clock.now();
        LedgerRows.Row row = LedgerRows.Row.call(ids.next(), usage, reservationId, now, period(now));
        // A row without an idempotency key cannot repeat one, so a unit alone defers it too: its answer's egress row
        // (SkuMeter.recordResponseEgress) then joins the same statement, one trigger run instead of two.
        if (tx.shared() || usage.idempotencyKey().isEmpty()) {
            LedgerRows.of(tx).add(row);
        } else if (LedgerRows.insert(tx.handle().getConnection(), List.of(row)).isEmpty()) {
            return tx.handle().createQuery("SELECT id FROM usage_ledger WHERE tenant_id = :tenant AND idempotency_key = :key")
                    .bind("tenant", usage.tenantId().value()).bind("key", usage.idempotencyKey().orElseThrow())
                    .map((rs, ctx) -> new Entry((UUID) rs.getObject("id"), usage.cost(), false)).one();
        }
        Money cost = usage.cost();
        tx.publish(new OutboxEvent("io.somastack.usage.recorded", row.id().toString(), Optional.of(usage.tenantId()), Map.of(
                "model", usage.model(), "provider", usage.provider(), "input_tokens", usage.inputTokens(),
                "output_tokens", usage.outputTokens(), "estimated", usage.estimated(), "cost", cost.toPlainString(),
                "request_id", usage.requestId(), "key_id", usage.keyId().toString())));
        return new Entry(row.id(), cost, true);
    }

    /** The model name under which stored memory appears in the ledger and in usage reports. */
    public static final String MEMORY_STORAGE = "memory-storage";
    private static final UUID NO_KEY = new UUID(0, 0);

    /**
     * Writes one sample of stored memory: {@code bytes} held over {@code [from, to)}, worth
     * {@code mbHours}, at {@code pricePerMbHour} (cost rounded once by {@link Money#timesQuantity}).
     * The row has meter {@code memory.storage}, unit {@code MB-hour}, no key and no tokens; its
     * idempotency key names the interval, so a sample written twice lands once.
     */
    public Entry recordStorage(Tx tx, TenantId tenant, long bytes, Instant from, Instant to, BigDecimal mbHours, Money pricePerMbHour) {
        Money cost = pricePerMbHour.timesQuantity(mbHours);
        UUID id = ids.next();
        String idempotencyKey = "memory-storage:" + from + "/" + to;
        int inserted = tx.handle().createUpdate("""
                INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                    input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at,
                    meter, quantity, unit)
                VALUES (:id, :tenant, :key, :request, :idempotency, :model, 'soma-memory', :model, 0, 0, false, 0, 0, :cost, :period, :at,
                    'memory.storage', :quantity, 'MB-hour')
                ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING""")
                .bind("id", id).bind("tenant", tenant.value()).bind("key", NO_KEY).bind("request", "storage-meter")
                .bind("idempotency", idempotencyKey).bind("model", MEMORY_STORAGE).bind("cost", cost.amount())
                .bind("period", period(to)).bind("at", Timestamp.from(to)).bind("quantity", mbHours).execute();
        if (inserted == 1) {
            tx.publish(new OutboxEvent("io.somastack.usage.recorded", id.toString(), Optional.of(tenant), Map.of(
                    "model", MEMORY_STORAGE, "meter", "memory.storage", "unit", "MB-hour", "quantity", mbHours.toPlainString(),
                    "bytes", bytes, "from", from.toString(), "to", to.toString(), "cost", cost.toPlainString())));
        }
        return new Entry(id, cost, inserted == 1);
    }

    /**
     * Writes a metered quantity other than tokens (a job's or a workflow node's wall time in
     * {@code job_minute}): {@code quantity} {@code unit}s at {@code unitPrice} (cost rounded once by
     * {@link Money#timesQuantity}), under {@code idempotencyKey}, so the same measurement written
     * twice (a retried step, a restarted node) lands once.
     */
    public Entry recordQuantity(Tx tx, TenantId tenant, UUID keyId, String requestId, String idempotencyKey, String model, String provider,
            String meter, BigDecimal quantity, String unit, Money unitPrice) {
        Instant now = clock.now();
        Money cost = unitPrice.timesQuantity(quantity);
        UUID id = ids.next();
        int inserted = tx.handle().createUpdate("""
                INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                    input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at,
                    meter, quantity, unit)
                VALUES (:id, :tenant, :key, :request, :idempotency, :model, :provider, :model, 0, 0, false, 0, 0, :cost, :period, :at,
                    :meter, :quantity, :unit)
                ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING""")
                .bind("id", id).bind("tenant", tenant.value()).bind("key", keyId).bind("request", requestId)
                .bind("idempotency", idempotencyKey).bind("model", model).bind("provider", provider).bind("cost", cost.amount())
                .bind("period", period(now)).bind("at", Timestamp.from(now)).bind("meter", meter).bind("quantity", quantity)
                .bind("unit", unit).execute();
        if (inserted == 1) {
            tx.publish(new OutboxEvent("io.somastack.usage.recorded", id.toString(), Optional.of(tenant), Map.of(
                    "model", model, "provider", provider, "meter", meter, "unit", unit, "quantity", quantity.toPlainString(),
                    "cost", cost.toPlainString(), "request_id", requestId, "key_id", keyId.toString())));
            return new Entry(id, cost, true);
        }
        return find(tenant, idempotencyKey).orElseThrow();
    }

    /** The provider under which tool calls appear in the ledger. */
    public static final String TOOLS_PROVIDER = "soma-tools";

    /**
     * Writes one tool call: meter {@code tool_call}, quantity 1, unit {@code call}, model
     * {@code tool:<capsule>/<tool>} (so usage reports group calls by tool), capsule {@code capsule}, upstream model the
     * executor kind, at {@code perCall}, settling reservation {@code reservationId}. The
     * outbox event carries the call's duration and outcome. Every call is a new row.
     */
    public Entry recordToolCall(Tx tx, TenantId tenant, UUID keyId, String requestId, String capsule, String tool, String executor,
            java.time.Duration duration, String outcome, Money perCall, UUID reservationId) {
        Instant now = clock.now();
        UUID id = ids.next();
        String model = "tool:" + capsule + "/" + tool;
        tx.handle().createUpdate("""
                INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                    input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at,
                    reservation_id, meter, quantity, unit, capsule)
                VALUES (:id, :tenant, :key, :request, NULL, :model, :provider, :executor, 0, 0, false, 0, 0, :cost, :period, :at,
                    :reservation, 'tool_call', 1, 'call', :capsule)""")
                .bind("id", id).bind("tenant", tenant.value()).bind("key", keyId).bind("request", requestId).bind("model", model)
                .bind("provider", TOOLS_PROVIDER).bind("executor", executor).bind("cost", perCall.amount()).bind("period", period(now))
                .bind("at", Timestamp.from(now)).bind("reservation", reservationId).bind("capsule", capsule).execute();
        tx.publish(new OutboxEvent("io.somastack.usage.recorded", id.toString(), Optional.of(tenant), Map.of(
                "model", model, "provider", TOOLS_PROVIDER, "meter", "tool_call", "unit", "call", "quantity", "1",
                "executor", executor, "duration_ms", duration.toMillis(), "outcome", outcome, "cost", perCall.toPlainString(),
                "request_id", requestId)));
        return new Entry(id, perCall, true);
    }

    /**
     * Writes a charge that a period's close adds: a platform fee or the difference between what
     * the catalog prices a SKU's period quantity at and what its rows cost at call time. Booked at
     * the period's last microsecond, under idempotency key {@code invoice:<period>:<sku>}, so the
     * close can run again and the row still lands once.
     */
    public Entry recordCharge(Tx tx, TenantId tenant, LocalDate period, String sku, String meter, BigDecimal quantity, String unit,
            Money cost) {
        UUID id = ids.next();
        Instant at = period.plusMonths(1).atStartOfDay(ZoneOffset.UTC).toInstant().minusNanos(1000);
        int inserted = tx.handle().createUpdate("""
                INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                    input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at,
                    meter, quantity, unit, sku)
                VALUES (:id, :tenant, :key, 'invoice-close', :idempotency, :sku, 'soma-metering', :sku, 0, 0, false, 0, 0, :cost, :period,
                    :at, :meter, :quantity, :unit, :sku)
                ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING""")
                .bind("id", id).bind("tenant", tenant.value()).bind("key", NO_KEY).bind("idempotency", "invoice:" + period + ":" + sku)
                .bind("sku", sku).bind("cost", cost.amount()).bind("period", period).bind("at", Timestamp.from(at)).bind("meter", meter)
                .bind("quantity", quantity).bind("unit", unit).execute();
        if (inserted == 1) {
            tx.publish(new OutboxEvent("io.somastack.usage.recorded", id.toString(), Optional.of(tenant), Map.of(
                    "model", sku, "sku", sku, "meter", meter, "unit", unit, "quantity", quantity.toPlainString(),
                    "cost", cost.toPlainString(), "period", period.toString())));
        }
        return new Entry(id, cost, inserted == 1);
    }

    /**
     * Adds {@code bytes} of egress to the ledger row {@code ledgerId} of {@code tenant}, in the
     * transaction that wrote it: what the call sent out on the tenant's behalf (see the README for
     * what counts). The row's cost does not change; the period's close prices the sum as the
     * {@code egress} SKU.
     */
    public void recordEgress(Tx tx, TenantId tenant, UUID ledgerId, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("egress bytes must not be negative: " + bytes);
        }
        tx.handle().createUpdate("""
                UPDATE usage_ledger SET egress_bytes = coalesce(egress_bytes, 0) + :bytes WHERE id = :id AND tenant_id = :tenant""")
                .bind("bytes", bytes).bind("id", ledgerId).bind("tenant", tenant.value()).execute();
    }

    /** The entry written under {@code idempotencyKey} for {@code tenant}, if any (for replayed answers). */
    public Optional<Entry> find(TenantId tenant, String idempotencyKey) {
        return jdbi.withHandle(handle -> handle.createQuery(
                "SELECT id, cost FROM usage_ledger WHERE tenant_id = :tenant AND idempotency_key = :key")
                .bind("tenant", tenant.value()).bind("key", idempotencyKey)
                .map((rs, ctx) -> new Entry((UUID) rs.getObject("id"), Money.of(rs.getBigDecimal("cost")), false)).findOne());
    }

    /**
     * Sums of the tenant's usage in {@code [from, to)}, grouped by model, key, day (UTC) or capsule
     * (rows made for no capsule are the group {@code null}, last). Computed by PostgreSQL over
     * NUMERIC, so they equal the ledger rows exactly.
     */
    public List<UsageSum> summarize(TenantId tenant, Instant from, Instant to, GroupBy groupBy) {
        String group = switch (groupBy) {
            case MODEL -> "model";
            case KEY -> "key_id::text";
            case DAY -> "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
            case CAPSULE -> "capsule";
        };
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT %s AS grp, count(*) FILTER (WHERE meter <> 'egress') AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost,
                       bool_or(estimated) AS estimated
                FROM usage_ledger WHERE tenant_id = :tenant AND created_at >= :from AND created_at < :to
                GROUP BY grp ORDER BY grp""".formatted(group))
                .bind("tenant", tenant.value()).bind("from", Timestamp.from(from)).bind("to", Timestamp.from(to))
                .map((rs, ctx) -> new UsageSum(rs.getString("grp"), rs.getLong("calls"), rs.getLong("input"), rs.getLong("output"),
                        Money.of(rs.getBigDecimal("cost")), rs.getBoolean("estimated")))
                .list());
    }

    static LocalDate period(Instant at) {
        return at.atZone(ZoneOffset.UTC).toLocalDate().withDayOfMonth(1);
    }

    /** How usage is grouped by {@link #summarize}. */
    public enum GroupBy {
        MODEL, KEY, DAY, CAPSULE;

        public static GroupBy parse(String text) {
            for (GroupBy value : values()) {
                if (value.name().equalsIgnoreCase(text)) {
                    return value;
                }
            }
            throw new SomaException(ErrorCode.INVALID_REQUEST, "group_by must be model, key, day or capsule, not '%s'".formatted(text));
        }
    }

    /** A written ledger entry; {@code created} is false when an idempotent retry found the first one. */
    public record Entry(UUID id, Money cost, boolean created) {
    }

    /** One group of {@link #summarize}; {@code group} is null for the usage of no capsule when grouped by capsule. */
    public record UsageSum(String group, long calls, long inputTokens, long outputTokens, Money cost, boolean anyEstimated) {
    }
}
