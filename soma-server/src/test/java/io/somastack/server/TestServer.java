package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import io.somastack.models.TestModel;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.store.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A real SomaStack for tests: the real server on port 0 over real HTTP, a fresh database in
 * the test PostgreSQL, and the real tiny LLM as the {@code local} provider.
 */
final class TestServer implements AutoCloseable {
    /** The tools secrets key of every test node of this JVM, as the nodes of one cluster share it. */
    static final String TOOLS_SECRETS_KEY = java.util.Base64.getEncoder().encodeToString(io.somastack.kernel.Aead.newKey());

    static final String ADMIN_KEY = "sk-soma-admin-test-operator-key-0123456789";

    final SomaServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    final String base;
    final String databaseUrl;

    private TestServer(SomaServer server, String databaseUrl) {
        this.server = server;
        this.databaseUrl = databaseUrl;
        this.base = "http://127.0.0.1:" + server.port();
    }

    /** Starts a server; {@code yaml} is extra config (may be empty). */
    static TestServer start(String yaml) {
        return start(yaml, TestDatabase.newDatabaseUrl());
    }

    /** Starts a server on the database at {@code databaseUrl}: another node of the cluster of the servers already on it. */
    static TestServer start(String yaml, String databaseUrl) {
        try {
            Path dir = Files.createTempDirectory("soma-test");
            Path file = dir.resolve("soma.yaml");
            Files.writeString(file, yaml);
            Map<String, String> environment = new HashMap<>();
            environment.put("SOMA_DATABASE_URL", databaseUrl);
            environment.put("SOMA_DATABASE_USER", "postgres");
            // A node on an external database is given the key that seals tool secrets (all nodes share it).
            environment.put("SOMA_TOOLS_SECRETS_KEY", TOOLS_SECRETS_KEY);
            environment.put("SOMA_ADMIN_KEY", ADMIN_KEY);
            environment.put("SOMA_LOCAL_MODEL", testModel().toString());
            // Agents whose preferred models this server lacks answer with the tiny local model, briefly.
            environment.put("SOMA_AGENTS_DEFAULT__MODEL", "local");
            environment.put("SOMA_AGENTS_MAX__OUTPUT__TOKENS", "16");
            Settings settings = Settings.load(environment, Optional.of(file));
            ServerConfig config = ServerConfig.from(settings, environment, 0, dir);
            return new TestServer(SomaServer.start(config, Clock.system()), databaseUrl);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The real tiny LLM (see soma-models' {@code TestModel}: skipped with a reason, a failure under CI=true). */
    static Path testModel() {
        return TestModel.path();
    }

    record Response(int status, Map<String, java.util.List<String>> headers, String body) {
        JsonNode json() {
            return Json.mapper().readTree(body);
        }

        String header(String name) {
            return headers.entrySet().stream().filter(entry -> entry.getKey().equalsIgnoreCase(name))
                    .map(entry -> entry.getValue().getFirst()).findFirst().orElse(null);
        }
    }

    Response send(String method, String path, String token, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        boolean contentTypeGiven = java.util.Arrays.stream(headers).anyMatch("Content-Type"::equalsIgnoreCase);
        if (body != null && !contentTypeGiven) {
            request.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            if (headers[i].equalsIgnoreCase("Expect") && headers[i + 1].equalsIgnoreCase("100-continue")) {
                request.expectContinue(true); // the JDK client sets this header itself
            } else {
                request.header(headers[i], headers[i + 1]);
            }
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response.headers().map(), response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Response get(String path, String token) {
        return send("GET", path, token, null);
    }

    Response post(String path, String token, String body, String... headers) {
        return send("POST", path, token, body, headers);
    }

    /** Creates a tenant and returns its id. */
    String tenant(String name, String extraJson) {
        Response response = post("/v1/admin/tenants", ADMIN_KEY, "{\"name\":\"%s\"%s}".formatted(name, extraJson));
        assertThat(response.status()).as(response.body()).isEqualTo(201);
        return response.json().get("id").asString();
    }

    /** Publishes {@code bundle} signed with {@code signer} through the JSON API as the publisher of {@code publisherKey}. */
    void publishSigned(String publisherKey, byte[] bundle, SigningKeys signer) {
        Response published = post("/v1/capsules/publish", publisherKey, Json.text(Map.of("bundle", Base64.getEncoder().encodeToString(bundle),
                "signatures", List.of(Map.of("signature", Signatures.sign(signer.privateKeyPem(), bundle), "key_id", signer.keyId())))));
        assertThat(published.status()).as(published.body()).isEqualTo(201);
    }

    /** Creates a key for a tenant and returns the secret. */
    String key(String tenantId, String json) {
        Response response = post("/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, json);
        assertThat(response.status()).as(response.body()).isEqualTo(201);
        return response.json().get("key").asString();
    }

    static void assertProblem(Response response, int status, String typeSuffix) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        JsonNode problem = response.json();
        assertThat(problem.get("type").asString()).startsWith("https://somastack.io/problems/");
        if (typeSuffix != null) {
            assertThat(problem.get("type").asString()).isEqualTo("https://somastack.io/problems/" + typeSuffix);
        }
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("detail").asString()).isNotBlank();
        assertThat(problem.get("instance").asString()).isEqualTo(response.header("X-Request-Id"));
    }

    @Override
    public void close() {
        // The client's idle keep-alive connections go first: on them the server's graceful stop
        // would wait out Jetty's shutdown idle timeout (1 s) on every close. shutdown(), not close():
        // requests in flight go on, so the server's graceful stop still meets them (GracefulShutdownTest).
        http.shutdown();
        server.close();
    }
}
