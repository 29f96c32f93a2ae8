package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One server-sent event of a streamed completion ({@code object: "chat.completion.chunk"}).
 * Content arrives as {@link Delta}s; the last content chunk carries a {@code finish_reason};
 * when the client asked for {@code stream_options.include_usage}, a final chunk with empty
 * {@code choices} carries {@code usage}, as OpenAI sends it. Immutable and thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatChunk(
        String id,
        String object,
        long created,
        String model,
        List<ChunkChoice> choices,
        CompletionUsage usage) {
    public static final String OBJECT = "chat.completion.chunk";

    public ChatChunk {
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    /** The change to choice {@code index}, and its finish reason on the last chunk. */
    public record ChunkChoice(
            int index,
            Delta delta,
            @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("finish_reason") String finishReason) {
    }

    /** What a chunk adds: the role (first chunk), a piece of content, or tool call fragments. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content, @JsonProperty("tool_calls") List<ToolCall> toolCalls) {

        public Delta {
            toolCalls = toolCalls == null ? null : List.copyOf(toolCalls);
        }
    }

    /** A chunk with one choice. */
    public static ChatChunk of(String id, long created, String model, Delta delta, String finishReason) {
        return new ChatChunk(id, OBJECT, created, model, List.of(new ChunkChoice(0, delta, finishReason)), null);
    }

    /** The final usage chunk: no choices, only usage. */
    public static ChatChunk usageOnly(String id, long created, String model, Usage usage) {
        return new ChatChunk(id, OBJECT, created, model, List.of(), CompletionUsage.of(usage));
    }

    /** The first choice's delta, or null for a usage chunk. */
    public Delta delta() {
        return choices.isEmpty() ? null : choices.getFirst().delta();
    }
}
