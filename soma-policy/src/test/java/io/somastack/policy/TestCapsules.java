package io.somastack.policy;

import io.somastack.kernel.Json;
import io.somastack.policy.internal.Hashes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** Capsule bundles for tests, built on the real CycloneDX SBOMs in {@code src/test/resources/sbom}. */
public final class TestCapsules {
    static final byte[] WASM = {0, 'a', 's', 'm', 1, 0, 0, 0};

    private TestCapsules() {
    }

    public static String manifest(String name, String version, String egress, String budget) {
        return """
                name: %s
                version: %s
                publisher: acme
                description: Answers questions about the weather.
                tags: [weather]
                model:
                  preferred: [gpt-4o-mini]
                  capabilities: [chat, tools]
                system_prompt: You forecast the weather.
                tools:
                  - name: forecast
                    description: Fetches a forecast.
                    input_schema: {type: object, properties: {city: {type: string}}, required: [city]}
                    executor: {kind: http, url: "https://api.weather.example/forecast"}
                memory:
                  scopes: [user]
                permissions:
                  egress: [%s]
                  max_budget_per_run_usd: "%s"
                price_sku: weather-basic
                """.formatted(name, version, egress, budget);
    }

    /**
     * A minimal manifest as a marketplace listing sees it: no tools, egress to api.example.com,
     * 0.50 USD per run, and {@code priceSku} when not null. The description is quoted, so any text fits.
     */
    public static String listing(String name, String version, String publisher, String description, java.util.List<String> tags, String license,
            String priceSku) {
        return """
                name: %s
                version: %s
                publisher: %s
                description: %s
                tags: [%s]
                license: %s
                model:
                  preferred: [gpt-4o-mini]
                  capabilities: [chat]
                system_prompt: You help.
                permissions:
                  egress: [api.example.com]
                  max_budget_per_run_usd: "0.50"
                %s""".formatted(name, version, publisher, Json.text(description), String.join(", ", tags), license,
                priceSku == null ? "" : "price_sku: " + priceSku + "\n");
    }

    public static String sbom(String fixture) {
        try (InputStream in = TestCapsules.class.getResourceAsStream("/sbom/" + fixture)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The files of a well-formed weather capsule with the clean npm SBOM. */
    public static Map<String, byte[]> files() {
        return files(manifest("weather", "1.0.0", "api.weather.example", "0.50"), sbom("is-number.cdx.json"));
    }

    public static Map<String, byte[]> files(String manifest, String sbom) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("capsule.yaml", manifest.getBytes(StandardCharsets.UTF_8));
        files.put("sbom.cdx.json", sbom.getBytes(StandardCharsets.UTF_8));
        return files;
    }

    /** {@code sbom} with a file component for {@code path} carrying the SHA-256 of {@code content}. */
    public static String withFile(String sbom, String path, byte[] content) {
        ObjectNode tree = (ObjectNode) Json.mapper().readTree(sbom);
        ObjectNode component = ((ArrayNode) tree.get("components")).addObject();
        component.put("type", "file");
        component.put("name", path);
        component.putArray("hashes").addObject().put("alg", "SHA-256").put("content", Hashes.sha256(content));
        return Json.text(tree);
    }

    public static byte[] bundle() {
        return zip(files());
    }

    /**
     * {@code zip} with the central directory entry of {@code path} marked as made on Unix with
     * file mode {@code mode} (such as {@code 0120777}, a symbolic link) in the high 16 bits of
     * its external attributes, as Info-ZIP's {@code zip -y} writes it. java.util.zip cannot set
     * those attributes, so the bytes are patched after writing; the result is a real zip that
     * {@code unzip} extracts with that mode.
     */
    public static byte[] withUnixMode(byte[] zip, String path, int mode) {
        byte[] patched = zip.clone();
        int entry = centralEntry(patched, path);
        patched[entry + 4] = 30; // version made by: 3.0 ...
        patched[entry + 5] = 3; // ... on Unix
        int attributes = mode << 16;
        for (int i = 0; i < 4; i++) {
            patched[entry + 38 + i] = (byte) (attributes >>> (8 * i));
        }
        return patched;
    }

    /** The offset of the central directory entry named {@code path} in {@code zip}. */
    public static int centralEntry(byte[] zip, String path) {
        byte[] name = path.getBytes(StandardCharsets.UTF_8);
        for (int at = 0; at + 46 <= zip.length; at++) {
            if (zip[at] == 'P' && zip[at + 1] == 'K' && zip[at + 2] == 1 && zip[at + 3] == 2
                    && ((zip[at + 28] & 0xff) | (zip[at + 29] & 0xff) << 8) == name.length
                    && java.util.Arrays.equals(zip, at + 46, at + 46 + name.length, name, 0, name.length)) {
                return at;
            }
        }
        throw new IllegalArgumentException("no central directory entry " + path);
    }

    public static byte[] zip(Map<String, byte[]> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                zip.putNextEntry(new ZipEntry(file.getKey()));
                zip.write(file.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
