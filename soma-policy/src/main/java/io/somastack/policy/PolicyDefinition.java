package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A policy as a tenant writes it, in the style of a Kubernetes ValidatingAdmissionPolicy:
 * when every match condition is true (or there are none), every validation must be true;
 * the first false one denies with its message. Expressions are CEL returning bool.
 *
 * <pre>{@code
 * new PolicyDefinition("trusted-signer", PolicyKind.ADMISSION, List.of(),
 *         List.of(new Validation("signatures.keys.exists(k, k.role == 'publisher')", "a trusted publisher must sign")));
 * }</pre>
 */
public record PolicyDefinition(String name, PolicyKind kind, List<MatchCondition> matchConditions, List<Validation> validations) {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final int MAX_EXPRESSIONS = 64;
    private static final int MAX_EXPRESSION_LENGTH = 4096;

    public PolicyDefinition {
        requireNonNull(name, "name is null");
        requireNonNull(kind, "kind is null");
        matchConditions = List.copyOf(matchConditions);
        validations = List.copyOf(validations);
        if (!NAME.matcher(name).matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A policy name is 1 to 63 lowercase letters, digits or '-', starting with a letter or digit");
        }
        if (validations.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Policy %s needs at least one validation".formatted(name));
        }
        if (validations.size() + matchConditions.size() > MAX_EXPRESSIONS) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Policy %s has more than %d expressions".formatted(name, MAX_EXPRESSIONS));
        }
        for (MatchCondition condition : matchConditions) {
            checkLength(name, condition.expression());
        }
        for (Validation validation : validations) {
            checkLength(name, validation.expression());
        }
    }

    private static void checkLength(String name, String expression) {
        if (expression.isBlank() || expression.length() > MAX_EXPRESSION_LENGTH) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Policy %s has an expression that is empty or longer than %d characters"
                    .formatted(name, MAX_EXPRESSION_LENGTH));
        }
    }

    /** A named CEL condition deciding whether the policy applies. */
    public record MatchCondition(String name, String expression) {
        public MatchCondition {
            requireNonNull(name, "name is null");
            requireNonNull(expression, "expression is null");
        }
    }

    /** A CEL condition that must hold, and the message given when it does not. */
    public record Validation(String expression, String message) {
        public Validation {
            requireNonNull(expression, "expression is null");
            requireNonNull(message, "message is null");
        }
    }
}
