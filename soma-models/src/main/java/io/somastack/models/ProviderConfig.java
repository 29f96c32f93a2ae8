package io.somastack.models;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One configured provider. {@link #toString()} redacts the API key.
 *
 * @param name unique name, used in alias targets ({@code name/upstream-model}) and metrics
 * @param kind what the provider speaks
 * @param baseUrl API base for remote kinds ({@code https://api.openai.com/v1},
 *     {@code https://api.anthropic.com}); null for {@code local}
 * @param apiKey secret, or null (an OpenAI-compatible server may need none)
 * @param modelPath the GGUF file for {@code local}; null otherwise
 * @param contextSize context window of the local model in tokens
 * @param threads inference threads of the local model
 * @param timeout per-request timeout: until response headers for remote streams, the whole
 *     answer for remote non-streamed calls, and the wait for the model lock for {@code local}
 * @param models upstream model ids this provider exposes under their own name
 * @param chatTemplate the operator's prompt format for {@code local}: null to use the GGUF's own
 *     {@code tokenizer.chat_template} when it has one (plain lines otherwise), {@link #PLAIN_LINES}
 *     to keep plain lines, or a Jinja chat template used instead of the file's
 */
public record ProviderConfig(
        String name,
        ProviderKind kind,
        URI baseUrl,
        String apiKey,
        Path modelPath,
        int contextSize,
        int threads,
        Duration timeout,
        List<String> models,
        String chatTemplate) {
    public static final int DEFAULT_CONTEXT_SIZE = 2048;
    /** {@code chat_template: none}: plain {@code role: content} lines even when the GGUF has a template. */
    public static final String PLAIN_LINES = "none";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    public ProviderConfig {
        requireNonNull(name, "name is null");
        requireNonNull(kind, "kind is null");
        requireNonNull(timeout, "timeout is null");
        models = List.copyOf(models);
        if (kind == ProviderKind.LOCAL) {
            requireNonNull(modelPath, "modelPath is null for a local provider");
        } else {
            requireNonNull(baseUrl, "baseUrl is null for a remote provider");
            if (chatTemplate != null) {
                throw new IllegalArgumentException("chatTemplate is for local providers only");
            }
        }
    }

    /** A remote provider (OpenAI-compatible or Anthropic) with default timeout. */
    public static ProviderConfig remote(String name, ProviderKind kind, URI baseUrl, String apiKey, List<String> models) {
        return new ProviderConfig(name, kind, baseUrl, apiKey, null, 0, 0, DEFAULT_TIMEOUT, models, null);
    }

    /** A local llama.cpp provider, prompting with the GGUF's chat template when it has one. */
    public static ProviderConfig local(String name, Path modelPath, int contextSize, int threads) {
        return local(name, modelPath, contextSize, threads, null);
    }

    /** A local llama.cpp provider with the operator's {@code chatTemplate} (see the record's parameter). */
    public static ProviderConfig local(String name, Path modelPath, int contextSize, int threads, String chatTemplate) {
        return new ProviderConfig(name, ProviderKind.LOCAL, null, null, modelPath, contextSize, threads, DEFAULT_TIMEOUT,
                List.of(), chatTemplate);
    }

    /** The local model's id: the file name without {@code .gguf}. */
    public String localModelId() {
        String file = modelPath.getFileName().toString();
        return file.endsWith(".gguf") ? file.substring(0, file.length() - ".gguf".length()) : file;
    }

    @Override
    public String toString() {
        return "ProviderConfig[name=%s, kind=%s, baseUrl=%s, apiKey=%s, modelPath=%s, contextSize=%d, threads=%d, timeout=%s, models=%s, chatTemplate=%s]"
                .formatted(name, kind.configName(), baseUrl, apiKey == null ? "none" : "***", modelPath, contextSize,
                        threads, timeout, models, chatTemplate == null ? "gguf" : chatTemplate.equals(PLAIN_LINES)
                                ? PLAIN_LINES : "custom");
    }
}
