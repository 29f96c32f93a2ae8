package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.databind.JsonNode;

/**
 * A tool the model may call: {@code {type: "function", function: {name, description,
 * parameters, strict}}}. {@code parameters} is a JSON Schema whose root is an object schema.
 * {@link ChatRequest#parse(byte[])} checks the shape and reports a bad definition as
 * {@code INVALID_TOOL_SCHEMA}. Immutable and thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ToolDefinition(String type, FunctionDefinition function) {

    /** The callable function: name ({@code ^[a-zA-Z0-9_-]{1,64}$}), description, parameter schema. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record FunctionDefinition(String name, String description, JsonNode parameters, Boolean strict) {
    }

    public static ToolDefinition function(String name, String description, JsonNode parameters) {
        return new ToolDefinition("function", new FunctionDefinition(name, description, parameters, null));
    }

    /** The function's name, or null when the definition has no function. */
    public String name() {
        return function == null ? null : function.name();
    }
}
