package io.somastack.kernel.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.SerializableString;
import tools.jackson.core.TokenStreamContext;
import tools.jackson.core.sym.PropertyNameMatcher;
import tools.jackson.core.util.JsonParserDelegate;

/**
 * A parser that refuses, as each token is read, a string or property name holding NUL
 * ({@code \u0000}) or a lone UTF-16 surrogate. PostgreSQL cannot store NUL in text, and a lone
 * surrogate cannot be encoded as UTF-8, so both would otherwise fail deep in a store or an
 * embedder. Checking tokens as they stream costs one pass over characters already decoded.
 */
public final class CheckedParser extends JsonParserDelegate {
    public CheckedParser(JsonParser delegate) {
        super(delegate);
    }

    @Override
    public JsonToken nextToken() {
        return checked(super.nextToken());
    }

    @Override
    public JsonToken nextValue() {
        return checked(super.nextValue());
    }

    @Override
    public String nextName() {
        String name = super.nextName();
        checked(currentToken());
        return name;
    }

    @Override
    public boolean nextName(SerializableString expected) {
        boolean matches = super.nextName(expected);
        checked(currentToken());
        return matches;
    }

    @Override
    public int nextNameMatch(PropertyNameMatcher matcher) {
        int match = super.nextNameMatch(matcher);
        checked(currentToken());
        return match;
    }

    private JsonToken checked(JsonToken token) {
        if (token == JsonToken.VALUE_STRING || token == JsonToken.PROPERTY_NAME) {
            String problem = problemOf(getString());
            if (problem != null) {
                String field = path(streamReadContext());
                throw new SomaException(ErrorCode.INVALID_REQUEST, field.isEmpty()
                        ? "The document holds %s, which cannot be stored".formatted(problem)
                        : "Field '%s' holds %s, which cannot be stored".formatted(field, problem), field.isEmpty() ? Map.of() : Map.of("field", field));
            }
        }
        return token;
    }

    /** What in {@code text} cannot be stored ("a NUL character (U+0000) at character 3"), or null when all can. */
    public static String problemOf(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u0000') {
                return "a NUL character (U+0000) at character %d".formatted(i);
            }
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return "a lone surrogate (U+%04X) at character %d".formatted((int) c, i);
            }
        }
        return null;
    }

    /** The dotted path of the current token ({@code messages[2].content}). */
    public static String path(TokenStreamContext context) {
        Deque<String> parts = new ArrayDeque<>();
        for (TokenStreamContext at = context; at != null && !at.inRoot(); at = at.getParent()) {
            if (at.inArray()) {
                parts.push("[" + Math.max(at.getCurrentIndex(), 0) + "]");
            } else if (at.currentName() != null) {
                parts.push("." + at.currentName());
            }
        }
        return String.join("", parts).replaceFirst("^\\.", "");
    }
}
