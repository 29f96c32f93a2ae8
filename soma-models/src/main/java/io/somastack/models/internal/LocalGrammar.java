package io.somastack.models.internal;

import de.kherud.llama.LlamaModel;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.models.ResponseFormat;
import io.somastack.models.ToolDefinition;
import java.util.List;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * GBNF grammars that constrain a local model's output, built with llama.cpp's own JSON
 * Schema converter. A forced tool call must be {@code {"name": <one of the tools>,
 * "arguments": <that tool's parameter schema>}}. The converter's whitespace rule allows up to
 * twenty spaces and newlines between tokens; small models spend their whole budget there, so
 * it is narrowed to at most one space, and none after the closing brace.
 */
final class LocalGrammar {
    private static final Pattern SPACE_RULE = Pattern.compile("(?m)^space ::= .*$");
    private static final Pattern ROOT_TRAILING_SPACE = Pattern.compile("(?m)^(root ::= .*) space$");

    private LocalGrammar() {
    }

    /** A grammar for {@code json_object} (any object) or {@code json_schema} (its schema). */
    static String json(ResponseFormat format) {
        JsonNode schema = format.jsonSchema() != null ? format.jsonSchema().schema() : objectSchema();
        return convert(schema, ErrorCode.INVALID_REQUEST, "response_format.json_schema.schema");
    }

    /** A grammar for one call of one of {@code tools}. */
    static String toolCall(List<ToolDefinition> tools) {
        ArrayNode alternatives = WireJson.lenient().createArrayNode();
        for (ToolDefinition tool : tools) {
            ObjectNode call = WireJson.object();
            call.put("type", "object");
            ObjectNode properties = call.putObject("properties");
            properties.putObject("name").putArray("enum").add(tool.name());
            JsonNode parameters = tool.function().parameters();
            properties.set("arguments", parameters == null || parameters.isNull() ? objectSchema() : parameters);
            call.putArray("required").add("name").add("arguments");
            call.put("additionalProperties", false);
            alternatives.add(call);
        }
        JsonNode schema = alternatives.size() == 1 ? alternatives.get(0) : WireJson.object().set("anyOf", alternatives);
        return convert(schema, ErrorCode.INVALID_TOOL_SCHEMA, "tools");
    }

    private static String convert(JsonNode schema, ErrorCode code, String field) {
        try {
            String grammar = LlamaModel.jsonSchemaToGrammar(Json.text(schema));
            String narrowed = SPACE_RULE.matcher(grammar).replaceFirst("space ::= \" \"?");
            return ROOT_TRAILING_SPACE.matcher(narrowed).replaceFirst("$1");
        } catch (RuntimeException e) {
            throw new SomaException(code, "%s cannot be turned into a grammar for the local model: %s".formatted(field, e.getMessage()));
        }
    }

    private static ObjectNode objectSchema() {
        ObjectNode schema = WireJson.object();
        schema.put("type", "object");
        return schema;
    }
}
