package io.somastack.models.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ResponseFormat;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolChoice;
import io.somastack.models.ToolDefinition;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * The rules of a valid {@link ChatRequest}: what OpenAI itself refuses, plus what SomaStack
 * does not support ({@code n > 1}, {@code logprobs}). The first broken rule fails the request
 * with a message naming the field.
 */
public final class ChatRequestValidator {
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
    private static final Set<String> RESPONSE_FORMATS = Set.of("text", "json_object", "json_schema");
    private static final Pattern TOOL_NAME = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");

    private ChatRequestValidator() {
    }

    public static void validate(ChatRequest request) {
        if (request.model() == null || request.model().isBlank()) {
            throw invalid("model is required");
        }
        if (request.messages() == null || request.messages().isEmpty()) {
            throw invalid("messages must not be empty");
        }
        for (int index = 0; index < request.messages().size(); index++) {
            validateMessage(index, request.messages().get(index));
        }
        positive("max_tokens", request.maxTokens());
        positive("max_completion_tokens", request.maxCompletionTokens());
        range("temperature", request.temperature(), 0, 2);
        range("top_p", request.topP(), 0, 1);
        range("presence_penalty", request.presencePenalty(), -2, 2);
        range("frequency_penalty", request.frequencyPenalty(), -2, 2);
        if (request.n() != null && request.n() != 1) {
            throw invalid("n=%d is not supported: only n=1 is supported".formatted(request.n()));
        }
        if (Boolean.TRUE.equals(request.logprobs())) {
            throw invalid("logprobs is not supported");
        }
        if (request.stop() != null && request.stop().size() > 4) {
            throw invalid("stop accepts at most 4 sequences");
        }
        validateTools(request.tools(), request.toolChoice());
        validateResponseFormat(request.responseFormat());
    }

    private static void validateMessage(int index, ChatMessage message) {
        if (message == null) {
            throw invalid("messages[%d] must be an object".formatted(index));
        }
        String role = message.role();
        if (role == null || !ROLES.contains(role)) {
            throw invalid("messages[%d].role '%s' is not one of system, developer, user, assistant, tool"
                    .formatted(index, role));
        }
        switch (role) {
            case "tool" -> {
                if (message.toolCallId() == null || message.toolCallId().isBlank()) {
                    throw invalid("messages[%d]: a tool message needs tool_call_id".formatted(index));
                }
            }
            case "assistant" -> {
                if (message.content() == null && !message.hasToolCalls()) {
                    throw invalid("messages[%d]: an assistant message needs content or tool_calls".formatted(index));
                }
            }
            default -> {
                if (message.content() == null) {
                    throw invalid("messages[%d]: a %s message needs content".formatted(index, role));
                }
            }
        }
        if (message.toolCalls() != null && !role.equals("assistant")) {
            throw invalid("messages[%d]: only assistant messages carry tool_calls".formatted(index));
        }
        if (message.toolCalls() != null) {
            for (ToolCall call : message.toolCalls()) {
                if (call.id() == null || call.function() == null || call.function().name() == null
                        || call.function().arguments() == null || !"function".equals(call.type())) {
                    throw invalid("messages[%d].tool_calls: each call needs id, type 'function', function.name and function.arguments"
                            .formatted(index));
                }
            }
        }
    }

    private static void validateTools(List<ToolDefinition> tools, ToolChoice toolChoice) {
        Set<String> names = new HashSet<>();
        if (tools != null) {
            for (int index = 0; index < tools.size(); index++) {
                names.add(validateTool(index, tools.get(index)));
            }
        }
        if (toolChoice == null) {
            return;
        }
        if (toolChoice.forcesCall() && names.isEmpty()) {
            throw invalid("tool_choice '%s' needs tools".formatted(toolChoice.mode()));
        }
        if (toolChoice.mode().equals("function") && !names.contains(toolChoice.functionName())) {
            throw invalid("tool_choice names function '%s', which is not among the tools".formatted(toolChoice.functionName()));
        }
    }

    private static String validateTool(int index, ToolDefinition tool) {
        if (tool == null || !"function".equals(tool.type())) {
            throw schema("tools[%d].type must be \"function\"".formatted(index));
        }
        if (tool.function() == null) {
            throw schema("tools[%d].function is required".formatted(index));
        }
        String name = tool.function().name();
        if (name == null || !TOOL_NAME.matcher(name).matches()) {
            throw schema("tools[%d].function.name '%s' must match ^[a-zA-Z0-9_-]{1,64}$".formatted(index, name));
        }
        JsonNode parameters = tool.function().parameters();
        if (parameters != null && !parameters.isNull()) {
            if (!parameters.isObject()) {
                throw schema("tools[%d].function.parameters must be a JSON Schema object".formatted(index));
            }
            JsonNode type = parameters.get("type");
            if (type != null && !(type.isString() && type.stringValue().equals("object"))) {
                throw schema("tools[%d].function.parameters.type must be \"object\"".formatted(index));
            }
        }
        return name;
    }

    private static void validateResponseFormat(ResponseFormat format) {
        if (format == null) {
            return;
        }
        if (format.type() == null || !RESPONSE_FORMATS.contains(format.type())) {
            throw invalid("response_format.type '%s' is not one of text, json_object, json_schema".formatted(format.type()));
        }
        if (format.type().equals("json_schema")) {
            if (format.jsonSchema() == null || format.jsonSchema().schema() == null || !format.jsonSchema().schema().isObject()) {
                throw invalid("response_format json_schema needs json_schema.schema, a JSON Schema object");
            }
        }
    }

    private static void positive(String field, Integer value) {
        if (value != null && value <= 0) {
            throw invalid("%s must be a positive integer, got %d".formatted(field, value));
        }
    }

    private static void range(String field, Double value, double min, double max) {
        if (value != null && (value < min || value > max || value.isNaN())) {
            throw invalid("%s must be between %s and %s, got %s".formatted(field, format(min), format(max), value));
        }
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }

    private static SomaException invalid(String detail) {
        return new SomaException(ErrorCode.INVALID_REQUEST, detail);
    }

    private static SomaException schema(String detail) {
        return new SomaException(ErrorCode.INVALID_TOOL_SCHEMA, detail);
    }
}
