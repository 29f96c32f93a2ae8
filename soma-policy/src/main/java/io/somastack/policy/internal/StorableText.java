package io.somastack.policy.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * Text that PostgreSQL can hold and compare: no NUL (U+0000), which a {@code text} or
 * {@code jsonb} value cannot contain, and no lone surrogate, which is not Unicode and has no
 * UTF-8 form. Every string the constitution and the marketplace store or put in a query
 * (bodies, path and query parameters, headers, manifest and SBOM content) passes here first,
 * so such input is a 400 naming the field instead of a driver error.
 */
public final class StorableText {
    private StorableText() {
    }

    /** {@code value}, or a 400 {@code invalid-request} naming {@code field} if it cannot be stored. */
    public static String check(String value, String field) {
        if (value != null) {
            problem(value).ifPresent(problem -> {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' contains %s, which is not allowed".formatted(field, problem),
                        Map.of("field", field));
            });
        }
        return value;
    }

    /** What is wrong with {@code value}: a NUL character or a lone surrogate; empty when it is storable. */
    public static Optional<String> problem(String value) {
        return io.somastack.kernel.StorableText.problem(value);
    }

    /**
     * The first place in {@code tree} (a JSON Pointer, {@code ""} for the root) where a field
     * name or a string value cannot be stored, with the problem; empty when all can.
     */
    public static Optional<String> find(JsonNode tree) {
        return find(tree, "");
    }

    private static Optional<String> find(JsonNode node, String pointer) {
        if (node == null) {
            return Optional.empty();
        }
        if (node.isString()) {
            return problem(node.asString()).map(problem -> "%s has %s".formatted(pointer.isEmpty() ? "/" : pointer, problem));
        }
        if (node.isObject()) {
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                String child = pointer + "/" + field.getKey().replace("~", "~0").replace("/", "~1");
                Optional<String> found = problem(field.getKey()).map(problem -> "the field name %s has %s".formatted(printable(child), problem))
                        .or(() -> find(field.getValue(), printable(child)));
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                Optional<String> found = find(node.get(i), pointer + "/" + i);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    /** {@code text} with NULs and lone surrogates replaced by '?', so a message about them is itself storable. */
    public static String printable(String text) {
        return io.somastack.kernel.StorableText.printable(text);
    }
}
