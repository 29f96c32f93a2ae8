package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.store.AuditCheckpoints;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.util.Optional;

/**
 * The gateway capability, assembled: tenants and API keys, sessions, operator keys, the rate
 * limiter, the {@link Guard} every route authorizes with, the {@link Edge} (request ids,
 * traces, body limits, audit of writes), problem documents and idempotent replies.
 * {@link #start()} loads the session signing keys and the operator key (making one on the
 * first start without {@code SOMA_ADMIN_KEY}) and starts writing {@link TenantTraffic};
 * {@link #close()} writes the traffic still counted and closes the rate limiter's bucket store.
 * Thread-safe.
 *
 * <pre>{@code
 * Gateway gateway = Gateway.create(config.gateway(), database, commit, clock, ids, meters).start();
 * web.routes.before(gateway.edge()::before);
 * web.routes.apiBuilder(new MemoryRoutes(gateway.guard(), memories));
 * web.routes.exception(SomaException.class, gateway.problems()::render);
 * }</pre>
 */
public final class Gateway implements AutoCloseable {
    private final GatewayConfig config;
    private final Database database;
    private final GroupCommit commit;
    private final Tenants tenants;
    private final Sessions sessions;
    private final OperatorKeys operatorKeys;
    private final BucketStore buckets;
    private final RateLimiter rateLimiter;
    private final Guard guard;
    private final TenantTraffic traffic;
    private final Edge edge;
    private final Problems problems = new Problems();
    private final Idempotency idempotency;
    private Optional<String> generatedAdminKey = Optional.empty();

    private Gateway(GatewayConfig config, Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters) {
        this.config = config;
        this.database = database;
        this.commit = commit;
        this.tenants = new Tenants(database.jdbi(), database.dataSource(), clock, ids, database.notifications());
        this.sessions = new Sessions(database.jdbi(), clock, config.audience(), config.sessionLifetime());
        this.operatorKeys = new OperatorKeys(database.jdbi(), clock);
        this.buckets = config.bucketStore();
        this.rateLimiter = new BucketRateLimiter(config.rateLimits(), buckets);
        this.guard = new Guard(tenants, sessions, operatorKeys, rateLimiter, config, meters);
        this.traffic = new TenantTraffic(database.jdbi(), clock, config.trafficFlushInterval());
        this.edge = new Edge(config, meters, commit, traffic);
        this.idempotency = new Idempotency(database.jdbi());
    }

    /** The gateway over {@code database}; nothing is read until {@link #start()}. */
    public static Gateway create(GatewayConfig config, Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        requireNonNull(commit, "commit is null");
        requireNonNull(clock, "clock is null");
        requireNonNull(ids, "ids is null");
        requireNonNull(meters, "meters is null");
        return new Gateway(config, database, commit, clock, ids, meters);
    }

    /** Loads the session signing keys and the operator key, and starts writing tenant traffic. */
    public Gateway start() {
        sessions.start();
        traffic.start();
        generatedAdminKey = operatorKeys.start(config.adminKey(), tenants);
        return this;
    }

    public GatewayConfig config() {
        return config;
    }

    public Tenants tenants() {
        return tenants;
    }

    public Sessions sessions() {
        return sessions;
    }

    /** The operator key check (the console signs operators in with it). */
    public OperatorKeys operatorKeys() {
        return operatorKeys;
    }

    public RateLimiter rateLimiter() {
        return rateLimiter;
    }

    public Guard guard() {
        return guard;
    }

    public Edge edge() {
        return edge;
    }

    /** Each tenant's requests, errors and latency per hour (the console's traffic charts). */
    public TenantTraffic traffic() {
        return traffic;
    }

    public Problems problems() {
        return problems;
    }

    public Idempotency idempotency() {
        return idempotency;
    }

    /** The operator key made on the first start of an installation without {@code SOMA_ADMIN_KEY}. */
    public Optional<String> generatedAdminKey() {
        return generatedAdminKey;
    }

    /** The operator routes ({@code /v1/admin/...}), which also read the audit log and its checkpoints. */
    public AdminRoutes adminRoutes(AuditLog auditLog, AuditCheckpoints checkpoints) {
        return new AdminRoutes(guard, tenants, commit, auditLog, checkpoints, database.jdbi(), config);
    }

    /** The session routes (token exchange, JWKS). */
    public SessionRoutes sessionRoutes() {
        return new SessionRoutes(guard, sessions, config);
    }

    /** Writes the traffic still counted in memory, and closes the rate limiter's bucket store (a Redis connection in a cluster). */
    @Override
    public void close() {
        traffic.close();
        buckets.close();
    }
}
