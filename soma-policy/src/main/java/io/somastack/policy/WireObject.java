package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.policy.internal.StorableText;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/**
 * A JSON object of a request, read strictly: a field it does not know is a 400
 * {@code unknown-field}, a value of the wrong type (a number or a boolean for a string, a
 * string for an array, {@code null} for anything) a 400 {@code invalid-request}, and a string
 * PostgreSQL cannot hold ({@link StorableText}) a 400 too; each names the field by its path
 * ({@code signatures[0].key_id}). Nothing is coerced. Not thread-safe; one per request.
 *
 * <pre>{@code
 * WireObject body = WireObject.of(Json.tree(bytes), "", Set.of("bundle", "signatures"));
 * String bundle = body.text("bundle");
 * for (WireObject signature : body.objects("signatures", Set.of("signature", "key_id"))) { ... }
 * }</pre>
 */
public final class WireObject {
    private final JsonNode node;
    private final String path;

    private WireObject(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    /**
     * {@code node} as an object with only {@code fields}; {@code path} names it in messages
     * ({@code ""} for the request body).
     */
    public static WireObject of(JsonNode node, String path, Set<String> fields) {
        requireNonNull(path, "path is null");
        if (node == null || !node.isObject()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, path.isEmpty() ? "The body must be a JSON object"
                    : "'%s' must be a JSON object".formatted(path), path.isEmpty() ? Map.of() : Map.of("field", path));
        }
        for (String field : node.propertyNames()) {
            if (!fields.contains(field)) {
                String name = StorableText.printable(path.isEmpty() ? field : path + "." + field);
                throw new SomaException(ErrorCode.UNKNOWN_FIELD, "Unknown field '%s'; allowed: %s".formatted(name, String.join(", ", new TreeSet<>(fields))),
                        Map.of("field", name));
            }
        }
        return new WireObject(node, path);
    }

    /** The request body {@code bytes} as an object with only {@code fields}; an empty body is {@code {}}. */
    public static WireObject body(byte[] bytes, Set<String> fields) {
        return of(bytes.length == 0 ? Json.mapper().createObjectNode() : Json.tree(bytes), "", fields);
    }

    public boolean has(String field) {
        return node.has(field);
    }

    /** A required string. */
    public String text(String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isString()) {
            throw invalid(field, value == null ? "'%s' is required and must be a string" : "'%s' must be a string, not %s");
        }
        return StorableText.check(value.asString(), name(field));
    }

    /** An optional string: absent is empty, anything but a string is refused. */
    public Optional<String> optionalText(String field) {
        return has(field) ? Optional.of(text(field)) : Optional.empty();
    }

    /** An optional array: absent is empty, anything but an array is refused. */
    public List<JsonNode> array(String field) {
        JsonNode value = node.get(field);
        List<JsonNode> items = new ArrayList<>();
        if (value == null) {
            return items;
        }
        if (!value.isArray()) {
            throw invalid(field, "'%s' must be an array, not %s");
        }
        value.forEach(items::add);
        return items;
    }

    /** An optional array of objects, each with only {@code fields}. */
    public List<WireObject> objects(String field, Set<String> fields) {
        List<JsonNode> items = array(field);
        List<WireObject> objects = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            objects.add(of(items.get(i), "%s[%d]".formatted(name(field), i), fields));
        }
        return objects;
    }

    /** A required object with only {@code fields}. */
    public WireObject object(String field, Set<String> fields) {
        JsonNode value = node.get(field);
        if (value == null) {
            throw invalid(field, "'%s' is required and must be a JSON object");
        }
        return of(value, name(field), fields);
    }

    /** A required object of any fields (such as CEL variables), as it came. */
    public JsonNode anyObject(String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isObject()) {
            throw invalid(field, value == null ? "'%s' is required and must be a JSON object" : "'%s' must be a JSON object, not %s");
        }
        return value;
    }

    /** The path of {@code field} in messages. */
    public String name(String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    private SomaException invalid(String field, String template) {
        JsonNode value = node.get(field);
        String type = value == null ? "nothing" : value.isNull() ? "null" : value.isString() ? "a string" : value.isNumber() ? "a number"
                : value.isBoolean() ? "a boolean" : value.isArray() ? "an array" : value.isObject() ? "an object" : "another type";
        return new SomaException(ErrorCode.INVALID_REQUEST, template.formatted(name(field), type), Map.of("field", name(field)));
    }
}
