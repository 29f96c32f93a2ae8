package io.somastack.policy;

import io.javalin.Javalin;
import io.javalin.json.JavalinJackson3;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.BucketRateLimiter;
import io.somastack.gateway.Edge;
import io.somastack.gateway.GatewayConfig;
import io.somastack.gateway.Guard;
import io.somastack.gateway.OperatorKeys;
import io.somastack.gateway.Problems;
import io.somastack.gateway.Sessions;
import io.somastack.gateway.Tenant;
import io.somastack.gateway.Tenants;
import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/** The policy routes behind the real gateway pieces (Guard, Edge, Problems) on a real Javalin server on port 0, over real HTTP. */
final class TestGateway implements AutoCloseable {
    final TestConstitution soma;
    final Tenants tenants;
    final GatewayConfig config = GatewayConfig.from(Settings.of(Map.of()));
    final Javalin app;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    TestGateway(TestConstitution soma) {
        this.soma = soma;
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        tenants = new Tenants(soma.database.jdbi(), soma.database.dataSource(), soma.clock, soma.ids);
        Sessions sessions = new Sessions(soma.database.jdbi(), soma.clock, config.audience(), config.sessionLifetime()).start();
        Guard guard = new Guard(tenants, sessions, new OperatorKeys(soma.database.jdbi(), soma.clock),
                new BucketRateLimiter(config.rateLimits(), config.bucketStore()), config, meters);
        Edge edge = new Edge(config, meters, soma.commit);
        Problems problems = new Problems();
        app = Javalin.create(web -> {
            web.startup.showJavalinBanner = false;
            web.concurrency.useVirtualThreads = true;
            web.jsonMapper(new JavalinJackson3(Json.mapper(), false));
            web.http.maxRequestSize = config.maxBodyBytes();
            web.jetty.host = "127.0.0.1";
            web.jetty.port = 0;
            web.routes.before(edge::before);
            web.routes.after(edge::after);
            web.routes.apiBuilder(soma.constitution.routes(guard));
            web.routes.exception(SomaException.class, problems::render);
            web.routes.exception(Exception.class, problems::renderUnexpected);
        }).start();
    }

    /** A new tenant of {@code tier} and the secret of a key with {@code scopes}. */
    String tenantKey(String name, String tier, String... scopes) {
        Tenant tenant = soma.commit.execute(tx -> tenants.create(tx, name, tier, config.region(), Optional.empty(), "operator", "req"));
        return soma.commit.execute(tx -> tenants.createKey(tx, tenant.id(), "test", Set.of(scopes), Optional.empty(), "operator", "req")).secret();
    }

    record Response(int status, HttpResponse<String> raw) {
        JsonNode json() {
            return Json.mapper().readTree(raw.body());
        }
    }

    Response send(String method, String path, String token, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + path));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            request.header("Content-Type", "application/json");
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
