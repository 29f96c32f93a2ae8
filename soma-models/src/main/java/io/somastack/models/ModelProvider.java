package io.somastack.models;

import java.util.OptionalInt;

/**
 * One source of completions: an OpenAI-compatible API, the Anthropic Messages API, or a
 * local llama.cpp model. A provider translates the OpenAI-shaped {@link ChatRequest} to its
 * upstream and back, and always reports {@link Usage}.
 *
 * <p>Failures: an upstream that answers with an error or cannot be reached throws
 * {@code SomaException(UPSTREAM_ERROR)} with the extensions {@code provider},
 * {@code upstream_status} (when a response arrived) and {@code retryable} (true for 408, 409,
 * 429, 5xx and connection failures), which the {@link ModelRouter} uses to fall back.
 *
 * <p>Implementations are thread-safe; the local provider serializes inference internally.
 * Providers are created by {@link Models} and closed by the router that owns them.
 */
public interface ModelProvider extends AutoCloseable {

    /** The configured name, such as {@code openai} or {@code local}. */
    String name();

    /** {@code openai}, {@code anthropic} or {@code local}. */
    String kind();

    /** A complete (non-streamed) answer from {@code upstreamModel}. */
    ChatResult complete(ChatRequest request, String upstreamModel);

    /**
     * Streams the answer to {@code sink} and returns the assembled result. Stops as soon as
     * the sink returns false, and then bills only what was generated.
     */
    ChatResult stream(ChatRequest request, String upstreamModel, StreamSink sink);

    /**
     * Prompt tokens of {@code request} for this provider, before calling it (for worst-case
     * budget reservations). Exact for the local model, estimated for remote providers.
     */
    int countPromptTokens(ChatRequest request);

    /** The context window in tokens, when this server knows it (a local model's {@code context_size}); remote providers do not say. */
    default OptionalInt contextSize() {
        return OptionalInt.empty();
    }

    /** Releases connections or the native model. */
    @Override
    void close();
}
