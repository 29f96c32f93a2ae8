package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Guard;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.policy.Constitution;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The marketplace capability, assembled: the {@link Catalog}, {@link Installs},
 * {@link RunRecords} and the routes. {@link #start()} refreshes the rankings on a timer.
 *
 * <pre>{@code
 * Marketplace marketplace = Marketplace.create(config.marketplace(), database, commit, constitution, clock, ids).start();
 * edge.acceptUploads(MarketplaceRoutes.PUBLISH);
 * web.routes.apiBuilder(marketplace.routes(guard));
 * }</pre>
 */
public final class Marketplace implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Marketplace.class);

    private final MarketplaceConfig config;
    private final Catalog catalog;
    private final Installs installs;
    private final RunRecords runs;
    private ScheduledExecutorService timer;

    private Marketplace(MarketplaceConfig config, Catalog catalog, Installs installs, RunRecords runs) {
        this.config = config;
        this.catalog = catalog;
        this.installs = installs;
        this.runs = runs;
    }

    public static Marketplace create(MarketplaceConfig config, Database database, GroupCommit commit, Constitution constitution, Clock clock,
            Ids ids) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        Catalog catalog = new Catalog(database.jdbi(), commit, constitution.engine(), constitution.trustedKeys(),
                CounterSigner.load(database.jdbi(), clock), clock);
        Installs installs = new Installs(database.jdbi(), commit, catalog, constitution.engine(), constitution.trustedKeys(), clock);
        RunRecords runs = new RunRecords(database.jdbi(), installs, clock, ids, config.rankingWindow());
        return new Marketplace(config, catalog, installs, runs);
    }

    /** Starts the ranking refresh timer. */
    public Marketplace start() {
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("marketplace-ranking").daemon().factory());
        long period = config.rankingRefresh().toMillis();
        timer.scheduleWithFixedDelay(() -> {
            try {
                runs.refresh();
            } catch (RuntimeException e) {
                LOG.warn("Refreshing the marketplace ranking failed: {}", e.getMessage());
            }
        }, period, period, TimeUnit.MILLISECONDS);
        return this;
    }

    public Catalog catalog() {
        return catalog;
    }

    public Installs installs() {
        return installs;
    }

    public RunRecords runs() {
        return runs;
    }

    /** The HTTP routes, authorized by {@code guard}. */
    public MarketplaceRoutes routes(Guard guard) {
        return new MarketplaceRoutes(guard, this);
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
