package io.somastack.marketplace;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.TestCapsules;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Input the marketplace must refuse as a 400 problem naming the field, storing nothing: wrong
 * types and unknown fields, text PostgreSQL cannot hold, and a bundle whose README.md is a
 * symbolic link, on every path a bundle takes (admission, publish as zip and as JSON, install).
 */
class BadInputTest {
    private static TestMarketplace soma;
    private static TestMarketplace.Publisher hooli;

    @BeforeAll
    static void start() {
        soma = new TestMarketplace();
        hooli = soma.publisher("hooli-bad-input");
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    /** A 400 problem+json of {@code type} whose detail names {@code field}. */
    private static void assertRefused(int status, String contentType, String body, String type, String field) {
        assertThat(status).as(body).isEqualTo(400);
        assertThat(contentType).startsWith("application/problem+json");
        JsonNode problem = Json.mapper().readTree(body);
        assertThat(problem.get("type").asString()).isEqualTo("https://somastack.io/problems/" + type);
        assertThat(problem.get("detail").asString()).as(body).contains(field);
    }

    private static void assertRefused(TestGateway.Response response, String type, String field) {
        assertRefused(response.status(), response.header("Content-Type"), response.raw().body(), type, field);
    }

    private static void assertRefused(HttpResponse<String> response, String type, String field) {
        assertRefused(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""), response.body(), type, field);
    }

    /** A bundle of capsule {@code name} whose README.md is a symbolic link to /etc/passwd, as unzip would extract it. */
    private static byte[] symlinked(String name) {
        Map<String, byte[]> files = TestCapsules.files(TestCapsules.listing(name, "1.0.0", "hooli", "Innocent.", List.of(), "MIT", null),
                TestCapsules.sbom("is-number.cdx.json"));
        files.put("README.md", "/etc/passwd".getBytes(StandardCharsets.UTF_8));
        return TestCapsules.withUnixMode(TestCapsules.zip(files), "README.md", 0120777);
    }

    private static String jsonPublish(byte[] bundle, String signatures) {
        return "{\"bundle\": \"%s\", \"signatures\": %s}".formatted(Base64.getEncoder().encodeToString(bundle), signatures);
    }

    private static long stored() {
        return soma.count("SELECT count(*) FROM capsule_versions") + soma.count("SELECT count(*) FROM policy_decisions");
    }

    @Test
    void refusesABundleWithASymbolicLinkOnEveryPath() {
        long before = stored();
        byte[] bundle = symlinked("linker");
        String signature = Signatures.sign(hooli.keys().privateKeyPem(), bundle);
        assertRefused(soma.publishZip(hooli.apiKey(), bundle, hooli.keys()), "bundle-invalid", "the entry 'README.md' is a symbolic link");
        assertRefused(soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, hooli.apiKey(), Json.text(Map.of("bundle",
                Base64.getEncoder().encodeToString(bundle), "signatures", List.of(Map.of("signature", signature))))), "bundle-invalid",
                "the entry 'README.md' is a symbolic link");
        assertRefused(soma.gateway.send("POST", "/v1/policy/admissions", hooli.apiKey(), Json.text(Map.of("bundle",
                Base64.getEncoder().encodeToString(bundle), "signatures", List.of(Map.of("signature", signature))))), "bundle-invalid",
                "the entry 'README.md' is a symbolic link");
        assertThat(stored()).isEqualTo(before);

        // A bundle stored before symbolic links were refused: installing it reads it again, and refuses it.
        byte[] clean = TestMarketplace.bundle("linker", "1.0.0", "hooli", "Innocent.");
        HttpResponse<String> published = soma.publishZip(hooli.apiKey(), clean, hooli.keys());
        assertThat(published.statusCode()).as(published.body()).isEqualTo(201);
        String sha = Json.mapper().readTree(published.body()).get("packed_sha256").asString();
        soma.database.jdbi().useHandle(handle -> handle.createUpdate("UPDATE capsule_blobs SET bytes = :bytes WHERE sha256 = :sha")
                .bind("bytes", bundle).bind("sha", sha).execute());
        String tenant = soma.gateway.tenantKey("link-victim", "capsules:read", "capsules:write", "policy:read");
        assertRefused(soma.gateway.send("POST", "/v1/capsules/linker/install", tenant, null), "bundle-invalid",
                "the entry 'README.md' is a symbolic link");
        assertThat(soma.gateway.send("GET", "/v1/installed-capsules", tenant, null).json().get("data").size()).isZero();
    }

    @Test
    void readsPublishAndInstallBodiesStrictly() {
        long before = stored();
        byte[] bundle = TestMarketplace.bundle("strict", "1.0.0", "hooli", "Strict.");
        String signature = Json.text(Signatures.sign(hooli.keys().privateKeyPem(), bundle));
        // Signatures as a number or a string are not "no signatures".
        assertRefused(soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, hooli.apiKey(), jsonPublish(bundle, "7")), "invalid-request",
                "'signatures'");
        assertRefused(soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, hooli.apiKey(), jsonPublish(bundle, signature)), "invalid-request",
                "'signatures'");
        assertRefused(soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, hooli.apiKey(), jsonPublish(bundle, "[{\"signature\": %s, \"by\": \"me\"}]"
                .formatted(signature))), "unknown-field", "'signatures[0].by'");
        assertRefused(soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, hooli.apiKey(), jsonPublish(bundle, "[{\"signature\": %s}]"
                .formatted(signature)).replace("}]}", "}], \"public\": true}")), "unknown-field", "'public'");
        assertThat(stored()).as("nothing refused is stored or on record").isEqualTo(before);

        String consumer = soma.gateway.tenantKey("strict-consumer", "capsules:read", "capsules:write");
        assertRefused(soma.gateway.send("POST", "/v1/capsules/strict/install", consumer, "{\"version\": 1}"), "invalid-request", "'version'");
        assertRefused(soma.gateway.send("POST", "/v1/capsules/strict/install", consumer, "{\"version\": \"1.0.0\\u0000\"}"), "invalid-request",
                "'version'");
        assertRefused(soma.gateway.send("POST", "/v1/capsules/strict/versions/1.0.0/revoke", hooli.apiKey(), "{\"reason\": 42}"),
                "invalid-request", "'reason'");
        assertRefused(soma.gateway.send("POST", "/v1/capsules/strict/versions/1.0.0/revoke", hooli.apiKey(), "{\"reason\": \"bad \\ud800\"}"),
                "invalid-request", "'reason'");
    }

    @Test
    void refusesTextPostgresCannotHoldInQueriesAndManifests() {
        String reader = soma.gateway.tenantKey("nul-searcher", "capsules:read");
        assertRefused(soma.gateway.send("GET", "/v1/capsules?q=acc%00", reader, null), "invalid-request", "'q'");
        assertRefused(soma.gateway.send("GET", "/v1/capsules?publisher=hooli%00", reader, null), "invalid-request", "'publisher'");
        assertRefused(soma.gateway.send("GET", "/v1/capsules?tag=a%00", reader, null), "invalid-request", "'tag'");

        long before = stored();
        String manifest = TestCapsules.listing("nul-description", "1.0.0", "hooli", "Hides a \u0000 in its description.", List.of(), "MIT", null);
        assertRefused(soma.publishZip(hooli.apiKey(), TestMarketplace.bundle(manifest), hooli.keys()), "manifest-invalid", "/description");
        String sbom = TestCapsules.sbom("is-number.cdx.json").replace("\"MIT\"", "\"MIT\\u0000\"");
        assertThat(sbom).contains("\\u0000");
        byte[] nulLicense = TestCapsules.zip(TestCapsules.files(TestCapsules.listing("nul-license", "1.0.0", "hooli", "Fine.", List.of(), "MIT",
                null), sbom));
        assertRefused(soma.publishZip(hooli.apiKey(), nulLicense, hooli.keys()), "sbom-invalid", "NUL");
        assertThat(stored()).isEqualTo(before);
    }
}
