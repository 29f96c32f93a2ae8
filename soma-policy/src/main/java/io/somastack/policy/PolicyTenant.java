package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.util.Map;

/**
 * The tenant a decision is made for, as policies see it (the CEL variable {@code tenant}).
 *
 * @param tier the tenant's tier, e.g. {@code standard}; policies may differ by tier
 */
public record PolicyTenant(TenantId id, String tier) {
    public PolicyTenant {
        requireNonNull(id, "id is null");
        requireNonNull(tier, "tier is null");
    }

    /** The CEL value of {@code tenant}. */
    public Map<String, Object> celValue() {
        return Map.of("id", id.toString(), "tier", tier);
    }
}
