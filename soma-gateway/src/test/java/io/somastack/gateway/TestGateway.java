package io.somastack.gateway;

import io.javalin.Javalin;
import io.javalin.apibuilder.EndpointGroup;
import io.javalin.json.JavalinJackson3;
import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import io.somastack.kernel.SomaException;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * A module's routes behind the real gateway pieces (Guard, Edge, Problems) on a real Javalin
 * server on port 0, wired the way SomaServer wires them, over real HTTP. For modules that
 * cannot depend on soma-server; shared through soma-gateway's test jar.
 */
public final class TestGateway implements AutoCloseable {
    private final GroupCommit commit;
    private final Tenants tenants;
    private final GatewayConfig config = GatewayConfig.from(Settings.of(Map.of()));
    private final Javalin app;
    private final OperatorKeys operatorKeys;
    private final TenantTraffic traffic;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public TestGateway(Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters,
            Function<Guard, EndpointGroup> routes) {
        this(database, commit, clock, ids, meters, java.util.Set.of(), routes);
    }

    /** As above, with {@code uploadPaths} taking {@code application/zip} bodies (see {@link Edge#acceptUploads}). */
    public TestGateway(Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters,
            java.util.Set<String> uploadPaths, Function<Guard, EndpointGroup> routes) {
        this(database, commit, clock, ids, meters, uploadPaths, routes, (guard, context) -> {
        });
    }

    /** As above, with {@code servlets} mounting servlets beside the routes on the same Jetty (as soma-server mounts {@code /mcp}). */
    public TestGateway(Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters,
            java.util.Set<String> uploadPaths, Function<Guard, EndpointGroup> routes,
            java.util.function.BiConsumer<Guard, org.eclipse.jetty.ee10.servlet.ServletContextHandler> servlets) {
        this.commit = commit;
        tenants = new Tenants(database.jdbi(), database.dataSource(), clock, ids, database.notifications());
        Sessions sessions = new Sessions(database.jdbi(), clock, config.audience(), config.sessionLifetime()).start();
        operatorKeys = new OperatorKeys(database.jdbi(), clock);
        Guard guard = new Guard(tenants, sessions, operatorKeys,
                new BucketRateLimiter(config.rateLimits(), config.bucketStore()), config, meters);
        traffic = new TenantTraffic(database.jdbi(), clock, config.trafficFlushInterval());
        Edge edge = new Edge(config, meters, commit, traffic);
        uploadPaths.forEach(edge::acceptUploads);
        Problems problems = new Problems();
        app = Javalin.create(web -> {
            web.startup.showJavalinBanner = false;
            web.concurrency.useVirtualThreads = true;
            web.jsonMapper(new JavalinJackson3(Json.mapper(), false));
            web.http.maxRequestSize = Math.max(config.maxBodyBytes(), config.maxUploadBytes());
            web.jetty.host = "127.0.0.1";
            web.jetty.port = 0;
            web.jetty.modifyServletContextHandler(context -> servlets.accept(guard, context));
            web.routes.before(edge::before);
            web.routes.after(edge::after);
            web.routes.apiBuilder(routes.apply(guard));
            web.routes.exception(SomaException.class, problems::render);
            web.routes.exception(Exception.class, problems::renderUnexpected);
        }).start();
    }

    /** The operator key (SOMA_ADMIN_KEY), registered on first use. */
    public String operatorKey() {
        String key = "sk-soma-admin-test-operator-key";
        operatorKeys.start(Optional.of(key), tenants);
        return key;
    }

    /** The tenants' traffic the edge counts (not flushed on a schedule here: tests call {@link TenantTraffic#flush}). */
    public TenantTraffic traffic() {
        return traffic;
    }

    /** The tenants, for tests that need a tenant's id. */
    public Tenants tenants() {
        return tenants;
    }

    /** A new tenant of tier {@code standard} and the secret of a key with {@code scopes}. */
    public String tenantKey(String name, String... scopes) {
        return tenantKeyInTier(name, "standard", scopes);
    }

    /** A new tenant of {@code tier} and the secret of a key with {@code scopes}. */
    public String tenantKeyInTier(String name, String tier, String... scopes) {
        Tenant tenant = commit.execute(tx -> tenants.create(tx, name, tier, config.region(), Optional.empty(), "operator", "req"));
        return key(tenant, scopes);
    }

    public String key(Tenant tenant, String... scopes) {
        return commit.execute(tx -> tenants.createKey(tx, tenant.id(), "test", Set.of(scopes), Optional.empty(), "operator", "req")).secret();
    }

    /** An answer as the client saw it. */
    /** {@code http://127.0.0.1:<port>}, for requests {@link #send} cannot make (e.g. binary bodies). */
    public String baseUrl() {
        return "http://127.0.0.1:" + app.port();
    }

    public record Response(int status, HttpResponse<String> raw) {
        public JsonNode json() {
            return Json.mapper().readTree(raw.body());
        }

        public String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }
    }

    public Response send(String method, String path, String token, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        app.stop();
    }
}
