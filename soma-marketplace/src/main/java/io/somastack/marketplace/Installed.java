package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * A capsule installed in a tenant: which version, admitted by which policy decision.
 *
 * @param revocation present when the installed version was revoked: it may no longer run
 */
public record Installed(TenantId tenant, String name, String version, String digest, UUID decisionId, Instant installedAt,
        String installedBy, Instant updatedAt, Optional<CapsuleVersion.Revocation> revocation) {

    public Installed {
        requireNonNull(tenant, "tenant is null");
        requireNonNull(name, "name is null");
        requireNonNull(version, "version is null");
        requireNonNull(digest, "digest is null");
        requireNonNull(decisionId, "decisionId is null");
        requireNonNull(installedAt, "installedAt is null");
        requireNonNull(installedBy, "installedBy is null");
        requireNonNull(updatedAt, "updatedAt is null");
        requireNonNull(revocation, "revocation is null");
    }

    public boolean revoked() {
        return revocation.isPresent();
    }
}
