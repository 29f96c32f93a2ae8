package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.time.Instant;

/**
 * One version of a tenant's policy. Versions count from 1; an update makes the next one.
 */
public record StoredPolicy(TenantId tenant, PolicyDefinition definition, int version, Instant createdAt, String createdBy) {
    public StoredPolicy {
        requireNonNull(tenant, "tenant is null");
        requireNonNull(definition, "definition is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
    }

    public String name() {
        return definition.name();
    }

    /** {@code name@version}, as decisions name the policies they evaluated. */
    public String reference() {
        return definition.name() + "@" + version;
    }
}
