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

    /** {@code text} with NULs and lone surrogates replaced by '?', so a message that quotes it can itself be stored. */
    public static String printable(String text) {
        StringBuilder result = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                result.append(c).append(text.charAt(++i));
            } else {
                result.append(c == 0 || Character.isSurrogate(c) ? '?' : c);
            }
        }
        return result.toString();
    }
}
