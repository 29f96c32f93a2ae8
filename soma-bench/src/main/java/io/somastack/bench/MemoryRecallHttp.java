package io.somastack.bench;

import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * One recall over HTTP, timed by the client end to end, with the server's own phase times read
 * from the answer's {@code Server-Timing} header (embed, search, fetch, record; milliseconds).
 * One keep-alive HTTP/1.1 connection, one call at a time.
 */
final class MemoryRecallHttp implements AutoCloseable {
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final URI uri;
    private final String apiKey;

    /** A recall's answer, its end-to-end time and the server's phase times. */
    record Answer(JsonNode body, long nanos, Map<String, Double> phaseMillis) {
    }

    MemoryRecallHttp(int port, String apiKey) {
        this.uri = URI.create("http://127.0.0.1:%d/v1/memories/recall".formatted(port));
        this.apiKey = apiKey;
    }

    Answer recall(String query, String mode) {
        byte[] body = Json.bytes(Map.of("query", query, "scopes", List.of(Map.of("kind", "tenant")), "k", 10, "mode", mode));
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + apiKey)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            long started = System.nanoTime();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            long nanos = System.nanoTime() - started;
            if (response.statusCode() != 200) {
                throw new IllegalStateException("recall answered %d: %s".formatted(response.statusCode(), response.body()));
            }
            String timing = response.headers().firstValue("Server-Timing")
                    .orElseThrow(() -> new IllegalStateException("recall answered without a Server-Timing header"));
            return new Answer(Json.mapper().readTree(response.body()), nanos, serverTiming(timing));
        } catch (IOException e) {
            throw new UncheckedIOException("SomaStack did not answer " + uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
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
        http.close();
    }
}
