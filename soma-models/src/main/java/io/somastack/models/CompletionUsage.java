package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code usage} object of the OpenAI wire format. See {@link Usage} for the internal form
 * that also says whether the numbers were counted by the provider or estimated.
 */
public record CompletionUsage(
        @JsonProperty("prompt_tokens") int promptTokens,
        @JsonProperty("completion_tokens") int completionTokens,
        @JsonProperty("total_tokens") int totalTokens) {

    public static CompletionUsage of(Usage usage) {
        return new CompletionUsage(usage.inputTokens(), usage.outputTokens(), usage.totalTokens());
    }
}
