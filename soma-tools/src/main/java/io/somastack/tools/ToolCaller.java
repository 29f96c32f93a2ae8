package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.gateway.Principal;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.policy.Actor;
import io.somastack.policy.PolicyTenant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Who calls a tool, as the broker sees it: the tenant (for policy, budget and the ledger), the
 * key (its own budget, its scopes) and the audit actor.
 *
 * @param tier the tenant's tier, which runtime policies see
 * @param tenantBudget the tenant's monthly limit, if any
 * @param keyBudget the key's own monthly limit, if any
 * @param actor the audit actor, e.g. {@code key:<id>}
 * @param requestId the request id the client saw
 */
public record ToolCaller(TenantId tenant, String tier, UUID keyId, Set<String> scopes, Optional<Money> tenantBudget, Optional<Money> keyBudget,
        String actor, String requestId) {
    public ToolCaller {
        requireNonNull(tenant, "tenant is null");
        requireNonNull(tier, "tier is null");
        requireNonNull(keyId, "keyId is null");
        scopes = Set.copyOf(scopes);
        requireNonNull(tenantBudget, "tenantBudget is null");
        requireNonNull(keyBudget, "keyBudget is null");
        requireNonNull(actor, "actor is null");
        requireNonNull(requestId, "requestId is null");
    }

    /** The caller behind an authenticated request. */
    public static ToolCaller of(Principal principal, String requestId) {
        return new ToolCaller(principal.tenant().id(), principal.tenant().tier(), principal.keyId(), principal.scopes(),
                principal.tenant().monthlyBudget(), principal.keyBudget(), principal.actor(), requestId);
    }

    public PolicyTenant policyTenant() {
        return new PolicyTenant(tenant, tier);
    }

    public Actor policyActor() {
        return new Actor(actor, requestId);
    }

    /** The CEL value of {@code caller} in runtime policies. */
    public Map<String, Object> celValue() {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("key_id", keyId.toString());
        value.put("actor", actor);
        value.put("scopes", scopes.stream().sorted().toList());
        return value;
    }
}
