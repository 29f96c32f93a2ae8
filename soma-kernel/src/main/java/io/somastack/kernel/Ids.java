package io.somastack.kernel;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Generates time-ordered ids (UUID version 7, RFC 9562) so that primary keys stay local in
 * B-tree indexes. Thread-safe.
 */
public final class Ids {
    private final SecureRandom random = new SecureRandom();
    private final Clock clock;

    public Ids(Clock clock) {
        this.clock = clock;
    }

    public UUID next() {
        long millis = clock.millis();
        long randomA = random.nextLong();
        long randomB = random.nextLong();
        long mostSignificant = (millis << 16) | 0x7000L | (randomA & 0x0FFFL);
        long leastSignificant = (randomB & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(mostSignificant, leastSignificant);
    }

    /** Parses a UUID or throws an {@link ErrorCode#INVALID_REQUEST} naming {@code what}. */
    public static UUID parseUuid(String text, String what) {
        try {
            return UUID.fromString(text);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' is not a valid %s".formatted(text, what));
        }
    }
}
