package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A tool call made by the assistant: {@code {id, type: "function", function: {name,
 * arguments}}}, where {@code arguments} is a JSON document serialized as a string, exactly as
 * OpenAI sends it. In a streamed {@link ChatChunk} the call is split into deltas keyed by
 * {@link #index()}: the first carries id and name, later ones append argument fragments.
 * Immutable and thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ToolCall(Integer index, String id, String type, FunctionCall function) {

    /** The function called and its arguments as a JSON string (possibly a fragment in a delta). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FunctionCall(String name, String arguments) {
    }

    /** A complete call, as found in a {@link ChatCompletion} message. */
    public static ToolCall function(String id, String name, String arguments) {
        return new ToolCall(null, id, "function", new FunctionCall(name, arguments));
    }
}
