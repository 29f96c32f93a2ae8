package io.somastack.store;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.util.Map;
import java.util.Optional;

/**
 * A CloudEvents 1.0 event written to the outbox in the same transaction as the state change
 * it reports. Id and time are assigned when it is written.
 *
 * @param type reverse-DNS event type, e.g. {@code io.somastack.usage.recorded}
 * @param subject what it is about (a ledger entry id, a key id)
 */
public record OutboxEvent(String type, String subject, Optional<TenantId> tenantId, Map<String, Object> data) {
    public OutboxEvent {
        requireNonNull(type, "type is null");
        requireNonNull(subject, "subject is null");
        requireNonNull(tenantId, "tenantId is null");
        data = Map.copyOf(data);
    }
}
