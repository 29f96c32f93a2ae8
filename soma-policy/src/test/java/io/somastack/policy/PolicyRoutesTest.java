package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class PolicyRoutesTest {
    private static TestConstitution soma;
    private static TestGateway gateway;

    @BeforeAll
    static void start() {
        soma = new TestConstitution();
        gateway = new TestGateway(soma.database, soma.commit, soma.clock, soma.ids, new SimpleMeterRegistry(), soma.constitution::routes);
    }

    @AfterAll
    static void stop() {
        gateway.close();
        soma.close();
    }

    private static void assertProblem(TestGateway.Response response, int status, String type, String detail) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(status);
        assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/" + type);
        assertThat(response.json().get("detail").asString()).contains(detail);
    }

    private static String policy(String name, String expression) {
        return Json.text(Map.of("name", name, "kind", "admission", "matchConditions", List.of(),
                "validations", List.of(Map.of("expression", expression, "message", "denied by " + name))));
    }

    private static String admission(byte[] bundle, SigningKeys... signers) {
        return Json.text(Map.of("bundle", Base64.getEncoder().encodeToString(bundle), "signatures", java.util.Arrays.stream(signers)
                .map(keys -> Map.of("signature", Signatures.sign(keys.privateKeyPem(), bundle), "key_id", keys.keyId())).toList()));
    }

    @Test
    void managesPoliciesOverHttp() {
        String key = gateway.tenantKeyInTier("acme", "standard", "policy:read", "policy:write");
        TestGateway.Response created = gateway.send("POST", "/v1/policies", key, policy("signed", "signatures.count > 0"));
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        assertThat(created.json().get("version").asInt()).isEqualTo(1);
        TestGateway.Response updated = gateway.send("PUT", "/v1/policies/signed", key, policy("signed", "signatures.count > 1"));
        assertThat(updated.json().get("version").asInt()).isEqualTo(2);
        assertThat(gateway.send("GET", "/v1/policies", key, null).json().get("data").get(0).get("validations").get(0).get("expression").asString())
                .isEqualTo("signatures.count > 1");
        assertThat(gateway.send("GET", "/v1/policies/signed?version=1", key, null).json().get("validations").get(0).get("expression").asString())
                .isEqualTo("signatures.count > 0");

        assertProblem(gateway.send("POST", "/v1/policies", key, policy("broken", "capsule.name ==")), 400, "policy-invalid", "does not compile");
        assertProblem(gateway.send("POST", "/v1/policies", key, policy("not-bool", "capsule.name + '!'")), 400, "policy-invalid", "does not compile");
        assertProblem(gateway.send("POST", "/v1/policies", key, "{\"name\": \"x\", \"kind\": \"admission\", \"validations\": [], \"extra\": 1}"), 400,
                "unknown-field", "extra");
        assertProblem(gateway.send("POST", "/v1/policies", key, policy("signed", "true")), 409, "conflict", "exists");
        assertThat(gateway.send("GET", "/v1/policies/broken", key, null).status()).isEqualTo(404);

        TestGateway.Response trial = gateway.send("POST", "/v1/policies/evaluate", key, Json.text(Map.of(
                "policy", Map.of("name", "budget", "kind", "admission", "validations",
                        List.of(Map.of("expression", "double(capsule.permissions.max_budget_per_run_usd) <= 1.0", "message", "too dear"))),
                "input", Map.of("capsule", Map.of("permissions", Map.of("max_budget_per_run_usd", "3.50"))))));
        assertThat(trial.json().get("allowed").asBoolean()).isFalse();
        assertThat(trial.json().get("violation").get("message").asString()).isEqualTo("too dear");

        assertThat(gateway.send("DELETE", "/v1/policies/signed", key, null).status()).isEqualTo(204);
        assertThat(gateway.send("GET", "/v1/policies", key, null).json().get("data").size()).isZero();
        String readOnly = gateway.tenantKeyInTier("initech", "standard", "policy:read");
        assertProblem(gateway.send("POST", "/v1/policies", readOnly, policy("x", "true")), 403, "insufficient-scope", "policy:write");
    }

    @Test
    void trustsKeysAdmitsBundlesAndListsDecisionsOverHttp() {
        String key = gateway.tenantKeyInTier("globex", "standard", "policy:read", "policy:write", "capsules:write");
        SigningKeys publisher = Signatures.generate();
        TestGateway.Response trusted = gateway.send("POST", "/v1/policy/trusted-keys", key,
                Json.text(Map.of("name", "globex release", "role", "publisher", "public_key_pem", publisher.publicKeyPem())));
        assertThat(trusted.status()).as(trusted.raw().body()).isEqualTo(201);
        assertThat(trusted.json().get("key_id").asString()).isEqualTo(publisher.keyId());
        gateway.send("POST", "/v1/policies", key, Json.text(ExamplePoliciesJson.trustedSigner()));
        gateway.send("POST", "/v1/policies", key, Json.text(ExamplePoliciesJson.maxBudget()));

        TestGateway.Response admitted = gateway.send("POST", "/v1/policy/admissions", key, admission(TestCapsules.bundle(), publisher));
        assertThat(admitted.status()).as(admitted.raw().body()).isEqualTo(200);
        assertThat(admitted.json().get("outcome").asString()).isEqualTo("admitted");
        byte[] expensive = TestCapsules.zip(TestCapsules.files(TestCapsules.manifest("weather", "2.0.0", "api.weather.example", "7.5"),
                TestCapsules.sbom("is-number.cdx.json")));
        TestGateway.Response denied = gateway.send("POST", "/v1/policy/admissions", key, admission(expensive, publisher));
        assertThat(denied.json().get("outcome").asString()).isEqualTo("denied");
        assertThat(denied.json().get("violation").get("policy").asString()).isEqualTo("max-budget-per-run");

        byte[] altered = TestCapsules.bundle();
        String signedOriginal = admission(altered, publisher);
        altered[60] ^= 1;
        String tampered = signedOriginal.replace(Base64.getEncoder().encodeToString(TestCapsules.bundle()), Base64.getEncoder().encodeToString(altered));
        assertThat(gateway.send("POST", "/v1/policy/admissions", key, tampered).status()).isEqualTo(400);

        JsonNode deniedOnly = gateway.send("GET", "/v1/decisions?capsule=weather&outcome=denied", key, null).json().get("data");
        assertThat(deniedOnly.size()).isEqualTo(1);
        assertThat(deniedOnly.get(0).get("decision_id").asString()).isEqualTo(denied.json().get("decision_id").asString());
        assertThat(deniedOnly.get(0).get("message").asString()).isEqualTo(denied.json().get("violation").get("message").asString());
        assertThat(gateway.send("GET", "/v1/decisions?capsule=weather", key, null).json().get("data").size()).isEqualTo(2);
        assertThat(gateway.send("GET", "/v1/decisions?from=2999-01-01T00:00:00Z", key, null).json().get("data").size()).isZero();
        assertProblem(gateway.send("GET", "/v1/decisions?from=yesterday", key, null), 400, "invalid-request", "RFC 3339");

        String encodedKeyId = java.net.URLEncoder.encode(publisher.keyId(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(gateway.send("DELETE", "/v1/policy/trusted-keys/" + encodedKeyId, key, null).json().get("revoked_at").isNull()).isFalse();
        assertThat(gateway.send("GET", "/v1/policy/trusted-keys", key, null).json().get("data").get(0).get("revoked_at").isNull()).isFalse();
        assertProblem(gateway.send("POST", "/v1/policy/admissions", key, admission(TestCapsules.bundle(), publisher)), 400, "signature-refused", "revoked");
        assertThat(gateway.send("GET", "/v1/decisions", key, null).json().get("data").size()).isEqualTo(2);
    }

    /** The example policies as wire JSON. */
    static final class ExamplePoliciesJson {
        static Map<String, Object> trustedSigner() {
            return io.somastack.policy.internal.PolicyWire.definition(ExamplePolicies.load("trusted-signer"));
        }

        static Map<String, Object> maxBudget() {
            return io.somastack.policy.internal.PolicyWire.definition(ExamplePolicies.load("max-budget-per-run"));
        }
    }
}
