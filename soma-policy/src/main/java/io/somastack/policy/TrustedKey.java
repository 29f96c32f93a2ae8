package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.Optional;

/**
 * A public key a tenant trusts to sign capsule bundles.
 *
 * @param keyId {@code sha256:<hex>} of the DER public key
 * @param role {@code publisher} or {@code marketplace} (a countersignature)
 * @param revokedAt when it was revoked; a revoked key makes any bundle it signed refused
 */
public record TrustedKey(TenantId tenant, String keyId, String name, String role, String publicKeyPem, Instant createdAt,
        String createdBy, Optional<Instant> revokedAt) {
    public static final java.util.Set<String> ROLES = java.util.Set.of("publisher", "marketplace");

    public TrustedKey {
        requireNonNull(tenant, "tenant is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(name, "name is null");
        requireNonNull(role, "role is null");
        requireNonNull(publicKeyPem, "publicKeyPem is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(createdBy, "createdBy is null");
        requireNonNull(revokedAt, "revokedAt is null");
    }

    public boolean revoked() {
        return revokedAt.isPresent();
    }
}
