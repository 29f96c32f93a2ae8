package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A capsule bundle that passed every structural check: safe to unpack, manifest valid,
 * SBOM valid and consistent with the files. Made only by {@link BundleReader}.
 *
 * @param packedSha256 SHA-256 (hex) of the packed bytes, which signatures cover
 * @param digest the canonical digest {@code sha256:<hex>} of the content, the same however the files are zipped
 * @param fileSha256 each file's SHA-256 (hex) by path
 * @param size the packed size in bytes
 */
public record CapsuleBundle(String digest, String packedSha256, long size, CapsuleManifest manifest, Sbom sbom,
        SortedMap<String, String> fileSha256) {
    public CapsuleBundle {
        requireNonNull(digest, "digest is null");
        requireNonNull(packedSha256, "packedSha256 is null");
        requireNonNull(manifest, "manifest is null");
        requireNonNull(sbom, "sbom is null");
        fileSha256 = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(fileSha256));
    }

    /** {@code name@version}, for messages. */
    public String coordinates() {
        return manifest.name() + "@" + manifest.version();
    }
}
