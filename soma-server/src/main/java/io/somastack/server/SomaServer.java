package io.somastack.server;

import static java.util.Objects.requireNonNull;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson3;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.somastack.agents.Agents;
import io.somastack.console.Console;
import io.somastack.gateway.BodyLimit;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Gateway;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Problems;
import io.somastack.gateway.ResponseEgress;
import io.somastack.gateway.ServerErrors;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.marketplace.Marketplace;
import io.somastack.marketplace.MarketplaceRoutes;
import io.somastack.tools.McpEndpoint;
import io.somastack.tools.Tools;
import io.somastack.workflows.TemporalService;
import io.somastack.workflows.Workflows;
import io.somastack.memory.StorageMeter;
import io.somastack.memory.Memory;
import io.somastack.metering.Metering;
import io.somastack.metering.PriceBook;
import io.somastack.models.Embedder;
import io.somastack.models.EmbedderConfig;
import io.somastack.models.Embedders;
import io.somastack.models.EmbeddingRoutes;
import io.somastack.models.MeteredModels;
import io.somastack.models.MiniLmEmbedder;
import io.somastack.models.ModelRouter;
import io.somastack.models.ModelRoutes;
import io.somastack.models.Models;
import io.somastack.models.ProviderKind;
import io.somastack.policy.Constitution;
import io.somastack.store.AuditCheckpoints;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.kafka.KafkaSink;
import io.somastack.store.Outbox;
import io.somastack.store.OutboxRelay;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: every capability is built and wired here, top to bottom, and closed
 * in reverse order by {@link #close()} (stop accepting, finish in-flight requests, flush
 * the group commit, close providers and the database).
 */
public final class SomaServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SomaServer.class);

    /** The listening socket's backlog (the kernel caps it at net.core.somaxconn). */
    private static final int ACCEPT_QUEUE = 1024;

    private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
    private final StartupSteps steps = new StartupSteps();
    private final Javalin app;
    private Database database;
    private Optional<String> generatedAdminKey = Optional.empty();
    private Metering metering;
    private volatile boolean ready;
    private volatile boolean warmingUp;
    private Optional<WarmUp.Outcome> warmUp = Optional.empty();
    /** Counted down when {@link #close()} has ended. */
    private final CountDownLatch closed = new CountDownLatch(1);

    private SomaServer(ServerConfig config, Clock clock) {
        try {
            app = build(config, clock);
        } catch (RuntimeException | Error e) {
            steps.abandon();
            close();
            throw e;
        }
    }

    private Javalin build(ServerConfig config, Clock clock) {
        steps.processStarted();
        // Parts that need nothing else start at once, in parallel with the database: the local embedding model (about a
        // second to load; memory opens its index meanwhile, as the model's name and dimension are known up front).
        StartupSteps.Part<Embedder> loadingEmbedder = steps.inParallel("embedding model loaded", MiniLmEmbedder::new);
        // ... and Temporal's in-process service (or the connection to a cluster) that team workflows run on.
        StartupSteps.Part<TemporalService> startingTemporal = steps.inParallel("Temporal service started", () -> TemporalService.start(config.workflows()));
        Ids ids = new Ids(clock);
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

        database = track(new Database(config.store()).start());
        steps.step("database ready");
        AuditLog auditLog = new AuditLog(clock);
        GroupCommit commit = track(new GroupCommit(database.jdbi(), auditLog, new Outbox(clock, ids), config.store().commitBatchSize(), 2));
        // Signed checkpoints of the audit log's head, to the outbox; closed before the group commit (a last one at shutdown).
        AuditCheckpoints checkpoints = track(AuditCheckpoints.load(database.jdbi(), commit, auditLog, clock)
                .start(config.store().auditCheckpointInterval()));

        // Parts that need only the database start now, in parallel with the gateway and metering: the constitution
        // (compiling the policy machinery takes about half a second) and memory (its Lucene index and catch-up).
        StartupSteps.Part<Constitution> loadingConstitution = steps.inParallel("constitution ready",
                () -> Constitution.create(config.policy(), database, commit, clock, ids));
        Embedder localEmbedder = new LoadingEmbedder(MiniLmEmbedder.MODEL, MiniLmEmbedder.DIMENSION, () -> steps.await(loadingEmbedder));
        Embedder memoryEmbedder = config.memory().embedder().kind() == EmbedderConfig.Kind.LOCAL ? localEmbedder : Embedders.from(config.memory().embedder());
        if (memoryEmbedder instanceof AutoCloseable remote) {
            track(remote);
        }
        StartupSteps.Part<Memory> startingMemory = steps.inParallel("memory index ready",
                () -> Memory.create(config.memory(), database, commit, clock, ids, meters, memoryEmbedder).start());

        // Events reach in-process listeners through the relay; with kafka.bootstrap set, each batch goes to Kafka first
        // (the sink is closed after the relay that calls it). Each batch out holds a pool connection until it is marked,
        // so a small pool gets fewer in flight. The group commit wakes the relay; the 200 ms poll is the backstop.
        int relayInFlight = Math.clamp(config.store().poolSize() / 4, 1, OutboxRelay.DEFAULT_IN_FLIGHT);
        OutboxRelay relay = config.kafka().enabled()
                ? new OutboxRelay(database.dataSource(), Duration.ofMillis(200), 2000, relayInFlight, track(new KafkaSink(config.kafka())))
                : new OutboxRelay(database.dataSource(), Duration.ofMillis(200), 500);
        // At most one claim per 50 ms on commit wake-ups: at low rates each commit used to cost a claim transaction of its own.
        relay.lingering(Duration.ofMillis(50));
        commit.afterEventsCommitted(relay::wake);
        LOG.info("Events: {}", config.kafka().bootstrap().map(bootstrap -> "outbox relayed to Kafka at " + bootstrap).orElse("in process"));
        relay.subscribe(event -> meters.counter("soma.outbox.dispatched", "type", event.type()).increment());
        meters.gauge("soma.outbox.pending", relay, OutboxRelay::pending);
        track(relay.start());

        Gateway gateway = track(Gateway.create(config.gateway(), database, commit, clock, ids, meters));
        gateway.start();
        generatedAdminKey = gateway.generatedAdminKey();
        Guard guard = gateway.guard();
        Edge edge = gateway.edge();
        Problems problems = gateway.problems();

        ModelRouter router = track(Models.router(config.models(), clock));
        router.circuitStates().keySet().forEach(provider -> meters.gauge("soma.provider.circuit.open", Tags.of("provider", provider),
                router, r -> "OPEN".equals(r.circuitStates().get(provider)) ? 1 : 0));
        // Metering owns this node's budget leases and the budget sweeper (it settles from the ledger the reservations and leases
        // of nodes that died), the SKU catalog (seeded from billing.skus), invoices, credits, reconciliation, and the scheduled
        // period close.
        Metering metering = track(Metering.create(config.metering(), config.billing(), database, commit, gateway.tenants(), clock, ids,
                meters).start());
        this.metering = metering;
        warnAboutUnpricedModels(config, router, metering.priceBook());
        MeteredModels models = new MeteredModels(router, metering.usageMeter(), commit, gateway.rateLimiter(), meters,
                config.defaultMaxTokens());
        steps.step("gateway and metering ready");
        Memory memory = track(steps.await(startingMemory));
        Money storagePrice = config.metering().storagePerMbHour();
        track(new StorageMeter(commit, clock, (tx, tenant, bytes, from, to, mbHours) ->
                metering.ledger().recordStorage(tx, tenant, bytes, from, to, mbHours, storagePrice), config.memory().storageMeterInterval()).start());
        Constitution constitution = steps.await(loadingConstitution);
        Marketplace marketplace = track(Marketplace.create(config.marketplace(), database, commit, constitution, clock, ids).start());
        steps.step("marketplace ready");
        edge.acceptUploads(MarketplaceRoutes.PUBLISH);
        // The web console's forms post HTML form bodies under /console; the API stays JSON only.
        edge.acceptForms(Console.PATH);
        Tools tools = track(Tools.create(config.tools(), database, commit, marketplace, constitution, metering.budgets(), metering.ledger(),
                metering.priceBook(), clock, ids, meters));
        // SomaStack as an MCP server: the SDK's servlet transport on the API's Jetty, the Guard in front.
        McpEndpoint mcp = track(tools.mcp(guard, memory.memories(), McpEndpoint.DEFAULT_REFRESH, config.gateway().maxBodyBytes()));
        // Agents run installed capsules; closed before the tools and models they call (runs under way are cancelled and billed).
        Agents agents = track(Agents.create(config.agents(), database, commit, marketplace, constitution, tools, memory.memories(),
                metering.budgets(), models, metering.usageMeter(), metering.priceBook(), metering.capsuleCharges(), gateway.sessions(), clock, ids,
                meters).start());

        // Team workflows: jobs on Temporal (embedded in-process service, or SOMA_TEMPORAL_TARGET), this node's worker, and
        // every job PostgreSQL records as unfinished resumed from its last completed node. Closed before the agents it runs.
        TemporalService temporal = track(steps.await(startingTemporal));
        Workflows workflows = track(Workflows.create(config.workflows(), database, commit, marketplace, agents.runs(), gateway.tenants(),
                metering.budgets(), metering.ledger(), metering.catalog(), clock, ids).start(temporal));

        Javalin app = Javalin.create(web -> {
            web.startup.showJavalinBanner = false;
            web.concurrency.useVirtualThreads = true;
            web.jsonMapper(new JavalinJackson3(Json.mapper(), false));
            web.http.maxRequestSize = Math.max(config.gateway().maxBodyBytes(), config.gateway().maxUploadBytes());
            web.http.prefer405over404 = true;
            web.jetty.host = config.host();
            web.jetty.port = config.port();
            // Errors the web server answers itself (bad URI, oversized headers) are problem documents
            // too, and the body limit holds for the bytes read, chunked or not.
            web.jetty.modifyServletContextHandler(context -> {
                context.setErrorHandler(new ServerErrors.InContext());
                context.addFilter(new org.eclipse.jetty.ee10.servlet.FilterHolder(new BodyLimit(edge)), "/*",
                        java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
                // Response bodies to tenants' clients on metered routes are egress rows, durable before the response ends.
                context.addFilter(new org.eclipse.jetty.ee10.servlet.FilterHolder(new ResponseEgress(commit, metering.skuMeter()::recordResponseEgress)),
                        "/*", java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST));
                mcp.mount(context);
            });
            web.jetty.modifyServer(server -> {
                server.setErrorHandler(new ServerErrors());
                server.setStopTimeout(config.shutdownGrace().toMillis());
                // A burst of new connections (hundreds of agents at once) must queue, not overflow the
                // default backlog of 50, which drops connections the client already counts as open.
                server.addEventListener(new org.eclipse.jetty.util.component.LifeCycle.Listener() {
                    @Override
                    public void lifeCycleStarting(org.eclipse.jetty.util.component.LifeCycle event) {
                        for (var connector : server.getConnectors()) {
                            if (connector instanceof org.eclipse.jetty.server.ServerConnector serverConnector) {
                                serverConnector.setAcceptQueueSize(ACCEPT_QUEUE);
                            }
                        }
                    }
                });
            });
            web.routes.before(edge::before);
            web.routes.after(edge::after);
            web.routes.get("/healthz", ctx -> ctx.json(Map.of("status", "ok")));
            web.routes.get("/readyz", ctx -> {
                if (!ready || !database.isReady()) {
                    throw new SomaException(ErrorCode.NOT_READY, ready ? "The database does not answer"
                            : warmingUp ? "Warming up (%d s, the warmup setting)".formatted(config.warmup().toSeconds()) : "Starting or shutting down");
                }
                ctx.json(Map.of("status", "ready"));
            });
            web.routes.get("/metrics", ctx -> {
                guard.metrics(ctx);
                ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meters.scrape());
            });
            web.routes.apiBuilder(gateway.adminRoutes(auditLog, checkpoints));
            web.routes.apiBuilder(gateway.sessionRoutes());
            web.routes.apiBuilder(new ModelRoutes(guard, models, gateway.idempotency()));
            web.routes.apiBuilder(new EmbeddingRoutes(guard, models, localEmbedder, gateway.idempotency()));
            web.routes.apiBuilder(metering.routes(guard));
            web.routes.apiBuilder(memory.routes(guard));
            web.routes.apiBuilder(constitution.routes(guard));
            web.routes.apiBuilder(marketplace.routes(guard));
            web.routes.apiBuilder(tools.routes(guard));
            web.routes.apiBuilder(agents.routes(guard));
            web.routes.apiBuilder(workflows.routes(guard, gateway.idempotency()));
            web.routes.apiBuilder(new OpenApiRoutes());
            web.routes.apiBuilder(Console.routes(database, gateway, commit, auditLog, constitution, memory.memories(), marketplace, agents,
                    metering.invoicing(), meters, clock));
            web.routes.exception(SomaException.class, problems::render);
            web.routes.exception(Exception.class, problems::renderUnexpected);
            web.routes.error(404, ctx -> notFound(ctx, problems));
            web.routes.error(405, ctx -> {
                if (!isProblem(ctx)) {
                    problems.render(new SomaException(ErrorCode.METHOD_NOT_ALLOWED,
                            "%s is not allowed on %s".formatted(ctx.method(), ctx.path())), ctx);
                }
            });
        });
        steps.step("routes ready");
        app.start();
        closeables.push(named("HTTP server (in-flight requests finish)", () -> {
            ready = false;
            app.stop();
        }));
        // Ready only once every part is: /v1/embeddings answers from the loaded model.
        steps.await(loadingEmbedder);
        if (config.warmup().isPositive()) {
            // Before ready, so that the first tenants' calls do not wait for the JIT to compile the request path.
            warmingUp = true;
            // A SIGTERM meanwhile makes start-up fail and close what it built, in order: the embedded PostgreSQL waits for that.
            database.stopEmbeddedAfterCloseAtExit();
            // That close runs on this thread, not in a shutdown hook, so this hook holds the JVM until it has ended:
            // else the JVM could halt once the database's own hook is done, before the close's last lines are logged.
            Thread closeFirst = new Thread(this::awaitClose, "start-up close at exit");
            Runtime.getRuntime().addShutdownHook(closeFirst);
            LOG.info("Warm-up: {} s of requests to itself before ready (unknown key, answered 401; nothing written)", config.warmup().toSeconds());
            WarmUp.Outcome warm;
            try {
                warm = WarmUp.run(config.host(), app.port(), config.warmup(), edge.openWarmUp());
            } finally {
                edge.closeWarmUp();
                warmingUp = false;
            }
            warmUp = Optional.of(warm);
            if (warm.stoppedByExit()) {
                // Never ready: start-up fails, and the constructor closes what was built, in order.
                throw new SomaException(ErrorCode.NOT_READY, "Stopped while warming up: the process is shutting down");
            }
            try {
                Runtime.getRuntime().removeShutdownHook(closeFirst);
            } catch (IllegalStateException shuttingDown) {
                // The hook runs, and waits for the close that the shutdown makes (closeOnExit's).
            }
            steps.step("warmed up (%d requests)".formatted(warm.requests()));
        }
        ready = true;
        LOG.info("SomaStack listening on http://{}:{} (region {}, store: {}, models: {}) in {} ms", config.host(), app.port(),
                config.gateway().region(), config.store().describe(), router.models().stream().map(model -> model.id()).toList(),
                steps.elapsedMillis());
        return app;
    }

    /** A remote model without a price is billed at zero: say so once, at start-up. */
    private static void warnAboutUnpricedModels(ServerConfig config, ModelRouter router, PriceBook priceBook) {
        for (var model : router.models()) {
            boolean remote = config.models().provider(model.ownedBy()).map(provider -> provider.kind() != ProviderKind.LOCAL).orElse(false);
            if (remote && !priceBook.knows(model.id()) && !priceBook.knows(model.ownedBy() + "/" + model.id())) {
                LOG.warn("Model {} of provider {} has no price in the price book: its calls are billed at zero", model.id(), model.ownedBy());
            }
        }
    }

    private static void notFound(Context ctx, Problems problems) {
        if (!isProblem(ctx)) {
            problems.render(new SomaException(ErrorCode.NOT_FOUND, "No route %s %s".formatted(ctx.method(), ctx.path())), ctx);
        }
    }

    private static boolean isProblem(Context ctx) {
        String type = ctx.res().getContentType();
        return type != null && type.startsWith(Problems.CONTENT_TYPE);
    }

    public static SomaServer start(ServerConfig config, Clock clock) {
        requireNonNull(config, "config is null");
        return new SomaServer(config, clock);
    }

    private <T extends AutoCloseable> T track(T closeable) {
        closeables.push(named(closeable.getClass().getSimpleName(), closeable));
        return closeable;
    }

    private static AutoCloseable named(String name, AutoCloseable closeable) {
        return new AutoCloseable() {
            @Override
            public void close() throws Exception {
                closeable.close();
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    public int port() {
        return app.port();
    }

    /** Every HTTP route, as {@code METHOD /path/{param}} (the OpenAPI contract test compares them with the document). */
    java.util.List<String> routes() {
        return app.unsafe.internalRouter.allHttpHandlers().stream().map(parsed -> parsed.endpoint)
                .filter(endpoint -> endpoint.method.isHttpMethod()).map(endpoint -> endpoint.method.name() + " " + endpoint.path).toList();
    }

    /** What the warm-up before ready did; empty when {@code warmup} is off. */
    Optional<WarmUp.Outcome> warmUp() {
        return warmUp;
    }

    /** This node's metering (tests run its budget sweeper by hand). */
    Metering metering() {
        return metering;
    }

    /** The operator key made on the first start of an installation without SOMA_ADMIN_KEY. */
    public Optional<String> generatedAdminKey() {
        return generatedAdminKey;
    }

    /**
     * Closes this server from a JVM shutdown hook (SIGTERM, Ctrl-C), then runs {@code afterwards}. The
     * embedded PostgreSQL stops only after this close, so a graceful shutdown's last writes reach it.
     */
    public void closeOnExit(Runnable afterwards) {
        database.stopEmbeddedAfterCloseAtExit();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            close();
            afterwards.run();
        }, "shutdown"));
    }

    @Override
    public void close() {
        ready = false;
        while (!closeables.isEmpty()) {
            AutoCloseable next = closeables.pop();
            long start = System.nanoTime();
            try {
                next.close();
            } catch (Exception e) {
                LOG.warn("Error while shutting down: {}", e.getMessage());
            }
            LOG.info("Stopped {} in {} ms", next, (System.nanoTime() - start) / 1_000_000);
        }
        closed.countDown();
    }

    /** Waits, at JVM exit, for a close on another thread to end (at most as long as the embedded database waits for it). */
    private void awaitClose() {
        try {
            if (!closed.await(Database.CLOSE_AT_EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("Shutdown did not finish in {}", Database.CLOSE_AT_EXIT_GRACE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
