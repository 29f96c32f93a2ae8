package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.marketplace.Catalog;
import io.somastack.marketplace.CapsuleVersion;
import io.somastack.marketplace.Installed;
import io.somastack.marketplace.Installs;
import io.somastack.kernel.TenantId;
import io.somastack.policy.BundleReader;
import io.somastack.policy.CapsuleManifest;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent a tenant may run as {@code name}: its runnable install (404 when not installed,
 * 410 when the installed version was revoked; asked on every run, so a revocation applies
 * from the next run) and its manifest, read from the catalog's stored bundle by the same
 * reader as at publish and cached by digest (versions are immutable). Thread-safe.
 */
public final class AgentLoader {
    private static final int CACHE = 1024;

    private final Installs installs;
    private final Catalog catalog;
    private final BundleReader bundles;
    private final Map<String, CapsuleManifest> byDigest = new ConcurrentHashMap<>();

    public AgentLoader(Installs installs, Catalog catalog, BundleReader bundles) {
        this.installs = requireNonNull(installs, "installs is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.bundles = requireNonNull(bundles, "bundles is null");
    }

    public AgentSpec runnable(TenantId tenant, String name) {
        Installed installed = installs.runnable(tenant, name);
        CapsuleManifest manifest = byDigest.get(installed.digest());
        if (manifest == null) {
            CapsuleVersion version = catalog.version(installed.name(), installed.version()).orElseThrow(() -> new SomaException(ErrorCode.INTERNAL,
                    "%s@%s is installed but not in the catalog".formatted(installed.name(), installed.version())));
            manifest = bundles.read(catalog.bundle(version.packedSha256())).manifest();
            if (byDigest.size() >= CACHE) {
                byDigest.clear();
            }
            byDigest.put(installed.digest(), manifest);
        }
        return AgentSpec.of(installed, manifest);
    }
}
