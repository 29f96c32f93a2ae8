package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.Optional;

/**
 * A customer of a SomaStack installation.
 *
 * @param tier names the rate-limit tier ({@code gateway.tiers.<tier>.*})
 * @param homeRegion requests for this tenant are served only by nodes of this region
 * @param monthlyBudget most the tenant may spend per calendar month (UTC); empty = unlimited
 */
public record Tenant(TenantId id, String name, String tier, String homeRegion, Optional<Money> monthlyBudget, Instant createdAt) {
    public Tenant {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(tier, "tier is null");
        requireNonNull(homeRegion, "homeRegion is null");
        requireNonNull(monthlyBudget, "monthlyBudget is null");
        requireNonNull(createdAt, "createdAt is null");
    }
}
