package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The real launcher path in a child JVM with its embedded PostgreSQL: SIGKILL it under load,
 * start it again on the same data directory (the orphaned postgres is dealt with), and find
 * every request that got a 200 in the ledger exactly once.
 */
class CrashRecoveryTest {
    private static final String ADMIN = TestServer.ADMIN_KEY;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void everyAnsweredCallSurvivesASigkillExactlyOnce() throws Exception {
        Path dataDir = Files.createTempDirectory("soma-crash");
        Path model = TestServer.testModel();
        int port = ServerProcess.freePort();

        Process first = launch(dataDir, model, port);
        Set<String> answered = ConcurrentHashMap.newKeySet();
        String key;
        try {
            awaitReady(dataDir, port, first);
            String tenant = field(send(HTTP, port, "POST", "/v1/admin/tenants", ADMIN, "{\"name\":\"crash-co\"}", null).body(), "id");
            key = field(send(HTTP, port, "POST", "/v1/admin/tenants/" + tenant + "/keys", ADMIN, "{}", null).body(), "key");
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger sent = new AtomicInteger();
            String body = "{\"model\":\"local\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":8}";
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int client = 0; client < 8; client++) {
                    pool.submit(() -> {
                        while (running.get()) {
                            String requestId = "crash-" + sent.incrementAndGet();
                            try {
                                if (send(HTTP, port, "POST", "/v1/chat/completions", key, body, requestId).statusCode() == 200) {
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
            awaitReady(dataDir, port, second);
            List<String> lines = Files.readAllLines(dataDir.resolve("postgres/postmaster.pid"));
            Jdbi jdbi = Jdbi.create("jdbc:postgresql://127.0.0.1:" + lines.get(3).trim() + "/postgres", "postgres", "");
            // The model calls' rows (an answer's egress row shares its request id).
            List<String> ledger = jdbi.withHandle(handle -> handle.createQuery("SELECT request_id FROM usage_ledger WHERE meter = 'model.tokens'")
                    .mapTo(String.class).list());
            assertThat(ledger).doesNotHaveDuplicates();
            assertThat(ledger).containsAll(answered);
            HttpResponse<String> audit = send(HTTP, port, "GET", "/v1/admin/audit/verify", ADMIN, null, null);
            assertThat(audit.body()).contains("\"intact\":true");
        } finally {
            second.destroy();
            second.waitFor();
        }
        // SIGTERM is a graceful shutdown: every part stopped in order, the embedded postgres last
        // (zonky's own exit hook used to stop it first, and the server's last writes then failed).
        assertThat(dataDir.resolve("postgres/postmaster.pid")).doesNotExist();
        String stopLog = newestLog(dataDir);
        assertThat(stopLog).contains("Stopped Database").doesNotContain("No audit checkpoint at shutdown")
                .doesNotContain("Listening for database notifications failed").doesNotContain("Error while shutting down");
        deleteRecursively(dataDir);
    }

    @Test
    void aRunWhoseNodeWasKilledIsInterruptedAfterRestartWithEveryAcknowledgedEventAndSettledOnce() throws Exception {
        Path dataDir = Files.createTempDirectory("soma-agent-crash");
        Path model = TestServer.testModel();
        int port = ServerProcess.freePort();
        // The local model is priced (a step's worst case, about 1200 tokens, fits the capsule's 0.50 per run).
        Path config = Files.writeString(dataDir.resolve("soma.yaml"), """
                prices:
                  - model: stories260K
                    input_per_million: "100"
                    output_per_million: "100"
                agents:
                  default-model: local
                  heartbeat: 500ms
                  stale-after: 2s
                """);
        Process first = launch(dataDir, model, port, Map.of("SOMA_CONFIG", config.toString()));
        String key;
        String runId;
        List<String> acknowledged = new java.util.ArrayList<>();
        try {
            awaitReady(dataDir, port, first);
            String tenant = field(send(HTTP, port, "POST", "/v1/admin/tenants", ADMIN, "{\"name\":\"crash-agents\",\"monthly_budget\":\"100\"}", null)
                    .body(), "id");
            key = field(send(HTTP, port, "POST", "/v1/admin/tenants/" + tenant + "/keys", ADMIN, "{}", null).body(), "key");
            installWeather(HTTP, port, key);
            // Follow the run's events and kill the node once a few model deltas were acknowledged.
            HttpRequest start = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/agents/weather/runs"))
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"Once upon a time\"}")).build();
            HttpResponse<java.util.stream.Stream<String>> stream = HTTP.send(start, HttpResponse.BodyHandlers.ofLines());
            String id = null;
            var lines = stream.body().iterator();
            int deltas = 0;
            while (lines.hasNext() && deltas < 5) {
                String line = lines.next();
                if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("data: ")) {
                    acknowledged.add(id + " " + line.substring(6));
                    deltas += line.contains("\"text\"") ? 1 : 0;
                }
            }
            runId = field(acknowledged.getFirst().substring(acknowledged.getFirst().indexOf(' ') + 1), "run_id");
            first.destroyForcibly();
            first.waitFor();
        } finally {
            first.destroyForcibly();
        }

        Process second = launch(dataDir, model, port, Map.of("SOMA_CONFIG", config.toString()));
        try {
            awaitReady(dataDir, port, second);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String status;
            do {
                Thread.sleep(200);
                status = field(send(HTTP, port, "GET", "/v1/runs/" + runId, key, null, null).body(), "status");
            } while (status.equals("running") && System.nanoTime() < deadline);
            assertThat(status).as(send(HTTP, port, "GET", "/v1/runs/" + runId, key, null, null).body()).isEqualTo("interrupted");
            String events = send(HTTP, port, "GET", "/v1/runs/" + runId + "/events", key, null, null).body();
            for (String event : acknowledged) {
                String seq = event.substring(0, event.indexOf(' '));
                assertThat(events).contains("id: " + seq + "\ndata: " + event.substring(event.indexOf(' ') + 1) + "\n");
            }
            assertThat(events).contains("event: run.interrupted");
            List<String> lines = Files.readAllLines(dataDir.resolve("postgres/postmaster.pid"));
            Jdbi jdbi = Jdbi.create("jdbc:postgresql://127.0.0.1:" + lines.get(3).trim() + "/postgres", "postgres", "");
            java.math.BigDecimal ledger = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE request_id = :run").bind("run", runId).mapTo(java.math.BigDecimal.class).one());
            java.math.BigDecimal spent = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT spent FROM budget_spend b JOIN agent_runs r ON r.tenant_id = b.tenant_id WHERE r.id = :run AND b.scope = 'tenant'")
                    .bind("run", java.util.UUID.fromString(runId)).mapTo(java.math.BigDecimal.class).one());
            java.math.BigDecimal reserved = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT reserved FROM budget_spend b JOIN agent_runs r ON r.tenant_id = b.tenant_id WHERE r.id = :run AND b.scope = 'tenant'")
                    .bind("run", java.util.UUID.fromString(runId)).mapTo(java.math.BigDecimal.class).one());
            assertThat(spent).isEqualByComparingTo(ledger);
            assertThat(reserved).isEqualByComparingTo(java.math.BigDecimal.ZERO);
        } finally {
            second.destroy();
            second.waitFor();
        }
        deleteRecursively(dataDir);
    }

    @Test
    void aJobKilledMidwayResumesAfterRestartRunsNoCompletedNodeAgainAndBillsEachRunOnce() throws Exception {
        Path dataDir = Files.createTempDirectory("soma-job-crash");
        Path model = TestServer.testModel();
        int port = ServerProcess.freePort();
        Path config = Files.writeString(dataDir.resolve("soma.yaml"), """
                agents:
                  default-model: local
                  max-output-tokens: 16
                  heartbeat: 500ms
                  stale-after: 2s
                billing:
                  skus:
                    - {sku: job_minute, unit: minute, unit_price: "0.60", effective_from: 2020-01}
                """);
        String job = """
                {"team": {"nodes": [{"id": "first", "capsule": "weather", "input": "Once upon a time {{input.topic}}"},
                                    {"id": "ok", "type": "approval", "prompt": "Go on?"},
                                    {"id": "last", "capsule": "weather", "input": "{{first.output}} The end."}],
                          "edges": [{"from": "first", "to": "ok"}, {"from": "ok", "to": "last", "when": {"approved": true}}]},
                 "input": {"topic": "a fox"}}""";
        Process first = launch(dataDir, model, port, Map.of("SOMA_CONFIG", config.toString()));
        String key;
        String jobId;
        String before;
        try {
            awaitReady(dataDir, port, first);
            String tenant = field(send(HTTP, port, "POST", "/v1/admin/tenants", ADMIN, "{\"name\":\"crash-jobs\",\"monthly_budget\":\"100\"}", null)
                    .body(), "id");
            key = field(send(HTTP, port, "POST", "/v1/admin/tenants/" + tenant + "/keys", ADMIN, "{}", null).body(), "key");
            installWeather(HTTP, port, key);
            HttpResponse<String> started = send(HTTP, port, "POST", "/v1/jobs", key, job, null);
            assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
            jobId = field(started.body(), "id");
            // Kill the node once the first agent's output is recorded and the job waits for its approval.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            do {
                Thread.sleep(100);
                before = send(HTTP, port, "GET", "/v1/jobs/" + jobId, key, null, null).body();
            } while (!before.contains("\"waiting\"") && System.nanoTime() < deadline);
            assertThat(before).contains("\"waiting\"");
            first.destroyForcibly();
            first.waitFor();
        } finally {
            first.destroyForcibly();
        }

        Process second = launch(dataDir, model, port, Map.of("SOMA_CONFIG", config.toString()));
        try {
            awaitReady(dataDir, port, second);
            HttpResponse<String> approved = send(HTTP, port, "POST", "/v1/jobs/" + jobId + "/approvals/ok", key, "{\"approve\": true}", null);
            assertThat(approved.statusCode()).as(approved.body() + send(HTTP, port, "GET", "/v1/jobs/" + jobId, key, null, null).body())
                    .isEqualTo(200);
            String events = send(HTTP, port, "GET", "/v1/jobs/" + jobId + "/events", key, null, null).body();
            assertThat(events).contains("event: job.completed");
            assertThat(events.split("event: node.started", -1)).hasSize(3);
            JsonNode view = io.somastack.kernel.Json.mapper().readTree(send(HTTP, port, "GET", "/v1/jobs/" + jobId, key, null, null).body());
            assertThat(view.get("status").asString()).isEqualTo("completed");
            String firstOutput = io.somastack.kernel.Json.mapper().readTree(before).get("nodes").get(0).get("output").asString();
            assertThat(view.get("nodes").get(0).get("output").asString()).isEqualTo(firstOutput);
            // Resuming from the event the client had before the kill gives the rest, continuing its numbering.
            int seen = io.somastack.kernel.Json.mapper().readTree(before).get("last_event_id").asInt();
            HttpRequest resume = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/jobs/" + jobId + "/events"))
                    .header("Authorization", "Bearer " + key).header("Last-Event-ID", Integer.toString(seen)).build();
            String rest = HTTP.send(resume, HttpResponse.BodyHandlers.ofString()).body();
            assertThat(rest).startsWith("event: ").contains("id: " + (seen + 1) + "\n").doesNotContain("id: " + seen + "\n");
            List<String> lines = Files.readAllLines(dataDir.resolve("postgres/postmaster.pid"));
            Jdbi jdbi = Jdbi.create("jdbc:postgresql://127.0.0.1:" + lines.get(3).trim() + "/postgres", "postgres", "");
            long firstRuns = jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM workflow_node_runs WHERE job_id = :job AND node = 'first'")
                    .bind("job", java.util.UUID.fromString(jobId)).mapTo(Long.class).one());
            assertThat(firstRuns).isEqualTo(1);
            List<String> minutes = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT model FROM usage_ledger WHERE request_id = :request AND meter = 'job_minute' ORDER BY model")
                    .bind("request", "job:" + jobId).mapTo(String.class).list());
            assertThat(minutes).containsExactly("job", "node:first", "node:last");
            java.math.BigDecimal reserved = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT COALESCE(sum(reserved), 0) FROM budget_spend b JOIN workflow_jobs j ON j.tenant_id = b.tenant_id WHERE j.id = :job")
                    .bind("job", java.util.UUID.fromString(jobId)).mapTo(java.math.BigDecimal.class).one());
            assertThat(reserved).isEqualByComparingTo(java.math.BigDecimal.ZERO);
        } finally {
            second.destroy();
            second.waitFor();
        }
        deleteRecursively(dataDir);
    }

    /** Trusts a new publisher key in the key's tenant, publishes the test capsule {@code weather} signed with it, and installs it. */
    private static void installWeather(HttpClient http, int port, String key) throws IOException, InterruptedException {
        io.somastack.policy.SigningKeys publisher = io.somastack.policy.Signatures.generate();
        assertThat(send(http, port, "POST", "/v1/policy/trusted-keys", key, io.somastack.kernel.Json.text(Map.of("name", "release",
                "role", "publisher", "public_key_pem", publisher.publicKeyPem())), null).statusCode()).isEqualTo(201);
        byte[] bundle = io.somastack.policy.TestCapsules.bundle();
        assertThat(send(http, port, "POST", "/v1/capsules/publish", key, io.somastack.kernel.Json.text(Map.of("bundle",
                java.util.Base64.getEncoder().encodeToString(bundle), "signatures", List.of(Map.of("signature",
                        io.somastack.policy.Signatures.sign(publisher.privateKeyPem(), bundle), "key_id", publisher.keyId())))), null)
                .statusCode()).isEqualTo(201);
        assertThat(send(http, port, "POST", "/v1/capsules/weather/install", key, "{}", null).statusCode()).isEqualTo(201);
    }

    private static String newestLog(Path dataDir) throws IOException {
        return Files.readString(newestLogFile(dataDir));
    }

    /** The log of the newest {@link #launch} on {@code dataDir} (the names hold the launch's nanoTime). */
    private static Path newestLogFile(Path dataDir) throws IOException {
        try (var logs = Files.list(dataDir)) {
            return logs.filter(path -> path.getFileName().toString().startsWith("server-"))
                    .max(java.util.Comparator.comparing(path -> path.getFileName().toString())).orElseThrow();
        }
    }

    private static void deleteRecursively(Path directory) throws IOException {
        try (var paths = Files.walk(directory)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static Process launch(Path dataDir, Path model, int port) throws IOException {
        return launch(dataDir, model, port, Map.of());
    }

    private static Process launch(Path dataDir, Path model, int port, Map<String, String> environment) throws IOException {
        Map<String, String> variables = new java.util.HashMap<>(environment);
        variables.put("SOMA_ADMIN_KEY", ADMIN);
        variables.put("SOMA_LOCAL_MODEL", model.toString());
        return ServerProcess.start(dataDir, port, variables, dataDir.resolve("server-" + System.nanoTime() + ".log"));
    }

    private static void awaitReady(Path dataDir, int port, Process process) throws Exception {
        ServerProcess.awaitReadyz(process, port, newestLogFile(dataDir), answer -> answer.statusCode() == 200);
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

}
