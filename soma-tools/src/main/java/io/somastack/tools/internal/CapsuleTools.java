package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.policy.CapsuleManifest;
import java.util.Map;
import java.util.Optional;

/**
 * An installed capsule version's tools, read once from its stored bundle and cached by digest.
 *
 * @param modules each WebAssembly module by its path in the bundle, checked against the SBOM's SHA-256
 * @param moduleSha256 each module's SHA-256 (hex), the compiled-module cache key
 */
public record CapsuleTools(String name, String version, String digest, CapsuleManifest manifest, Map<String, ToolSpec> tools,
        Map<String, byte[]> modules, Map<String, String> moduleSha256) {
    public CapsuleTools {
        requireNonNull(name, "name is null");
        requireNonNull(version, "version is null");
        requireNonNull(digest, "digest is null");
        requireNonNull(manifest, "manifest is null");
        
        tools = Map.copyOf(tools);
        modules = Map.copyOf(modules);
        moduleSha256 = Map.copyOf(moduleSha256);
    }

    public Optional<ToolSpec> tool(String name) {
        return Optional.ofNullable(tools.get(name));
    }
}
