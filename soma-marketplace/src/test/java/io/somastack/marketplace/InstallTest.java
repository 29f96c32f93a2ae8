package io.somastack.marketplace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.policy.Actor;
import io.somastack.policy.ExamplePolicies;
import io.somastack.policy.PolicyTenant;
import io.somastack.policy.Violation;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class InstallTest {
    private static TestMarketplace soma;

    @BeforeAll
    static void start() {
        soma = new TestMarketplace();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static void assertProblem(TestGateway.Response response, int status, String type, String detail) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(status);
        assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/" + type);
        assertThat(response.json().get("detail").asString()).contains(detail);
    }

    private static String examplePolicy(String name) {
        try (var in = ExamplePolicies.class.getResourceAsStream("examples/" + name + ".json")) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aTenantInstallsUpdatesAndSeesARevocationOnTheNextRequest() {
        TestMarketplace.Publisher globex = soma.publisher("globex-pub");
        byte[] v1 = TestMarketplace.bundle("summarizer", "1.0.0", "globex", "Summarizes long documents.");
        byte[] v2 = TestMarketplace.bundle("summarizer", "1.1.0", "globex", "Summarizes long documents, with citations.");
        assertThat(soma.publishZip(globex.apiKey(), v1, globex.keys()).statusCode()).isEqualTo(201);

        String consumer = soma.gateway.tenantKey("hooli", "capsules:read", "capsules:write", "policy:read", "policy:write");
        TestGateway.Response policy = soma.gateway.send("POST", "/v1/policies", consumer, examplePolicy("trusted-signer"));
        assertThat(policy.status()).as(policy.raw().body()).isEqualTo(201);

        // The consumer does not trust globex's key yet: the trusted-signer policy denies, on record.
        TestGateway.Response denied = soma.gateway.send("POST", "/v1/capsules/summarizer/install", consumer, null);
        assertProblem(denied, 403, "admission-denied", "trusted-signer");
        String deniedDecision = denied.json().get("decision_id").asString();
        assertThat(soma.gateway.send("GET", "/v1/installed-capsules", consumer, null).json().get("data").size()).isZero();

        soma.trust(consumer, globex.keys(), "publisher");
        TestGateway.Response installed = soma.gateway.send("POST", "/v1/capsules/summarizer/install", consumer, null);
        assertThat(installed.status()).as(installed.raw().body()).isEqualTo(201);
        assertThat(installed.json().get("version").asString()).isEqualTo("1.0.0");
        assertThat(installed.json().get("runnable").asBoolean()).isTrue();
        String admittedDecision = installed.json().get("decision_id").asString();
        assertThat(soma.gateway.send("POST", "/v1/capsules/summarizer/install", consumer, null).status()).isEqualTo(200);

        JsonNode decisions = soma.gateway.send("GET", "/v1/decisions?capsule=summarizer", consumer, null).json().get("data");
        assertThat(decisions.size()).isEqualTo(2);
        assertThat(decisions.get(0).get("decision_id").asString()).isEqualTo(admittedDecision);
        assertThat(decisions.get(0).get("outcome").asString()).isEqualTo("admitted");
        assertThat(decisions.get(1).get("decision_id").asString()).isEqualTo(deniedDecision);
        assertThat(decisions.get(1).get("outcome").asString()).isEqualTo("denied");

        // The audit log holds the same decisions, with what was answered.
        assertThat(soma.strings("SELECT (detail::jsonb)->>'outcome' FROM audit_log WHERE action = 'policy.decision' AND (detail::jsonb)->>'decision_id' = '%s'"
                .formatted(deniedDecision))).containsExactly("denied");
        assertThat(soma.strings("SELECT (detail::jsonb)->>'outcome' FROM audit_log WHERE action = 'policy.decision' AND (detail::jsonb)->>'decision_id' = '%s'"
                .formatted(admittedDecision))).containsExactly("admitted");

        // Update: only forward, admission again.
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/update", consumer, "{\"version\": \"9.9.9\"}"), 404, "not-found", "9.9.9");
        assertThat(soma.publishZip(globex.apiKey(), v2, globex.keys()).statusCode()).isEqualTo(201);
        TestGateway.Response updated = soma.gateway.send("POST", "/v1/capsules/summarizer/update", consumer, null);
        assertThat(updated.status()).as(updated.raw().body()).isEqualTo(200);
        assertThat(updated.json().get("version").asString()).isEqualTo("1.1.0");
        assertThat(updated.json().get("decision_id").asString()).isNotEqualTo(admittedDecision);
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/update", consumer, "{\"version\": \"1.0.0\"}"), 409, "conflict",
                "only moves forward");
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/install", consumer, "{\"version\": \"1.0.0\"}"), 409, "conflict",
                "installed at version 1.1.0");
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/install", consumer, "{\"versions\": \"1.0.0\"}"), 400, "unknown-field",
                "versions");

        // Only the publisher (or the operator) revokes; a revocation needs a reason.
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/versions/1.1.0/revoke", consumer, "{\"reason\": \"mine\"}"), 403,
                "not-publisher", "Only the publisher");
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/versions/1.1.0/revoke", globex.apiKey(), "{}"), 400,
                "invalid-request", "reason");
        TenantId consumerTenant = soma.marketplace.installs().list(tenantOfInstall("summarizer")).getFirst().tenant();
        soma.marketplace.runs().record(consumerTenant, "summarizer", Duration.ofMillis(120), Money.of("0.002"), true);
        TestGateway.Response revoked = soma.gateway.send("POST", "/v1/capsules/summarizer/versions/1.1.0/revoke", globex.apiKey(),
                "{\"reason\": \"leaks the system prompt\"}");
        assertThat(revoked.status()).as(revoked.raw().body()).isEqualTo(200);
        assertThat(revoked.json().get("revoked").asBoolean()).isTrue();

        // From the next request on: not runnable, not installable, out of the catalog's latest, and the tenant got an event.
        TestGateway.Response after = soma.gateway.send("GET", "/v1/installed-capsules/summarizer", consumer, null);
        assertThat(after.json().get("runnable").asBoolean()).isFalse();
        assertThat(after.json().get("revocation").get("reason").asString()).isEqualTo("leaks the system prompt");
        assertThatThrownBy(() -> soma.marketplace.runs().record(consumerTenant, "summarizer", Duration.ofMillis(1), Money.ZERO, true))
                .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code().status()).isEqualTo(410));
        String other = soma.gateway.tenantKey("pied-piper", "capsules:read", "capsules:write");
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/install", other, "{\"version\": \"1.1.0\"}"), 410, "capsule-revoked",
                "leaks the system prompt");
        assertThat(soma.gateway.send("GET", "/v1/capsules/summarizer", other, null).json().get("latest_version").asString()).isEqualTo("1.0.0");
        assertThat(soma.strings("SELECT tenant_id::text FROM outbox WHERE type = 'io.somastack.capsule.revoked' AND subject = 'summarizer@1.1.0'"))
                .containsExactly(consumerTenant.toString());
        assertThat(soma.strings("SELECT action FROM audit_log WHERE action LIKE 'capsule.%' ORDER BY seq"))
                .containsSubsequence("capsule.install", "capsule.update", "capsule.revoke");

        // Revoking every version takes the capsule out of search; uninstall frees the tenant.
        assertThat(soma.gateway.send("POST", "/v1/capsules/summarizer/versions/1.0.0/revoke", globex.apiKey(), "{\"reason\": \"end of life\"}")
                .status()).isEqualTo(200);
        assertThat(soma.gateway.send("GET", "/v1/capsules?q=summarizes", other, null).json().get("data").size()).isZero();
        assertProblem(soma.gateway.send("POST", "/v1/capsules/summarizer/install", other, null), 410, "capsule-revoked", "Every version");
        assertThat(soma.gateway.send("DELETE", "/v1/installed-capsules/summarizer", consumer, null).status()).isEqualTo(204);
        assertThat(soma.gateway.send("DELETE", "/v1/installed-capsules/summarizer", consumer, null).status()).isEqualTo(404);
    }

    private static TenantId tenantOfInstall(String name) {
        return new TenantId(UUID.fromString(soma.strings("SELECT tenant_id::text FROM capsule_installs WHERE name = '%s'".formatted(name)).getFirst()));
    }

    @Test
    void aTenantCanRequireTheMarketplaceCountersignature() {
        TestMarketplace.Publisher initrode = soma.publisher("initrode-pub");
        assertThat(soma.publishZip(initrode.apiKey(), TestMarketplace.bundle("tps-reports", "1.0.0", "initrode", "Files TPS reports."),
                initrode.keys()).statusCode()).isEqualTo(201);
        String consumer = soma.gateway.tenantKey("chotchkies", "capsules:read", "capsules:write", "policy:read", "policy:write");
        assertThat(soma.gateway.send("POST", "/v1/policies", consumer, """
                {"name": "listed", "kind": "admission", "matchConditions": [],
                 "validations": [{"expression": "'marketplace' in signatures.roles && 'publisher' in signatures.roles",
                                  "message": "the publisher and this marketplace must both sign"}]}""").status()).isEqualTo(201);
        soma.trust(consumer, initrode.keys(), "publisher");
        assertProblem(soma.gateway.send("POST", "/v1/capsules/tps-reports/install", consumer, null), 403, "admission-denied", "must both sign");

        TestGateway.Response key = soma.gateway.send("GET", "/v1/marketplace/signing-key", consumer, null);
        assertThat(key.json().get("role").asString()).isEqualTo("marketplace");
        TestGateway.Response trusted = soma.gateway.send("POST", "/v1/policy/trusted-keys", consumer, io.somastack.kernel.Json.text(java.util.Map.of(
                "name", "marketplace", "role", "marketplace", "public_key_pem", key.json().get("public_key_pem").asString())));
        assertThat(trusted.status()).isEqualTo(201);
        TestGateway.Response installed = soma.gateway.send("POST", "/v1/capsules/tps-reports/install", consumer, null);
        assertThat(installed.status()).as(installed.raw().body()).isEqualTo(201);
        JsonNode signatures = soma.gateway.send("GET", "/v1/capsules/tps-reports", consumer, null).json().get("versions").get(0).get("signatures");
        assertThat(signatures.size()).isEqualTo(2);
        assertThat(signatures.get(1).get("key_id").asString()).isEqualTo(key.json().get("key_id").asString());
    }

    @Test
    void aRevokedPublisherKeyRefusesTheInstall() {
        TestMarketplace.Publisher umbrella = soma.publisher("umbrella-pub");
        assertThat(soma.publishZip(umbrella.apiKey(), TestMarketplace.bundle("vaccine-tracker", "1.0.0", "umbrella", "Tracks batches."),
                umbrella.keys()).statusCode()).isEqualTo(201);
        String consumer = soma.gateway.tenantKey("raccoon-city", "capsules:read", "capsules:write", "policy:read", "policy:write");
        soma.trust(consumer, umbrella.keys(), "publisher");
        assertThat(soma.gateway.send("DELETE", "/v1/policy/trusted-keys/" + umbrella.keys().keyId(), consumer, null).status()).isEqualTo(200);
        assertProblem(soma.gateway.send("POST", "/v1/capsules/vaccine-tracker/install", consumer, null), 400, "signature-refused", "revoked");
        assertThat(soma.count("SELECT count(*) FROM capsule_installs WHERE name = 'vaccine-tracker'")).isZero();
    }

    @Test
    void aDryRunJudgesAsAdmissionWouldAndRecordsNoDecision() {
        TestMarketplace.Publisher soylent = soma.publisher("soylent-pub");
        assertThat(soma.publishZip(soylent.apiKey(), TestMarketplace.bundle("meal-planner", "1.0.0", "soylent", "Plans meals."), soylent.keys())
                .statusCode()).isEqualTo(201);
        String consumer = soma.gateway.tenantKey("oceanic", "capsules:read", "capsules:write", "policy:read", "policy:write");
        assertThat(soma.gateway.send("POST", "/v1/policies", consumer, examplePolicy("trusted-signer")).status()).isEqualTo(201);
        io.somastack.gateway.Principal principal = soma.gateway.tenants().authenticate(consumer);
        PolicyTenant tenant = new PolicyTenant(principal.tenant().id(), principal.tenant().tier());
        Actor actor = new Actor(principal.actor(), "dry-run-test");
        String decisions = "SELECT count(*) FROM policy_decisions WHERE tenant_id = '%s'".formatted(tenant.id());
        long before = soma.count(decisions);

        Optional<Violation> denied = soma.marketplace.installs().wouldAdmit(tenant, "meal-planner", Optional.empty(), actor);
        assertThat(denied).map(Violation::policyName).contains("trusted-signer");
        soma.trust(consumer, soylent.keys(), "publisher");
        assertThat(soma.marketplace.installs().wouldAdmit(tenant, "meal-planner", Optional.of("1.0.0"), actor)).isEmpty();
        assertThat(soma.count(decisions)).as("a dry run records no decision").isEqualTo(before);
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'policy.decision' AND tenant_id = '%s'".formatted(tenant.id())))
                .isZero();
        assertThat(soma.count("SELECT count(*) FROM capsule_installs WHERE name = 'meal-planner'")).isZero();

        // The install it predicted is admitted, and that decision is the first on record.
        assertThat(soma.gateway.send("POST", "/v1/capsules/meal-planner/install", consumer, null).status()).isEqualTo(201);
        assertThat(soma.count(decisions)).isEqualTo(before + 1);
    }
}
