package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.SomaException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

class BundleReaderTest {
    private final BundleReader reader = new BundleReader(BundleLimits.defaults());

    private void assertRefused(byte[] packed, String reason) {
        assertThatThrownBy(() -> reader.read(packed)).isInstanceOf(SomaException.class).hasMessageContaining("Capsule bundle refused")
                .hasMessageContaining(reason);
    }

    @Test
    void readsManifestAndTheRealNpmSbom() {
        CapsuleBundle bundle = reader.read(TestCapsules.bundle());
        assertThat(bundle.coordinates()).isEqualTo("weather@1.0.0");
        assertThat(bundle.manifest().egress()).containsExactly("api.weather.example");
        assertThat(bundle.manifest().maxBudgetPerRunUsd()).isEqualByComparingTo("0.50");
        assertThat(bundle.manifest().tools()).extracting(CapsuleManifest.Tool::name).containsExactly("forecast");
        assertThat(bundle.sbom().specVersion()).isEqualTo("1.6");
        assertThat(bundle.sbom().components()).extracting(Sbom.Component::name).containsExactly("is-number");
        assertThat(bundle.sbom().licenses()).containsExactly("MIT");
        assertThat(bundle.digest()).matches("sha256:[0-9a-f]{64}");
    }

    @Test
    void canonicalDigestIgnoresEntryOrderAndCompression() {
        Map<String, byte[]> files = TestCapsules.files();
        Map<String, byte[]> reversed = new LinkedHashMap<>();
        List.copyOf(files.keySet()).reversed().forEach(name -> reversed.put(name, files.get(name)));
        byte[] stored = zip(reversed, ZipEntry.STORED);
        byte[] deflated = TestCapsules.zip(files);
        assertThat(stored).isNotEqualTo(deflated);
        assertThat(reader.read(stored).digest()).isEqualTo(reader.read(deflated).digest());
        files.put("README.md", "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(reader.read(TestCapsules.zip(files)).digest()).isNotEqualTo(reader.read(deflated).digest());
    }

    @Test
    void hashesWhileInflatingMatchHashesOfTheWholeBytes() throws Exception {
        byte[] module = new byte[3 * 1024 * 1024 + 17];
        new java.util.Random(7).nextBytes(module);
        System.arraycopy(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0}, 0, module, 0, 8);
        Map<String, byte[]> files = TestCapsules.files(TestCapsules.manifest("weather", "1.0.0", "api.weather.example", "0.50"),
                TestCapsules.withFile(TestCapsules.sbom("is-number.cdx.json"), "tools/forecast.wasm", module));
        files.put("tools/forecast.wasm", module);
        // Deflated entries carry no size in their local header (the buffer grows); stored ones do (it is sized once).
        for (byte[] packed : List.of(TestCapsules.zip(files), zip(files, ZipEntry.STORED))) {
            CapsuleBundle bundle = reader.read(packed);
            assertThat(bundle.packedSha256()).isEqualTo(sha256(packed));
            assertThat(bundle.fileSha256()).containsEntry("tools/forecast.wasm", sha256(module))
                    .containsEntry("capsule.yaml", sha256(files.get("capsule.yaml")));
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void refusesHostileArchives() {
        assertRefused(withExtra("../evil.sh", "x"), "escapes the bundle (zip slip)");
        assertRefused(withExtra("tools/../../evil", "x"), "zip slip");
        assertRefused(withExtra("/etc/passwd", "x"), "absolute");
        assertRefused(withExtra("C:/windows/evil", "x"), "absolute");
        assertRefused(withExtra("capsule.yaml", "name: again"), "twice (duplicate entry)");
        assertRefused("not a zip at all".getBytes(StandardCharsets.UTF_8), "empty or not a zip");
        Map<String, byte[]> many = TestCapsules.files();
        for (int i = 0; i < 300; i++) {
            many.put("tools/t" + i + ".wasm", TestCapsules.WASM);
        }
        assertRefused(TestCapsules.zip(many), "more than 256 entries");
        Map<String, byte[]> bomb = TestCapsules.files();
        bomb.put("README.md", new byte[20 << 20]);
        assertRefused(TestCapsules.zip(bomb), "archive bomb");
        BundleReader small = new BundleReader(new BundleLimits(256, 64 << 10, 100_000, 64 << 10));
        assertThatThrownBy(() -> small.read(TestCapsules.zip(bomb))).hasMessageContaining("inflates to more than 65536 bytes");
    }

    @Test
    void refusesEntriesThatAreNotRegularFiles() {
        Map<String, byte[]> files = TestCapsules.files();
        files.put("README.md", "/etc/passwd".getBytes(StandardCharsets.UTF_8));
        byte[] plain = TestCapsules.zip(files);
        // A README.md that unzip would recreate as a link to /etc/passwd (mode 0120777, as zip -y stores links).
        assertRefused(TestCapsules.withUnixMode(plain, "README.md", 0120777), "the entry 'README.md' is a symbolic link, not a regular file");
        assertRefused(TestCapsules.withUnixMode(plain, "README.md", 0020644), "the entry 'README.md' is a character device");
        assertRefused(TestCapsules.withUnixMode(plain, "README.md", 0060644), "the entry 'README.md' is a block device");
        assertRefused(TestCapsules.withUnixMode(plain, "README.md", 0010644), "the entry 'README.md' is a FIFO");
        assertRefused(TestCapsules.withUnixMode(plain, "capsule.yaml", 0040755), "the entry 'capsule.yaml' is marked a directory");
        byte[] dosDirectory = plain.clone();
        dosDirectory[TestCapsules.centralEntry(plain, "README.md") + 38] = 0x10;
        assertRefused(dosDirectory, "the entry 'README.md' is marked a directory");
        Map<String, byte[]> directoryWithContent = TestCapsules.files();
        directoryWithContent.put("tools/", "#!/bin/sh".getBytes(StandardCharsets.UTF_8));
        assertRefused(TestCapsules.zip(directoryWithContent), "the entry 'tools/' is a directory with content, not a regular file");

        // What Info-ZIP writes for plain files and directories reads as before.
        Map<String, byte[]> withDirectory = TestCapsules.files();
        withDirectory.put("tools/", new byte[0]);
        withDirectory.put("README.md", "hello".getBytes(StandardCharsets.UTF_8));
        byte[] infoZip = TestCapsules.withUnixMode(TestCapsules.withUnixMode(TestCapsules.withUnixMode(TestCapsules.zip(withDirectory),
                "README.md", 0100644), "capsule.yaml", 0100600), "tools/", 0040755);
        assertThat(reader.read(infoZip).fileSha256()).containsOnlyKeys("capsule.yaml", "sbom.cdx.json", "README.md");
    }

    @Test
    void refusesACentralDirectoryThatDisagreesWithTheEntries() {
        Map<String, byte[]> files = TestCapsules.files();
        files.put("README.md", "hello".getBytes(StandardCharsets.UTF_8));
        byte[] bundle = TestCapsules.zip(files);
        // unzip extracts what the central directory names: another name there than in the entry's own header is refused.
        byte[] renamed = bundle.clone();
        System.arraycopy("READMX.md".getBytes(StandardCharsets.UTF_8), 0, renamed, TestCapsules.centralEntry(bundle, "README.md") + 46, 9);
        assertRefused(renamed, "the zip's central directory does not list the entry 'README.md' where the archive holds it");
        // An entry the central directory leaves out (its end record counts two entries of three) is refused too.
        byte[] hidden = bundle.clone();
        hidden[hidden.length - 22 + 8] = 2;
        hidden[hidden.length - 22 + 10] = 2;
        assertRefused(hidden, "the zip's central directory does not list the entry 'README.md'");
    }

    @Test
    void refusesUnexpectedOrMissingFiles() {
        assertRefused(withExtra("run.sh", "rm -rf /"), "'run.sh' is not part of the capsule format");
        Map<String, byte[]> noSbom = TestCapsules.files();
        noSbom.remove("sbom.cdx.json");
        assertRefused(TestCapsules.zip(noSbom), "sbom.cdx.json is missing");
        Map<String, byte[]> noManifest = TestCapsules.files();
        noManifest.remove("capsule.yaml");
        assertRefused(TestCapsules.zip(noManifest), "capsule.yaml is missing");
    }

    @Test
    void refusesManifestsFailingTheSchemaNamingEveryProblem() {
        String bad = TestCapsules.manifest("Weather!", "1.0", "api.weather.example", "lots");
        assertThatThrownBy(() -> reader.read(TestCapsules.zip(TestCapsules.files(bad, TestCapsules.sbom("is-number.cdx.json")))))
                .hasMessageContaining("does not match the manifest schema").hasMessageContaining("/name: does not match").hasMessageContaining("/version: number found, string expected")
                .hasMessageContaining("/permissions/max_budget_per_run_usd");
        String unknownField = TestCapsules.manifest("weather", "1.0.0", "api.weather.example", "0.5") + "root_access: true\n";
        assertRefused(TestCapsules.zip(TestCapsules.files(unknownField, TestCapsules.sbom("is-number.cdx.json"))), "root_access");
        assertRefused(TestCapsules.zip(TestCapsules.files("name: [unclosed", TestCapsules.sbom("is-number.cdx.json"))), "not valid YAML");
    }

    @Test
    void refusesInvalidSboms() {
        String manifest = TestCapsules.manifest("weather", "1.0.0", "api.weather.example", "0.5");
        assertRefused(TestCapsules.zip(TestCapsules.files(manifest, "{\"bomFormat\": \"SPDX\"}")), "not a CycloneDX JSON document");
        assertRefused(TestCapsules.zip(TestCapsules.files(manifest, TestCapsules.sbom("is-number.cdx.json").replace("\"specVersion\": \"1.6\"",
                "\"specVersion\": \"1.4\""))), "1.5 or 1.6 is required");
        String nameless = TestCapsules.sbom("is-number.cdx.json").replace("\"name\": \"is-number\",", "");
        assertRefused(TestCapsules.zip(TestCapsules.files(manifest, nameless)), "is not valid CycloneDX 1.6");
        assertRefused(TestCapsules.zip(TestCapsules.files(manifest, "{not json")), "not JSON");
    }

    @Test
    void checksWasmModulesAgainstTheSbom() {
        String sbom = TestCapsules.sbom("with-gpl.cdx.json");
        Map<String, byte[]> files = TestCapsules.files(TestCapsules.manifest("weather", "1.0.0", "api.weather.example", "0.5"),
                TestCapsules.withFile(sbom, "tools/forecast.wasm", TestCapsules.WASM));
        files.put("tools/forecast.wasm", TestCapsules.WASM);
        CapsuleBundle bundle = reader.read(TestCapsules.zip(files));
        assertThat(bundle.sbom().specVersion()).isEqualTo("1.5");
        assertThat(bundle.fileSha256()).containsKey("tools/forecast.wasm");

        byte[] altered = TestCapsules.WASM.clone();
        altered[7] = 1;
        files.put("tools/forecast.wasm", altered);
        assertRefused(TestCapsules.zip(files), "the SHA-256 of tools/forecast.wasm does not match the SBOM");

        Map<String, byte[]> unlisted = TestCapsules.files();
        unlisted.put("tools/other.wasm", TestCapsules.WASM);
        assertRefused(TestCapsules.zip(unlisted), "tools/other.wasm is not listed with a SHA-256 hash in the SBOM");

        Map<String, byte[]> notWasm = TestCapsules.files(TestCapsules.manifest("weather", "1.0.0", "api.weather.example", "0.5"),
                TestCapsules.withFile(sbom, "tools/x.wasm", "#!/bin/sh".getBytes(StandardCharsets.UTF_8)));
        notWasm.put("tools/x.wasm", "#!/bin/sh".getBytes(StandardCharsets.UTF_8));
        assertRefused(TestCapsules.zip(notWasm), "tools/x.wasm is not a WebAssembly module");
    }

    private static byte[] withExtra(String name, String content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> file : TestCapsules.files().entrySet()) {
                zip.putNextEntry(new ZipEntry(file.getKey()));
                zip.write(file.getValue());
                zip.closeEntry();
            }
            zip.putNextEntry(new ZipEntry(name));
            zip.write(content.getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        } catch (IOException e) {
            // ZipOutputStream refuses duplicate names itself; write the duplicate by hand below.
            return duplicate(name, content);
        }
        return out.toByteArray();
    }

    /**
     * Two entries of the same name, listed twice in the central directory too: java.util.zip will
     * not write that, so write a stand-in name of the same length and rename it in every header.
     */
    private static byte[] duplicate(String name, String content) {
        String standIn = "Q".repeat(name.length());
        Map<String, byte[]> files = TestCapsules.files();
        files.put(standIn, content.getBytes(StandardCharsets.UTF_8));
        return replaceAll(TestCapsules.zip(files), standIn, name);
    }

    /** {@code zip} with every occurrence of the bytes of {@code from} replaced by {@code to} (of the same length). */
    private static byte[] replaceAll(byte[] zip, String from, String to) {
        byte[] search = from.getBytes(StandardCharsets.UTF_8);
        byte[] replacement = to.getBytes(StandardCharsets.UTF_8);
        byte[] result = zip.clone();
        for (int at = 0; at + search.length <= result.length; at++) {
            if (java.util.Arrays.equals(result, at, at + search.length, search, 0, search.length)) {
                System.arraycopy(replacement, 0, result, at, replacement.length);
            }
        }
        return result;
    }

    private static byte[] zip(Map<String, byte[]> files, int method) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                ZipEntry entry = new ZipEntry(file.getKey());
                entry.setMethod(method);
                entry.setSize(file.getValue().length);
                entry.setCompressedSize(file.getValue().length);
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(file.getValue());
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(file.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
