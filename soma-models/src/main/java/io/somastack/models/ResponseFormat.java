package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import tools.jackson.databind.JsonNode;

/**
 * The requested output format: {@code {"type": "text"}}, {@code {"type": "json_object"}} or
 * {@code {"type": "json_schema", "json_schema": {name, description, schema, strict}}}.
 * Immutable and thread-safe.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ResponseFormat(String type, @JsonProperty("json_schema") JsonSchemaFormat jsonSchema) {

    /** A named JSON Schema the output must match. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record JsonSchemaFormat(String name, String description, JsonNode schema, Boolean strict) {
    }

    public static ResponseFormat jsonSchema(String name, JsonNode schema) {
        return new ResponseFormat("json_schema", new JsonSchemaFormat(name, null, schema, true));
    }

    /** True for {@code json_object} and {@code json_schema}. */
    public boolean wantsJson() {
        return "json_object".equals(type) || "json_schema".equals(type);
    }
}
