package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.ResponseEgress;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.metering.internal.LedgerRows;
import io.somastack.store.NotifiedCache;
import io.somastack.store.Notifications;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Writes usage of a catalog SKU that is not a model call ({@code job_minute}, {@code egress},
 * {@code capsule:<price_sku>} runs) into the ledger, in the caller's transaction, with its
 * {@code io.somastack.usage.recorded} billing event. The row is priced when written, by the
 * catalog version in effect at the row's time: a flat price costs {@code quantity × unit price}
 * (rounded once, by {@link Money#timesQuantity}); a tiered or volume price depends on the
 * period's total, so the row costs 0 and the period's close adds the difference as an
 * adjustment row. A SKU the catalog does not price costs 0. An idempotency key makes a repeated
 * write land once. An attribute {@code capsule} (a capsule's run) is also the row's capsule, so
 * usage by capsule counts it.
 *
 * <p>Made with {@link Notifications}, it caches the catalog versions it prices rows by
 * ({@link NotifiedCache}), so the group commit every gateway call waits for does not read the
 * catalog once per call. A trigger on {@code sku_prices} (migration V3_25) empties the cache on
 * every node when any version is added, and this node's catalog empties it at once; so a row is
 * priced by a version at most 1 s older than the catalog. That second moves no invoice: versions
 * are never edited and change only between whole periods, and the close prices each SKU's period
 * quantity from the catalog again (a difference becomes an adjustment row). Thread-safe.
 *
 * <pre>{@code
 * commit.execute(tx -> metering.skuMeter().record(tx, new SkuMeter.Usage(tenant, Skus.JOB_MINUTE,
 *         new BigDecimal("2.5"), "workflow:" + runId, Optional.of("job:" + jobId), Map.of("workflow", name))));
 * }</pre>
 */
public final class SkuMeter {
    private static final UUID NO_KEY = new UUID(0, 0);

    /** Longest a cached version is trusted without a notification; a backstop, not the freshness bound. */
    static final Duration PRICE_TTL = Duration.ofMinutes(1);
    private static final int MAX_PRICES = 10_000;

    private final Clock clock;
    private final Ids ids;
    private final Optional<Jdbi> jdbi;
    private final NotifiedCache<SkuPeriod, Optional<SkuPrice>> prices;

    /** A meter that reads the catalog for every row, in the row's transaction. */
    public SkuMeter(Clock clock, Ids ids) {
        this(clock, ids, Optional.empty(), NotifiedCache.none());
    }

    /** A meter that caches the catalog's versions, read on {@code jdbi} and kept fresh by {@code notifications}. */
    public SkuMeter(Clock clock, Ids ids, Jdbi jdbi, Notifications notifications) {
        this(clock, ids, Optional.of(jdbi),
                NotifiedCache.listening(notifications, SkuCatalog.CHANNEL, payload -> price -> true, PRICE_TTL, MAX_PRICES));
    }

    private SkuMeter(Clock clock, Ids ids, Optional<Jdbi> jdbi, NotifiedCache<SkuPeriod, Optional<SkuPrice>> prices) {
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.jdbi = jdbi;
        this.prices = prices;
    }

    private record SkuPeriod(String sku, LocalDate period) {
    }

    /**
     * One use of {@code sku}: {@code quantity} in the SKU's unit ({@link Skus#unit}), for
     * {@code requestId}; {@code attributes} go into the billing event (strings or numbers).
     */
    public record Usage(TenantId tenant, UUID keyId, String sku, BigDecimal quantity, String requestId, Optional<String> idempotencyKey,
            Map<String, Object> attributes) {
        /** Usage that no API key of the tenant caused (a job, a capsule's charge): key id all zeros. */
        public Usage(TenantId tenant, String sku, BigDecimal quantity, String requestId, Optional<String> idempotencyKey,
                Map<String, Object> attributes) {
            this(tenant, NO_KEY, sku, quantity, requestId, idempotencyKey, attributes);
        }

        public Usage {
            requireNonNull(tenant, "tenant is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(sku, "sku is null");
            requireNonNull(quantity, "quantity is null");
            requireNonNull(requestId, "requestId is null");
            requireNonNull(idempotencyKey, "idempotencyKey is null");
            attributes = Map.copyOf(attributes);
            if (Skus.unit(sku).isEmpty() || sku.startsWith("tokens.") || sku.startsWith(Skus.PLATFORM_FEE)) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "%s is not a SKU metered by usage".formatted(sku));
            }
            if (quantity.signum() < 0) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "The quantity of %s must not be negative".formatted(sku));
            }
        }
    }

    /** Writes {@code usage} at the clock's time; the existing entry for a repeated idempotency key. */
    public Ledger.Entry record(Tx tx, Usage usage) {
        Instant now = clock.now();
        Priced priced = price(usage, now, inEffect(tx, usage.sku(), Ledger.period(now)));
        int inserted = tx.handle().createUpdate("""
                INSERT INTO usage_ledger (id, tenant_id, key_id, request_id, idempotency_key, model, provider, upstream_model,
                    input_tokens, output_tokens, estimated, input_per_million, output_per_million, cost, period, created_at,
                    meter, quantity, unit, sku, capsule)
                VALUES (:id, :tenant, :key, :request, :idempotency, :sku, 'soma-metering', :sku, 0, 0, false, 0, 0, :cost, :period, :at,
                    :meter, :quantity, :unit, :sku, :capsule)
                ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING""")
                .bind("id", priced.id()).bind("tenant", usage.tenant().value()).bind("key", usage.keyId()).bind("request", usage.requestId())
                .bind("idempotency", usage.idempotencyKey().orElse(null)).bind("sku", usage.sku()).bind("cost", priced.cost().amount())
                .bind("period", priced.period()).bind("at", Timestamp.from(priced.at())).bind("meter", priced.meter())
                .bind("quantity", usage.quantity()).bind("unit", priced.unit()).bind("capsule", capsule(usage)).execute();
        if (inserted == 0) {
            return tx.handle().createQuery("SELECT id, cost FROM usage_ledger WHERE tenant_id = :tenant AND idempotency_key = :key")
                    .bind("tenant", usage.tenant().value()).bind("key", usage.idempotencyKey().orElseThrow())
                    .map((rs, ctx) -> new Ledger.Entry((UUID) rs.getObject("id"), Money.of(rs.getBigDecimal("cost")), false)).one();
        }
        return published(tx, usage, priced);
    }

    /**
     * Writes the body bytes of one response to a tenant's client (soma-gateway's {@link ResponseEgress}) as an {@code egress}
     * row: quantity in GB (10^9 bytes, exact), idempotency key {@code egress:<link>} (the call's ledger id or
     * {@code run:<id>}), so a retried request answered for the same call is metered once. When the link is a model call
     * written in this same transaction (a buffered answer metered with its call), the row joins the call's statement
     * ({@link LedgerRows}): its key cannot have been used before, since the call's id is new.
     */
    public Ledger.Entry recordResponseEgress(Tx tx, ResponseEgress.Egress egress) {
        Usage usage = new Usage(egress.tenant(), egress.keyId(), Skus.EGRESS, BigDecimal.valueOf(egress.bytes()).movePointLeft(9),
                egress.requestId(), Optional.of("egress:" + egress.link()),
                Map.of("bytes", egress.bytes(), "linked_to", egress.link(), "direction", "client"));
        LedgerRows rows = LedgerRows.of(tx);
        if (!rows.holds(egress.link())) {
            return record(tx, usage);
        }
        Instant now = clock.now();
        LocalDate period = Ledger.period(now);
        Priced priced = price(usage, now, rows.once(usage.sku() + "@" + period, () -> inEffect(tx, usage.sku(), period)));
        rows.add(LedgerRows.Row.metered(priced.id(), usage.tenant().value(), usage.keyId(), usage.requestId(),
                usage.idempotencyKey().orElseThrow(), usage.sku(), priced.meter(), usage.quantity(), priced.unit(), priced.cost().amount(),
                capsule(usage), priced.at(), priced.period()));
        return published(tx, usage, priced);
    }

    /** Drops the cached catalog versions (this node's catalog added one; other nodes hear it from PostgreSQL). */
    public void forgetPrices() {
        prices.clear();
    }

    /**
     * The catalog's version of {@code sku} in effect in {@code period}: cached, else read in {@code tx}. What {@code tx}
     * reads is never cached (a group's transaction may hold another unit's uncommitted price, and roll back): the cache is
     * filled in the background, from the committed catalog, on a connection of its own.
     */
    private Optional<SkuPrice> inEffect(Tx tx, String sku, LocalDate period) {
        SkuPeriod key = new SkuPeriod(sku, period);
        Optional<Optional<SkuPrice>> cached = prices.cached(key);
        if (cached.isPresent()) {
            return cached.get();
        }
        jdbi.ifPresent(committed -> prices.fillInBackground(key, () -> committed.withHandle(handle -> SkuCatalog.inEffect(handle, sku, period))));
        return SkuCatalog.inEffect(tx.handle(), sku, period);
    }

    /** A row about to be written: its id, time, period, meter, unit and cost under the catalog's {@code price}. */
    private record Priced(UUID id, Instant at, LocalDate period, String meter, String unit, Money cost) {
    }

    private Priced price(Usage usage, Instant now, Optional<SkuPrice> price) {
        Money cost = price.filter(version -> version.pricing() == SkuPrice.Pricing.FLAT)
                .map(version -> version.amount(usage.quantity())).orElse(Money.ZERO);
        // A capsule SKU is per run or per month, as its price says.
        String unit = price.map(SkuPrice::unit).orElseGet(() -> Skus.unit(usage.sku()).orElseThrow());
        return new Priced(ids.next(), now, Ledger.period(now), meter(usage.sku()), unit, cost);
    }

    private static String capsule(Usage usage) {
        return usage.attributes().get("capsule") instanceof String capsule ? capsule : null;
    }

    /** The row's billing event, in the row's transaction; the row's entry. */
    private static Ledger.Entry published(Tx tx, Usage usage, Priced priced) {
        Map<String, Object> data = new LinkedHashMap<>(usage.attributes());
        data.put("sku", usage.sku());
        data.put("meter", priced.meter());
        data.put("unit", priced.unit());
        data.put("quantity", usage.quantity().toPlainString());
        data.put("cost", priced.cost().toPlainString());
        data.put("request_id", usage.requestId());
        tx.publish(new OutboxEvent(Reconciliation.BILLING_EVENT, priced.id().toString(), Optional.of(usage.tenant()), data));
        return new Ledger.Entry(priced.id(), priced.cost(), true);
    }

    /** The ledger meter of {@code sku}: its family ({@code job_minute}, {@code egress}, {@code capsule}, {@code tool_call}, ...). */
    static String meter(String sku) {
        int colon = sku.indexOf(':');
        return colon < 0 ? sku : sku.substring(0, colon);
    }
}
