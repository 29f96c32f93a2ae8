package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class PolicyEngineTest {
    private static final List<String> ADMISSION_EXAMPLES = List.of("trusted-signer", "no-gpl-for-standard-tier", "egress-allowlist",
            "max-budget-per-run");
    private static TestConstitution soma;

    @BeforeAll
    static void start() {
        soma = new TestConstitution();
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static PolicyEngine engine() {
        return soma.constitution.engine();
    }

    private static byte[] capsule(String egress, String budget, String sbom) {
        return TestCapsules.zip(TestCapsules.files(TestCapsules.manifest("weather", "1.0.0", egress, budget), TestCapsules.sbom(sbom)));
    }

    @Test
    void admitsASignedCleanCapsuleUnderEveryExamplePolicy() {
        PolicyTenant tenant = TestConstitution.tenant("standard");
        SigningKeys publisher = soma.trustPublisher(tenant);
        soma.install(tenant, ADMISSION_EXAMPLES.toArray(String[]::new));
        Admission admission = engine().admit(tenant, TestConstitution.signed(TestCapsules.bundle(), publisher), TestConstitution.actor());
        assertThat(admission).isInstanceOf(Admission.Admitted.class);
        assertThat(((Admission.Admitted) admission).evaluated()).containsExactlyInAnyOrder("egress-allowlist@1", "max-budget-per-run@1",
                "no-gpl-for-standard-tier@1", "trusted-signer@1");
    }

    @Test
    void deniesByTheMatrixOfExamplePolicies() {
        PolicyTenant standard = TestConstitution.tenant("standard");
        PolicyTenant enterprise = new PolicyTenant(new io.somastack.kernel.TenantId(java.util.UUID.randomUUID()), "enterprise");
        SigningKeys standardKey = soma.trustPublisher(standard);
        SigningKeys enterpriseKey = soma.trustPublisher(enterprise);
        soma.install(standard, ADMISSION_EXAMPLES.toArray(String[]::new));
        soma.install(enterprise, ADMISSION_EXAMPLES.toArray(String[]::new));

        record Case(PolicyTenant tenant, SignedBundle bundle, String deniedBy) {
        }
        byte[] gpl = capsule("api.weather.example", "0.50", "with-gpl.cdx.json");
        List<Case> cases = List.of(
                new Case(standard, new SignedBundle(TestCapsules.bundle(), List.of()), "trusted-signer"),
                new Case(standard, TestConstitution.signed(gpl, standardKey), "no-gpl-for-standard-tier"),
                new Case(enterprise, TestConstitution.signed(gpl, enterpriseKey), null),
                new Case(standard, TestConstitution.signed(capsule("api.weather.example, evil.example", "0.50", "is-number.cdx.json"), standardKey),
                        "egress-allowlist"),
                new Case(standard, TestConstitution.signed(capsule("eu.acme.example", "0.50", "is-number.cdx.json"), standardKey), null),
                new Case(standard, TestConstitution.signed(capsule("api.weather.example", "5.00", "is-number.cdx.json"), standardKey),
                        "max-budget-per-run"));
        for (Case test : cases) {
            Admission admission = engine().admit(test.tenant(), test.bundle(), TestConstitution.actor());
            if (test.deniedBy() == null) {
                assertThat(admission).as(test.toString()).isInstanceOf(Admission.Admitted.class);
                continue;
            }
            assertThat(admission).as(test.deniedBy()).isInstanceOf(Admission.Denied.class);
            Violation violation = ((Admission.Denied) admission).violation();
            assertThat(violation.policyName()).isEqualTo(test.deniedBy());
            assertThat(violation.policyVersion()).isEqualTo(1);
            assertThat(violation.message()).isEqualTo(ExamplePolicies.load(test.deniedBy()).validations().getFirst().message());
        }
    }

    @Test
    void refusesBadSignaturesAndAlteredBundlesRecordingNothing() {
        PolicyTenant tenant = TestConstitution.tenant("standard");
        SigningKeys trusted = soma.trustPublisher(tenant);
        SigningKeys stranger = Signatures.generate();
        soma.install(tenant, "trusted-signer");
        byte[] bundle = TestCapsules.bundle();
        byte[] other = capsule("api.maps.example", "0.20", "is-number.cdx.json");
        byte[] altered = bundle.clone();
        altered[40] ^= 1;
        long decisions = soma.count("SELECT count(*) FROM policy_decisions");

        assertRefused(tenant, TestConstitution.signed(bundle, stranger), "does not verify with any key this tenant trusts");
        assertRefused(tenant, new SignedBundle(bundle, List.of(new SignedBundle.BundleSignature(Signatures.sign(stranger.privateKeyPem(), bundle),
                Optional.of(stranger.keyId())))), "(unknown key)");
        assertRefused(tenant, new SignedBundle(bundle, List.of(new SignedBundle.BundleSignature(Signatures.sign(trusted.privateKeyPem(), other),
                Optional.of(trusted.keyId())))), "does not match this bundle");
        assertRefused(tenant, new SignedBundle(altered, TestConstitution.signed(bundle, trusted).signatures()), "Capsule bundle refused");
        soma.constitution.trustedKeys().revoke(tenant.id(), trusted.keyId(), TestConstitution.actor());
        assertRefused(tenant, TestConstitution.signed(bundle, trusted), "which was revoked");
        assertThat(soma.count("SELECT count(*) FROM policy_decisions")).isEqualTo(decisions);
        assertThatThrownBy(() -> soma.constitution.trustedKeys().add(tenant.id(), "again", "publisher", trusted.publicKeyPem(), TestConstitution.actor()))
                .hasMessageContaining("revoked for this tenant and cannot be trusted again");
    }

    private static void assertRefused(PolicyTenant tenant, SignedBundle bundle, String reason) {
        assertThatThrownBy(() -> engine().admit(tenant, bundle, TestConstitution.actor())).isInstanceOf(SomaException.class)
                .hasMessageContaining(reason).extracting(e -> ((SomaException) e).code().status()).isEqualTo(400);
    }

    @Test
    void recordsEveryDecisionInTheAuditLogAndOutboxAsAnswered() {
        PolicyTenant tenant = TestConstitution.tenant("standard");
        SigningKeys publisher = soma.trustPublisher(tenant);
        soma.install(tenant, "trusted-signer", "max-budget-per-run");
        Admission admitted = engine().admit(tenant, TestConstitution.signed(TestCapsules.bundle(), publisher), TestConstitution.actor());
        Admission denied = engine().admit(tenant, TestConstitution.signed(capsule("api.weather.example", "9", "is-number.cdx.json"), publisher),
                new Actor("key:tester", "req-denied"));

        for (Admission admission : List.of(admitted, denied)) {
            String id = admission.decisionId().toString();
            JsonNode audit = Json.tree(soma.strings("SELECT detail FROM audit_log WHERE action = 'policy.decision' AND detail LIKE '%" + id + "%'")
                    .getFirst().getBytes());
            JsonNode event = Json.tree(soma.strings("SELECT data::text FROM outbox WHERE type = 'io.somastack.policy.decision' AND subject = '" + id + "'")
                    .getFirst().getBytes());
            String outcome = admission instanceof Admission.Admitted ? "admitted" : "denied";
            assertThat(audit.get("outcome").asString()).isEqualTo(outcome);
            assertThat(event.get("outcome").asString()).isEqualTo(outcome);
            assertThat(audit.get("capsule_digest").asString()).isEqualTo(admission.bundle().digest());
            assertThat(audit.get("input_digest").asString()).startsWith("sha256:").isEqualTo(event.get("input_digest").asString());
        }
        Violation violation = ((Admission.Denied) denied).violation();
        DecisionRecord record = soma.constitution.decisions().find(tenant.id(),
                new DecisionQuery(Optional.of("weather"), Optional.of("denied"), Optional.empty(), Optional.empty(), 10)).getFirst();
        assertThat(record.id()).isEqualTo(denied.decisionId());
        assertThat(record.violation()).contains(violation);
        assertThat(record.actor()).isEqualTo("key:tester");
        assertThat(record.requestId()).isEqualTo("req-denied");
        assertThat(soma.constitution.decisions().find(tenant.id(), DecisionQuery.all())).hasSize(2);
        assertThat(soma.constitution.decisions().find(tenant.id(), new DecisionQuery(Optional.empty(), Optional.empty(),
                Optional.of(record.decidedAt().plusSeconds(60)), Optional.empty(), 10))).isEmpty();
        assertThat(soma.constitution.decisions().find(TestConstitution.tenant("standard").id(), DecisionQuery.all())).isEmpty();
        assertThat(soma.auditLog.verify(soma.database.jdbi()).intact()).isTrue();
    }

    @Test
    void authorizesRuntimeCallsByRuntimePolicies() {
        PolicyTenant tenant = TestConstitution.tenant("standard");
        soma.install(tenant, "runtime-tool-egress");
        Map<String, Object> capsule = Map.of("name", "weather", "version", "1.0.0", "permissions", Map.of("egress", List.of("api.weather.example")));
        RuntimeInput allowed = new RuntimeInput(Map.of("kind", "tool_call"), Map.of("key_id", "k1"), capsule,
                Map.of("name", "forecast", "host", "api.weather.example"), Map.of("id", "gpt-4o-mini"));
        assertThat(engine().authorize(tenant, allowed, TestConstitution.actor())).isInstanceOf(Decision.Allowed.class);
        RuntimeInput otherHost = new RuntimeInput(Map.of("kind", "tool_call"), Map.of(), capsule, Map.of("host", "evil.example"), Map.of());
        assertThat(engine().authorize(tenant, otherHost, TestConstitution.actor())).isInstanceOfSatisfying(Decision.Denied.class,
                denied -> assertThat(denied.violation().message()).isEqualTo("the tool call reaches a host the capsule did not declare"));
        RuntimeInput experimental = new RuntimeInput(Map.of("kind", "tool_call"), Map.of(), capsule, Map.of("host", "api.weather.example"),
                Map.of("id", "experimental-9"));
        assertThat(engine().authorize(tenant, experimental, TestConstitution.actor())).isInstanceOf(Decision.Denied.class);
        RuntimeInput turn = new RuntimeInput(Map.of("kind", "turn"), Map.of(), capsule, Map.of(), Map.of());
        assertThat(engine().authorize(tenant, turn, TestConstitution.actor())).isInstanceOfSatisfying(Decision.Allowed.class,
                allowedTurn -> assertThat(allowedTurn.evaluated()).isEmpty());

        constitution().policies().create(tenant.id(), new PolicyDefinition("needs-region", PolicyKind.RUNTIME, List.of(),
                List.of(new PolicyDefinition.Validation("caller.region == 'eu'", "callers must be in the EU"))), TestConstitution.actor());
        assertThat(engine().authorize(tenant, turn, TestConstitution.actor())).isInstanceOfSatisfying(Decision.Denied.class,
                denied -> assertThat(denied.violation().message()).contains("failed to evaluate").contains("callers must be in the EU"));
        assertThat(soma.constitution.decisions().find(tenant.id(), new DecisionQuery(Optional.of("weather"), Optional.of("allowed"),
                Optional.empty(), Optional.empty(), 10))).hasSize(2);
    }

    @Test
    void compilesPoliciesWhenSavedAndVersionsThem() {
        PolicyTenant tenant = TestConstitution.tenant("standard");
        Policies policies = constitution().policies();
        PolicyDefinition first = new PolicyDefinition("budget", PolicyKind.ADMISSION, List.of(),
                List.of(new PolicyDefinition.Validation("double(capsule.permissions.max_budget_per_run_usd) <= 2.0", "too expensive")));
        assertThat(policies.create(tenant.id(), first, TestConstitution.actor()).version()).isEqualTo(1);
        assertThatThrownBy(() -> policies.create(tenant.id(), first, TestConstitution.actor())).hasMessageContaining("exists (version 1)");
        PolicyDefinition second = new PolicyDefinition("budget", PolicyKind.ADMISSION, List.of(),
                List.of(new PolicyDefinition.Validation("double(capsule.permissions.max_budget_per_run_usd) <= 1.0", "too expensive")));
        assertThat(policies.update(tenant.id(), second, TestConstitution.actor()).version()).isEqualTo(2);

        assertThatThrownBy(() -> policies.update(tenant.id(), withExpression("capsule.name ==", PolicyKind.ADMISSION), TestConstitution.actor()))
                .hasMessageContaining("does not compile").hasMessageContaining("validations[0]");
        assertThatThrownBy(() -> policies.update(tenant.id(), withExpression("capsule.name + 'x'", PolicyKind.ADMISSION), TestConstitution.actor()))
                .hasMessageContaining("does not compile");
        assertThatThrownBy(() -> policies.update(tenant.id(), withExpression("size(request) > 0", PolicyKind.ADMISSION), TestConstitution.actor()))
                .hasMessageContaining("undeclared reference to 'request'");
        assertThatThrownBy(() -> policies.update(tenant.id(), withExpression("1 + 1", PolicyKind.ADMISSION), TestConstitution.actor()))
                .hasMessageContaining("does not compile");
        assertThat(policies.get(tenant.id(), "budget").orElseThrow().version()).isEqualTo(2);

        policies.delete(tenant.id(), "budget", TestConstitution.actor());
        assertThat(policies.list(tenant.id())).isEmpty();
        assertThat(policies.create(tenant.id(), first, TestConstitution.actor()).version()).isEqualTo(3);
        assertThat(policies.get(tenant.id(), "budget", 2).orElseThrow().definition()).isEqualTo(second);
        assertThat(soma.count("SELECT count(*) FROM outbox WHERE type = 'io.somastack.policy.changed' AND tenant_id = '" + tenant.id() + "'"))
                .isEqualTo(4);
    }

    private static PolicyDefinition withExpression(String expression, PolicyKind kind) {
        return new PolicyDefinition("budget", kind, List.of(), List.of(new PolicyDefinition.Validation(expression, "message")));
    }

    private static Constitution constitution() {
        return soma.constitution;
    }
}
