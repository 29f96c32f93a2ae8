package io.somastack.bench;

import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * One recall over HTTP, timed by the client end to end, with the server's own phase times read
 * from the answer's {@code Server-Timing} header (embed, search, fetch, record; milliseconds).
 * One keep-alive HTTP/1.1 connection, one call at a time, over the load generator's own
 * {@link HttpConnection}: the JDK's HttpClient in the same JVM added 2-6.6 ms per call of its own
 * on these 2 cores (RecallOverheadBenchmark), which is the client's time, not SomaStack's. The
 * client's time still includes sending the request, reading the whole answer and parsing it.
 */
final class MemoryRecallHttp implements AutoCloseable {
    private final InetSocketAddress address;
    private final int port;
    private final String apiKey;
    private HttpConnection connection;

    /** A recall's answer, its end-to-end time and the server's phase times. */
    record Answer(JsonNode body, long nanos, Map<String, Double> phaseMillis) {
    }

    MemoryRecallHttp(int port, String apiKey) {
        this.address = new InetSocketAddress("127.0.0.1", port);
        this.port = port;
        this.apiKey = apiKey;
    }

    Answer recall(String query, String mode) {
        byte[] body = Json.bytes(Map.of("query", query, "scopes", List.of(Map.of("kind", "tenant")), "k", 10, "mode", mode));
        byte[] request = HttpConnection.post("127.0.0.1", port, "/v1/memories/recall", apiKey, body);
        try {
            long started = System.nanoTime();
            HttpConnection.Response response;
            try {
                response = connection().exchangeKeeping(request);
            } catch (HttpConnection.StaleConnectionException e) {
                // The server closed the connection while it was idle (e.g. during the exact search): the request was
                // never served, so it is sent again on a new connection, as HTTP clients do; timed from the retry.
                close();
                started = System.nanoTime();
                response = connection().exchangeKeeping(request);
            }
            JsonNode answer = Json.mapper().readTree(response.body());
            long nanos = System.nanoTime() - started;
            if (response.status() != 200) {
                throw new IllegalStateException("recall answered %d: %s".formatted(response.status(), answer));
            }
            String timing = Optional.ofNullable(response.headers().get("server-timing"))
                    .orElseThrow(() -> new IllegalStateException("recall answered without a Server-Timing header"));
            return new Answer(answer, nanos, serverTiming(timing));
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("SomaStack did not answer " + address, e);
        }
    }

    private HttpConnection connection() throws IOException {
        if (connection == null || !connection.reusable()) {
            close();
            connection = HttpConnection.open(address, Duration.ofSeconds(60));
        }
        return connection;
    }

    /** {@code embed;dur=4.2, search;dur=0.8} as phase name to milliseconds. */
    static Map<String, Double> serverTiming(String header) {
        Map<String, Double> phases = new LinkedHashMap<>();
        for (String entry : header.split(",")) {
            String[] parts = entry.strip().split(";");
            for (int i = 1; i < parts.length; i++) {
                if (parts[i].strip().startsWith("dur=")) {
                    phases.put(parts[0].strip(), Double.parseDouble(parts[i].strip().substring(4)));
                }
            }
        }
        return phases;
    }

    @Override
    public void close() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }
}
