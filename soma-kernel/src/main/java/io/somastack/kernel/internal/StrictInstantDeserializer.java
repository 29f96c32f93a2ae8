package io.somastack.kernel.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.deser.std.StdScalarDeserializer;

/**
 * Reads an {@link Instant} from an RFC 3339 string (any offset) and refuses years outside
 * 0001..9999: a far-past or far-future instant overflows millisecond arithmetic and
 * PostgreSQL's timestamp range. Epoch numbers are refused too, so the unit is never guessed.
 */
public final class StrictInstantDeserializer extends StdScalarDeserializer<Instant> {
    public static final Instant MIN = Instant.parse("0001-01-01T00:00:00Z");
    public static final Instant MAX = Instant.parse("9999-12-31T23:59:59.999999999Z");

    public StrictInstantDeserializer() {
        super(Instant.class);
    }

    @Override
    public Instant deserialize(JsonParser parser, DeserializationContext context) {
        String field = CheckedParser.path(parser.streamReadContext());
        if (parser.currentToken() != JsonToken.VALUE_STRING) {
            throw invalid(field, "must be an RFC 3339 timestamp string such as 2026-01-31T12:00:00Z");
        }
        return parse(field, parser.getString());
    }

    /** Parses {@code text} as an RFC 3339 instant in range, or throws a 400 naming {@code field}. */
    public static Instant parse(String field, String text) {
        Instant instant;
        try {
            instant = java.time.OffsetDateTime.parse(text.trim()).toInstant();
        } catch (DateTimeParseException | ArithmeticException e) {
            throw invalid(field, "must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, not '%s'".formatted(abbreviate(text)));
        }
        if (instant.isBefore(MIN) || instant.isAfter(MAX)) {
            throw new SomaException(ErrorCode.VALUE_OUT_OF_RANGE, "'%s' must be in the years 0001 to 9999, not %s"
                    .formatted(field, abbreviate(text)), Map.of("field", field));
        }
        return instant;
    }

    private static SomaException invalid(String field, String what) {
        return new SomaException(ErrorCode.INVALID_REQUEST, "'%s' %s".formatted(field, what), Map.of("field", field));
    }

    private static String abbreviate(String text) {
        return text.length() <= 64 ? text : text.substring(0, 64) + "...";
    }
}
