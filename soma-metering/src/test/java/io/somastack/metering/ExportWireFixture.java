package io.somastack.metering;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;

/**
 * A local server speaking the published ingest formats of OpenMeter ({@code POST /api/v1/events},
 * {@code application/cloudevents-batch+json}, a JSON array of CloudEvents 1.0 with the required
 * attributes specversion, id, source, type; answered 204) and Lago ({@code POST
 * /api/v1/events/batch}, bearer API key, {@code {"events": [...]}} of at most 100 events, each with
 * transaction_id, external_subscription_id, code, timestamp; answered 200 with the events). Both
 * deduplicate as the real servers do: OpenMeter by (source, id), Lago by transaction_id. A request
 * that breaks the format is answered 400 (OpenMeter) or 422 (Lago) and recorded as refused.
 */
final class ExportWireFixture implements AutoCloseable {
    private final HttpServer server;
    private final String lagoKey;
    final Map<String, JsonNode> openMeterEvents = new ConcurrentHashMap<>();
    final Map<String, JsonNode> lagoEvents = new ConcurrentHashMap<>();
    final List<String> refused = new CopyOnWriteArrayList<>();
    final AtomicInteger requests = new AtomicInteger();
    /** How many accepted requests carried each event (key as in the event maps): more than 1 is a duplicate the receiver dropped. */
    final Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
    /** The next requests (to either API) to answer 503, as a server under load would. */
    final AtomicInteger failNext = new AtomicInteger();
    /** When set, Lago answers every request with this status. */
    volatile int lagoStatus;

    ExportWireFixture(String lagoKey) {
        this.lagoKey = lagoKey;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        server.createContext("/api/v1/events/batch", this::lago);
        server.createContext("/api/v1/events", this::openMeter);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    URI root() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private void openMeter(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            answer(exchange, 503, "");
            return;
        }
        String type = exchange.getRequestHeaders().getFirst("Content-Type");
        JsonNode body = Json.mapper().readTree(exchange.getRequestBody().readAllBytes());
        if (!"POST".equals(exchange.getRequestMethod()) || !"application/cloudevents-batch+json".equals(type) || !body.isArray()) {
            refuse(exchange, 400, "openmeter: not a CloudEvents batch");
            return;
        }
        for (JsonNode event : body) {
            for (String attribute : List.of("specversion", "id", "source", "type", "subject", "time")) {
                if (!event.hasNonNull(attribute) || event.get(attribute).asString().isEmpty()) {
                    refuse(exchange, 400, "openmeter: event without " + attribute);
                    return;
                }
            }
            if (!event.get("specversion").asString().equals("1.0")) {
                refuse(exchange, 400, "openmeter: specversion " + event.get("specversion"));
                return;
            }
            java.time.Instant.parse(event.get("time").asString());
        }
        body.forEach(event -> accept(openMeterEvents, event.get("source").asString() + "/" + event.get("id").asString(), event));
        answer(exchange, 204, "");
    }

    private void lago(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            answer(exchange, 503, "");
            return;
        }
        if (lagoStatus != 0) {
            answer(exchange, lagoStatus, "{\"status\": %d, \"error\": \"Unprocessable Entity\"}".formatted(lagoStatus));
            return;
        }
        if (!("Bearer " + lagoKey).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            refuse(exchange, 401, "lago: no API key");
            return;
        }
        JsonNode body = Json.mapper().readTree(exchange.getRequestBody().readAllBytes());
        JsonNode events = body.get("events");
        if (events == null || !events.isArray() || events.size() > 100) {
            refuse(exchange, 422, "lago: events must be an array of at most 100");
            return;
        }
        for (JsonNode event : events) {
            for (String field : List.of("transaction_id", "external_subscription_id", "code", "timestamp")) {
                if (!event.hasNonNull(field)) {
                    refuse(exchange, 422, "lago: event without " + field);
                    return;
                }
            }
            if (event.has("properties") && !event.get("properties").isObject()) {
                refuse(exchange, 422, "lago: properties must be an object");
                return;
            }
        }
        events.forEach(event -> accept(lagoEvents, "lago/" + event.get("transaction_id").asString(), event));
        answer(exchange, 200, Json.text(Map.of("events", events)));
    }

    private void accept(Map<String, JsonNode> events, String key, JsonNode event) {
        deliveries.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        events.putIfAbsent(key.startsWith("lago/") ? key.substring(5) : key, event);
    }

    private void refuse(HttpExchange exchange, int status, String reason) throws IOException {
        refused.add(reason);
        answer(exchange, status, "{\"error\": \"%s\"}".formatted(reason));
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
