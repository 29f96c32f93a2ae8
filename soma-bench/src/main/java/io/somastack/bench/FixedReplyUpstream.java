package io.somastack.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An OpenAI-compatible upstream that answers every {@code POST /v1/chat/completions} at once
 * with the same {@code chat.completion} body (with {@code usage}, so SomaStack meters it).
 * A {@code stream: true} request gets the same reply as server-sent chunks.
 * Both benchmark paths call this one server, so whatever it costs is in both and cancels out
 * of the overhead. Runs on the JDK's HTTP server, one virtual thread per exchange.
 * Thread-safe.
 */
final class FixedReplyUpstream implements AutoCloseable {
    static final String MODEL = "bench-model";
    static final String REPLY_TEXT = "Hello from the benchmark upstream.";
    static final byte[] REPLY = """
            {"id":"chatcmpl-bench","object":"chat.completion","created":1767000000,"model":"%s",\
            "choices":[{"index":0,"message":{"role":"assistant","content":"%s"},"logprobs":null,"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20}}"""
            .formatted(MODEL, REPLY_TEXT).getBytes(StandardCharsets.UTF_8);
    /** The same reply streamed (a {@code stream: true} request, as the turn loop makes): one content chunk, then usage. */
    static final byte[] STREAM = """
            data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767000000,"model":"%1$s",\
            "choices":[{"index":0,"delta":{"role":"assistant","content":"%2$s"},"finish_reason":null}]}

            data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767000000,"model":"%1$s",\
            "choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20}}

            data: [DONE]

            """.formatted(MODEL, REPLY_TEXT).getBytes(StandardCharsets.UTF_8);

    private final HttpServer server;
    private final ExecutorService executor;

    private FixedReplyUpstream(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Starts on a free loopback port. */
    static FixedReplyUpstream start() {
        // The JDK server leaves Nagle's algorithm on unless told otherwise; the body written
        // after the headers would then wait for a delayed ACK (up to 40 ms) now and then.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        // By default it keeps at most 200 idle connections and closes the rest after their
        // response; the generator's pool and SomaStack's own client together may hold more.
        System.setProperty("sun.net.httpserver.maxIdleConnections", "100000");
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4096);
            ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
            server.setExecutor(executor);
            server.createContext("/v1/chat/completions", FixedReplyUpstream::answer);
            server.start();
            return new FixedReplyUpstream(server, executor);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the upstream", e);
        }
    }

    private static void answer(HttpExchange exchange) throws IOException {
        try (exchange; InputStream body = exchange.getRequestBody()) {
            // Read the request to its end so that the connection can carry the next one.
            byte[] request = body.readAllBytes();
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            if (new String(request, StandardCharsets.UTF_8).replace(" ", "").contains("\"stream\":true")) {
                exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
                exchange.sendResponseHeaders(200, STREAM.length);
                exchange.getResponseBody().write(STREAM);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, REPLY.length);
            exchange.getResponseBody().write(REPLY);
        }
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** The base URL an OpenAI client is configured with: {@code http://127.0.0.1:port/v1}. */
    URI baseUrl() {
        return URI.create("http://127.0.0.1:%d/v1".formatted(port()));
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
