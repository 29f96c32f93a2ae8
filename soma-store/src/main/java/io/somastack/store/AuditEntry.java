package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.util.Map;
import java.util.Optional;

/**
 * One thing that happened, for the hash-chained audit log.
 *
 * @param tenantId the tenant it concerns, empty for operator actions
 * @param actor who did it: {@code key:<id>}, {@code session:<key id>}, {@code operator}
 * @param action what, e.g. {@code POST /v1/chat/completions 200} or {@code tenant.create}
 * @param subject the thing acted on, e.g. a tenant id or a model
 * @param requestId the request id the client saw
 * @param detail small extra facts; serialized to JSON with sorted keys
 */
public record AuditEntry(
        Optional<TenantId> tenantId, String actor, String action, String subject, String requestId, Map<String, Object> detail) {
    public AuditEntry {
        requireNonNull(tenantId, "tenantId is null");
        requireNonNull(actor, "actor is null");
        requireNonNull(action, "action is null");
        requireNonNull(subject, "subject is null");
        requireNonNull(requestId, "requestId is null");
        detail = Map.copyOf(detail);
    }
}
