package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import java.time.Duration;

/**
 * Configuration of the constitution capability; every key is optional.
 *
 * <table>
 *   <caption>Keys (environment: {@code SOMA_POLICY_BUNDLE_MAX__ENTRIES} for {@code policy.bundle.max-entries})</caption>
 *   <tr><td>{@code policy.bundle.max-entries}</td><td>256 files per bundle</td></tr>
 *   <tr><td>{@code policy.bundle.max-bytes}</td><td>67108864 uncompressed bytes per bundle</td></tr>
 *   <tr><td>{@code policy.bundle.max-ratio}</td><td>100 uncompressed bytes per packed byte</td></tr>
 *   <tr><td>{@code policy.bundle.max-manifest-bytes}</td><td>262144 bytes of capsule.yaml</td></tr>
 *   <tr><td>{@code policy.cache.ttl}</td><td>5s, how long a node uses its compiled policies before re-reading them</td></tr>
 * </table>
 */
public record PolicyConfig(BundleLimits bundleLimits, Duration cacheTtl) {
    public PolicyConfig {
        requireNonNull(bundleLimits, "bundleLimits is null");
        requireNonNull(cacheTtl, "cacheTtl is null");
        if (cacheTtl.isNegative()) {
            throw new IllegalArgumentException("policy.cache.ttl must not be negative");
        }
    }

    public static PolicyConfig defaults() {
        return new PolicyConfig(BundleLimits.defaults(), Duration.ofSeconds(5));
    }

    /** Reads the {@code policy.*} keys; problems are collected in {@code settings}. */
    public static PolicyConfig from(Settings settings) {
        BundleLimits defaults = BundleLimits.defaults();
        BundleLimits limits = new BundleLimits(
                settings.integer("policy.bundle.max-entries", defaults.maxEntries(), 2, 100_000),
                settings.longValue("policy.bundle.max-bytes", defaults.maxUncompressedBytes(), 1024, 1L << 34),
                settings.integer("policy.bundle.max-ratio", defaults.maxCompressionRatio(), 1, 100_000),
                settings.integer("policy.bundle.max-manifest-bytes", defaults.maxManifestBytes(), 1024, 16 << 20));
        Duration ttl = settings.duration("policy.cache.ttl", Duration.ofSeconds(5));
        if (ttl.isNegative()) {
            settings.problem("policy.cache.ttl must not be negative");
            ttl = Duration.ofSeconds(5);
        }
        return new PolicyConfig(limits, ttl);
    }
}
