package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;
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
    }
}
