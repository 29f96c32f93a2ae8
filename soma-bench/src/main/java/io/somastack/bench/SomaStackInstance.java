package io.somastack.bench;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import io.somastack.server.ServerConfig;
import io.somastack.server.SomaServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * SomaStack as production runs it, on embedded defaults: the whole server of
 * {@link SomaServer#start}, a durable embedded PostgreSQL (fsync and synchronous commit on) in
 * a fresh temporary data directory, and the {@code openai} provider pointed at the benchmark
 * upstream (or in a given data directory, which may hold an earlier run's data and is then
 * kept). Only the environment built here is read (not the caller's {@code SOMA_*}
 * variables), so an exported {@code SOMA_DATABASE_URL} cannot change what is measured. One
 * tenant with a large budget and one API key are made through the admin API; the rate limits
 * of its tier are raised far above any benchmark rate but stay switched on. Closing stops the
 * server and deletes the data directory unless it is kept.
 */
final class SomaStackInstance implements AutoCloseable {
    static final String UPSTREAM_API_KEY = "sk-upstream-benchmark-key";
    /** The file of a kept data directory that holds the benchmark tenant's API key. */
    static final String TENANT_FILE = "benchmark-api-key.txt";
    /** The caller's variables that reach a launched server: the launcher's JVM flags and the warm-up. */
    private static final java.util.Set<String> PASSED_TO_LAUNCHER = java.util.Set.of("SOMA_JAVA_OPTS", "SOMA_WARMUP");
    private static final String CONFIG = """
            # Limits far above any benchmark rate: the limiter runs on every request but never refuses.
            tiers:
              standard:
                rpm: 100000000
                tpm: 1000000000
            prices:
              - model: %s
                input_per_million: "0.15"
                output_per_million: "0.60"
            """.formatted(FixedReplyUpstream.MODEL);

    /** The server in this JVM, or null when {@link #process} runs it. */
    private final SomaServer server;
    /** The launcher's server process, or null when it runs in this JVM. */
    private final Process process;
    private final int port;
    private final Path dataDirectory;
    private final String adminKey;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final boolean keep;
    private final AtomicBoolean closed = new AtomicBoolean();
    private String apiKey;

    private SomaStackInstance(SomaServer server, Process process, int port, Path dataDirectory, String adminKey, boolean keep) {
        this.server = server;
        this.process = process;
        this.port = port;
        this.dataDirectory = dataDirectory;
        this.adminKey = adminKey;
        this.keep = keep;
    }

    /** Starts SomaStack against {@code upstreamBaseUrl} and makes the benchmark tenant and key. */
    static SomaStackInstance start(URI upstreamBaseUrl) {
        return start(upstreamBaseUrl, "");
    }

    /** As {@link #start(URI)}, with more YAML configuration appended (e.g. memory quotas). */
    static SomaStackInstance start(URI upstreamBaseUrl, String extraYaml) {
        try {
            return start(Files.createTempDirectory("soma-bench"), false, upstreamBaseUrl, extraYaml);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the data directory", e);
        }
    }

    /**
     * As {@link #start(URI, String)}, on {@code dataDirectory}, which is created if missing and kept
     * when {@code keep} (closing then stops the server but deletes nothing). A data directory that
     * has been started before already holds the benchmark tenant: its API key is read from
     * {@value #TENANT_FILE} there instead of making a new tenant, so the memories remembered by an
     * earlier run are the ones recalled.
     */
    static SomaStackInstance start(Path dataDirectory, boolean keep, URI upstreamBaseUrl, String extraYaml) {
        String adminKey = newAdminKey();
        Map<String, String> environment = environment(dataDirectory, adminKey, upstreamBaseUrl, extraYaml);
        Settings settings = Settings.load(environment, Optional.of(dataDirectory.resolve("soma.yaml")));
        ServerConfig config = ServerConfig.from(settings, environment, 0, dataDirectory);
        SomaServer server = SomaServer.start(config, Clock.system());
        return withTenant(new SomaStackInstance(server, null, server.port(), dataDirectory, adminKey, keep));
    }

    /**
     * SomaStack as a user runs it: {@code ./somastack run} of the checkout in {@code root} (which
     * builds if the sources are newer than the jar, trains the AOT cache once per build, and
     * runs the server in its own JVM with the launcher's flags), on a fresh temporary data
     * directory with the same configuration as {@link #start(URI)}. Its output goes to
     * {@code server.log} in the data directory. Only the variables set here reach it: none of
     * the caller's {@code SOMA_*} but {@code SOMA_JAVA_OPTS} (the launcher's extra JVM flags, e.g.
     * to record a JFR profile of the server alone) and {@code SOMA_WARMUP} (the server's warm-up
     * before ready).
     */
    static SomaStackInstance launch(Path root, URI upstreamBaseUrl) {
        Path dataDirectory;
        try {
            dataDirectory = Files.createTempDirectory("soma-bench");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the data directory", e);
        }
        int port = freeLoopbackPort();
        String adminKey = newAdminKey();
        Map<String, String> environment = environment(dataDirectory, adminKey, upstreamBaseUrl, "");
        ProcessBuilder builder = new ProcessBuilder(root.resolve("somastack").toAbsolutePath().toString(), "run", "--port",
                Integer.toString(port), "--data-dir", dataDirectory.toString(), "--config", dataDirectory.resolve("soma.yaml").toString())
                .directory(root.toAbsolutePath().toFile()).redirectErrorStream(true).redirectOutput(dataDirectory.resolve("server.log").toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("SOMA_") && !PASSED_TO_LAUNCHER.contains(name));
        builder.environment().putAll(environment);
        Optional.ofNullable(System.getenv("SOMA_JAVA_OPTS"))
                .ifPresent(options -> System.out.printf("The server's extra JVM options (SOMA_JAVA_OPTS): %s%n", options));
        Optional.ofNullable(System.getenv("SOMA_WARMUP"))
                .ifPresent(warmup -> System.out.printf("The server warms up before ready (SOMA_WARMUP): %s%n", warmup));
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run " + builder.command(), e);
        }
        SomaStackInstance instance = new SomaStackInstance(null, process, port, dataDirectory, adminKey, false);
        try {
            System.out.printf("Waiting for ./somastack run on port %d (it builds and trains its start-up cache once per build; log %s)%n",
                    port, dataDirectory.resolve("server.log"));
            instance.awaitReady(Duration.ofMinutes(15));
            return withTenant(instance);
        } catch (RuntimeException e) {
            instance.close();
            throw e;
        }
    }

    /**
     * A loopback port free now (a random one may be another process's, e.g. an ephemeral port of the
     * embedded Temporal service), for a server started in another process.
     */
    static int freeLoopbackPort() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find a free port", e);
        }
    }

    private static String newAdminKey() {
        return "sk-soma-admin-bench-" + HexFormat.of().formatHex(randomBytes(16));
    }

    /** The server's environment: the benchmark's admin key, the upstream as the openai provider, and {@code soma.yaml} written. */
    private static Map<String, String> environment(Path dataDirectory, String adminKey, URI upstreamBaseUrl, String extraYaml) {
        try {
            Files.createDirectories(dataDirectory);
            Files.writeString(dataDirectory.resolve("soma.yaml"), CONFIG + extraYaml);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the configuration to " + dataDirectory, e);
        }
        return Map.of(
                "SOMA_ADMIN_KEY", adminKey,
                "SOMA_OPENAI_BASE_URL", upstreamBaseUrl.toString(),
                "SOMA_OPENAI_API_KEY", UPSTREAM_API_KEY,
                "SOMA_OPENAI_MODELS", FixedReplyUpstream.MODEL);
    }

    /** Reads the benchmark tenant's key from a kept data directory, or makes the tenant and key. */
    private static SomaStackInstance withTenant(SomaStackInstance instance) {
        Path tenantFile = instance.dataDirectory.resolve(TENANT_FILE);
        try {
            if (Files.exists(tenantFile)) {
                instance.apiKey = Files.readString(tenantFile).strip();
            } else {
                JsonNode tenant = instance.admin("/v1/admin/tenants",
                        Map.of("name", "benchmark", "tier", "standard", "monthly_budget", "1000000"));
                JsonNode key = instance.admin("/v1/admin/tenants/" + tenant.get("id").asString() + "/keys", Map.of());
                instance.apiKey = key.get("key").asString();
                Files.writeString(tenantFile, instance.apiKey + "\n");
            }
            return instance;
        } catch (IOException e) {
            instance.close();
            throw new UncheckedIOException("Cannot read or write " + tenantFile, e);
        } catch (RuntimeException e) {
            instance.close();
            throw e;
        }
    }

    /**
     * Closes the server when the JVM is stopped (SIGTERM, Ctrl-C) before the embedded PostgreSQL
     * stops, so a stopped seeding leaves a clean data directory (its index committed).
     */
    void closeOnExit() {
        if (server != null) {
            server.closeOnExit(() -> { });
        }
    }

    /** Waits until {@code GET /readyz} answers 200 (the memory index has caught up with PostgreSQL), at most {@code timeout}. */
    void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:%d/readyz".formatted(port())))
                .timeout(Duration.ofSeconds(30)).GET().build();
        while (!answersOk(request)) {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException("./somastack run exited with %d; see %s".formatted(process.exitValue(),
                        dataDirectory.resolve("server.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("SomaStack was not ready within " + timeout);
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Whether the request is answered 200; false when the server does not listen yet (a launched one is still starting). */
    private boolean answersOk(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException notListeningYet) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The server's own process when the launcher runs it (its CPU is then not this JVM's). */
    Optional<ProcessHandle> serverProcess() {
        return Optional.ofNullable(process).map(Process::toHandle);
    }

    private static byte[] randomBytes(int count) {
        byte[] bytes = new byte[count];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }

    int port() {
        return port;
    }

    /** The tenant's API key. */
    String apiKey() {
        return apiKey;
    }

    /** The embedded PostgreSQL's data directory, to find its processes. */
    Path postgresDirectory() {
        return dataDirectory.resolve("postgres");
    }

    /** Posts {@code body} as the tenant and returns the answer, failing on anything but 2xx. */
    JsonNode post(String path, Object body) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:%d%s".formatted(port(), path)))
                .timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + apiKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))).build();
        HttpResponse<String> response = send(request);
        if (response.statusCode() / 100 != 2) {
            throw new IllegalStateException("POST %s answered %d: %s".formatted(path, response.statusCode(), response.body()));
        }
        return Json.mapper().readTree(response.body());
    }

    /** Sends {@code body} as the tenant with {@code contentType} and extra header pairs; returns the answer, whatever its status. */
    HttpResponse<String> send(String method, String path, String contentType, byte[] body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:%d%s".formatted(port(), path)))
                .timeout(Duration.ofSeconds(120)).header("Authorization", "Bearer " + apiKey);
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        }
        return send(request.build());
    }

    /** The Prometheus text of {@code GET /metrics}. */
    String metrics() {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:%d/metrics".formatted(port())))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + adminKey).GET().build();
        return send(request).body();
    }

    private JsonNode admin(String path, Map<String, Object> body) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:%d%s".formatted(port(), path)))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + adminKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))).build();
        HttpResponse<String> response = send(request);
        if (response.statusCode() != 201) {
            throw new IllegalStateException("POST %s answered %d: %s".formatted(path, response.statusCode(), response.body()));
        }
        return Json.mapper().readTree(response.body());
    }

    private HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("SomaStack did not answer " + request.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while calling " + request.uri(), e);
        }
    }

    /** Stops the server (once, also when called again, e.g. from a shutdown hook) and deletes the data directory unless it is kept. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (server != null) {
            server.close();
        } else {
            stop(process);
        }
        http.close();
        if (keep) {
            return;
        }
        try (Stream<Path> files = Files.walk(dataDirectory)) {
            files.sorted(Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
        } catch (IOException e) {
            System.err.printf("Could not delete %s: %s%n", dataDirectory, e.getMessage());
        }
    }

    /** SIGTERM (the server closes itself, then its embedded PostgreSQL), then SIGKILL after a minute. */
    private static void stop(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
