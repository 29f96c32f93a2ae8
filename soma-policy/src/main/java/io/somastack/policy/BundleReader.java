package io.somastack.policy;

import static java.util.Objects.requireNonNull;

import io.somastack.policy.internal.Hashes;
import io.somastack.policy.internal.ManifestReader;
import io.somastack.policy.internal.SafeZip;
import io.somastack.policy.internal.SbomReader;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Opens a packed capsule bundle (see the module README for the format) and refuses, with a
 * {@link SomaException} that names the reason, anything that is not a well-formed capsule:
 * hostile archives (zip slip, absolute paths, duplicates, too many entries or bytes,
 * archive bombs), unexpected files, a manifest failing its schema, a missing or invalid
 * SBOM, a WebAssembly module that is missing, not WebAssembly, or not listed in the SBOM,
 * and any SBOM file hash that does not match its file. Signatures are checked elsewhere
 * ({@link PolicyEngine}), as they depend on the tenant. Thread-safe; build one and share it.
 *
 * <pre>{@code
 * CapsuleBundle bundle = new BundleReader(BundleLimits.defaults()).read(Files.readAllBytes(path));
 * }</pre>
 */
public final class BundleReader {
    public static final String MANIFEST = "capsule.yaml";
    public static final String SBOM = "sbom.cdx.json";
    private static final Pattern ALLOWED = Pattern.compile("capsule\\.yaml|sbom\\.cdx\\.json|README\\.md|tools/[A-Za-z0-9_-]+\\.wasm");
    private static final byte[] WASM_MAGIC = {0, 'a', 's', 'm'};

    private final BundleLimits limits;
    private final ManifestReader manifests = new ManifestReader();
    private final SbomReader sboms = new SbomReader();

    public BundleReader(BundleLimits limits) {
        this.limits = requireNonNull(limits, "limits is null");
    }

    public CapsuleBundle read(byte[] packed) {
        requireNonNull(packed, "packed is null");
        SafeZip.Unpacked unpacked = SafeZip.unpackHashed(packed, limits);
        SortedMap<String, byte[]> files = unpacked.files();
        for (String name : files.keySet()) {
            if (!ALLOWED.matcher(name).matches()) {
                throw refused("'%s' is not part of the capsule format (allowed: capsule.yaml, sbom.cdx.json, README.md, tools/<name>.wasm)"
                        .formatted(name));
            }
        }
        byte[] manifestBytes = files.get(MANIFEST);
        if (manifestBytes == null) {
            throw refused("capsule.yaml is missing");
        }
        if (manifestBytes.length > limits.maxManifestBytes()) {
            throw refused("capsule.yaml has %d bytes; the limit is %d".formatted(manifestBytes.length, limits.maxManifestBytes()));
        }
        byte[] sbomBytes = files.get(SBOM);
        if (sbomBytes == null) {
            throw refused("sbom.cdx.json is missing: every capsule carries a CycloneDX SBOM");
        }
        CapsuleManifest manifest = manifests.read(manifestBytes);
        Sbom sbom = sboms.read(sbomBytes);
        SortedMap<String, String> sha256 = unpacked.sha256();
        for (CapsuleManifest.Tool tool : manifest.tools()) {
            if (tool.module().isPresent() && !files.containsKey(tool.module().get())) {
                throw refused("tool '%s' names module %s, which is not in the bundle".formatted(tool.name(), tool.module().get()));
            }
        }
        checkFiles(files, sha256, sbom);
        return new CapsuleBundle(Hashes.canonicalDigest(sha256), unpacked.packedSha256(), packed.length, manifest, sbom, sha256);
    }

    /** WebAssembly modules must be WebAssembly and listed in the SBOM; listed file hashes must match. */
    private static void checkFiles(SortedMap<String, byte[]> files, SortedMap<String, String> sha256, Sbom sbom) {
        Map<String, Sbom.Component> listed = new TreeMap<>();
        for (Sbom.Component component : sbom.components()) {
            if (component.type().equals("file")) {
                if (!files.containsKey(component.name())) {
                    throw refused("the SBOM lists file %s, which is not in the bundle".formatted(component.name()));
                }
                listed.put(component.name(), component);
            }
        }
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            if (file.getKey().startsWith("tools/")) {
                byte[] bytes = file.getValue();
                if (bytes.length < 8 || !java.util.Arrays.equals(bytes, 0, 4, WASM_MAGIC, 0, 4)) {
                    throw refused("%s is not a WebAssembly module".formatted(file.getKey()));
                }
                Sbom.Component component = listed.get(file.getKey());
                if (component == null || !component.hashes().containsKey("SHA-256")) {
                    throw refused("%s is not listed with a SHA-256 hash in the SBOM (a file component named by its path)".formatted(file.getKey()));
                }
            }
            Sbom.Component component = listed.get(file.getKey());
            if (component == null) {
                continue;
            }
            for (Map.Entry<String, String> hash : component.hashes().entrySet()) {
                String algorithm = switch (hash.getKey().toUpperCase(Locale.ROOT)) {
                    case "SHA-1" -> "SHA-1";
                    case "SHA-256" -> "SHA-256";
                    case "SHA-384" -> "SHA-384";
                    case "SHA-512" -> "SHA-512";
                    default -> null;
                };
                String actual = algorithm == null ? null
                        : algorithm.equals("SHA-256") ? sha256.get(file.getKey()) : Hashes.hex(algorithm, file.getValue());
                if (algorithm != null && !actual.equals(hash.getValue())) {
                    throw refused("the %s of %s does not match the SBOM (file altered after the SBOM was made)"
                            .formatted(algorithm, file.getKey()));
                }
            }
        }
    }

    private static SomaException refused(String reason) {
        return new SomaException(ErrorCode.BUNDLE_INVALID, "Capsule bundle refused: " + reason, Map.of("reason", reason));
    }
}
