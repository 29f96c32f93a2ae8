package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A decision on record, as {@code GET /v1/decisions} shows it and the audit log holds it.
 *
 * @param outcome {@code admitted} or {@code denied} (admission), {@code allowed} or {@code denied} (runtime)
 * @param subject the capsule name, or {@code runtime} when the call named none
 * @param inputDigest {@code sha256:} of the canonical JSON of everything the policies saw
 * @param evaluated {@code name@version} of each policy that applied
 */
public record DecisionRecord(UUID id, TenantId tenant, PolicyKind kind, String outcome, String subject, Optional<String> capsuleVersion,
        Optional<String> capsuleDigest, Optional<Violation> violation, String inputDigest, List<String> evaluated, String actor,
        String requestId, Instant decidedAt) {
    public DecisionRecord {
        requireNonNull(id, "id is null");
        requireNonNull(tenant, "tenant is null");
        requireNonNull(kind, "kind is null");
        requireNonNull(outcome, "outcome is null");
        requireNonNull(subject, "subject is null");
        requireNonNull(capsuleVersion, "capsuleVersion is null");
        requireNonNull(capsuleDigest, "capsuleDigest is null");
        requireNonNull(violation, "violation is null");
        requireNonNull(inputDigest, "inputDigest is null");
        evaluated = List.copyOf(evaluated);
        requireNonNull(actor, "actor is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(decidedAt, "decidedAt is null");
    }
}
