package io.somastack.models.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolChoice;
import io.somastack.models.ToolDefinition;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Translates an OpenAI-shaped {@link ChatRequest} to an Anthropic Messages API request.
 * System and developer messages become {@code system}; assistant tool calls become
 * {@code tool_use} blocks and tool messages {@code tool_result} blocks of a user message;
 * consecutive messages of one role are merged, as Anthropic requires alternating turns.
 * OpenAI's temperature range [0, 2] is clamped to Anthropic's [0, 1]. A JSON
 * {@code response_format} becomes an instruction in {@code system} (best effort).
 */
final class AnthropicRequests {
    static final int DEFAULT_MAX_TOKENS = 1024;

    private AnthropicRequests() {
    }

    static ObjectNode translate(ChatRequest request, String upstreamModel, boolean stream) {
        ObjectNode body = WireJson.object();
        body.put("model", upstreamModel);
        body.put("max_tokens", request.maxOutputTokens(DEFAULT_MAX_TOKENS));
        List<String> system = new ArrayList<>();
        ArrayNode messages = body.putArray("messages");
        for (ChatMessage message : request.messages()) {
            switch (message.role()) {
                case "system", "developer" -> system.add(message.text());
                case "user" -> append(messages, "user", textBlocks(message.text()));
                case "assistant" -> append(messages, "assistant", assistantBlocks(message));
                case "tool" -> append(messages, "user", List.of(toolResult(message)));
                default -> throw new SomaException(ErrorCode.INVALID_REQUEST, "role %s is not supported".formatted(message.role()));
            }
        }
        if (request.responseFormat() != null && request.responseFormat().wantsJson()) {
            system.add(jsonInstruction(request));
        }
        if (!system.isEmpty()) {
            body.put("system", String.join("\n\n", system));
        }
        if (request.tools() != null && !request.tools().isEmpty()) {
            ArrayNode tools = body.putArray("tools");
            request.tools().forEach(tool -> tools.add(tool(tool)));
            body.set("tool_choice", toolChoice(request.toolChoice(), request.parallelToolCalls()));
        }
        if (request.temperature() != null) {
            body.put("temperature", Math.min(request.temperature(), 1.0));
        }
        if (request.topP() != null) {
            body.put("top_p", request.topP());
        }
        if (!request.stopSequences().isEmpty()) {
            ArrayNode stops = body.putArray("stop_sequences");
            request.stopSequences().forEach(stops::add);
        }
        if (request.user() != null) {
            body.putObject("metadata").put("user_id", request.user());
        }
        if (stream) {
            body.put("stream", true);
        }
        return body;
    }

    private static void append(ArrayNode messages, String role, List<ObjectNode> blocks) {
        if (blocks.isEmpty()) {
            return;
        }
        JsonNode last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
        if (last != null && last.path("role").asString("").equals(role)) {
            ArrayNode content = (ArrayNode) last.get("content");
            blocks.forEach(content::add);
            return;
        }
        ObjectNode message = messages.addObject();
        message.put("role", role);
        ArrayNode content = message.putArray("content");
        blocks.forEach(content::add);
    }

    private static List<ObjectNode> textBlocks(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        ObjectNode block = WireJson.object();
        block.put("type", "text");
        block.put("text", text);
        return List.of(block);
    }

    private static List<ObjectNode> assistantBlocks(ChatMessage message) {
        List<ObjectNode> blocks = new ArrayList<>(textBlocks(message.text()));
        if (message.toolCalls() != null) {
            for (ToolCall call : message.toolCalls()) {
                ObjectNode block = WireJson.object();
                block.put("type", "tool_use");
                block.put("id", call.id());
                block.put("name", call.function().name());
                JsonNode input = WireJson.treeOrNull(call.function().arguments());
                if (input == null || !input.isObject()) {
                    throw new SomaException(ErrorCode.INVALID_REQUEST,
                            "arguments of tool call %s are not a JSON object".formatted(call.id()));
                }
                block.set("input", input);
                blocks.add(block);
            }
        }
        return blocks;
    }

    private static ObjectNode toolResult(ChatMessage message) {
        ObjectNode block = WireJson.object();
        block.put("type", "tool_result");
        block.put("tool_use_id", message.toolCallId());
        block.put("content", message.text());
        return block;
    }

    private static ObjectNode tool(ToolDefinition tool) {
        ObjectNode result = WireJson.object();
        result.put("name", tool.function().name());
        if (tool.function().description() != null) {
            result.put("description", tool.function().description());
        }
        JsonNode parameters = tool.function().parameters();
        if (parameters == null || parameters.isNull()) {
            ObjectNode empty = WireJson.object();
            empty.put("type", "object");
            empty.putObject("properties");
            parameters = empty;
        }
        result.set("input_schema", parameters);
        return result;
    }

    private static ObjectNode toolChoice(ToolChoice choice, Boolean parallelToolCalls) {
        ObjectNode result = WireJson.object();
        String mode = choice == null ? "auto" : choice.mode();
        switch (mode) {
            case "none" -> result.put("type", "none");
            case "required" -> result.put("type", "any");
            case "function" -> {
                result.put("type", "tool");
                result.put("name", choice.functionName());
            }
            default -> result.put("type", "auto");
        }
        if (Boolean.FALSE.equals(parallelToolCalls) && !mode.equals("none")) {
            result.put("disable_parallel_tool_use", true);
        }
        return result;
    }

    private static String jsonInstruction(ChatRequest request) {
        if (request.responseFormat().jsonSchema() != null) {
            return "Respond with only a JSON value, no other text, that matches this JSON Schema: "
                    + Json.text(request.responseFormat().jsonSchema().schema());
        }
        return "Respond with only a JSON object, no other text.";
    }
}
