package io.somastack.models;

import io.somastack.kernel.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The event sequence of a streamed Anthropic message, exactly as the Messages API streaming
 * reference documents it, for {@link AnthropicWireFixture}.
 */
final class AnthropicEventStream {
    private final WireFixtureServer.EventWriter events;
    private final String id;
    private final String model;

    AnthropicEventStream(WireFixtureServer.EventWriter events, String id, String model) {
        this.events = events;
        this.id = id;
        this.model = model;
    }

    void send(FixtureReply reply) throws IOException {
        switch (reply) {
            case FixtureReply.Text text -> {
                start(text.inputTokens());
                textBlock(0, WireFixtureServer.words(text.text()), null);
                finish("end_turn", text.outputTokens());
            }
            case FixtureReply.ToolUse tool -> {
                start(tool.inputTokens());
                textBlock(0, List.of("I'll", " check", " that."), null);
                events.send("content_block_start", Map.of("type", "content_block_start", "index", 1,
                        "content_block", Map.of("type", "tool_use", "id", "toolu_fixture1", "name", tool.name(), "input", Map.of())));
                events.send("content_block_delta", jsonDelta(""));
                String arguments = Json.text(Json.tree(tool.argumentsJson().getBytes(StandardCharsets.UTF_8)));
                for (int from = 0; from < arguments.length(); from += 9) {
                    events.send("content_block_delta", jsonDelta(arguments.substring(from, Math.min(arguments.length(), from + 9))));
                }
                events.send("content_block_stop", Map.of("type", "content_block_stop", "index", 1));
                finish("tool_use", tool.outputTokens());
            }
            case FixtureReply.SlowText slow -> {
                start(30);
                textBlock(0, WireFixtureServer.words(WireFixtureServer.filler(slow.words())), slow);
                finish("end_turn", slow.words());
            }
            case FixtureReply.StreamError failing -> {
                if (failing.words() > 0) {
                    start(30);
                    events.send("content_block_start", Map.of("type", "content_block_start", "index", 0,
                            "content_block", Map.of("type", "text", "text", "")));
                    for (String word : WireFixtureServer.words(WireFixtureServer.filler(failing.words()))) {
                        events.send("content_block_delta", textDelta(0, word));
                    }
                }
                events.send("error", Map.of("type", "error", "error", Map.of("type", "overloaded_error", "message", "Overloaded")));
            }
            case FixtureReply.DropAfter drop -> {
                start(30);
                events.send("content_block_start", Map.of("type", "content_block_start", "index", 0,
                        "content_block", Map.of("type", "text", "text", "")));
                for (String word : WireFixtureServer.words(WireFixtureServer.filler(drop.words()))) {
                    events.send("content_block_delta", textDelta(0, word));
                }
            }
            case FixtureReply.Failure failure -> throw new IllegalStateException("failures are not streamed");
        }
    }

    private void start(int inputTokens) throws IOException {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("id", id);
        message.put("type", "message");
        message.put("role", "assistant");
        message.put("content", List.of());
        message.put("model", model);
        message.put("stop_reason", null);
        message.put("stop_sequence", null);
        message.put("usage", Map.of("input_tokens", inputTokens, "output_tokens", 1,
                "cache_creation_input_tokens", 0, "cache_read_input_tokens", 0));
        events.send("message_start", Map.of("type", "message_start", "message", message));
    }

    private void textBlock(int index, List<String> words, FixtureReply.SlowText slow) throws IOException {
        events.send("content_block_start", Map.of("type", "content_block_start", "index", index,
                "content_block", Map.of("type", "text", "text", "")));
        events.send("ping", Map.of("type", "ping"));
        for (String word : words) {
            events.send("content_block_delta", textDelta(index, word));
            if (slow != null) {
                events.pause(slow.delay());
            }
        }
        events.send("content_block_stop", Map.of("type", "content_block_stop", "index", index));
    }

    private void finish(String stopReason, int outputTokens) throws IOException {
        Map<String, Object> delta = new LinkedHashMap<>();
        delta.put("stop_reason", stopReason);
        delta.put("stop_sequence", null);
        events.send("message_delta", Map.of("type", "message_delta", "delta", delta, "usage", Map.of("output_tokens", outputTokens)));
        events.send("message_stop", Map.of("type", "message_stop"));
    }

    private static Map<String, Object> textDelta(int index, String text) {
        return Map.of("type", "content_block_delta", "index", index, "delta", Map.of("type", "text_delta", "text", text));
    }

    private static Map<String, Object> jsonDelta(String partial) {
        return Map.of("type", "content_block_delta", "index", 1, "delta", Map.of("type", "input_json_delta", "partial_json", partial));
    }
}
