package io.somastack.models.internal;

import io.somastack.kernel.Json;
import io.somastack.models.ChatCompletion;
import io.somastack.models.ChatMessage;
import io.somastack.models.MessageContent;
import io.somastack.models.ToolCall;
import io.somastack.models.Usage;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Translates Anthropic Messages API answers back to the OpenAI shape: text blocks join into
 * {@code content}, {@code tool_use} blocks become {@code tool_calls}, stop reasons map to
 * finish reasons, and input tokens include cache writes and reads (all billed prompt tokens).
 */
final class AnthropicResponses {

    private AnthropicResponses() {
    }

    static ChatCompletion completion(JsonNode message, long created, Usage usage) {
        StringBuilder text = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (JsonNode block : message.path("content").values()) {
            switch (block.path("type").asString("")) {
                case "text" -> text.append(block.path("text").asString(""));
                case "tool_use" -> calls.add(ToolCall.function(block.path("id").asString(), block.path("name").asString(),
                        Json.text(block.path("input"))));
                default -> {
                    // Thinking and other block kinds have no OpenAI counterpart and are dropped.
                }
            }
        }
        MessageContent content = text.isEmpty() && !calls.isEmpty() ? null : MessageContent.text(text.toString());
        ChatMessage assistant = new ChatMessage("assistant", content, null, null, calls.isEmpty() ? null : calls, null);
        return ChatCompletion.of(message.path("id").asString(Ids.completionId()), created,
                message.path("model").asString(""), assistant, finishReason(message.path("stop_reason").asString(null)), usage);
    }

    static Usage usage(JsonNode usage) {
        return new Usage(inputTokens(usage), usage.path("output_tokens").asInt(0), false);
    }

    static int inputTokens(JsonNode usage) {
        return usage.path("input_tokens").asInt(0)
                + usage.path("cache_creation_input_tokens").asInt(0)
                + usage.path("cache_read_input_tokens").asInt(0);
    }

    /** Anthropic {@code stop_reason} to OpenAI {@code finish_reason}. */
    static String finishReason(String stopReason) {
        if (stopReason == null) {
            return "stop";
        }
        return switch (stopReason) {
            case "max_tokens", "model_context_window_exceeded" -> "length";
            case "tool_use" -> "tool_calls";
            case "refusal" -> "content_filter";
            default -> "stop";
        };
    }
}
