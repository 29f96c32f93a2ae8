package io.somastack.gateway;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * An API key as stored: never the secret, only its SHA-256 hash and a short prefix that
 * helps a human tell keys apart.
 */
public record ApiKey(UUID id, TenantId tenantId, String name, String prefix, Set<String> scopes, Optional<Money> monthlyBudget,
        Instant createdAt, Optional<Instant> revokedAt) {
    /** Every scope a key may carry; {@code *} grants all of them. */
    public static final Set<String> KNOWN_SCOPES = Set.of("*", "models:invoke", "usage:read", "sessions:create");

    public ApiKey {
        scopes = Set.copyOf(scopes);
    }
}
