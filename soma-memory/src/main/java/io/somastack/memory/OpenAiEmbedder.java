package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.memory.internal.EmbeddingsAnswer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedder behind an OpenAI-compatible {@code POST {base-url}/embeddings} API (OpenAI, Azure
 * OpenAI's compatible endpoint, vLLM, Ollama, ...). Texts go in requests of at most
 * {@link EmbedderConfig#batchSize()} inputs with {@code encoding_format: float}; vectors are read
 * from {@code data[].embedding} in {@code index} order and scaled to unit length. The dimension
 * is the configured one, or else learned from the first answer (a one-text probe when
 * {@link #dimension()} is asked first); every later answer must match it. Failures are
 * {@link SomaException}s: {@link ErrorCode#UPSTREAM_UNAVAILABLE} when the provider cannot be
 * reached in time, {@link ErrorCode#UPSTREAM_ERROR} when it answers an error or something that
 * is not an embeddings answer. No retries: a failed remember stores nothing and may be retried
 * by the client. Thread-safe.
 *
 * <pre>{@code
 * Embedder embedder = new OpenAiEmbedder(EmbedderConfig.openAi(URI.create("https://api.openai.com/v1"),
 *         "text-embedding-3-small", Optional.of("OPENAI_API_KEY"), OptionalInt.of(1536)), Optional.of(key));
 * }</pre>
 */
public final class OpenAiEmbedder implements Embedder {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiEmbedder.class);

    private final EmbedderConfig config;
    private final URI endpoint;
    private final Optional<String> apiKey;
    private final HttpClient http;
    private final AtomicInteger dimension;

    /** An embedder for {@code config}, sending {@code apiKey} (the key itself, read from the environment) as a bearer token. */
    public OpenAiEmbedder(EmbedderConfig config, Optional<String> apiKey) {
        this.config = requireNonNull(config, "config is null");
        this.apiKey = requireNonNull(apiKey, "apiKey is null");
        this.endpoint = URI.create(config.baseUrl().toString().replaceAll("/+$", "") + "/embeddings");
        this.http = HttpClient.newBuilder().connectTimeout(config.timeout())
                .version("https".equals(endpoint.getScheme()) ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1).build();
        this.dimension = new AtomicInteger(config.dimension().orElse(0));
    }

    @Override
    public String model() {
        return config.model();
    }

    /** The vectors' length; asks the provider once when it is neither configured nor yet learned. */
    @Override
    public int dimension() {
        if (dimension.get() == 0) {
            embed("dimension probe");
        }
        return dimension.get();
    }

    @Override
    public float[] embed(String text) {
        return embedAll(List.of(text)).getFirst();
    }

    @Override
    public List<float[]> embedAll(List<String> texts) {
        return embed(texts, false).vectors();
    }

    @Override
    public Counted embedCounted(List<String> texts) {
        return embed(texts, true);
    }

    private Counted embed(List<String> texts, boolean counted) {
        List<float[]> vectors = new ArrayList<>(texts.size());
        long tokens = 0;
        for (int from = 0; from < texts.size(); from += config.batchSize()) {
            EmbeddingsAnswer answer = request(texts.subList(from, Math.min(texts.size(), from + config.batchSize())));
            if (counted && answer.promptTokens().isEmpty()) {
                throw failure(ErrorCode.UPSTREAM_ERROR, "answered without usage.prompt_tokens, which metering needs", Optional.empty());
            }
            vectors.addAll(answer.vectors());
            tokens += answer.promptTokens().orElse(0);
        }
        return new Counted(vectors, tokens);
    }

    private EmbeddingsAnswer request(List<String> inputs) {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).timeout(config.timeout())
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(Map.of("model", config.model(), "input", inputs,
                        "encoding_format", "float"))));
        apiKey.ifPresent(key -> request.header("Authorization", "Bearer " + key));
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw failure(ErrorCode.UPSTREAM_UNAVAILABLE, "did not answer within %d ms".formatted(config.timeout().toMillis()), Optional.empty());
        } catch (IOException e) {
            // The client's own text (addresses, TLS and protocol details) goes to the log, not to the problem.
            LOG.warn("The embeddings provider {} (model {}) cannot be reached", endpoint, config.model(), e);
            throw failure(ErrorCode.UPSTREAM_UNAVAILABLE, "cannot be reached (%s)".formatted(e.getClass().getSimpleName()), Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(ErrorCode.UPSTREAM_UNAVAILABLE, "was not awaited: interrupted", Optional.empty());
        }
        if (response.statusCode() / 100 != 2) {
            String hint = response.statusCode() == 401 || response.statusCode() == 403
                    ? " (the key comes from $%s)".formatted(config.apiKeyEnv().orElse("<memory.embedder.api-key-env is unset>")) : "";
            throw failure(ErrorCode.UPSTREAM_ERROR, "answered %d: %s%s".formatted(response.statusCode(),
                    EmbeddingsAnswer.errorMessage(response.body()), hint), Optional.of(response.statusCode()));
        }
        try {
            EmbeddingsAnswer answer = EmbeddingsAnswer.parse(response.body(), inputs.size(), dimension.get());
            int length = answer.vectors().getFirst().length;
            // Two first answers may race: the one learned first is the dimension, and the other must match it.
            if (!dimension.compareAndSet(0, length) && dimension.get() != length) {
                throw new EmbeddingsAnswer.Malformed("its vectors have %d dimensions, but an earlier answer had %d".formatted(length,
                        dimension.get()));
            }
            return answer;
        } catch (EmbeddingsAnswer.Malformed e) {
            throw failure(ErrorCode.UPSTREAM_ERROR, "answered something that is not an embeddings answer: " + e.getMessage(),
                    Optional.of(response.statusCode()));
        }
    }

    private SomaException failure(ErrorCode code, String what, Optional<Integer> status) {
        return new SomaException(code, "The embeddings provider %s (model %s) %s".formatted(endpoint, config.model(), what),
                status.<Map<String, Object>>map(value -> Map.of("upstream_status", value)).orElse(Map.of()));
    }
}
