package io.somastack.server;

import static io.somastack.server.TestServer.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Policies through the whole server: compiled when saved, per tenant, behind their scopes. */
class PolicyEndToEndTest {
    private static final String SIGNED = """
            {"name": "signed", "kind": "admission", "matchConditions": [],
             "validations": [{"expression": "signatures.count > 0", "message": "a trusted signature is required"}]}""";

    @Test
    void aPolicyIsCompiledWhenSavedAndSeenOnlyByItsTenant() {
        try (TestServer soma = TestServer.start("")) {
            String key = soma.key(soma.tenant("policy-co", ""), "{}");
            String otherKey = soma.key(soma.tenant("policy-other", ""), "{}");

            TestServer.Response created = soma.post("/v1/policies", key, SIGNED);

            assertThat(created.status()).as(created.body()).isEqualTo(201);
            assertProblem(soma.post("/v1/policies", key, SIGNED.replace("signatures.count > 0", "capsule.name ==")), 400, "policy-invalid");
            assertThat(soma.get("/v1/policies", key).json().get("data").size()).isEqualTo(1);
            assertThat(soma.get("/v1/policies", otherKey).json().get("data").size()).isZero();
            String readOnly = soma.key(soma.tenant("policy-reader", ""), "{\"scopes\":[\"policy:read\"]}");
            assertProblem(soma.post("/v1/policies", readOnly, SIGNED), 403, "insufficient-scope");
        }
    }
}
