package io.somastack.kernel;

import io.somastack.kernel.internal.CheckedParser;
import java.util.Map;
import java.util.Optional;

/**
 * Text SomaStack can store and encode: no NUL ({@code \u0000}, which PostgreSQL refuses in
 * text) and no lone UTF-16 surrogate (which has no UTF-8 encoding). {@link Json} applies this
 * to every string of a request body; routes apply it to query parameters, path parameters and
 * headers they store.
 */
public final class StorableText {
    private StorableText() {
    }

    /** Why {@code text} cannot be stored, if it cannot. */
    public static Optional<String> problem(String text) {
        return Optional.ofNullable(CheckedParser.problemOf(text));
    }

    /** {@code text}, or a 400 naming {@code field} when it cannot be stored. */
    public static String require(String field, String text) {
        if (text != null) {
            problem(text).ifPresent(problem -> {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' holds %s, which cannot be stored".formatted(field, problem), Map.of("field", field));
            });
        }
        return text;
    }
}
