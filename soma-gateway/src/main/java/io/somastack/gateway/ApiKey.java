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
    /**
     * Every permission scope a key may carry; {@code *} grants all of them. A key may also
     * carry restrictions: {@code agent:<id>} limits it to acting as that agent (several may
     * be given); a key without any {@code agent:} scope may act as any agent of its tenant.
     */
    public static final Set<String> KNOWN_SCOPES = Set.of("*", "models:invoke", "usage:read", "sessions:create",
            "memory:read", "memory:write", "policy:read", "policy:write", "capsules:read", "capsules:write", "tools:invoke", "invoices:read");

    private static final java.util.regex.Pattern AGENT_SCOPE = java.util.regex.Pattern.compile("^agent:[A-Za-z0-9._-]{1,64}$");

    public ApiKey {
        scopes = Set.copyOf(scopes);
    }

    /** Whether {@code scope} may be given to a key: a known permission or an agent restriction. */
    public static boolean isValidScope(String scope) {
        return KNOWN_SCOPES.contains(scope) || AGENT_SCOPE.matcher(scope).matches();
    }
}
