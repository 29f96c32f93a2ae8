package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import java.time.Instant;

/**
 * What one model costs from {@code effectiveFrom} on, per million tokens, in exact decimals.
 * {@link #cost(long, long)} never rounds.
 */
public record Price(String model, Money inputPerMillion, Money outputPerMillion, Instant effectiveFrom) {
    public static Price free(String model) {
        return new Price(model, Money.ZERO, Money.ZERO, Instant.EPOCH);
    }

    public Price {
        requireNonNull(model, "model is null");
        requireNonNull(inputPerMillion, "inputPerMillion is null");
        requireNonNull(outputPerMillion, "outputPerMillion is null");
        requireNonNull(effectiveFrom, "effectiveFrom is null");
        if (inputPerMillion.isNegative() || outputPerMillion.isNegative()) {
            throw new IllegalArgumentException("Prices of %s must not be negative".formatted(model));
        }
    }

    public Money cost(long inputTokens, long outputTokens) {
        return inputPerMillion.perMillionTimes(inputTokens).plus(outputPerMillion.perMillionTimes(outputTokens));
    }
}
