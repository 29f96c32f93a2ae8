package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * How the model must use tools: the strings {@code "none"}, {@code "auto"}, {@code "required"},
 * or {@code {"type": "function", "function": {"name": "..."}}} to force one function. Written
 * back in the shape it was read. Immutable and thread-safe.
 *
 * @param mode one of {@code none}, {@code auto}, {@code required}, {@code function}
 * @param functionName the forced function when {@code mode} is {@code function}, else null
 */
public record ToolChoice(String mode, String functionName) {
    public static final ToolChoice NONE = new ToolChoice("none", null);
    public static final ToolChoice AUTO = new ToolChoice("auto", null);
    public static final ToolChoice REQUIRED = new ToolChoice("required", null);

    public static ToolChoice function(String name) {
        return new ToolChoice("function", name);
    }

    /** Reads the JSON form, failing with {@code INVALID_REQUEST} on any other shape. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static ToolChoice fromJson(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isString()) {
            return switch (node.stringValue()) {
                case "none" -> NONE;
                case "auto" -> AUTO;
                case "required" -> REQUIRED;
                default -> throw invalid("tool_choice '%s' is not one of none, auto, required".formatted(node.stringValue()));
            };
        }
        JsonNode name = node.path("function").path("name");
        if (node.isObject() && node.path("type").asString("").equals("function") && name.isString()) {
            return function(name.stringValue());
        }
        throw invalid("tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }

    /** The JSON form: the mode string, or the function object. */
    @JsonValue
    public Object json() {
        if (mode.equals("function")) {
            return Map.of("type", "function", "function", Map.of("name", functionName));
        }
        return mode;
    }

    /** True when the model must call a tool ({@code required} or a named function). */
    public boolean forcesCall() {
        return mode.equals("required") || mode.equals("function");
    }

    private static SomaException invalid(String detail) {
        return new SomaException(ErrorCode.INVALID_REQUEST, detail);
    }
}
