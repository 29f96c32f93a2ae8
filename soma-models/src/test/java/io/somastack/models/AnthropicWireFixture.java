package io.somastack.models;

import com.sun.net.httpserver.HttpExchange;
import io.somastack.kernel.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;

/**
 * A local stand-in for the Anthropic Messages API ({@code POST /v1/messages}) speaking its
 * published wire format. It refuses what the real API refuses: a wrong {@code x-api-key}
 * (401), a missing {@code anthropic-version: 2023-06-01}, missing {@code max_tokens}, a
 * {@code system} role inside {@code messages}, turns that do not alternate or do not start
 * with the user, tools without {@code input_schema}, a {@code tool_result} that answers no
 * {@code tool_use} of the previous turn, and unknown fields. Streams follow the documented
 * event sequence: {@code message_start}, {@code content_block_start}, {@code ping},
 * {@code content_block_delta}..., {@code content_block_stop}, {@code message_delta},
 * {@code message_stop}; errors are {@code {"type": "error", "error": {type, message}}}.
 */
public final class AnthropicWireFixture extends WireFixtureServer {
    public static final String VERSION = "2023-06-01";
    private static final Set<String> FIELDS = Set.of("model", "messages", "max_tokens", "system", "tools", "tool_choice",
            "temperature", "top_p", "top_k", "stop_sequences", "stream", "metadata");
    private static final Set<String> TOOL_FIELDS = Set.of("name", "description", "input_schema");

    private final String apiKey;
    private final AtomicInteger sequence = new AtomicInteger();

    public AnthropicWireFixture(String apiKey) {
        super("/v1/messages");
        this.apiKey = apiKey;
    }

    @Override
    protected FixtureReply defaultReply() {
        return new FixtureReply.Text("Hello from Claude", 25, 4);
    }

    @Override
    protected List<Refusal> check(Map<String, String> headers, JsonNode body) {
        List<Refusal> refusals = new ArrayList<>();
        if (!apiKey.equals(headers.get("x-api-key"))) {
            return List.of(new Refusal(401, "invalid x-api-key"));
        }
        if (!VERSION.equals(headers.get("anthropic-version"))) {
            refusals.add(new Refusal(400, "anthropic-version: header is required and must be " + VERSION));
        }
        body.properties().forEach(field -> {
            if (!FIELDS.contains(field.getKey())) {
                refusals.add(new Refusal(400, field.getKey() + ": Extra inputs are not permitted"));
            }
        });
        if (!body.path("model").isString()) {
            refusals.add(new Refusal(400, "model: Field required"));
        }
        if (!body.path("max_tokens").isInt() || body.path("max_tokens").asInt() < 1) {
            refusals.add(new Refusal(400, "max_tokens: Field required"));
        }
        if (body.has("system") && !body.get("system").isString() && !body.get("system").isArray()) {
            refusals.add(new Refusal(400, "system: Input should be a valid string or list"));
        }
        if (body.has("temperature") && (body.get("temperature").asDouble() < 0 || body.get("temperature").asDouble() > 1)) {
            refusals.add(new Refusal(400, "temperature: range: 0..1"));
        }
        checkMessages(body.path("messages"), refusals);
        checkTools(body, refusals);
        return refusals;
    }

    private static void checkMessages(JsonNode messages, List<Refusal> refusals) {
        if (!messages.isArray() || messages.isEmpty()) {
            refusals.add(new Refusal(400, "messages: at least one message is required"));
            return;
        }
        String previousRole = null;
        Set<String> openToolUses = new HashSet<>();
        for (int index = 0; index < messages.size(); index++) {
            JsonNode message = messages.get(index);
            String role = message.path("role").asString("");
            if (!role.equals("user") && !role.equals("assistant")) {
                refusals.add(new Refusal(400, "messages.%d.role: Input should be 'user' or 'assistant'".formatted(index)));
            }
            if (index == 0 && !role.equals("user")) {
                refusals.add(new Refusal(400, "messages: first message must use the \"user\" role"));
            }
            if (role.equals(previousRole)) {
                refusals.add(new Refusal(400, "messages: roles must alternate between \"user\" and \"assistant\""));
            }
            Set<String> toolUses = new HashSet<>();
            JsonNode content = message.path("content");
            if (content.isArray()) {
                for (JsonNode block : content.values()) {
                    switch (block.path("type").asString("")) {
                        case "text" -> {
                            if (block.path("text").asString("").isEmpty()) {
                                refusals.add(new Refusal(400, "messages: text content blocks must be non-empty"));
                            }
                        }
                        case "tool_use" -> {
                            toolUses.add(block.path("id").asString(""));
                            if (!block.path("input").isObject()) {
                                refusals.add(new Refusal(400, "messages.%d: tool_use.input must be an object".formatted(index)));
                            }
                        }
                        case "tool_result" -> {
                            if (!openToolUses.contains(block.path("tool_use_id").asString(""))) {
                                refusals.add(new Refusal(400, "messages.%d: unexpected tool_use_id found in tool_result blocks"
                                        .formatted(index)));
                            }
                        }
                        default -> refusals.add(new Refusal(400, "messages.%d: unknown content block type".formatted(index)));
                    }
                }
            } else if (!content.isString()) {
                refusals.add(new Refusal(400, "messages.%d.content: Field required".formatted(index)));
            }
            openToolUses = toolUses;
            previousRole = role;
        }
    }

    private static void checkTools(JsonNode body, List<Refusal> refusals) {
        for (JsonNode tool : body.path("tools").values()) {
            tool.properties().forEach(field -> {
                if (!TOOL_FIELDS.contains(field.getKey())) {
                    refusals.add(new Refusal(400, "tools: %s: Extra inputs are not permitted".formatted(field.getKey())));
                }
            });
            if (!tool.path("input_schema").isObject() || !tool.path("input_schema").path("type").asString("").equals("object")) {
                refusals.add(new Refusal(400, "tools: input_schema: Field required (a JSON Schema of type object)"));
            }
        }
        JsonNode choice = body.get("tool_choice");
        if (choice != null && !Set.of("auto", "any", "tool", "none").contains(choice.path("type").asString(""))) {
            refusals.add(new Refusal(400, "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"));
        }
    }

    @Override
    protected void respond(HttpExchange exchange, JsonNode body, FixtureReply reply) throws IOException {
        String id = "msg_fixture" + sequence.incrementAndGet();
        String model = body.path("model").asString();
        if (reply instanceof FixtureReply.Failure failure) {
            error(exchange, failure.status(), switch (failure.status()) {
                case 429 -> "Number of request tokens has exceeded your per-minute rate limit";
                case 529 -> "Overloaded";
                case 500 -> "Internal server error";
                default -> "Invalid request";
            });
            return;
        }
        if (body.path("stream").asBoolean(false)) {
            new AnthropicEventStream(events(exchange), id, model).send(reply);
            return;
        }
        List<Map<String, Object>> content = new ArrayList<>();
        String stopReason;
        int input;
        int output;
        switch (reply) {
            case FixtureReply.Text text -> {
                content.add(Map.of("type", "text", "text", text.text()));
                stopReason = "end_turn";
                input = text.inputTokens();
                output = text.outputTokens();
            }
            case FixtureReply.ToolUse tool -> {
                content.add(Map.of("type", "text", "text", "I'll check that."));
                content.add(Map.of("type", "tool_use", "id", "toolu_fixture" + sequence.get(), "name", tool.name(),
                        "input", Json.tree(tool.argumentsJson().getBytes(StandardCharsets.UTF_8))));
                stopReason = "tool_use";
                input = tool.inputTokens();
                output = tool.outputTokens();
            }
            default -> throw new IllegalArgumentException("reply %s needs a stream".formatted(reply));
        }
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("id", id);
        message.put("type", "message");
        message.put("role", "assistant");
        message.put("model", model);
        message.put("content", content);
        message.put("stop_reason", stopReason);
        message.put("stop_sequence", null);
        message.put("usage", Map.of("input_tokens", input, "output_tokens", output,
                "cache_creation_input_tokens", 0, "cache_read_input_tokens", 0));
        json(exchange, 200, message);
    }

    @Override
    protected void error(HttpExchange exchange, int status, String message) throws IOException {
        String type = switch (status) {
            case 401 -> "authentication_error";
            case 429 -> "rate_limit_error";
            case 529 -> "overloaded_error";
            case 500 -> "api_error";
            default -> "invalid_request_error";
        };
        json(exchange, status, Map.of("type", "error", "error", Map.of("type", type, "message", message),
                "request_id", "req_fixture"));
    }
}
