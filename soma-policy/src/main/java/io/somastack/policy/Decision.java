package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.UUID;

/** The outcome of a runtime authorization (a turn, a model call, a tool call); always recorded. */
public sealed interface Decision permits Decision.Allowed, Decision.Denied {
    UUID decisionId();

    record Allowed(UUID decisionId, List<String> evaluated) implements Decision {
        public Allowed {
            requireNonNull(decisionId, "decisionId is null");
            evaluated = List.copyOf(evaluated);
        }
    }

    record Denied(UUID decisionId, Violation violation, List<String> evaluated) implements Decision {
        public Denied {
            requireNonNull(decisionId, "decisionId is null");
            requireNonNull(violation, "violation is null");
            evaluated = List.copyOf(evaluated);
        }
    }
}
