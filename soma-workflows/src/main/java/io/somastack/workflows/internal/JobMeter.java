package io.somastack.workflows.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Money;
import io.somastack.metering.Ledger;
import io.somastack.metering.SkuCatalog;
import io.somastack.metering.SkuPrice;
import io.somastack.metering.Skus;
import io.somastack.store.Tx;
import io.somastack.workflows.Team;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * Job-minutes: each node run's wall time and the job's own wall time as {@code job_minute}
 * ledger rows (request id {@code job:<id>}), priced at the SKU catalog's unit price of
 * {@code job_minute} in effect (free when the catalog has none). The quantity is the wall time in
 * milliseconds divided by 60 000, to 9 decimal places (half-even): a measurement, not money; the
 * cost is then {@link Money#timesQuantity}. Worst cases (for the reservation before a job starts)
 * count each node's timeout for every item and attempt. Thread-safe.
 */
public final class JobMeter {
    public static final String PROVIDER = "soma-workflows";
    private static final BigDecimal MILLIS_PER_MINUTE = BigDecimal.valueOf(60_000);

    private final Ledger ledger;
    private final SkuCatalog catalog;
    private final Jdbi jdbi;
    private final Clock clock;

    public JobMeter(Ledger ledger, SkuCatalog catalog, Jdbi jdbi, Clock clock) {
        this.ledger = requireNonNull(ledger, "ledger is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The price of one job-minute now. */
    public Money price() {
        SkuPrice price = catalog.inEffect(clock.now().atZone(ZoneOffset.UTC).toLocalDate().withDayOfMonth(1)).get(Skus.JOB_MINUTE);
        return price == null ? Money.ZERO : price.unitPrice().orElse(Money.ZERO);
    }

    public static BigDecimal minutes(Instant from, Instant to) {
        long millis = Math.max(0, Duration.between(from, to).toMillis());
        return BigDecimal.valueOf(millis).divide(MILLIS_PER_MINUTE, 9, RoundingMode.HALF_EVEN);
    }

    /** Writes {@code [from, to)} as job-minutes under {@code idempotencyKey} (once). */
    public Ledger.Entry record(Tx tx, JobStore.StoredJob job, String idempotencyKey, String model, Instant from, Instant to) {
        return ledger.recordQuantity(tx, job.tenant(), job.keyId(), "job:" + job.id(), idempotencyKey, model, PROVIDER, Skus.JOB_MINUTE,
                minutes(from, to), "minute", price());
    }

    /** What the node's runs were billed in job-minutes. */
    public Money nodeCost(JobStore.StoredJob job, String node) {
        return sum(job, "node:" + node);
    }

    /** What the job's own wall time was billed. */
    public Money cost(JobStore.StoredJob job) {
        return sum(job, "job");
    }

    private Money sum(JobStore.StoredJob job, String model) {
        BigDecimal cost = jdbi.withHandle(handle -> handle.createQuery("""
                SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE tenant_id = :tenant AND request_id = :request AND model = :model""")
                .bind("tenant", job.tenant().value()).bind("request", "job:" + job.id()).bind("model", model).mapTo(BigDecimal.class).one());
        return Money.of(cost);
    }

    /** The most a node may cost in job-minutes: its timeout, for every item and attempt. */
    public static Money nodeWorstCase(Team.Node node, int items, Money price) {
        if (node.approval()) {
            return Money.ZERO;
        }
        BigDecimal minutes = BigDecimal.valueOf((long) node.timeout() * items * node.attempts()).divide(BigDecimal.valueOf(60), 9,
                RoundingMode.UP);
        return price.timesQuantity(minutes);
    }

    /** The most the job's own wall time may cost: every node's timeout and attempts, one after another. */
    public static Money jobWorstCase(Team team, Map<String, Integer> items, Money price) {
        long seconds = team.nodes().stream().mapToLong(node -> (long) node.timeout() * node.attempts() * items.getOrDefault(node.id(), 1)).sum();
        return price.timesQuantity(BigDecimal.valueOf(seconds).divide(BigDecimal.valueOf(60), 9, RoundingMode.UP));
    }
}
