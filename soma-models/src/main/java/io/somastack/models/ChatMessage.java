package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One message of an OpenAI Chat Completions conversation, in a request or as the assistant
 * message of a {@link ChatCompletion}.
 *
 * <p>Roles are {@code system}, {@code developer}, {@code user}, {@code assistant} and
 * {@code tool}. An assistant message may carry {@link #toolCalls()} instead of content; a tool
 * message answers one call through {@link #toolCallId()}. The output-only fields that the
 * OpenAI SDKs echo back when a client appends a response message to its history
 * ({@code annotations}, {@code audio}, {@code function_call}) are accepted and dropped; every
 * other unknown field fails the request.
 *
 * <p>Immutable and thread-safe. Example:
 * <pre>{@code
 * ChatMessage question = ChatMessage.of("user", "Tell me a story");
 * }</pre>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties({"annotations", "audio", "function_call"})
public record ChatMessage(
        String role,
        @JsonInclude(JsonInclude.Include.ALWAYS) MessageContent content,
        String name,
        String refusal,
        @JsonProperty("tool_calls") List<ToolCall> toolCalls,
        @JsonProperty("tool_call_id") String toolCallId) {

    public ChatMessage {
        toolCalls = toolCalls == null ? null : List.copyOf(toolCalls);
    }

    /** A plain text message with the given role. */
    public static ChatMessage of(String role, String text) {
        return new ChatMessage(role, MessageContent.text(text), null, null, null, null);
    }

    /** An assistant message that calls tools (its content is null, as OpenAI sends it). */
    public static ChatMessage assistantToolCalls(List<ToolCall> toolCalls) {
        return new ChatMessage("assistant", null, null, null, toolCalls, null);
    }

    /** A tool message answering the call {@code toolCallId}. */
    public static ChatMessage toolResult(String toolCallId, String text) {
        return new ChatMessage("tool", MessageContent.text(text), null, null, null, toolCallId);
    }

    /** The text of the content (text parts joined), or the empty string when there is none. */
    public String text() {
        return content == null ? "" : content.asText();
    }

    /** True when this message calls at least one tool. */
    public boolean hasToolCalls() {
        return toolCalls != null && !toolCalls.isEmpty();
    }
}
