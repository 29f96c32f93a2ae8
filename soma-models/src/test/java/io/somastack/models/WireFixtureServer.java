package io.somastack.models;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;

/**
 * The plumbing the provider wire fixtures share: a real HTTP server on a free loopback port,
 * scripted replies, every request recorded, and detection of a client that hung up mid-stream.
 */
abstract class WireFixtureServer implements AutoCloseable {
    private final HttpServer server;
    private final Deque<FixtureReply> replies = new ConcurrentLinkedDeque<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final CountDownLatch disconnected = new CountDownLatch(1);

    /** One request as the fixture received it; header names in lower case. */
    public record RecordedRequest(Map<String, String> headers, JsonNode body) {
    }

    protected WireFixtureServer(String path) {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        server.createContext(path, this::handle);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
    }

    /** {@code http://127.0.0.1:port}. */
    public URI root() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Queues replies for the next requests; without one the fixture answers {@link #defaultReply()}. */
    public void enqueue(FixtureReply... next) {
        replies.addAll(List.of(next));
    }

    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    public RecordedRequest lastRequest() {
        return requests.getLast();
    }

    /** Waits until a streamed reply could not be written because the client had gone. */
    public boolean awaitClientDisconnect(Duration timeout) throws InterruptedException {
        return disconnected.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        server.stop(0);
    }

    protected abstract FixtureReply defaultReply();

    /** Why the real provider would refuse this request (status and message), empty when it would not. */
    protected abstract List<Refusal> check(Map<String, String> headers, JsonNode body);

    /** A refusal of the request: the status and the message the provider would give. */
    protected record Refusal(int status, String message) {
    }

    protected abstract void respond(HttpExchange exchange, JsonNode body, FixtureReply reply) throws IOException;

    /** Renders a 4xx/5xx body for {@code status} with {@code message}. */
    protected abstract void error(HttpExchange exchange, int status, String message) throws IOException;

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Map<String, String> headers = new LinkedHashMap<>();
            exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values.getFirst()));
            byte[] bytes = exchange.getRequestBody().readAllBytes();
            JsonNode body = bytes.length == 0 ? null : Json.tree(bytes);
            requests.add(new RecordedRequest(headers, body));
            List<Refusal> refusals = body == null ? List.of(new Refusal(400, "the body must be JSON")) : check(headers, body);
            if (!refusals.isEmpty()) {
                error(exchange, refusals.getFirst().status(), String.join("; ", refusals.stream().map(Refusal::message).toList()));
                return;
            }
            FixtureReply reply = replies.poll();
            respond(exchange, body, reply == null ? defaultReply() : reply);
        } catch (IOException e) {
            disconnected.countDown();
        }
    }

    protected static void json(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = Json.bytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    /** Starts a {@code text/event-stream} response and returns a writer of events. */
    protected static EventWriter events(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0);
        return new EventWriter(exchange.getResponseBody());
    }

    /** Writes server-sent events and flushes each one, as the providers do. */
    protected record EventWriter(OutputStream out) {

        void send(String event, Object data) throws IOException {
            String text = data instanceof String string ? string : Json.text(data);
            String frame = (event == null ? "" : "event: " + event + "\n") + "data: " + text + "\n\n";
            out.write(frame.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        void pause(Duration delay) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The words of {@code text}, each with its leading space, as streamed deltas. */
    protected static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        for (String word : text.split(" ")) {
            words.add(words.isEmpty() ? word : " " + word);
        }
        return words;
    }

    /** {@code count} words of filler text, for long streams. */
    protected static String filler(int count) {
        List<String> words = new ArrayList<>();
        for (int index = 0; index < count; index++) {
            words.add("word" + index);
        }
        return String.join(" ", words);
    }
}
