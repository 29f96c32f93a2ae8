package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A non-streamed OpenAI Chat Completions response ({@code object: "chat.completion"}).
 * Always exactly one choice, because only {@code n = 1} is supported. Immutable and
 * thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatCompletion(
        String id,
        String object,
        long created,
        String model,
        List<Choice> choices,
        CompletionUsage usage) {
    public static final String OBJECT = "chat.completion";

    public ChatCompletion {
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    /**
     * One answer: the assistant message and why generation ended ({@code stop}, {@code length},
     * {@code tool_calls} or {@code content_filter}).
     */
    public record Choice(
            int index,
            ChatMessage message,
            @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("finish_reason") String finishReason) {
    }

    /** A one-choice completion. */
    public static ChatCompletion of(String id, long created, String model, ChatMessage message,
                                    String finishReason, Usage usage) {
        return new ChatCompletion(id, OBJECT, created, model, List.of(new Choice(0, message, finishReason)),
                usage == null ? null : CompletionUsage.of(usage));
    }

    /** The first choice's message, or null when there is no choice. */
    public ChatMessage message() {
        return choices.isEmpty() ? null : choices.getFirst().message();
    }

    /** The first choice's finish reason, or null. */
    public String finishReason() {
        return choices.isEmpty() ? null : choices.getFirst().finishReason();
    }
}
