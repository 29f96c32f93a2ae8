package io.somastack.server;

import static java.util.Objects.requireNonNull;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson3;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.somastack.agents.Agents;
import io.somastack.gateway.AdminRoutes;
import io.somastack.gateway.BodyLimit;
import io.somastack.gateway.Edge;
import io.somastack.gateway.Guard;
import io.somastack.gateway.Idempotency;
import io.somastack.gateway.BucketRateLimiter;
import io.somastack.gateway.OperatorKeys;
import io.somastack.gateway.Problems;
import io.somastack.gateway.RateLimiter;
import io.somastack.gateway.ServerErrors;
import io.somastack.gateway.SessionRoutes;
import io.somastack.gateway.Sessions;
import io.somastack.gateway.Tenants;
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
import io.somastack.memory.Embedder;
import io.somastack.memory.EmbedderConfig;
import io.somastack.memory.Embedders;
import io.somastack.memory.StorageMeter;
import io.somastack.memory.Memory;
import io.somastack.memory.MiniLmEmbedder;
import io.somastack.metering.Budgets;
import io.somastack.metering.Ledger;
import io.somastack.metering.PriceBook;
import io.somastack.metering.UsageRoutes;
import io.somastack.models.ModelRouter;
import io.somastack.models.Models;
import io.somastack.models.ProviderKind;
import io.somastack.policy.Constitution;
import io.somastack.store.AuditCheckpoints;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.OutboxRelay;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
    private final Javalin app;
    private Optional<String> generatedAdminKey = Optional.empty();
    private volatile boolean ready;

    private SomaServer(ServerConfig config, Clock clock) {
        try {
            app = build(config, clock);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Javalin build(ServerConfig config, Clock clock) {
        long started = System.nanoTime();
        // The embedding model takes about a second to load: load it while the database starts.
        Executor background = Thread::startVirtualThread;
        CompletableFuture<Embedder> loadingEmbedder = CompletableFuture.supplyAsync(MiniLmEmbedder::new, background);
        Ids ids = new Ids(clock);
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

        Database database = track(new Database(config.store()).start());
        LOG.info("Start-up: database ready at {} ms", (System.nanoTime() - started) / 1_000_000);
        AuditLog auditLog = new AuditLog(clock);
        GroupCommit commit = track(new GroupCommit(database.jdbi(), auditLog, new Outbox(clock, ids), config.store().commitBatchSize(), 2));
        // Signed checkpoints of the audit log's head, to the outbox; closed before the group commit (a last one at shutdown).
        AuditCheckpoints checkpoints = track(AuditCheckpoints.load(database.jdbi(), commit, auditLog, clock)
                .start(config.store().auditCheckpointInterval()));

        // Compiling the policy machinery takes about half a second: do it while the rest is wired.
        CompletableFuture<Constitution> loadingConstitution = CompletableFuture.supplyAsync(
                () -> Constitution.create(config.policy(), database, commit, clock, ids), background);

        // Events reach in-process listeners through the relay; a Kafka relay reads the same rows in a cluster.
        OutboxRelay relay = new OutboxRelay(database.dataSource(), Duration.ofMillis(200), 500);
        relay.subscribe(event -> meters.counter("soma.outbox.dispatched", "type", event.type()).increment());
        meters.gauge("soma.outbox.pending", relay, OutboxRelay::pending);
        track(relay.start());

        Tenants tenants = new Tenants(database.jdbi(), database.dataSource(), clock, ids);
        Sessions sessions = new Sessions(database.jdbi(), clock, config.gateway().audience(), config.gateway().sessionLifetime()).start();
        OperatorKeys operatorKeys = new OperatorKeys(database.jdbi(), clock);
        generatedAdminKey = operatorKeys.start(config.gateway().adminKey(), tenants);
        RateLimiter rateLimiter = new BucketRateLimiter(config.gateway().rateLimits(), track(config.gateway().bucketStore()));
        Guard guard = new Guard(tenants, sessions, operatorKeys, rateLimiter, config.gateway(), meters);
        Edge edge = new Edge(config.gateway(), meters, commit);
        Problems problems = new Problems();

        ModelRouter router = track(Models.router(config.models(), clock));
        router.circuitStates().keySet().forEach(provider -> meters.gauge("soma.provider.circuit.open", Tags.of("provider", provider),
                router, r -> "OPEN".equals(r.circuitStates().get(provider)) ? 1 : 0));
        PriceBook priceBook = new PriceBook(config.metering().prices());
        warnAboutUnpricedModels(config, router, priceBook);
        Ledger ledger = new Ledger(database.jdbi(), clock, ids);
        Budgets budgets = new Budgets(database.asyncCommitDataSource(), clock, ids, config.metering().reservationTtl(), meters);
        ModelGateway modelGateway = new ModelGateway(router, priceBook, budgets, ledger, commit, rateLimiter, meters, clock,
                config.defaultMaxTokens());

        Idempotency idempotency = new Idempotency(database.jdbi());
        // /v1/embeddings serves the local model; memory uses the embedder its config names (the same local one by default).
        Embedder embedder = join(loadingEmbedder);
        Embedder memoryEmbedder = config.memory().embedder().kind() == EmbedderConfig.Kind.LOCAL ? embedder : Embedders.from(config.memory());
        LOG.info("Start-up: embedding model loaded at {} ms", (System.nanoTime() - started) / 1_000_000);
        Memory memory = track(Memory.create(config.memory(), database, commit, clock, ids, meters, memoryEmbedder).start());
        LOG.info("Start-up: memory index ready at {} ms", (System.nanoTime() - started) / 1_000_000);
        Money storagePrice = config.metering().storagePerMbHour();
        track(new StorageMeter(commit, clock, (tx, tenant, bytes, from, to, mbHours) ->
                ledger.recordStorage(tx, tenant, bytes, from, to, mbHours, storagePrice), config.memory().storageMeterInterval()).start());
        Constitution constitution = join(loadingConstitution);
        Marketplace marketplace = track(Marketplace.create(config.marketplace(), database, commit, constitution, clock, ids).start());
        LOG.info("Start-up: constitution and marketplace ready at {} ms", (System.nanoTime() - started) / 1_000_000);
        edge.acceptUploads(MarketplaceRoutes.PUBLISH);
        Tools tools = track(Tools.create(config.tools(), database, commit, marketplace, constitution, budgets, ledger,
                priceBook, clock, ids, meters));
        // SomaStack as an MCP server: the SDK's servlet transport on the API's Jetty, the Guard in front.
        McpEndpoint mcp = track(tools.mcp(guard, memory.memories(), McpEndpoint.DEFAULT_REFRESH, config.gateway().maxBodyBytes()));
        // Agents run installed capsules; closed before the tools and models they call (runs under way are cancelled and billed).
        Agents agents = track(Agents.create(config.agents(), database, commit, marketplace, constitution, tools, memory.memories(), budgets,
                ledger, priceBook, router, sessions, clock, ids, meters).start());

        ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("budget-sweeper").daemon().factory());
        sweeper.scheduleWithFixedDelay(() -> {
            try {
                int released = budgets.sweepExpired();
                if (released > 0) {
                    LOG.warn("Released {} budget reservations of calls that never settled", released);
                }
            } catch (RuntimeException e) {
                LOG.warn("Budget sweep failed: {}", e.getMessage());
            }
        }, 30, 30, TimeUnit.SECONDS);
        closeables.push(named("budget sweeper", sweeper::shutdownNow));

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
                    throw new SomaException(ErrorCode.NOT_READY, ready ? "The database does not answer" : "Starting or shutting down");
                }
                ctx.json(Map.of("status", "ready"));
            });
            web.routes.get("/metrics", ctx -> {
                guard.metrics(ctx);
                ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meters.scrape());
            });
            web.routes.apiBuilder(new AdminRoutes(guard, tenants, commit, auditLog, checkpoints, database.jdbi(), config.gateway()));
            web.routes.apiBuilder(new SessionRoutes(guard, sessions, config.gateway()));
            web.routes.apiBuilder(new ModelRoutes(guard, modelGateway, idempotency));
            web.routes.apiBuilder(new EmbeddingRoutes(guard, modelGateway, embedder, idempotency));
            web.routes.apiBuilder(new UsageRoutes(guard, ledger, clock));
            web.routes.apiBuilder(memory.routes(guard));
            web.routes.apiBuilder(constitution.routes(guard));
            web.routes.apiBuilder(marketplace.routes(guard));
            web.routes.apiBuilder(tools.routes(guard));
            web.routes.apiBuilder(agents.routes(guard));
            web.routes.apiBuilder(new OpenApiRoutes());
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
        app.start();
        closeables.push(named("HTTP server (in-flight requests finish)", () -> {
            ready = false;
            app.stop();
        }));
        ready = true;
        LOG.info("SomaStack listening on http://{}:{} (region {}, store: {}, models: {}) in {} ms", config.host(), app.port(),
                config.gateway().region(), config.store().describe(), router.models().stream().map(model -> model.id()).toList(),
                (System.nanoTime() - started) / 1_000_000);
        return app;
    }

    /** The value of a start-up task, with its own exception rather than a wrapper. */
    private static <T> T join(CompletableFuture<T> task) {
        try {
            return task.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
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

    /** The operator key made on the first start of an installation without SOMA_ADMIN_KEY. */
    public Optional<String> generatedAdminKey() {
        return generatedAdminKey;
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
    }
}
