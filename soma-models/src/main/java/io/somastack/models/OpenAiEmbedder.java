package io.somastack.models;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.models.internal.CircuitBreakers;
import io.somastack.models.internal.EmbeddingsAnswer;
import io.somastack.models.internal.HttpUpstream;
import io.somastack.models.internal.Upstream;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedder behind an OpenAI-compatible {@code POST {base-url}/embeddings} API (OpenAI, Azure
 * OpenAI's compatible endpoint, vLLM, Ollama, ...), over the same upstream HTTP client and
 * circuit breaker as the chat providers. Texts go in requests of at most
 * {@link EmbedderConfig#batchSize()} inputs with {@code encoding_format: float}; vectors are read
 * from {@code data[].embedding} in {@code index} order and scaled to unit length. The dimension
 * is the configured one, or else learned from the first answer (a one-text probe when
 * {@link #dimension()} is asked first); every later answer must match it. Failures are
 * {@link SomaException}s: {@link ErrorCode#UPSTREAM_UNAVAILABLE} when the provider cannot be
 * reached in time or its circuit is open (after repeated 429s, 5xx or timeouts), and
 * {@link ErrorCode#UPSTREAM_ERROR} when it answers an error or something that is not an
 * embeddings answer. No retries: a failed remember stores nothing and may be retried by the
 * client. Thread-safe.
 *
 * <pre>{@code
 * Embedder embedder = new OpenAiEmbedder(EmbedderConfig.openAi(URI.create("https://api.openai.com/v1"),
 *         "text-embedding-3-small", Optional.of("OPENAI_API_KEY"), OptionalInt.of(1536)), Optional.of(key));
 * }</pre>
 */
public final class OpenAiEmbedder implements Embedder, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiEmbedder.class);

    private final EmbedderConfig config;
    private final URI endpoint;
    private final Map<String, String> headers;
    private final HttpUpstream http;
    private final CircuitBreaker breaker;
    private final AtomicInteger dimension;

    /** An embedder for {@code config}, sending {@code apiKey} (the key itself, read from the environment) as a bearer token. */
    public OpenAiEmbedder(EmbedderConfig config, Optional<String> apiKey) {
        this(config, apiKey, ModelsConfig.CircuitBreaker.DEFAULTS, Clock.system());
    }

    /** As above, with the circuit breaker's settings and clock. */
    public OpenAiEmbedder(EmbedderConfig config, Optional<String> apiKey, ModelsConfig.CircuitBreaker circuit, Clock clock) {
        this.config = requireNonNull(config, "config is null");
        requireNonNull(apiKey, "apiKey is null");
        this.endpoint = URI.create(config.baseUrl().toString().replaceAll("/+$", "") + "/embeddings");
        this.headers = apiKey.map(key -> Map.of("Accept", "application/json", "Authorization", "Bearer " + key))
                .orElse(Map.of("Accept", "application/json"));
        this.http = new HttpUpstream(name(), config.baseUrl(), config.timeout());
        this.breaker = CircuitBreakers.one(circuit, name(), clock);
        this.dimension = new AtomicInteger(config.dimension().orElse(0));
    }

    private String name() {
        return "embeddings:" + config.model();
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
        if (!breaker.tryAcquirePermission()) {
            throw failure(ErrorCode.UPSTREAM_UNAVAILABLE, "failed repeatedly: its circuit is open, so it is not asked until it closes",
                    Optional.empty());
        }
        long start = System.nanoTime();
        byte[] body = Json.bytes(Map.of("model", config.model(), "input", inputs, "encoding_format", "float"));
        HttpUpstream.Answer response;
        try {
            response = http.exchange(endpoint, headers, body);
        } catch (SomaException e) {
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
            throw unreachable(e);
        }
        int status = response.status();
        if (status / 100 != 2) {
            String message = HttpUpstream.errorMessage(HttpUpstream.errorBody(response));
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, Upstream.httpFailure(name(), status, message));
            String hint = status == 401 || status == 403
                    ? " (the key comes from $%s)".formatted(config.apiKeyEnv().orElse("<api-key-env is unset>")) : "";
            throw failure(ErrorCode.UPSTREAM_ERROR, "answered %d: %s%s".formatted(status, message, hint), Optional.of(status));
        }
        String text;
        try {
            text = new String(http.read(response), StandardCharsets.UTF_8);
        } catch (SomaException e) {
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
            throw unreachable(e);
        }
        breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        try {
            EmbeddingsAnswer answer = EmbeddingsAnswer.parse(text, inputs.size(), dimension.get());
            int length = answer.vectors().getFirst().length;
            // Two first answers may race: the one learned first is the dimension, and the other must match it.
            if (!dimension.compareAndSet(0, length) && dimension.get() != length) {
                throw new EmbeddingsAnswer.Malformed("its vectors have %d dimensions, but an earlier answer had %d".formatted(length,
                        dimension.get()));
            }
            return answer;
        } catch (EmbeddingsAnswer.Malformed e) {
            throw failure(ErrorCode.UPSTREAM_ERROR, "answered something that is not an embeddings answer: " + e.getMessage(),
                    Optional.of(status));
        }
    }

    /** No answer arrived: said without the client's own text (addresses, TLS details), which goes to the log. */
    private SomaException unreachable(SomaException e) {
        Throwable cause = e.getCause();
        if (cause instanceof HttpTimeoutException) {
            return failure(ErrorCode.UPSTREAM_UNAVAILABLE, "did not answer within %d ms".formatted(config.timeout().toMillis()), Optional.empty());
        }
        if (cause instanceof InterruptedException) {
            return failure(ErrorCode.UPSTREAM_UNAVAILABLE, "was not awaited: interrupted", Optional.empty());
        }
        LOG.warn("The embeddings provider {} (model {}) cannot be reached", endpoint, config.model(), cause);
        return failure(ErrorCode.UPSTREAM_UNAVAILABLE, "cannot be reached (%s)".formatted(cause == null ? "no answer"
                : cause.getClass().getSimpleName()), Optional.empty());
    }

    private SomaException failure(ErrorCode code, String what, Optional<Integer> status) {
        return new SomaException(code, "The embeddings provider %s (model %s) %s".formatted(endpoint, config.model(), what),
                status.<Map<String, Object>>map(value -> Map.of("upstream_status", value)).orElse(Map.of()));
    }

    /** Closes the HTTP client. */
    @Override
    public void close() {
        http.close();
    }
}
