package io.somastack.models;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** The kinds of model provider SomaStack can talk to. */
public enum ProviderKind {
    /** Any OpenAI-compatible Chat Completions API (OpenAI, Azure-style gateways, vLLM, Ollama). */
    OPENAI,
    /** The Anthropic Messages API. */
    ANTHROPIC,
    /** A GGUF model run in-process by llama.cpp. */
    LOCAL;

    /** The name used in configuration and in {@link ModelProvider#kind()}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<ProviderKind> fromConfigName(String name) {
        return Arrays.stream(values()).filter(kind -> kind.configName().equals(name)).findFirst();
    }
}
