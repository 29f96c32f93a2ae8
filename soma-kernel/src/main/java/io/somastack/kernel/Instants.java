package io.somastack.kernel;

import io.somastack.kernel.internal.StrictInstantDeserializer;
import java.time.Instant;

/** Instants from clients: RFC 3339 text in the years 0001..9999, one rule for bodies and query parameters. */
public final class Instants {
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
}
