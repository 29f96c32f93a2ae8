package io.somastack.policy;

import static java.util.Objects.requireNonNull;

/**
 * Why a decision denied: the policy (name and version), the CEL expression that was false
 * or failed, and the message. An expression that fails to evaluate (a missing field, a
 * non-bool result) denies too, with {@code message} saying so.
 */
public record Violation(String policyName, int policyVersion, String expression, String message) {
    public Violation {
        requireNonNull(policyName, "policyName is null");
        requireNonNull(expression, "expression is null");
        requireNonNull(message, "message is null");
    }
}
