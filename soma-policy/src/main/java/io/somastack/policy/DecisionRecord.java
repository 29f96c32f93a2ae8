package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * A decision on record, as {@code GET /v1/decisions} shows it and the audit log holds it.
 *
 * @param outcome {@code admitted}, {@code denied} or {@code refused} (admission), {@code allowed} or {@code denied} (runtime)
 * @param subject the capsule name, or {@code runtime} when the call named none
 * @param violation the policy that denied ({@code denied} only)
 * @param refusal why the write that admission guarded was refused after the policies admitted ({@code refused} only)
 * @param inputDigest {@code sha256:} of the canonical JSON of everything the policies saw
 * @param evaluated {@code name@version} of each policy that applied
 */
public record DecisionRecord(UUID id, TenantId tenant, PolicyKind kind, String outcome, String subject, Optional<String> capsuleVersion,
        Optional<String> capsuleDigest, Optional<Violation> violation, Optional<Refusal> refusal, String inputDigest, List<String> evaluated,
        String actor, String requestId, Instant decidedAt) {
    public static final String REFUSED = "refused";

    public DecisionRecord {
        requireNonNull(id, "id is null");
        requireNonNull(tenant, "tenant is null");
        requireNonNull(kind, "kind is null");
        requireNonNull(outcome, "outcome is null");
        requireNonNull(subject, "subject is null");
        requireNonNull(capsuleVersion, "capsuleVersion is null");
        requireNonNull(capsuleDigest, "capsuleDigest is null");
        requireNonNull(violation, "violation is null");
        requireNonNull(refusal, "refusal is null");
        requireNonNull(inputDigest, "inputDigest is null");
        evaluated = List.copyOf(evaluated);
        requireNonNull(actor, "actor is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(decidedAt, "decidedAt is null");
        if (outcome.equals(REFUSED) != refusal.isPresent()) {
            throw new IllegalArgumentException("a refusal goes with outcome 'refused', and only with it");
        }
    }

    /** This decision as it ended: admitted by the policies, then refused with {@code refusal} at {@code at}. */
    DecisionRecord refused(Refusal refusal, Instant at) {
        return new DecisionRecord(id, tenant, kind, REFUSED, subject, capsuleVersion, capsuleDigest, Optional.empty(), Optional.of(refusal),
                inputDigest, evaluated, actor, requestId, at);
    }

    /**
     * The problem a client got when the write admission guarded was refused: the same
     * {@code type} (from {@code code}), status and detail as its problem document.
     */
    public record Refusal(ErrorCode code, String detail) {
        public Refusal {
            requireNonNull(code, "code is null");
            requireNonNull(detail, "detail is null");
        }
    }
}
