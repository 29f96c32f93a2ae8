package io.somastack.policy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.policy.internal.SafeZip;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * What {@code somastack capsule init|pack|keygen|sign|verify} do, on local files: a
 * skeleton capsule directory, a deterministic zip of a directory (entries in path order,
 * fixed timestamps, so packing the same files twice gives the same bytes), PEM key files,
 * and detached base64 signatures that openssl and cosign also read and write. Stateless.
 */
public final class CapsuleFiles {
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    private CapsuleFiles() {
    }

    /** Writes a skeleton capsule ({@code capsule.yaml}, a placeholder {@code sbom.cdx.json}) into a new or empty directory. */
    public static void init(Path directory, String name, String publisher) {
        try {
            Files.createDirectories(directory);
            try (Stream<Path> existing = Files.list(directory)) {
                if (existing.findAny().isPresent()) {
                    throw new SomaException(ErrorCode.CONFLICT, "%s is not empty".formatted(directory));
                }
            }
            Files.writeString(directory.resolve(BundleReader.MANIFEST), """
                    name: %s
                    version: 0.1.0
                    publisher: %s
                    description: Describe what this capsule's agent does.
                    model:
                      capabilities: [chat, tools]
                      min_context_tokens: 8192
                    system_prompt: |
                      You are a helpful agent.
                    tools: []
                    memory:
                      scopes: [conversation]
                    permissions:
                      egress: []
                      max_budget_per_run_usd: "0.10"
                    """.formatted(name, publisher));
            Files.writeString(directory.resolve(BundleReader.SBOM), """
                    {
                      "bomFormat": "CycloneDX",
                      "specVersion": "1.6",
                      "version": 1,
                      "metadata": {"component": {"type": "application", "name": "%s", "version": "0.1.0"}},
                      "components": []
                    }
                    """.formatted(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The packed bundle of every regular file under {@code directory}, deterministic. */
    public static byte[] pack(Path directory) {
        SortedMap<String, Path> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    String name = directory.relativize(path).toString().replace(java.io.File.separatorChar, '/');
                    SafeZip.checkPath(name);
                    files.put(name, path);
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(out)) {
                for (var file : files.entrySet()) {
                    ZipEntry entry = new ZipEntry(file.getKey());
                    entry.setTimeLocal(FIXED_TIME);
                    zip.putNextEntry(entry);
                    zip.write(Files.readAllBytes(file.getValue()));
                    zip.closeEntry();
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a new key pair as {@code <prefix>.key} (PKCS#8) and {@code <prefix>.pub}; returns the key id. */
    public static String keygen(Path prefix) {
        SigningKeys keys = Signatures.generate();
        try {
            Path privateKey = Path.of(prefix + ".key");
            Files.writeString(privateKey, keys.privateKeyPem(), StandardCharsets.US_ASCII);
            try {
                Files.setPosixFilePermissions(privateKey, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // Not a POSIX file system: the file keeps its default permissions.
            }
            Files.writeString(Path.of(prefix + ".pub"), keys.publicKeyPem(), StandardCharsets.US_ASCII);
            return keys.keyId();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Signs the bundle file with a PEM private key; returns the base64 signature (as {@code cosign sign-blob} prints it). */
    public static String sign(Path privateKeyPem, Path bundle) {
        return Signatures.sign(read(privateKeyPem), bytes(bundle));
    }

    /**
     * Whether {@code signature} verifies {@code bundle} under the PEM public key. The
     * signature file may hold base64 text (cosign, {@code openssl ... | base64}) or the raw
     * DER bytes that {@code openssl dgst -sign} writes.
     */
    public static boolean verify(Path publicKeyPem, Path signature, Path bundle) {
        byte[] raw = bytes(signature);
        String base64 = raw.length > 0 && raw[0] == 0x30 ? java.util.Base64.getEncoder().encodeToString(raw)
                : new String(raw, StandardCharsets.US_ASCII);
        return Signatures.verify(read(publicKeyPem), bytes(bundle), base64);
    }

    /** Checks a packed bundle the way admission does, short of the tenant's keys and policies. */
    public static CapsuleBundle inspect(Path bundle) {
        return new BundleReader(BundleLimits.defaults()).read(bytes(bundle));
    }

    private static String read(Path path) {
        return new String(bytes(path), StandardCharsets.US_ASCII);
    }

    private static byte[] bytes(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "Cannot read %s: %s".formatted(path, e.getMessage()));
        }
    }

}
