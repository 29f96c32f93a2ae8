package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.javalin.apibuilder.EndpointGroup;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.models.UsageMeter;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metering capability, assembled: the {@link PriceBook}, the {@link Ledger}, the
 * {@link Budgets}, this node's {@link BudgetLeases} (unless {@code budgets.leases.enabled} is
 * false), the {@link UsageMeter} through which soma-models bills every model call, the
 * usage routes, and the budget sweeper; with a {@link BillingConfig}, also the billing side: the
 * {@link SkuCatalog} (seeded from {@code billing.skus}), {@link Invoicing}, {@link Credits},
 * {@link Reconciliation}, the {@link SkuMeter} other modules write SKU usage through,
 * {@link CapsuleCharges} and {@link PublisherStatements}, their routes, and the scheduled period close. {@link #start()} runs the sweeper every
 * {@link #SWEEP_INTERVAL}: it settles, from the ledger, the reservations of calls whose node
 * died before settling ({@link Budgets#sweepExpired()}) and the expired leases of any node
 * ({@link BudgetLeases#reclaimExpired()}); every second it renews and returns this node's leases
 * ({@link BudgetLeases#maintain()}); and the {@link InvoiceScheduler} when
 * {@code invoices.scheduled-close} is on; {@link #close()} stops them and returns this node's leases. Thread-safe.
 *
 * <pre>{@code
 * Metering metering = Metering.create(config.metering(), config.billing(), database, commit, tenants, clock, ids, meters).start();
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
    private final Optional<BudgetLeases> leases;
    private final LedgerUsageMeter usageMeter;
    private final Clock clock;
    private final Optional<Billing> billing;
    private ScheduledExecutorService sweeper;
    private InvoiceScheduler scheduler;

    private Metering(MeteringConfig config, PriceBook priceBook, Ledger ledger, Database database, Clock clock, Ids ids, MeterRegistry meters,
            Optional<Billing> billing) {
        this.config = config;
        this.priceBook = priceBook;
        this.ledger = ledger;
        this.budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, config.reservationTtl(), meters);
        // This node's identity on its budget leases: a random UUID per process start (a restarted node is a new node; the
        // leases of its previous run expire and a sweeper settles them from the ledger).
        this.leases = config.leases().enabled()
                ? Optional.of(new BudgetLeases(database.asyncCommitDataSource(), clock, ids, UUID.randomUUID(), config.leases(), meters))
                : Optional.empty();
        this.usageMeter = new LedgerUsageMeter(priceBook, budgets, leases, ledger, clock);
        this.clock = clock;
        this.billing = billing;
    }

    /**
     * Usage metering only (no catalog, invoices or credits) over {@code database}: the ledger
     * writes in callers' transactions, budgets on its async-commit connections.
     */
    public static Metering create(MeteringConfig config, Database database, Clock clock, Ids ids, MeterRegistry meters) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        requireNonNull(clock, "clock is null");
        return new Metering(config, new PriceBook(config.prices()), new Ledger(database.jdbi(), clock, ids), database, clock, ids, meters,
                Optional.empty());
    }

    /**
     * Metering with billing: the catalog is seeded from {@code billing.skus} here, invoices close
     * through {@code commit}, one per tenant of {@code tenants}, and {@link #start()} schedules
     * the period close when {@code billing.scheduledClose()}.
     */
    public static Metering create(MeteringConfig config, BillingConfig billing, Database database, GroupCommit commit, Tenants tenants,
            Clock clock, Ids ids, MeterRegistry meters) {
        requireNonNull(config, "config is null");
        requireNonNull(billing, "billing is null");
        requireNonNull(database, "database is null");
        requireNonNull(commit, "commit is null");
        requireNonNull(tenants, "tenants is null");
        requireNonNull(clock, "clock is null");
        requireNonNull(meters, "meters is null");
        Ledger ledger = new Ledger(database.jdbi(), clock, ids);
        SkuMeter skuMeter = new SkuMeter(clock, ids, database.jdbi(), database.notifications());
        SkuCatalog catalog = new SkuCatalog(database.jdbi(), commit, clock, ids, billing.currency(), skuMeter::forgetPrices);
        catalog.seed(billing.skus());
        Credits credits = new Credits(database.jdbi(), commit, tenants, clock, ids, billing.currency());
        Invoicing invoicing = new Invoicing(database.jdbi(), commit, ledger, catalog, tenants, billing, clock, ids, credits);
        Reconciliation reconciliation = new Reconciliation(database.jdbi());
        // The gauge shows the differences the last reconciliation found.
        meters.gauge("soma.billing.reconciliation.differences", reconciliation, Reconciliation::lastDifferences);
        UsageExport export = new UsageExport(database.jdbi(), billing.exports(), name -> Optional.ofNullable(System.getenv(name)),
                Duration.ofMillis(200));
        // The continuous exporters configured (billing.export.<target>.continuous), started by start().
        List<ContinuousExport> exporters = Arrays.stream(UsageExport.Target.values())
                .flatMap(target -> billing.exports().every(target).stream()
                        .map(interval -> new ContinuousExport(database.jdbi(), export, target, interval, clock, meters)))
                .toList();
        Billing parts = new Billing(billing, database, catalog, credits, invoicing, reconciliation, skuMeter,
                new CapsuleCharges(skuMeter, clock, ids), new PublisherStatements(database.jdbi()), export, exporters);
        return new Metering(config, new PriceBook(config.prices()), ledger, database, clock, ids, meters, Optional.of(parts));
    }

    /** The billing side, present when made with a {@link BillingConfig}. */
    private record Billing(BillingConfig config, Database database, SkuCatalog catalog, Credits credits, Invoicing invoicing,
            Reconciliation reconciliation, SkuMeter skuMeter, CapsuleCharges capsuleCharges, PublisherStatements statements, UsageExport export,
            List<ContinuousExport> exporters) {
    }

    private Billing billing() {
        return billing.orElseThrow(() -> new IllegalStateException("Metering was made without a BillingConfig"));
    }

    /** The SKU catalog (made with a {@link BillingConfig} only). */
    public SkuCatalog catalog() {
        return billing().catalog();
    }

    /** Invoices (made with a {@link BillingConfig} only). */
    public Invoicing invoicing() {
        return billing().invoicing();
    }

    /** Credits granted to tenants (made with a {@link BillingConfig} only). */
    public Credits credits() {
        return billing().credits();
    }

    /** Ledger rows against their billing events (made with a {@link BillingConfig} only). */
    public Reconciliation reconciliation() {
        return billing().reconciliation();
    }

    /** Where soma-agents charges runs of priced marketplace capsules (made with a {@link BillingConfig} only). */
    public CapsuleCharges capsuleCharges() {
        return billing().capsuleCharges();
    }

    /** Publishers' statements (made with a {@link BillingConfig} only). */
    public PublisherStatements publisherStatements() {
        return billing().statements();
    }

    /** The continuous exporters configured, started by {@link #start()}. */
    public List<ContinuousExport> continuousExports() {
        return billing().exporters();
    }

    /** Usage export to OpenMeter and Lago (made with a {@link BillingConfig} only). */
    public UsageExport usageExport() {
        return billing().export();
    }

    /** Where other modules write SKU usage (job minutes, egress, capsule runs), priced at the row's time (made with a {@link BillingConfig} only). */
    public SkuMeter skuMeter() {
        return billing().skuMeter();
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

    /** This node's budget leases, unless {@code budgets.leases.enabled} is false. */
    public Optional<BudgetLeases> leases() {
        return leases;
    }

    /** Where soma-models bills model calls. */
    public UsageMeter usageMeter() {
        return usageMeter;
    }

    /**
     * The HTTP routes, authorized by {@code guard}: {@code GET /v1/usage}, and with billing the
     * price, invoice, credit and reconciliation routes.
     */
    public EndpointGroup routes(Guard guard) {
        UsageRoutes usage = new UsageRoutes(guard, ledger, clock);
        if (billing.isEmpty()) {
            return usage;
        }
        Billing parts = billing.get();
        return () -> {
            usage.addEndpoints();
            new PriceRoutes(guard, parts.catalog(), parts.database().jdbi()).addEndpoints();
            new InvoiceRoutes(guard, parts.invoicing()).addEndpoints();
            new CreditRoutes(guard, parts.credits(), parts.database().jdbi()).addEndpoints();
            new ReconciliationRoutes(guard, parts.reconciliation()).addEndpoints();
            new PublisherRoutes(guard, parts.statements(), parts.config().currency()).addEndpoints();
            new ExportRoutes(guard, parts.export()).addEndpoints();
        };
    }

    /** Starts the budget sweeper, and the scheduled period close when billing has it on. */
    public synchronized Metering start() {
        if (sweeper != null) {
            return this;
        }
        sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("budget-sweeper").daemon().factory());
        long seconds = SWEEP_INTERVAL.toSeconds();
        sweeper.scheduleWithFixedDelay(this::sweep, seconds, seconds, TimeUnit.SECONDS);
        leases.ifPresent(owned -> sweeper.scheduleWithFixedDelay(() -> maintain(owned), 1, 1, TimeUnit.SECONDS));
        billing.filter(parts -> parts.config().scheduledClose()).ifPresent(parts -> scheduler = new InvoiceScheduler(parts.invoicing(),
                clock, parts.config().closeDelay(), parts.config().closeCheckInterval()).start());
        billing.ifPresent(parts -> parts.exporters().forEach(ContinuousExport::start));
        return this;
    }

    /** Settles expired reservations and budget leases (of any node) now; returns how many. */
    public int sweep() {
        try {
            int released = budgets.sweepExpired();
            if (released > 0) {
                LOG.warn("Released {} budget reservations of calls that never settled", released);
            }
            int reclaimed = leases.map(BudgetLeases::reclaimExpired).orElse(0);
            if (reclaimed > 0) {
                LOG.warn("Settled {} expired budget leases of nodes that stopped renewing them", reclaimed);
            }
            return released + reclaimed;
        } catch (RuntimeException e) {
            LOG.warn("Budget sweep failed: {}", e.getMessage());
            return 0;
        }
    }

    private static void maintain(BudgetLeases leases) {
        try {
            leases.maintain();
        } catch (RuntimeException e) {
            LOG.warn("Renewing budget leases failed: {}", e.getMessage());
        }
    }

    /** Stops the period close and the budget sweeper, and closes the export's HTTP client. */
    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.close();
            scheduler = null;
        }
        billing.ifPresent(parts -> {
            parts.exporters().forEach(ContinuousExport::close);
            parts.export().close();
        });
        if (sweeper != null) {
            sweeper.shutdownNow();
            sweeper = null;
        }
        // After the sweeper (no renewal runs concurrently): return what this node leased, once its calls finished.
        leases.ifPresent(BudgetLeases::close);
    }
}
