package io.somastack.agents.internal;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;
import java.util.List;
import java.util.Map;

/**
 * The OpenAI Responses API's wire shapes that {@link ResponseProjection} answers: the
 * {@code response} object, its output items, and the streaming events, each a record serialized
 * by Jackson with its {@code type} written from its {@link JsonTypeName}. Field names and order
 * follow the published API reference, so the official clients parse them unchanged.
 */
public final class ResponseWire {
    private ResponseWire() {
    }

    /** The {@code response} object. {@code error}, {@code incomplete_details} and {@code usage} are null until they apply. */
    public record Response(
            String id,
            String object,
            @JsonProperty("created_at") long createdAt,
            String status,
            Error error,
            @JsonProperty("incomplete_details") IncompleteDetails incompleteDetails,
            String instructions,
            @JsonProperty("max_output_tokens") Integer maxOutputTokens,
            String model,
            List<OutputItem> output,
            @JsonProperty("parallel_tool_calls") boolean parallelToolCalls,
            @JsonProperty("previous_response_id") String previousResponseId,
            boolean store,
            Double temperature,
            TextConfig text,
            @JsonProperty("tool_choice") String toolChoice,
            List<Object> tools,
            @JsonProperty("top_p") Double topP,
            String truncation,
            Usage usage,
            Map<String, String> metadata) {
        public Response {
            output = List.copyOf(output);
        }
    }

    /** Why a response failed: {@code code} is the run's reason. */
    public record Error(String code, String message) {
    }

    /** Why a response is incomplete ({@code cancelled}). */
    public record IncompleteDetails(String reason) {
    }

    /** {@code text.format}: plain text. */
    public record TextConfig(Map<String, String> format) {
        static final TextConfig PLAIN = new TextConfig(Map.of("type", "text"));
    }

    /** Tokens of the whole run. */
    public record Usage(
            @JsonProperty("input_tokens") long inputTokens,
            @JsonProperty("input_tokens_details") Map<String, Long> inputTokensDetails,
            @JsonProperty("output_tokens") long outputTokens,
            @JsonProperty("output_tokens_details") Map<String, Long> outputTokensDetails,
            @JsonProperty("total_tokens") long totalTokens) {
        static Usage of(long input, long output) {
            return new Usage(input, Map.of("cached_tokens", 0L), output, Map.of("reasoning_tokens", 0L), input + output);
        }
    }

    /** A content part of a message: its text. */
    public record OutputText(String type, String text, List<Object> annotations, List<Object> logprobs) {
        static OutputText of(String text) {
            return new OutputText("output_text", text, List.of(), List.of());
        }
    }

    /** An item of {@code output}. */
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
    @JsonSubTypes({@JsonSubTypes.Type(Message.class), @JsonSubTypes.Type(McpCall.class)})
    public sealed interface OutputItem permits Message, McpCall {
        String id();
    }

    /** A step's text. */
    @JsonTypeName("message")
    public record Message(String id, String status, String role, List<OutputText> content) implements OutputItem {
        public Message {
            content = List.copyOf(content);
        }
    }

    /** A tool call the server ran: {@code server_label} is the capsule; {@code output} or {@code error} once it ended. */
    @JsonTypeName("mcp_call")
    public record McpCall(String id, @JsonProperty("server_label") String serverLabel, String name, String arguments, String output, String error,
            String status) implements OutputItem {
        McpCall ended(boolean completed, String outcome) {
            return completed ? new McpCall(id, serverLabel, name, arguments, outcome, null, "completed")
                    : new McpCall(id, serverLabel, name, arguments, null, outcome, "failed");
        }
    }

    /** A Responses streaming event; {@code sequence_number} counts from 0 in a stream. */
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
    public sealed interface Event permits Created, InProgress, Completed, Failed, Incomplete, OutputItemAdded, OutputItemDone, ContentPartAdded,
            ContentPartDone, OutputTextDelta, OutputTextDone, McpCallArgumentsDone, McpCallInProgress, McpCallCompleted, McpCallFailed {
        /** The event's {@code type}, e.g. {@code response.output_text.delta}. */
        @JsonIgnore
        default String type() {
            return getClass().getAnnotation(JsonTypeName.class).value();
        }
    }

    @JsonTypeName("response.created")
    public record Created(Response response, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.in_progress")
    public record InProgress(Response response, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.completed")
    public record Completed(Response response, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.failed")
    public record Failed(Response response, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.incomplete")
    public record Incomplete(Response response, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.output_item.added")
    public record OutputItemAdded(@JsonProperty("output_index") int outputIndex, OutputItem item,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.output_item.done")
    public record OutputItemDone(@JsonProperty("output_index") int outputIndex, OutputItem item,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.content_part.added")
    public record ContentPartAdded(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("content_index") int contentIndex, OutputText part, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.content_part.done")
    public record ContentPartDone(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("content_index") int contentIndex, OutputText part, @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.output_text.delta")
    public record OutputTextDelta(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("content_index") int contentIndex, String delta, List<Object> logprobs,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.output_text.done")
    public record OutputTextDone(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("content_index") int contentIndex, String text, List<Object> logprobs,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.mcp_call_arguments.done")
    public record McpCallArgumentsDone(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex, String arguments,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.mcp_call.in_progress")
    public record McpCallInProgress(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.mcp_call.completed")
    public record McpCallCompleted(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }

    @JsonTypeName("response.mcp_call.failed")
    public record McpCallFailed(@JsonProperty("item_id") String itemId, @JsonProperty("output_index") int outputIndex,
            @JsonProperty("sequence_number") int sequenceNumber) implements Event {
    }
}
