package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Who is calling: a tenant's API key, directly or through a session token made from it.
 *
 * @param keyId the API key (for a session, the key it was exchanged for)
 * @param keyBudget the key's own monthly limit, if it has one
 * @param via how the caller authenticated
 */
public record Principal(Tenant tenant, UUID keyId, Set<String> scopes, Optional<Money> keyBudget, Via via) {
    public Principal {
        requireNonNull(tenant, "tenant is null");
        requireNonNull(keyId, "keyId is null");
        scopes = Set.copyOf(scopes);
        requireNonNull(keyBudget, "keyBudget is null");
        requireNonNull(via, "via is null");
    }

    public enum Via { API_KEY, SESSION }

    /** The actor name written to the audit log. */
    public String actor() {
        return (via == Via.API_KEY ? "key:" : "session:") + keyId;
    }

    /**
     * The agents this caller may act as: empty when unrestricted (no {@code agent:} scope),
     * else the ids named by its {@code agent:<id>} scopes.
     */
    public Set<String> agentRestriction() {
        return scopes.stream().filter(scope -> scope.startsWith("agent:")).map(scope -> scope.substring(6))
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    public void requireScope(String scope) {
        if (!scopes.contains(scope) && !scopes.contains("*")) {
            throw new SomaException(ErrorCode.INSUFFICIENT_SCOPE,
                    "This credential lacks scope '%s' (it has %s)".formatted(scope, scopes));
        }
    }
}
