package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import tools.jackson.databind.JsonNode;

/** Checks JSON text against a JSON Schema (draft 2020-12) with the networknt validator. */
public final class SchemaAssertions {
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    private SchemaAssertions() {
    }

    /** Parses {@code json} and asserts it is valid against {@code schema}; returns the parsed tree. */
    public static JsonNode assertMatchesSchema(String json, JsonNode schema) {
        JsonNode document = Json.tree(json.getBytes(StandardCharsets.UTF_8));
        Schema compiled = REGISTRY.getSchema(schema);
        List<Error> errors = compiled.validate(document);
        assertThat(errors).as("validation errors of %s", json).isEmpty();
        return document;
    }

    public static JsonNode schema(String json) {
        return Json.tree(json.getBytes(StandardCharsets.UTF_8));
    }
}
