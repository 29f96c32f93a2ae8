package io.somastack.policy;

/**
 * Hard limits on a capsule bundle, checked while it is unpacked so that a hostile archive
 * cannot exhaust memory: entries, total uncompressed bytes, the uncompressed-to-packed
 * ratio (archive bombs) and the manifest's size.
 *
 * @param maxEntries most files in a bundle
 * @param maxUncompressedBytes most bytes of all files together, uncompressed
 * @param maxCompressionRatio most uncompressed bytes per packed byte, over the whole bundle
 * @param maxManifestBytes most bytes of {@code capsule.yaml}
 */
public record BundleLimits(int maxEntries, long maxUncompressedBytes, int maxCompressionRatio, int maxManifestBytes) {
    public BundleLimits {
        if (maxEntries < 2 || maxUncompressedBytes < 1024 || maxCompressionRatio < 1 || maxManifestBytes < 1024) {
            throw new IllegalArgumentException("bundle limits are too small to hold a capsule");
        }
    }

    public static BundleLimits defaults() {
        return new BundleLimits(256, 64L << 20, 100, 256 << 10);
    }
}
