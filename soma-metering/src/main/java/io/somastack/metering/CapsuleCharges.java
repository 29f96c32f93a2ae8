package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Map;
import java.util.Optional;

/**
 * Charges for marketplace capsules: a capsule whose manifest names a {@code price_sku} is billed
 * under SKU {@code capsule:<price_sku>}, per run or per month as the catalog's version in effect
 * says. A per-run price writes one ledger row per run; a per-month price writes one row per tenant
 * and calendar month, at the month's first run (later runs of the month point at it). Every run is
 * recorded in {@code capsule_charges} with its publisher, in the caller's transaction, with an
 * {@code io.somastack.billing.capsule.run} event; {@link PublisherStatements} reads the other side.
 * An unpriced {@code price_sku} costs 0 and the run is still recorded. Thread-safe.
 *
 * <pre>{@code
 * commit.execute(tx -> charges.recordRun(tx, tenant, "weather", "acme", "weather-pro", runId.toString()));
 * }</pre>
 */
public final class CapsuleCharges {
    private final SkuMeter meter;
    private final Clock clock;
    private final Ids ids;

    public CapsuleCharges(SkuMeter meter, Clock clock, Ids ids) {
        this.meter = requireNonNull(meter, "meter is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** What one run cost: the ledger row that charges it, and whether this run wrote it. */
    public record Charge(String sku, Ledger.Entry entry, boolean charged) {
    }

    /** Records a completed run {@code runId} of {@code capsule} (published by {@code publisher}) for {@code tenant}. */
    public Charge recordRun(Tx tx, TenantId tenant, String capsule, String publisher, String priceSku, String runId) {
        String sku = Skus.CAPSULE + priceSku;
        if (Skus.unit(sku).isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "price_sku '%s' of capsule %s is not a SKU name".formatted(priceSku, capsule));
        }
        Instant now = clock.now();
        LocalDate period = Ledger.period(now);
        boolean monthly = SkuCatalog.inEffect(tx.handle(), sku, period).map(price -> price.unit().equals("month")).orElse(false);
        String key = monthly ? "capsule-month:%s:%s".formatted(sku, period) : "capsule-run:" + runId;
        Ledger.Entry entry = meter.record(tx, new SkuMeter.Usage(tenant, sku, BigDecimal.ONE, "capsule-run:" + runId, Optional.of(key),
                Map.of("capsule", capsule, "publisher", publisher, "run_id", runId)));
        tx.handle().createUpdate("""
                INSERT INTO capsule_charges (id, tenant_id, run_id, capsule, publisher, sku, ledger_id, charged, period, created_at)
                VALUES (:id, :tenant, :run, :capsule, :publisher, :sku, :ledger, :charged, :period, :at)
                ON CONFLICT (tenant_id, run_id) DO NOTHING""")
                .bind("id", ids.next()).bind("tenant", tenant.value()).bind("run", runId).bind("capsule", capsule)
                .bind("publisher", publisher).bind("sku", sku).bind("ledger", entry.id()).bind("charged", entry.created())
                .bind("period", period).bind("at", Timestamp.from(now)).execute();
        tx.publish(new OutboxEvent("io.somastack.billing.capsule.run", runId, Optional.of(tenant), Map.of("capsule", capsule,
                "publisher", publisher, "sku", sku, "ledger_id", entry.id().toString(), "charged", entry.created(),
                "cost", entry.cost().toPlainString())));
        return new Charge(sku, entry, entry.created());
    }
}
