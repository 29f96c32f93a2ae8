package io.somastack.models;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import tools.jackson.databind.JsonNode;

/**
 * A local HTTP server speaking OpenAI's published embeddings wire format
 * ({@code POST /v1/embeddings}: {@code model}, {@code input}, {@code encoding_format}; answers
 * {@code data[].index/embedding} and {@code usage.prompt_tokens}; errors as
 * {@code {"error": {"message", "type", "code"}}}), for {@link OpenAiEmbedder}'s tests and the
 * memory tests that embed through it. Its vectors are the real MiniLM vectors of the inputs,
 * zero-padded to {@link #dimension} and doubled (OpenAI answers unit vectors; some compatible
 * servers do not), so recall through it finds what MiniLM finds; its token counts are MiniLM's. It answers {@code data} in reverse
 * order, which the format allows, and can be told to fail the next request in the ways a
 * provider does.
 */
public final class OpenAiEmbeddingsWireFixture implements AutoCloseable {
    public static final String MODEL = "text-embedding-3-small";
    public static final String API_KEY = "sk-fixture-0123456789";

    private final HttpServer server;
    private final Embedder model;
    private final AtomicInteger dimension;
    private final AtomicReference<Failure> nextFailure = new AtomicReference<>();
    private final ConcurrentLinkedQueue<Request> requests = new ConcurrentLinkedQueue<>();

    /** One request as the fixture received it. */
    public record Request(String authorization, String model, int inputs, String encodingFormat) {
    }

    /** How to answer the next request instead of embedding: a status and a raw body, after a pause. */
    public record Failure(int status, String body, Duration pause) {
    }

    public OpenAiEmbeddingsWireFixture(Embedder model, int dimension) {
        this.model = model;
        this.dimension = new AtomicInteger(dimension);
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/embeddings", this::handle);
        server.start();
    }

    /** An {@link OpenAiEmbedder} of {@code baseUrl} (this fixture's or another), with the fixture's model and key. */
    public static OpenAiEmbedder embedder(URI baseUrl, OptionalInt dimension, int batch, Duration timeout) {
        EmbedderConfig config = EmbedderConfig.openAi(baseUrl, MODEL, Optional.of("SOMA_TEST_OPENAI_KEY"), dimension).withBatch(batch, timeout);
        return new OpenAiEmbedder(config, Optional.of(API_KEY));
    }

    /** An {@link OpenAiEmbedder} of this fixture: 1,536 dimensions, batches of 256, a 10 s timeout. */
    public OpenAiEmbedder embedder() {
        return embedder(baseUrl(), OptionalInt.of(1536), 256, Duration.ofSeconds(10));
    }

    public URI baseUrl() {
        return URI.create("http://127.0.0.1:%d/v1".formatted(server.getAddress().getPort()));
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    public void answerWithDimension(int value) {
        dimension.set(value);
    }

    public void failNext(int status, String body) {
        nextFailure.set(new Failure(status, body, Duration.ZERO));
    }

    public void stallNext(Duration pause) {
        nextFailure.set(new Failure(200, "{}", pause));
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            JsonNode body = Json.mapper().readTree(exchange.getRequestBody().readAllBytes());
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            List<String> inputs = new ArrayList<>();
            JsonNode input = body.path("input");
            if (input.isArray()) {
                input.forEach(text -> inputs.add(text.asString()));
            } else {
                inputs.add(input.asString());
            }
            requests.add(new Request(authorization, body.path("model").asString(), inputs.size(), body.path("encoding_format").asString()));
            Failure failure = nextFailure.getAndSet(null);
            if (failure != null) {
                Thread.sleep(failure.pause().toMillis());
                send(exchange, failure.status(), failure.body());
            } else if (!("Bearer " + API_KEY).equals(authorization)) {
                send(exchange, 401, error("Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                        "invalid_request_error", "invalid_api_key"));
            } else if (!MODEL.equals(body.path("model").asString())) {
                send(exchange, 404, error("The model `%s` does not exist or you do not have access to it.".formatted(body.path("model").asString()),
                        "invalid_request_error", "model_not_found"));
            } else if (inputs.isEmpty() || inputs.size() > 2048 || !"float".equals(body.path("encoding_format").asString("float"))) {
                send(exchange, 400, error("'input' must hold 1 to 2048 texts, encoded as float", "invalid_request_error", null));
            } else {
                send(exchange, 200, Json.text(embeddings(inputs)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Map<String, Object> embeddings(List<String> inputs) {
        Embedder.Counted counted = model.embedCounted(inputs);
        List<Map<String, Object>> data = new ArrayList<>();
        for (int index = inputs.size() - 1; index >= 0; index--) {
            float[] vector = counted.vectors().get(index);
            List<Float> values = new ArrayList<>(dimension.get());
            for (int i = 0; i < dimension.get(); i++) {
                values.add(i < vector.length ? 2 * vector[i] : 0f);
            }
            data.add(Map.of("object", "embedding", "index", index, "embedding", values));
        }
        return Map.of("object", "list", "data", data, "model", MODEL,
                "usage", Map.of("prompt_tokens", counted.tokens(), "total_tokens", counted.tokens()));
    }

    public static String error(String message, String type, String code) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", type);
        error.put("param", null);
        error.put("code", code);
        return Json.text(Map.of("error", error));
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
