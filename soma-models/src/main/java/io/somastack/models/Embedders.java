package io.somastack.models;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.internal.EmbeddingTexts;
import java.util.Map;
import java.util.Optional;

/**
 * Makes the {@link Embedder} an {@link EmbedderConfig} names. The local model takes about a second
 * to load; a remote one makes no request until it is used (or its dimension is asked without
 * being configured).
 *
 * <pre>{@code
 * Embedder embedder = Embedders.from(config.memory().embedder());
 * Memory memory = Memory.create(config.memory(), database, commit, clock, ids, meters, embedder).start();
 * }</pre>
 */
public final class Embedders {
    private Embedders() {
    }

    /** The configured embedder, reading its API key from the process environment. */
    public static Embedder from(EmbedderConfig config) {
        return from(config, System.getenv());
    }

    /**
     * The configured embedder, reading its API key from {@code environment}. Fails with
     * {@link ErrorCode#INVALID_REQUEST} when {@code api-key-env} names a variable
     * that is unset or empty.
     */
    public static Embedder from(EmbedderConfig embedder, Map<String, String> environment) {
        return switch (embedder.kind()) {
            case LOCAL -> new MiniLmEmbedder();
            case OPENAI -> new OpenAiEmbedder(embedder, apiKey(embedder, environment));
        };
    }

    /**
     * Why {@code text} cannot be embedded, naming {@code field}, or empty when it can: it holds NUL
     * or a lone surrogate, or nothing an embedder reads (only whitespace, control, formatting such
     * as U+200B, or combining characters). For routes that embed client text, to answer 400
     * before the model is asked.
     */
    public static Optional<String> contentProblem(String field, String text) {
        return EmbeddingTexts.problem(field, text);
    }

    private static Optional<String> apiKey(EmbedderConfig config, Map<String, String> environment) {
        if (config.apiKeyEnv().isEmpty()) {
            return Optional.empty();
        }
        String name = config.apiKeyEnv().get();
        String key = environment.get(name);
        if (key == null || key.isBlank()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST,
                    "The embedder's api-key-env names %s, but that environment variable is not set".formatted(name));
        }
        return Optional.of(key.strip());
    }
}
