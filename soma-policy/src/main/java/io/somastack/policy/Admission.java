package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The outcome of admitting a capsule bundle into a tenant. Both outcomes are recorded
 * decisions ({@code decisionId}); a bundle that is malformed or carries a bad signature is
 * not an admission but a 4xx {@link io.somastack.kernel.SomaException}, and nothing is recorded.
 */
public sealed interface Admission permits Admission.Admitted, Admission.Denied {
    UUID decisionId();

    CapsuleBundle bundle();

    /** Every admission policy that applied and held. */
    record Admitted(UUID decisionId, CapsuleBundle bundle, List<String> evaluated) implements Admission {
        public Admitted {
            requireNonNull(decisionId, "decisionId is null");
            requireNonNull(bundle, "bundle is null");
            evaluated = List.copyOf(evaluated);
        }
    }

    /** The first policy that denied, and why. */
    record Denied(UUID decisionId, CapsuleBundle bundle, Violation violation, List<String> evaluated) implements Admission {
        public Denied {
            requireNonNull(decisionId, "decisionId is null");
            requireNonNull(bundle, "bundle is null");
            requireNonNull(violation, "violation is null");
            evaluated = List.copyOf(evaluated);
        }

        /** The 403 {@code admission-denied} for a caller refusing on this denial: the policy, its expression and the recorded decision. */
        public SomaException refusal() {
            Map<String, Object> extensions = new LinkedHashMap<>();
            extensions.put("decision_id", decisionId.toString());
            extensions.put("policy", violation.policyName());
            extensions.put("policy_version", violation.policyVersion());
            extensions.put("expression", violation.expression());
            return new SomaException(ErrorCode.ADMISSION_DENIED, "%s was denied by policy %s: %s".formatted(bundle.coordinates(),
                    violation.policyName(), violation.message()), extensions);
        }
    }
}
