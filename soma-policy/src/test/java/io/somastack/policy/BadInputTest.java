package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Input the constitution's routes must refuse as a 400 problem naming the field, never a 5xx
 * and never stored: wrong types, unknown fields, text PostgreSQL cannot hold (NUL, lone
 * surrogates), out-of-range times, and bundles with entries that are not regular files.
 */
class BadInputTest {
    private static TestConstitution soma;
    private static TestGateway gateway;
    private static String key;
    private static SigningKeys publisher;

    @BeforeAll
    static void start() {
        soma = new TestConstitution();
        gateway = new TestGateway(soma.database, soma.commit, soma.clock, soma.ids, new SimpleMeterRegistry(), soma.constitution::routes);
        key = gateway.tenantKeyInTier("bad-input", "standard", "policy:read", "policy:write", "capsules:write");
        publisher = Signatures.generate();
        TestGateway.Response trusted = gateway.send("POST", "/v1/policy/trusted-keys", key,
                Json.text(Map.of("name", "release", "role", "publisher", "public_key_pem", publisher.publicKeyPem())));
        assertThat(trusted.status()).as(trusted.raw().body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (soma != null) {
            soma.close();
        }
    }

    /** A 400 problem+json of {@code type} whose detail names {@code field}. */
    private static void assertRefused(TestGateway.Response response, String type, String field) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(400);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/" + type);
        assertThat(response.json().get("detail").asString()).as(response.raw().body()).contains("'" + field + "'");
    }

    private static String admission(String signatures) {
        return "{\"bundle\": \"%s\", \"signatures\": %s}".formatted(Base64.getEncoder().encodeToString(TestCapsules.bundle()), signatures);
    }

    /** A policy's JSON with {@code name} and {@code message} as written (JSON escapes such as a backslash-u0000 stay escapes). */
    private static String policy(String name, String message) {
        return "{\"name\": \"%s\", \"kind\": \"admission\", \"validations\": [{\"expression\": \"true\", \"message\": \"%s\"}]}"
                .formatted(name, message);
    }

    @Test
    void admissionsReadSignaturesStrictly() {
        long decisions = soma.count("SELECT count(*) FROM policy_decisions");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("7")), "invalid-request", "signatures");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("\"MEUCIQ\"")), "invalid-request", "signatures");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("null")), "invalid-request", "signatures");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("[7]")), "invalid-request", "signatures[0]");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("[{\"signature\": 7}]")), "invalid-request",
                "signatures[0].signature");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("[{\"signature\": \"x\", \"key_id\": true}]")),
                "invalid-request", "signatures[0].key_id");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("[{\"signature\": \"x\", \"key\": \"y\"}]")),
                "unknown-field", "signatures[0].key");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("[]").replace("}", ", \"dry_run\": true}")),
                "unknown-field", "dry_run");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, "{\"bundle\": 12}"), "invalid-request", "bundle");
        assertRefused(gateway.send("POST", "/v1/policy/admissions", key, admission("[{\"signature\": \"x\", \"key_id\": \"k\\u0000\"}]")),
                "invalid-request", "signatures[0].key_id");
        TestGateway.Response nullBody = gateway.send("POST", "/v1/policy/admissions", key, "null");
        assertThat(nullBody.status()).isEqualTo(400);
        assertThat(nullBody.header("Content-Type")).startsWith("application/problem+json");
        assertThat(soma.count("SELECT count(*) FROM policy_decisions")).as("nothing refused is on record").isEqualTo(decisions);
    }

    @Test
    void policiesAndTrialsReadEveryLevelStrictly() {
        String trial = "{\"policy\": %s, \"input\": %s}";
        String valid = policy("trial", "no");
        assertThat(gateway.send("POST", "/v1/policies/evaluate", key, trial.formatted(valid, "{}")).status()).isEqualTo(200);
        assertRefused(gateway.send("POST", "/v1/policies/evaluate", key, "{\"policy\": %s, \"input\": {}, \"record\": true}".formatted(valid)),
                "unknown-field", "record");
        assertRefused(gateway.send("POST", "/v1/policies/evaluate", key, trial.formatted(valid, "\"capsule\"")), "invalid-request", "input");
        assertRefused(gateway.send("POST", "/v1/policies/evaluate", key, trial.formatted("[]", "{}")), "invalid-request", "policy");
        assertRefused(gateway.send("POST", "/v1/policies/evaluate", key, trial.formatted(valid.replace("\"message\"", "\"severity\": 1, \"message\""),
                "{}")), "unknown-field", "policy.validations[0].severity");
        assertRefused(gateway.send("POST", "/v1/policies/evaluate", key, trial.formatted(valid.replace("\"trial\"", "7"), "{}")),
                "invalid-request", "policy.name");

        assertRefused(gateway.send("POST", "/v1/policies", key, "{\"name\": \"p\", \"kind\": \"admission\", \"validations\": \"true\"}"),
                "invalid-request", "validations");
        assertRefused(gateway.send("POST", "/v1/policies", key, "{\"name\": \"p\", \"kind\": \"admission\", \"matchConditions\": null, "
                + "\"validations\": [{\"expression\": \"true\", \"message\": \"m\"}]}"), "invalid-request", "matchConditions");
        assertRefused(gateway.send("POST", "/v1/policies", key, "{\"name\": \"p\", \"kind\": \"admission\", \"matchConditions\": "
                + "[{\"name\": \"c\", \"expression\": \"true\", \"when\": 1}], \"validations\": [{\"expression\": \"true\", \"message\": \"m\"}]}"),
                "unknown-field", "matchConditions[0].when");
        assertRefused(gateway.send("POST", "/v1/policies", key, policy("p", "m").replace("\"p\"", "true")), "invalid-request", "name");
        assertRefused(gateway.send("POST", "/v1/policy/trusted-keys", key, "{\"name\": \"k\", \"role\": 1, \"public_key_pem\": \"x\"}"),
                "invalid-request", "role");
        assertRefused(gateway.send("POST", "/v1/policy/trusted-keys", key, "{\"name\": \"k\", \"public_key_pem\": \"x\", \"trusted\": true}"),
                "unknown-field", "trusted");
    }

    @Test
    void refusesTextPostgresCannotHoldBeforeItReachesSql() {
        long policies = soma.count("SELECT count(*) FROM policy_policies");
        assertRefused(gateway.send("POST", "/v1/policies", key, policy("p\\u0000", "m")), "invalid-request", "name");
        assertRefused(gateway.send("POST", "/v1/policies", key, policy("p", "denied\\u0000")), "invalid-request", "validations[0].message");
        assertRefused(gateway.send("POST", "/v1/policies", key, policy("p", "denied \\ud800")), "invalid-request", "validations[0].message");
        assertRefused(gateway.send("POST", "/v1/policies", key, policy("p", "denied \\udc00 alone")), "invalid-request", "validations[0].message");
        assertThat(soma.count("SELECT count(*) FROM policy_policies")).isEqualTo(policies);
        // A surrogate pair is ordinary text.
        assertThat(gateway.send("POST", "/v1/policies", key, policy("emoji", "denied \\ud83d\\ude00")).status()).isEqualTo(201);

        // (A NUL in a path segment never reaches the routes: Jetty refuses %00 in the path itself.)
        assertRefused(gateway.send("GET", "/v1/decisions?capsule=weather%00", key, null), "invalid-request", "capsule");
        assertRefused(gateway.send("GET", "/v1/decisions?outcome=denied%00", key, null), "invalid-request", "outcome");
    }

    @Test
    void refusesDecisionTimesOutsideTheYearsPostgresAndJavaShare() {
        String farPast = URLEncoder.encode("-999999999-01-01T00:00:00Z", StandardCharsets.UTF_8);
        String farFuture = URLEncoder.encode("+10000-01-01T00:00:00Z", StandardCharsets.UTF_8);
        assertRefused(gateway.send("GET", "/v1/decisions?from=" + farPast, key, null), "value-out-of-range", "from");
        assertRefused(gateway.send("GET", "/v1/decisions?to=" + farPast, key, null), "value-out-of-range", "to");
        assertRefused(gateway.send("GET", "/v1/decisions?to=" + farFuture, key, null), "value-out-of-range", "to");
        assertThat(gateway.send("GET", "/v1/decisions?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", key, null).status()).isEqualTo(200);
    }

    @Test
    void refusesABundleWhoseReadmeIsASymbolicLink() {
        long decisions = soma.count("SELECT count(*) FROM policy_decisions");
        Map<String, byte[]> files = TestCapsules.files();
        files.put("README.md", "/etc/passwd".getBytes(StandardCharsets.UTF_8));
        byte[] bundle = TestCapsules.withUnixMode(TestCapsules.zip(files), "README.md", 0120777);
        TestGateway.Response response = gateway.send("POST", "/v1/policy/admissions", key, Json.text(Map.of(
                "bundle", Base64.getEncoder().encodeToString(bundle),
                "signatures", List.of(Map.of("signature", Signatures.sign(publisher.privateKeyPem(), bundle), "key_id", publisher.keyId())))));
        assertRefused(response, "bundle-invalid", "README.md");
        assertThat(response.json().get("detail").asString()).contains("symbolic link");
        assertThat(soma.count("SELECT count(*) FROM policy_decisions")).isEqualTo(decisions);
    }
}
