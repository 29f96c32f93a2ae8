package io.somastack.tools.internal;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.NodePath;
import io.somastack.tools.ToolResult;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * Compiles tools' input schemas (JSON Schema 2020-12 unless a schema names its dialect; remote
 * references are never fetched) and checks arguments against them, listing every error with
 * its JSON pointer into the arguments. Thread-safe.
 */
public final class ArgumentsCheck {
    private final SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
            builder -> builder.schemaLoader(loader -> loader.fetchRemoteResources(false)));

    public Schema compile(JsonNode schema) {
        return registry.getSchema(schema);
    }

    public List<ToolResult.ArgumentError> check(Schema schema, JsonNode arguments) {
        List<ToolResult.ArgumentError> errors = new ArrayList<>();
        for (Error error : schema.validate(arguments)) {
            errors.add(new ToolResult.ArgumentError(pointer(error), error.getMessage()));
        }
        return errors;
    }

    /** RFC 6901 pointer of the error's instance location; a missing required property points at the property. */
    static String pointer(Error error) {
        StringBuilder pointer = new StringBuilder();
        NodePath path = error.getInstanceLocation();
        for (int i = 0; i < path.getNameCount(); i++) {
            pointer.append('/').append(escape(String.valueOf(path.getElement(i))));
        }
        if (NAMES_A_PROPERTY.contains(error.getKeyword()) && error.getProperty() != null) {
            pointer.append('/').append(escape(error.getProperty()));
        }
        return pointer.toString();
    }

    /** Keywords whose errors are about a member of the object at the instance location, named by {@link Error#getProperty()}. */
    private static final java.util.Set<String> NAMES_A_PROPERTY = java.util.Set.of("required", "additionalProperties", "unevaluatedProperties",
            "dependentRequired", "dependencies", "propertyNames");

    private static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }
}
