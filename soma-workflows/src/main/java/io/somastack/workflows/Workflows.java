package io.somastack.workflows;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.Runs;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.marketplace.Marketplace;
import io.somastack.metering.Budgets;
import io.somastack.metering.Ledger;
import io.somastack.metering.SkuCatalog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.workflows.internal.JobEvents;
import io.somastack.workflows.internal.JobMeter;
import io.somastack.workflows.internal.JobProvenance;
import io.somastack.workflows.internal.JobStore;
import io.somastack.workflows.internal.NodeStepsImpl;
import io.somastack.workflows.internal.TemporalEngine;

/**
 * The team workflows capability, assembled: jobs, their Temporal engine and worker, and the
 * routes. {@link #start()} connects to Temporal (or starts the embedded service), starts this
 * node's worker and resumes every job PostgreSQL records as unfinished; {@link #close()} stops
 * the worker and the engine (jobs under way resume at the next start).
 *
 * <pre>{@code
 * Workflows workflows = Workflows.create(config.workflows(), database, commit, marketplace, agents.runs(), gateway.tenants(),
 *         metering.budgets(), metering.ledger(), catalog, clock, ids).start();
 * web.routes.apiBuilder(workflows.routes(guard, gateway.idempotency()));
 * }</pre>
 */
public final class Workflows implements AutoCloseable {
    private final WorkflowsConfig config;
    private final NodeStepsImpl steps;
    private final Jobs jobs;
    private volatile TemporalEngine engine;
    private TemporalService ownedService;

    private Workflows(WorkflowsConfig config, NodeStepsImpl steps, JobStore store, JobEvents events, JobMeter meter, Marketplace marketplace,
            Budgets budgets, GroupCommit commit, Clock clock, Ids ids) {
        this.config = config;
        this.steps = steps;
        this.jobs = new Jobs(config, store, events, meter, marketplace.installs(), marketplace.catalog(), budgets, commit, this::engine, clock, ids);
        marketplace.installs().addManifestCheck(jobs::manifestProblems);
    }

    public static Workflows create(WorkflowsConfig config, Database database, GroupCommit commit, Marketplace marketplace, Runs runs,
            Tenants tenants, Budgets budgets, Ledger ledger, SkuCatalog catalog, Clock clock, Ids ids) {
        requireNonNull(config, "config is null");
        JobStore store = new JobStore(database.jdbi());
        JobEvents events = new JobEvents(database.jdbi(), commit, clock);
        JobMeter meter = new JobMeter(ledger, catalog, database.jdbi(), clock);
        NodeStepsImpl steps = new NodeStepsImpl(store, events, meter, runs, tenants, budgets, new JobProvenance(runs), commit, clock);
        return new Workflows(config, steps, store, events, meter, marketplace, budgets, commit, clock, ids);
    }

    /** Starts the Temporal service (or connects to the cluster), this node's worker, and resumes unfinished jobs; closed with this. */
    public synchronized Workflows start() {
        ownedService = TemporalService.start(config);
        return start(ownedService);
    }

    /**
     * Starts this node's worker on {@code service}, started beforehand (the server starts it in
     * parallel with the rest), and resumes unfinished jobs. The caller closes {@code service} after this.
     */
    public synchronized Workflows start(TemporalService service) {
        engine = new TemporalEngine(config, service.connection(), steps);
        jobs.resume();
        return this;
    }

    private TemporalEngine engine() {
        TemporalEngine current = engine;
        if (current == null) {
            throw new IllegalStateException("Workflows is not started");
        }
        return current;
    }

    public Jobs jobs() {
        return jobs;
    }

    public JobRoutes routes(Guard guard, Idempotency idempotency) {
        return new JobRoutes(guard, jobs, idempotency);
    }

    @Override
    public synchronized void close() {
        if (engine != null) {
            engine.close();
            engine = null;
        }
        if (ownedService != null) {
            ownedService.close();
            ownedService = null;
        }
    }
}
