package io.somastack.metering;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.LocalDate;
import java.util.List;
import java.util.UUID;

/**
 * Budget held for one call until it settles: the worst-case cost, against the tenant scope
 * and, when the key has its own limit, the key scope.
 */
public record Reservation(UUID id, TenantId tenantId, List<String> scopes, LocalDate period, Money amount) {
    public Reservation {
        scopes = List.copyOf(scopes);
    }
}
