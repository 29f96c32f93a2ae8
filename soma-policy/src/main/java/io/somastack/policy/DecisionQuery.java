package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.time.Instant;
import java.util.Optional;

/**
 * A filter over a tenant's decisions, newest first.
 *
 * @param capsule the subject (capsule name)
 * @param outcome {@code admitted}, {@code denied}, {@code refused} or {@code allowed}
 * @param from inclusive lower bound of the decision time
 * @param to exclusive upper bound
 * @param limit 1 to 1000
 */
public record DecisionQuery(Optional<String> capsule, Optional<String> outcome, Optional<Instant> from, Optional<Instant> to, int limit) {
    public DecisionQuery {
        requireNonNull(capsule, "capsule is null");
        requireNonNull(outcome, "outcome is null");
        requireNonNull(from, "from is null");
        requireNonNull(to, "to is null");
        if (outcome.isPresent() && !java.util.Set.of("admitted", "denied", "refused", "allowed").contains(outcome.get())) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "outcome is 'admitted', 'denied', 'refused' or 'allowed', not '%s'"
                    .formatted(outcome.get()), java.util.Map.of("field", "outcome"));
        }
        if (limit < 1 || limit > 1000) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "limit must be between 1 and 1000", java.util.Map.of("field", "limit"));
        }
    }

    public static DecisionQuery all() {
        return new DecisionQuery(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 100);
    }
}
