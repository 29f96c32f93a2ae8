package io.somastack.kernel;

import io.somastack.kernel.internal.StrictInstantDeserializer;
import java.time.Instant;
import java.util.Optional;

/**
 * Instants from clients: RFC 3339 text in the years 0001..9999, one rule for bodies (see
 * {@link Json}), query parameters and in-process callers. Outside that range an instant has no
 * epoch-millisecond value and no PostgreSQL {@code timestamptz}.
 */
public final class Instants {
    public static final Instant EARLIEST = StrictInstantDeserializer.MIN;
    public static final Instant LATEST = StrictInstantDeserializer.MAX;

    private Instants() {
    }

    /**
     * Parses {@code text} (e.g. a {@code from} query parameter) or throws a 400 problem naming
     * {@code field}: {@link ErrorCode#INVALID_REQUEST} for bad syntax, {@link ErrorCode#VALUE_OUT_OF_RANGE}
     * outside the supported years.
     */
    public static Instant parse(String field, String text) {
        return StrictInstantDeserializer.parse(field, text);
    }

    /** Why {@code at} is out of range, naming {@code field}, or empty. */
    public static Optional<String> rangeProblem(String field, Instant at) {
        if (at.isBefore(EARLIEST) || at.isAfter(LATEST)) {
            return Optional.of("'%s' %s is out of range: instants must be in the years 0001 to 9999".formatted(field, at));
        }
        return Optional.empty();
    }
}
