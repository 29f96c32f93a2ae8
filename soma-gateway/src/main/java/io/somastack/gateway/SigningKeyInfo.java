package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * The public facts of a server signing key (a session-token key of {@link Sessions}, an
 * answer-provenance key of soma-agents), as the operator's console lists them: never its
 * private half.
 *
 * @param retiredAt when another key became the signer; empty for the active key
 */
public record SigningKeyInfo(String kid, String algorithm, Instant createdAt, Optional<Instant> retiredAt) {
    public SigningKeyInfo {
        requireNonNull(kid, "kid is null");
        requireNonNull(algorithm, "algorithm is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(retiredAt, "retiredAt is null");
    }

    public boolean active() {
        return retiredAt.isEmpty();
    }
}
