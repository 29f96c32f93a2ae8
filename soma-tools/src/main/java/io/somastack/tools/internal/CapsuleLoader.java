package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import io.somastack.marketplace.CapsuleVersion;
import io.somastack.marketplace.Catalog;
import io.somastack.marketplace.Installed;
import io.somastack.policy.BundleReader;
import io.somastack.policy.CapsuleBundle;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import tools.jackson.databind.JsonNode;

/**
 * Reads an installed capsule version's tools from the catalog's stored bundle: the bundle is
 * checked again by {@link BundleReader} (the same checks as at publish), each tool's
 * {@code input_schema} compiled, and each WebAssembly module taken from the bundle and checked
 * against the SHA-256 the bundle reader computed. Cached by digest (versions are immutable).
 * Thread-safe.
 */
public final class CapsuleLoader {
    private static final int CACHE = 1024;

    private final Catalog catalog;
    private final BundleReader bundles;
    private final ArgumentsCheck arguments;
    private final Map<String, CapsuleTools> byDigest = new ConcurrentHashMap<>();

    public CapsuleLoader(Catalog catalog, BundleReader bundles, ArgumentsCheck arguments) {
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.bundles = requireNonNull(bundles, "bundles is null");
        this.arguments = requireNonNull(arguments, "arguments is null");
    }

    public CapsuleTools load(Installed installed) {
        CapsuleTools cached = byDigest.get(installed.digest());
        if (cached != null && cached.name().equals(installed.name()) && cached.version().equals(installed.version())) {
            return cached;
        }
        CapsuleTools loaded = read(installed);
        if (byDigest.size() >= CACHE) {
            byDigest.clear();
        }
        byDigest.put(installed.digest(), loaded);
        return loaded;
    }

    private CapsuleTools read(Installed installed) {
        CapsuleVersion version = catalog.version(installed.name(), installed.version()).orElseThrow(() -> new SomaException(ErrorCode.INTERNAL,
                "%s@%s is installed but not in the catalog".formatted(installed.name(), installed.version())));
        byte[] packed = catalog.bundle(version.packedSha256());
        CapsuleBundle bundle = bundles.read(packed);
        Map<String, byte[]> modules = new LinkedHashMap<>();
        Map<String, String> moduleSha256 = new LinkedHashMap<>();
        unzipModules(packed).forEach((path, bytes) -> {
            String sha = Hashing.sha256(bytes);
            if (!sha.equals(bundle.fileSha256().get(path))) {
                throw new SomaException(ErrorCode.INTERNAL, "%s of %s does not match its bundle".formatted(path, installed.name()));
            }
            modules.put(path, bytes);
            moduleSha256.put(path, sha);
        });
        Map<String, ToolSpec> tools = new LinkedHashMap<>();
        Object declared = bundle.manifest().document().getOrDefault("tools", List.of());
        for (Object entry : (List<?>) declared) {
            JsonNode tool = Json.mapper().valueToTree(entry);
            JsonNode executor = tool.get("executor");
            String name = tool.get("name").asString();
            JsonNode schema = tool.get("input_schema");
            tools.put(name, new ToolSpec(name, tool.get("description").asString(), schema, arguments.compile(schema),
                    executor.get("kind").asString(), optional(executor, "module"), optional(executor, "url").map(URI::create),
                    optional(executor, "server")));
        }
        return new CapsuleTools(installed.name(), installed.version(), installed.digest(), bundle.manifest(), tools, modules, moduleSha256);
    }

    private static Optional<String> optional(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asString());
    }

    /** The {@code tools/*.wasm} entries of a bundle that {@link BundleReader} already accepted (so sizes and paths are safe). */
    private static Map<String, byte[]> unzipModules(byte[] packed) {
        Map<String, byte[]> modules = new LinkedHashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(packed))) {
            for (ZipEntry entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
                if (!entry.isDirectory() && entry.getName().startsWith("tools/") && entry.getName().endsWith(".wasm")) {
                    modules.put(entry.getName(), zip.readAllBytes());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return modules;
    }
}
