package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.somastack.models.internal.ChatRequestValidator;
import io.somastack.models.internal.WireJson;
import java.util.List;
import java.util.Map;

/**
 * An OpenAI Chat Completions request ({@code POST /v1/chat/completions}), the one request
 * shape every provider accepts. Unknown fields fail ({@code UNKNOWN_FIELD}), as do fields of
 * the OpenAI API that SomaStack does not support. {@code stop} accepts a string or a list.
 *
 * <p>Immutable and thread-safe. Example:
 * <pre>{@code
 * ChatRequest request = ChatRequest.parse(body);          // validated, or SomaException
 * int limit = request.maxOutputTokens(1024);
 * ChatResult result = router.complete(request);
 * }</pre>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatRequest(
        String model,
        List<ChatMessage> messages,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        @JsonProperty("max_tokens") Integer maxTokens,
        @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        Integer n,
        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> stop,
        List<ToolDefinition> tools,
        @JsonProperty("tool_choice") ToolChoice toolChoice,
        @JsonProperty("response_format") ResponseFormat responseFormat,
        String user,
        Long seed,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        @JsonProperty("parallel_tool_calls") Boolean parallelToolCalls,
        Map<String, String> metadata,
        Boolean logprobs) {

    public ChatRequest {
        messages = messages == null ? null : List.copyOf(messages);
        stop = stop == null ? null : List.copyOf(stop);
        tools = tools == null ? null : List.copyOf(tools);
        metadata = metadata == null ? null : Map.copyOf(metadata);
    }

    /** {@code stream_options}: whether the stream ends with a usage chunk. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {
    }

    /**
     * Reads and validates a request body.
     *
     * @throws io.somastack.kernel.SomaException {@code MALFORMED_JSON}, {@code UNKNOWN_FIELD},
     *     {@code INVALID_REQUEST} or {@code INVALID_TOOL_SCHEMA}, with a message naming the field
     */
    public static ChatRequest parse(byte[] body) {
        return WireJson.readStrict(body, ChatRequest.class).validate();
    }

    /** A minimal request: model and messages, everything else unset. */
    public static ChatRequest of(String model, List<ChatMessage> messages) {
        return new ChatRequest(model, messages, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null);
    }

    /** Checks the rules of {@link #parse(byte[])} and returns this request. */
    public ChatRequest validate() {
        ChatRequestValidator.validate(this);
        return this;
    }

    /** {@code max_completion_tokens}, else {@code max_tokens}, else {@code defaultValue}. */
    public int maxOutputTokens(int defaultValue) {
        if (maxCompletionTokens != null) {
            return maxCompletionTokens;
        }
        return maxTokens != null ? maxTokens : defaultValue;
    }

    /** True when the client asked for a stream. */
    public boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    /** True when a stream must end with a usage chunk ({@code stream_options.include_usage}). */
    public boolean includeUsage() {
        return streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
    }

    /** True when tools are offered and {@code tool_choice} is not {@code none}. */
    public boolean hasTools() {
        return tools != null && !tools.isEmpty() && (toolChoice == null || !toolChoice.mode().equals("none"));
    }

    /** The stop sequences, empty when none were given. */
    public List<String> stopSequences() {
        return stop == null ? List.of() : stop;
    }

    /** This request for another model name (the upstream model of a route target). */
    public ChatRequest withModel(String newModel) {
        return new ChatRequest(newModel, messages, stream, streamOptions, maxTokens, maxCompletionTokens,
                temperature, topP, n, stop, tools, toolChoice, responseFormat, user, seed, presencePenalty,
                frequencyPenalty, parallelToolCalls, metadata, logprobs);
    }

    /** This request with {@code stream} and {@code stream_options} replaced. */
    public ChatRequest withStream(boolean newStream, StreamOptions newStreamOptions) {
        return new ChatRequest(model, messages, newStream, newStreamOptions, maxTokens, maxCompletionTokens,
                temperature, topP, n, stop, tools, toolChoice, responseFormat, user, seed, presencePenalty,
                frequencyPenalty, parallelToolCalls, metadata, logprobs);
    }

    /** This request with other messages (for example with a system instruction added). */
    public ChatRequest withMessages(List<ChatMessage> newMessages) {
        return new ChatRequest(model, newMessages, stream, streamOptions, maxTokens, maxCompletionTokens,
                temperature, topP, n, stop, tools, toolChoice, responseFormat, user, seed, presencePenalty,
                frequencyPenalty, parallelToolCalls, metadata, logprobs);
    }
}
