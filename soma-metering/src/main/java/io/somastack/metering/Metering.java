package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Guard;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.models.UsageMeter;
import io.somastack.store.Database;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metering capability, assembled: the {@link PriceBook}, the {@link Ledger}, the
 * {@link Budgets}, the {@link UsageMeter} through which soma-models bills every model call, the
 * usage routes, and the budget sweeper. {@link #start()} runs the sweeper every
 * {@link #SWEEP_INTERVAL}: it settles, from the ledger, the reservations of calls whose node
 * died before settling ({@link Budgets#sweepExpired()}); {@link #close()} stops it. Thread-safe.
 *
 * <pre>{@code
 * Metering metering = Metering.create(config.metering(), database, clock, ids, meters).start();
 * MeteredModels models = new MeteredModels(router, metering.usageMeter(), commit, rateLimiter, meters, 4096);
 * web.routes.apiBuilder(metering.routes(guard));
 * }</pre>
 */
public final class Metering implements AutoCloseable {
    /** How often the sweeper looks for expired reservations. */
    public static final Duration SWEEP_INTERVAL = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(Metering.class);

    private final MeteringConfig config;
    private final PriceBook priceBook;
    private final Ledger ledger;
    private final Budgets budgets;
    private final LedgerUsageMeter usageMeter;
    private final Clock clock;
    private ScheduledExecutorService sweeper;

    private Metering(MeteringConfig config, PriceBook priceBook, Ledger ledger, Budgets budgets, Clock clock) {
        this.config = config;
        this.priceBook = priceBook;
        this.ledger = ledger;
        this.budgets = budgets;
        this.usageMeter = new LedgerUsageMeter(priceBook, budgets, ledger, clock);
        this.clock = clock;
    }

    /** Metering over {@code database}: the ledger writes in callers' transactions, budgets on its async-commit connections. */
    public static Metering create(MeteringConfig config, Database database, Clock clock, Ids ids, MeterRegistry meters) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        requireNonNull(clock, "clock is null");
        return new Metering(config, new PriceBook(config.prices()), new Ledger(database.jdbi(), clock, ids),
                new Budgets(database.asyncCommitDataSource(), clock, ids, config.reservationTtl(), meters), clock);
    }

    public MeteringConfig config() {
        return config;
    }

    public PriceBook priceBook() {
        return priceBook;
    }

    public Ledger ledger() {
        return ledger;
    }

    public Budgets budgets() {
        return budgets;
    }

    /** Where soma-models bills model calls. */
    public UsageMeter usageMeter() {
        return usageMeter;
    }

    /** The HTTP routes ({@code GET /v1/usage}), authorized by {@code guard}. */
    public UsageRoutes routes(Guard guard) {
        return new UsageRoutes(guard, ledger, clock);
    }

    /** Starts the budget sweeper. */
    public synchronized Metering start() {
        if (sweeper != null) {
            return this;
        }
        sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("budget-sweeper").daemon().factory());
        long seconds = SWEEP_INTERVAL.toSeconds();
        sweeper.scheduleWithFixedDelay(this::sweep, seconds, seconds, TimeUnit.SECONDS);
        return this;
    }

    /** Settles expired reservations now; returns how many. */
    public int sweep() {
        try {
            int released = budgets.sweepExpired();
            if (released > 0) {
                LOG.warn("Released {} budget reservations of calls that never settled", released);
            }
            return released;
        } catch (RuntimeException e) {
            LOG.warn("Budget sweep failed: {}", e.getMessage());
            return 0;
        }
    }

    /** Stops the budget sweeper. */
    @Override
    public synchronized void close() {
        if (sweeper != null) {
            sweeper.shutdownNow();
            sweeper = null;
        }
    }
}
