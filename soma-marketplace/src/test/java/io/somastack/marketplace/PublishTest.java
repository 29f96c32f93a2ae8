package io.somastack.marketplace;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class PublishTest {
    private static TestMarketplace soma;

    @BeforeAll
    static void start() {
        soma = new TestMarketplace();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static void assertProblem(HttpResponse<String> response, int status, String type, String detail) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode problem = Json.mapper().readTree(response.body());
        assertThat(problem.get("type").asString()).isEqualTo("https://somastack.io/problems/" + type);
        assertThat(problem.get("detail").asString()).contains(detail);
    }

    @Test
    void publishesASignedBundleContentAddressedAndImmutably() {
        TestMarketplace.Publisher acme = soma.publisher("acme-pub");
        byte[] bundle = TestMarketplace.bundle("forecaster", "1.0.0", "acme", "Forecasts the weather for a city.");

        HttpResponse<String> published = soma.publishZip(acme.apiKey(), bundle, acme.keys());
        assertThat(published.statusCode()).as(published.body()).isEqualTo(201);
        JsonNode version = Json.mapper().readTree(published.body());
        assertThat(version.get("version").asString()).isEqualTo("1.0.0");
        assertThat(version.get("digest").asString()).startsWith("sha256:");
        assertThat(version.get("signatures").get(0).get("key_id").asString()).isEqualTo(acme.keys().keyId());
        assertThat(version.get("signatures").get(0).get("public_key_pem").asString()).contains("BEGIN PUBLIC KEY");
        assertThat(version.get("licenses").toString()).contains("MIT");
        String sha = version.get("packed_sha256").asString();
        assertThat(soma.count("SELECT count(*) FROM capsule_blobs WHERE sha256 = '%s'".formatted(sha))).isEqualTo(1);

        // The same bundle again is a no-op; another bundle under the same version is refused.
        assertThat(soma.publishZip(acme.apiKey(), bundle, acme.keys()).statusCode()).isEqualTo(200);
        byte[] other = TestMarketplace.bundle("forecaster", "1.0.0", "acme", "Forecasts the weather, now better.");
        assertProblem(soma.publishZip(acme.apiKey(), other, acme.keys()), 409, "conflict", "immutable");

        // The bundle comes back byte for byte, with its signature.
        HttpResponse<byte[]> download = soma.download("/v1/capsules/forecaster/versions/1.0.0/bundle", acme.apiKey());
        assertThat(download.statusCode()).isEqualTo(200);
        assertThat(java.util.Arrays.equals(download.body(), bundle)).as("the downloaded bundle equals the published one").isTrue();
        assertThat(download.headers().firstValue("Content-Type")).contains("application/zip");
        String signature = download.headers().firstValue("Capsule-Signature").orElseThrow();
        assertThat(signature).endsWith("; key-id=" + acme.keys().keyId());
        assertThat(Signatures.verify(acme.keys().publicKeyPem(), bundle, signature.substring(0, signature.indexOf(';')))).isTrue();

        // The JSON form of publish takes the same bundle (another version).
        byte[] second = TestMarketplace.bundle("forecaster", "1.1.0", "acme", "Forecasts the weather for a city, hourly.");
        TestGateway.Response json = soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, acme.apiKey(), Json.text(Map.of(
                "bundle", Base64.getEncoder().encodeToString(second),
                "signatures", List.of(Map.of("signature", Signatures.sign(acme.keys().privateKeyPem(), second))))));
        assertThat(json.status()).as(json.raw().body()).isEqualTo(201);
        JsonNode entry = soma.gateway.send("GET", "/v1/capsules/forecaster", acme.apiKey(), null).json();
        assertThat(entry.get("latest_version").asString()).isEqualTo("1.1.0");
        assertThat(entry.get("versions").size()).isEqualTo(2);
        assertThat(entry.get("versions").get(0).get("version").asString()).isEqualTo("1.1.0");
        assertThat(soma.strings("SELECT action FROM audit_log WHERE action = 'capsule.publish'")).hasSize(2);
        assertThat(soma.strings("SELECT subject FROM outbox WHERE type = 'io.somastack.capsule.published' ORDER BY subject"))
                .containsExactly("forecaster@1.0.0", "forecaster@1.1.0");
    }

    /** The decisions of the tenant of {@code apiKey} about {@code capsule}, newest first. */
    private static JsonNode decisions(String apiKey, String capsule) {
        TestGateway.Response response = soma.gateway.send("GET", "/v1/decisions?capsule=" + capsule, apiKey, null);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        return response.json().get("data");
    }

    /** The newest decision on {@code capsule} records the refusal {@code response} answered, under the decision id it named. */
    private static void assertRecordedAsRefused(String apiKey, String capsule, HttpResponse<String> response, int status, String type) {
        JsonNode problem = Json.mapper().readTree(response.body());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode decision = decisions(apiKey, capsule).get(0);
        assertThat(decision.get("outcome").asString()).isEqualTo("refused");
        assertThat(decision.get("decision_id").asString()).isEqualTo(problem.get("decision_id").asString());
        assertThat(decision.get("refusal").get("type").asString()).isEqualTo("https://somastack.io/problems/" + type)
                .isEqualTo(problem.get("type").asString());
        assertThat(decision.get("refusal").get("status").asInt()).isEqualTo(status);
        assertThat(decision.get("refusal").get("detail").asString()).isEqualTo(problem.get("detail").asString());
    }

    @Test
    void aPublishRefusedAfterAdmissionIsOnRecordAsRefusedNotAdmitted() {
        TestMarketplace.Publisher umbrella = soma.publisher("umbrella-pub");
        byte[] bundle = TestMarketplace.bundle("ledger", "1.0.0", "umbrella", "Keeps the books.");
        assertThat(soma.publishZip(umbrella.apiKey(), bundle, umbrella.keys()).statusCode()).isEqualTo(201);
        assertThat(decisions(umbrella.apiKey(), "ledger").get(0).get("outcome").asString()).isEqualTo("admitted");

        // The policies admit other content under the same version; the publish answers 409, and so does the record.
        byte[] other = TestMarketplace.bundle("ledger", "1.0.0", "umbrella", "Keeps the books, differently.");
        HttpResponse<String> conflict = soma.publishZip(umbrella.apiKey(), other, umbrella.keys());
        assertProblem(conflict, 409, "conflict", "immutable");
        assertRecordedAsRefused(umbrella.apiKey(), "ledger", conflict, 409, "conflict");

        // Another tenant's publish under the name: 403 not-publisher, on record as refused, never as admitted.
        TestMarketplace.Publisher squatter = soma.publisher("ledger-squatter-pub");
        HttpResponse<String> taken = soma.publishZip(squatter.apiKey(), TestMarketplace.bundle("ledger", "2.0.0", "squatter2", "Mine."),
                squatter.keys());
        assertProblem(taken, 403, "not-publisher", "belongs to another publisher");
        assertRecordedAsRefused(squatter.apiKey(), "ledger", taken, 403, "not-publisher");
        assertThat(soma.gateway.send("GET", "/v1/decisions?capsule=ledger&outcome=admitted", squatter.apiKey(), null).json().get("data").size())
                .isZero();
        assertThat(soma.gateway.send("GET", "/v1/decisions?capsule=ledger&outcome=refused", squatter.apiKey(), null).json().get("data").size())
                .isOne();

        // Signed only by a key of role marketplace: refused before admission runs, so no decision at all.
        SigningKeys notAPublisherKey = Signatures.generate();
        soma.trust(squatter.apiKey(), notAPublisherKey, "marketplace");
        byte[] own = TestMarketplace.bundle("squatter-ledger", "1.0.0", "squatter2", "Mine, really.");
        assertProblem(soma.publishZip(squatter.apiKey(), own, notAPublisherKey), 400, "signature-refused", "publisher keys");
        assertThat(decisions(squatter.apiKey(), "squatter-ledger").size()).isZero();

        // Nothing of the refused publishes was stored; the record and the audit log agree.
        assertThat(soma.count("SELECT count(*) FROM capsule_versions WHERE name = 'ledger'")).isOne();
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'policy.decision' AND subject = 'ledger'")).isEqualTo(3);
        assertThat(soma.count("SELECT count(*) FROM policy_decisions WHERE subject = 'ledger' AND outcome = 'refused'")).isEqualTo(2);
        // The same bundle again is a publish that succeeds (200, nothing new stored): admitted, as answered.
        assertThat(soma.publishZip(umbrella.apiKey(), bundle, umbrella.keys()).statusCode()).isEqualTo(200);
        assertThat(decisions(umbrella.apiKey(), "ledger").get(0).get("outcome").asString()).isEqualTo("admitted");
    }

    @Test
    void publishesAFiveMegabyteBundleWithAWebAssemblyToolAsAZipUpload() {
        TestMarketplace.Publisher hooli = soma.publisher("hooli-pub");
        byte[] wasm = new byte[5 * 1024 * 1024];
        new java.util.Random(1).nextBytes(wasm);
        System.arraycopy(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0}, 0, wasm, 0, 8);
        java.util.Map<String, byte[]> files = io.somastack.policy.TestCapsules.files(
                io.somastack.policy.TestCapsules.listing("compressor", "1.0.0", "hooli", "Middle-out compression as a tool.", List.of("tools"), "MIT", null),
                io.somastack.policy.TestCapsules.withFile(io.somastack.policy.TestCapsules.sbom("is-number.cdx.json"), "tools/compress.wasm", wasm));
        files.put("tools/compress.wasm", wasm);
        byte[] bundle = io.somastack.policy.TestCapsules.zip(files);
        assertThat(bundle.length).isGreaterThan(5_000_000);

        HttpResponse<String> published = soma.publishZip(hooli.apiKey(), bundle, hooli.keys());

        assertThat(published.statusCode()).as(published.body()).isEqualTo(201);
        HttpResponse<byte[]> download = soma.download("/v1/capsules/compressor/versions/1.0.0/bundle", hooli.apiKey());
        assertThat(java.util.Arrays.equals(download.body(), bundle)).isTrue();
        // One byte changed in the module: the SBOM's hash no longer matches.
        byte[] altered = files.get("tools/compress.wasm").clone();
        altered[1000] ^= 1;
        files.put("tools/compress.wasm", altered);
        byte[] tampered = io.somastack.policy.TestCapsules.zip(files);
        assertProblem(soma.publishZip(hooli.apiKey(), tampered, hooli.keys()), 400, "bundle-invalid", "does not match the SBOM");
    }

    @Test
    void refusesBadBundlesAndStoresNothing() {
        TestMarketplace.Publisher initech = soma.publisher("initech-pub");
        long versions = soma.count("SELECT count(*) FROM capsule_versions");
        long blobs = soma.count("SELECT count(*) FROM capsule_blobs");
        byte[] bundle = TestMarketplace.bundle("stapler", "1.0.0", "initech", "Finds the red stapler.");

        assertProblem(soma.publishZip(initech.apiKey(), bundle), 400, "signature-refused", "publisher keys");
        SigningKeys stranger = Signatures.generate();
        assertProblem(soma.publishZip(initech.apiKey(), bundle, stranger), 400, "signature-refused", "does not trust");
        byte[] altered = bundle.clone();
        String signature = Signatures.sign(initech.keys().privateKeyPem(), bundle);
        altered[altered.length / 2] ^= 1;
        HttpResponse<String> tampered = soma.publishZip(initech.apiKey(), altered, initech.keys());
        assertThat(tampered.statusCode()).as(tampered.body()).isEqualTo(400);
        assertThat(signature).isNotEmpty();
        byte[] badManifest = TestMarketplace.bundle(io.somastack.policy.TestCapsules.listing("stapler", "1.0", "initech", "x", List.of(), "MIT", null));
        assertProblem(soma.publishZip(initech.apiKey(), badManifest, initech.keys()), 400, "manifest-invalid", "version");
        // The publisher's own admission policies run at publish, on record.
        try (var in = io.somastack.policy.ExamplePolicies.class.getResourceAsStream("examples/no-gpl-for-standard-tier.json")) {
            String policy = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(soma.gateway.send("POST", "/v1/policies", initech.apiKey(), policy).status()).isEqualTo(201);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        byte[] gpl = io.somastack.policy.TestCapsules.zip(io.somastack.policy.TestCapsules.files(
                io.somastack.policy.TestCapsules.listing("stapler", "1.0.0", "initech", "Finds the red stapler.", List.of(), "MIT", null),
                io.somastack.policy.TestCapsules.sbom("with-gpl.cdx.json")));
        HttpResponse<String> denied = soma.publishZip(initech.apiKey(), gpl, initech.keys());
        assertProblem(denied, 403, "admission-denied", "no-gpl-for-standard-tier");
        String decision = Json.mapper().readTree(denied.body()).get("decision_id").asString();
        assertThat(soma.gateway.send("GET", "/v1/decisions?capsule=stapler&outcome=denied", initech.apiKey(), null).json().get("data").get(0)
                .get("decision_id").asString()).isEqualTo(decision);
        byte[] notZip = "not a zip at all".getBytes();
        assertThat(soma.publishZip(initech.apiKey(), notZip, initech.keys()).statusCode()).isEqualTo(400);

        // A name and a publisher name belong to whoever published them first.
        TestMarketplace.Publisher squatter = soma.publisher("squatter-pub");
        assertThat(soma.publishZip(initech.apiKey(), bundle, initech.keys()).statusCode()).isEqualTo(201);
        byte[] taken = TestMarketplace.bundle("stapler", "2.0.0", "squatter", "Mine now.");
        assertProblem(soma.publishZip(squatter.apiKey(), taken, squatter.keys()), 403, "not-publisher", "another publisher");
        byte[] impersonating = TestMarketplace.bundle("stapler-pro", "1.0.0", "initech", "Not really initech.");
        assertProblem(soma.publishZip(squatter.apiKey(), impersonating, squatter.keys()), 403, "not-publisher", "publisher name 'initech'");

        assertThat(soma.count("SELECT count(*) FROM capsule_versions")).isEqualTo(versions + 1);
        assertThat(soma.count("SELECT count(*) FROM capsule_blobs")).isEqualTo(blobs + 1);

        // Uploads are zip or JSON, and need capsules:write.
        TestGateway.Response text = soma.gateway.send("POST", MarketplaceRoutes.PUBLISH, initech.apiKey(), null, "Content-Type", "text/plain");
        assertThat(text.status()).isIn(400, 415);
        String reader = soma.gateway.tenantKey("reader", "capsules:read");
        assertProblem(soma.publishZip(reader, bundle, initech.keys()), 403, "insufficient-scope", "capsules:write");
    }
}
