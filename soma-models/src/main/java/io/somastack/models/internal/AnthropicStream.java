package io.somastack.models.internal;

import io.somastack.models.Usage;
import java.util.HashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Turns the events of an Anthropic Messages stream into OpenAI chunks: {@code message_start}
 * (role, input tokens), {@code content_block_start} (a tool call opens), {@code
 * content_block_delta} ({@code text_delta} content, {@code input_json_delta} argument
 * fragments), {@code message_delta} (stop reason, output tokens), {@code message_stop}
 * (finish chunk), {@code ping} (ignored) and {@code error} (thrown). Unknown event and delta
 * types are ignored, as Anthropic's versioning policy asks. One instance per stream.
 */
final class AnthropicStream {
    private final String provider;
    private final StreamEmitter emitter;
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int inputTokens = -1;
    private int outputTokens;
    private String stopReason;
    private boolean stopped;

    AnthropicStream(String provider, StreamEmitter emitter) {
        this.provider = provider;
        this.emitter = emitter;
    }

    /** Handles one event; returns false when the client is gone. */
    boolean handle(SseReader.Event event) {
        JsonNode data = WireJson.treeUpstream(event.data(), provider);
        String type = data.path("type").asString(event.type());
        switch (type) {
            case "message_start" -> {
                JsonNode usage = data.path("message").path("usage");
                inputTokens = AnthropicResponses.inputTokens(usage);
                outputTokens = usage.path("output_tokens").asInt(0);
                return emitter.role();
            }
            case "content_block_start" -> {
                JsonNode block = data.path("content_block");
                if (block.path("type").asString("").equals("tool_use")) {
                    int toolIndex = toolIndexByBlock.size();
                    toolIndexByBlock.put(data.path("index").asInt(), toolIndex);
                    return emitter.toolCallStart(toolIndex, block.path("id").asString(), block.path("name").asString());
                }
                return emitter.content(block.path("text").asString(""));
            }
            case "content_block_delta" -> {
                return delta(data.path("index").asInt(), data.path("delta"));
            }
            case "message_delta" -> {
                stopReason = data.path("delta").path("stop_reason").asString(stopReason);
                JsonNode usage = data.path("usage");
                outputTokens = usage.path("output_tokens").asInt(outputTokens);
                if (usage.has("input_tokens")) {
                    inputTokens = AnthropicResponses.inputTokens(usage);
                }
                return true;
            }
            case "message_stop" -> {
                stopped = true;
                return emitter.finish(AnthropicResponses.finishReason(stopReason));
            }
            case "error" -> throw error(data.path("error"));
            default -> {
                return true;
            }
        }
    }

    private boolean delta(int blockIndex, JsonNode delta) {
        return switch (delta.path("type").asString("")) {
            case "text_delta" -> emitter.content(delta.path("text").asString(""));
            case "input_json_delta" -> {
                Integer toolIndex = toolIndexByBlock.get(blockIndex);
                yield toolIndex == null || emitter.toolCallArguments(toolIndex, delta.path("partial_json").asString(""));
            }
            default -> true;
        };
    }

    /** True once {@code message_stop} arrived. */
    boolean stopped() {
        return stopped;
    }

    /**
     * Usage as reported; when the stream was cut short, output tokens are estimated from what
     * was generated (and input tokens too if {@code message_start} never came).
     */
    Usage usage(TokenEstimator tokens, int estimatedPromptTokens) {
        if (stopped) {
            return new Usage(Math.max(inputTokens, 0), outputTokens, false);
        }
        int input = inputTokens >= 0 ? inputTokens : estimatedPromptTokens;
        return new Usage(input, tokens.count(emitter.generatedText()), true);
    }

    private RuntimeException error(JsonNode error) {
        String type = error.path("type").asString("api_error");
        int status = switch (type) {
            case "overloaded_error" -> 529;
            case "rate_limit_error" -> 429;
            case "api_error" -> 500;
            case "timeout_error" -> 504;
            case "invalid_request_error" -> 400;
            default -> 500;
        };
        return Upstream.httpFailure(provider, status, "%s (%s) in stream".formatted(error.path("message").asString(""), type));
    }
}
