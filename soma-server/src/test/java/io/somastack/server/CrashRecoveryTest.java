package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/**
 * The real launcher path in a child JVM with its embedded PostgreSQL: SIGKILL it under load,
 * start it again on the same data directory (the orphaned postgres is dealt with), and find
 * every request that got a 200 in the ledger exactly once.
 */
class CrashRecoveryTest {
    private static final String ADMIN = TestServer.ADMIN_KEY;

    @Test
    void everyAnsweredCallSurvivesASigkillExactlyOnce() throws Exception {
        Path dataDir = Files.createTempDirectory("soma-crash");
        Path model = TestServer.testModel();
        int port = freePort();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

        Process first = launch(dataDir, model, port);
        Set<String> answered = ConcurrentHashMap.newKeySet();
        String key;
        try {
            awaitReady(http, port, first);
            String tenant = field(send(http, port, "POST", "/v1/admin/tenants", ADMIN, "{\"name\":\"crash-co\"}", null).body(), "id");
            key = field(send(http, port, "POST", "/v1/admin/tenants/" + tenant + "/keys", ADMIN, "{}", null).body(), "key");
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger sent = new AtomicInteger();
            String body = "{\"model\":\"local\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":8}";
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int client = 0; client < 8; client++) {
                    pool.submit(() -> {
                        while (running.get()) {
                            String requestId = "crash-" + sent.incrementAndGet();
                            try {
                                if (send(http, port, "POST", "/v1/chat/completions", key, body, requestId).statusCode() == 200) {
                                    answered.add(requestId);
                                }
                            } catch (IOException | InterruptedException e) {
                                return;
                            }
                        }
                    });
                }
                Thread.sleep(2500);
                first.destroyForcibly();
                first.waitFor();
                running.set(false);
            }
        } finally {
            first.destroyForcibly();
        }
        assertThat(answered).hasSizeGreaterThan(10);

        Process second = launch(dataDir, model, port);
        try {
            awaitReady(http, port, second);
            List<String> lines = Files.readAllLines(dataDir.resolve("postgres/postmaster.pid"));
            Jdbi jdbi = Jdbi.create("jdbc:postgresql://127.0.0.1:" + lines.get(3).trim() + "/postgres", "postgres", "");
            List<String> ledger = jdbi.withHandle(handle -> handle.createQuery("SELECT request_id FROM usage_ledger")
                    .mapTo(String.class).list());
            assertThat(ledger).doesNotHaveDuplicates();
            assertThat(ledger).containsAll(answered);
            HttpResponse<String> audit = send(http, port, "GET", "/v1/admin/audit/verify", ADMIN, null, null);
            assertThat(audit.body()).contains("\"intact\":true");
        } finally {
            second.destroy();
            second.waitFor();
        }
        // SIGTERM is a graceful shutdown: the embedded postgres was stopped with the server.
        assertThat(dataDir.resolve("postgres/postmaster.pid")).doesNotExist();
        deleteRecursively(dataDir);
    }

    private static void deleteRecursively(Path directory) throws IOException {
        try (var paths = Files.walk(directory)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static Process launch(Path dataDir, Path model, int port) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder builder = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                "io.somastack.server.Main", "run", "--port", Integer.toString(port), "--data-dir", dataDir.toString());
        builder.environment().keySet().removeIf(name -> name.startsWith("SOMA_"));
        builder.environment().put("SOMA_ADMIN_KEY", ADMIN);
        builder.environment().put("SOMA_LOCAL_MODEL", model.toString());
        builder.environment().put("SOMA_LOG_FORMAT", "plain");
        builder.redirectErrorStream(true).redirectOutput(dataDir.resolve("server-" + System.nanoTime() + ".log").toFile());
        return builder.start();
    }

    private static void awaitReady(HttpClient http, int port, Process process) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            assertThat(process.isAlive()).as("server process died during start").isTrue();
            try {
                if (send(http, port, "GET", "/readyz", null, null, null).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("server did not become ready");
    }

    private static HttpResponse<String> send(HttpClient http, int port, String method, String path, String token, String body,
            String requestId) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (requestId != null) {
            request.header("X-Request-Id", requestId);
        }
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String field(String json, String name) {
        return io.somastack.kernel.Json.mapper().readTree(json).get(name).asString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
