package io.somastack.models;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Which embedder to use: the local MiniLM model, or a remote OpenAI-compatible
 * {@code POST /embeddings} API. The API key is never part of the config: {@code apiKeyEnv}
 * names the environment variable that holds it. Read under a prefix; memory's keys:
 *
 * <table>
 *   <caption>Keys (prefix {@code memory.embedder})</caption>
 *   <tr><td>{@code memory.embedder}</td><td>{@code local} (default) or {@code openai}</td></tr>
 *   <tr><td>{@code memory.embedder.base-url}</td><td>{@code https://api.openai.com/v1}; {@code /embeddings} is appended</td></tr>
 *   <tr><td>{@code memory.embedder.model}</td><td>required with {@code openai}, e.g. {@code text-embedding-3-small}</td></tr>
 *   <tr><td>{@code memory.embedder.api-key-env}</td><td>name of the variable holding the key; none sends no key</td></tr>
 *   <tr><td>{@code memory.embedder.dimension}</td><td>the vectors' length; learned from the first answer when unset</td></tr>
 *   <tr><td>{@code memory.embedder.batch}</td><td>256, most inputs in one request</td></tr>
 *   <tr><td>{@code memory.embedder.timeout}</td><td>30s, for one request</td></tr>
 * </table>
 */
public record EmbedderConfig(Kind kind, URI baseUrl, String model, Optional<String> apiKeyEnv, OptionalInt dimension, int batchSize,
        Duration timeout) {
    public static final URI OPENAI_BASE_URL = URI.create("https://api.openai.com/v1");
    public static final int MAX_DIMENSION = 4096;

    /** The kinds of embedder. */
    public enum Kind {
        LOCAL,
        OPENAI;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public EmbedderConfig {
        requireNonNull(kind, "kind is null");
        requireNonNull(baseUrl, "baseUrl is null");
        requireNonNull(model, "model is null");
        requireNonNull(apiKeyEnv, "apiKeyEnv is null");
        requireNonNull(dimension, "dimension is null");
        requireNonNull(timeout, "timeout is null");
        if (model.isBlank()) {
            throw new IllegalArgumentException("the embedder's model must not be empty");
        }
        if (dimension.isPresent() && (dimension.getAsInt() < 1 || dimension.getAsInt() > MAX_DIMENSION)) {
            throw new IllegalArgumentException("the embedder's dimension must be in [1, %d]".formatted(MAX_DIMENSION));
        }
        if (batchSize < 1 || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the embedder's batch and timeout must be positive");
        }
    }

    /** The local all-MiniLM-L6-v2 embedder. */
    public static EmbedderConfig local() {
        return new EmbedderConfig(Kind.LOCAL, OPENAI_BASE_URL, MiniLmEmbedder.MODEL, Optional.empty(),
                OptionalInt.of(MiniLmEmbedder.DIMENSION), 256, Duration.ofSeconds(30));
    }

    /** A remote OpenAI-compatible embedder. */
    public static EmbedderConfig openAi(URI baseUrl, String model, Optional<String> apiKeyEnv, OptionalInt dimension) {
        return new EmbedderConfig(Kind.OPENAI, baseUrl, model, apiKeyEnv, dimension, 256, Duration.ofSeconds(30));
    }

    public EmbedderConfig withBatch(int batchSize, Duration timeout) {
        return new EmbedderConfig(kind, baseUrl, model, apiKeyEnv, dimension, batchSize, timeout);
    }

    /**
     * Reads the keys under {@code prefix} (memory's: {@code memory.embedder},
     * {@code memory.embedder.model}, ...); problems are collected in {@code settings}, naming the keys.
     */
    public static EmbedderConfig from(Settings settings, String prefix) {
        String kind = settings.string(prefix, "local");
        Optional<String> baseUrl = settings.string(prefix + ".base-url");
        Optional<String> model = settings.string(prefix + ".model");
        Optional<String> apiKeyEnv = settings.string(prefix + ".api-key-env");
        Optional<String> dimension = settings.string(prefix + ".dimension");
        int batch = settings.integer(prefix + ".batch", 256, 1, 2048);
        Duration timeout = settings.duration(prefix + ".timeout", Duration.ofSeconds(30));
        switch (kind) {
            case "local" -> {
                for (String key : new String[] {"base-url", "model", "api-key-env", "dimension"}) {
                    if (settings.string(prefix + "." + key).isPresent()) {
                        settings.problem("%s.%s is only used with %s=openai".formatted(prefix, key, prefix));
                    }
                }
                return local().withBatch(batch, positive(settings, prefix, timeout));
            }
            case "openai" -> {
                if (model.isEmpty()) {
                    settings.problem("%s.model is required with %s=openai (e.g. text-embedding-3-small)".formatted(prefix, prefix));
                }
                apiKeyEnv.filter(name -> !name.matches("[A-Za-z_][A-Za-z0-9_]*")).ifPresent(name -> settings.problem(
                        "%s.api-key-env='%s' must name an environment variable, not hold the key".formatted(prefix, name)));
                return new EmbedderConfig(Kind.OPENAI, url(settings, prefix, baseUrl), model.orElse("unset"),
                        apiKeyEnv.filter(name -> name.matches("[A-Za-z_][A-Za-z0-9_]*")), dimension(settings, prefix, dimension), batch,
                        positive(settings, prefix, timeout));
            }
            default -> {
                settings.problem("%s='%s' is not supported; use 'local' or 'openai'".formatted(prefix, kind));
                return local();
            }
        }
    }

    private static URI url(Settings settings, String prefix, Optional<String> text) {
        if (text.isEmpty()) {
            return OPENAI_BASE_URL;
        }
        try {
            URI uri = new URI(text.get().replaceAll("/+$", ""));
            if ((uri.getScheme() != null && (uri.getScheme().equals("http") || uri.getScheme().equals("https"))) && uri.getHost() != null) {
                return uri;
            }
        } catch (java.net.URISyntaxException e) {
            // reported below
        }
        settings.problem("%s.base-url='%s' must be an http(s) URL".formatted(prefix, text.get()));
        return OPENAI_BASE_URL;
    }

    private static OptionalInt dimension(Settings settings, String prefix, Optional<String> text) {
        if (text.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            int value = Integer.parseInt(text.get());
            if (value >= 1 && value <= MAX_DIMENSION) {
                return OptionalInt.of(value);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        settings.problem("%s.dimension='%s' must be an integer in [1, %d]".formatted(prefix, text.get(), MAX_DIMENSION));
        return OptionalInt.empty();
    }

    private static Duration positive(Settings settings, String prefix, Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            settings.problem("%s.timeout must be positive".formatted(prefix));
            return Duration.ofSeconds(30);
        }
        return timeout;
    }

    /** For the start-up log: never holds the key, only where it comes from. */
    public String describe() {
        return switch (kind) {
            case LOCAL -> "local " + model;
            case OPENAI -> "openai %s at %s (key from %s, dimension %s)".formatted(model, baseUrl, apiKeyEnv.orElse("nowhere"),
                    dimension.isPresent() ? dimension.getAsInt() : "from the first answer");
        };
    }
}
