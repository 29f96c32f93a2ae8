package io.somastack.marketplace;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One published version of a capsule, as the catalog holds it. Versions are immutable;
 * only {@code revocation} changes, once.
 *
 * @param digest the canonical content digest ({@code sha256:...}, see soma-policy's README)
 * @param packedSha256 SHA-256 (hex) of the packed bundle, which every signature covers and the blob store is keyed by
 * @param licenses the SPDX ids and names in the SBOM
 * @param signatures the publisher's signatures (and any countersignatures) with their public keys
 */
public record CapsuleVersion(String name, String version, String digest, String packedSha256, long size, Map<String, Object> manifest,
        List<String> licenses, List<PublishedSignature> signatures, Instant publishedAt, String publishedBy,
        Optional<Revocation> revocation) {

    public CapsuleVersion {
        requireNonNull(name, "name is null");
        requireNonNull(version, "version is null");
        requireNonNull(digest, "digest is null");
        requireNonNull(packedSha256, "packedSha256 is null");
        manifest = Map.copyOf(manifest);
        licenses = List.copyOf(licenses);
        signatures = List.copyOf(signatures);
        requireNonNull(publishedAt, "publishedAt is null");
        requireNonNull(publishedBy, "publishedBy is null");
        requireNonNull(revocation, "revocation is null");
    }

    public boolean revoked() {
        return revocation.isPresent();
    }

    /** A detached signature over the packed bundle and the key that made it. */
    public record PublishedSignature(String signature, String keyId, String keyName, String role, String publicKeyPem) {
        public PublishedSignature {
            requireNonNull(signature, "signature is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(keyName, "keyName is null");
            requireNonNull(role, "role is null");
            requireNonNull(publicKeyPem, "publicKeyPem is null");
        }
    }

    /** Who revoked the version, when and why. */
    public record Revocation(Instant at, String by, String reason) {
        public Revocation {
            requireNonNull(at, "at is null");
            requireNonNull(by, "by is null");
            requireNonNull(reason, "reason is null");
        }
    }
}
