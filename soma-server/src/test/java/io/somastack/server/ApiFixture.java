package io.somastack.server;

import static io.somastack.server.TestServer.ADMIN_KEY;

import io.somastack.kernel.Json;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.Signatures;
import io.somastack.policy.TestCapsules;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * A tenant with one of everything, made through the API, so that every operation of the
 * document has something real to act on: a published, installed capsule (weather 1.0.0, the
 * documents' example), a policy named as in the examples, a memory and a recall, trusted
 * keys, a second key to revoke. It supplies the path parameters and the request bodies that
 * need live values (signed bundles, ids); everything else comes from the document's examples.
 */
final class ApiFixture {
    final String tenantId;
    /** A key of an enterprise tenant (no rate limit) with every scope. */
    final String key;
    final SigningKeys publisher = Signatures.generate();
    /** weather 1.0.0, packed once, so publishing it again is the same bundle. */
    final byte[] bundle = TestCapsules.bundle();
    private final Map<String, String> pathValues = new HashMap<>();
    private final Map<String, JsonNode> bodies = new HashMap<>();
    private final OpenApiDocument document;

    ApiFixture(ContractClient api, OpenApiDocument document) {
        this.document = document;
        JsonNode tenant = api.json(201, "POST", "/v1/admin/tenants", ADMIN_KEY, "{\"name\": \"walker\", \"tier\": \"enterprise\"}");
        tenantId = tenant.get("id").asString();
        key = api.json(201, "POST", "/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, "{\"name\": \"walker\"}").get("key").asString();
        String revocableKey = api.json(201, "POST", "/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, "{\"name\": \"to-revoke\"}")
                .get("id").asString();

        trust(api, "walker publisher", publisher);
        SigningKeys revocable = Signatures.generate();
        trust(api, "to revoke", revocable);
        JsonNode signedBundle = signed(bundle);
        api.expect(201, "POST", "/v1/capsules/publish", key, Json.text(signedBundle));
        api.expect(201, "POST", "/v1/capsules/weather/install", key, "{}");
        api.expect(201, "POST", "/v1/policies", key, Json.text(example("createPolicy")));

        JsonNode remembered = api.json(201, "POST", "/v1/memories", key, Json.text(example("remember")));
        JsonNode recalled = api.json(200, "POST", "/v1/memories/recall", key, Json.text(example("recall")));

        // No tool of this tenant ever runs in a test of the contract: it would reach out of the machine.
        pathValues.put("invokeTool.capsule", "not-installed");
        pathValues.put("revokeCapsule.version", "1.0.1");
        pathValues.put("createKey.id", tenantId);
        pathValues.put("listKeys.id", tenantId);
        pathValues.put("revokeKey.id", revocableKey);
        pathValues.put("revokeTrustedKey.keyId", revocable.keyId());
        pathValues.put("getMemory.id", remembered.get("memory_id").asString());
        pathValues.put("deleteMemory.id", remembered.get("memory_id").asString());
        pathValues.put("getRecall.id", recalled.get("recall_id").asString());
        // A conversation with one run, answered by the local model (agents.default-model), for the agents' routes.
        String conversation = api.json(201, "POST", "/v1/conversations", key, Json.text(example("createConversation"))).get("id").asString();
        String run = api.json(200, "POST", "/v1/conversations/" + conversation + "/runs", key, Json.text(example("startConversationRun")))
                .get("id").asString();
        pathValues.put("getConversation.id", conversation);
        pathValues.put("startConversationRun.id", conversation);
        pathValues.put("getRun.id", run);
        pathValues.put("getRunEvents.id", run);
        pathValues.put("getRunProvenance.id", run);
        // A job of the example team, answered and completed, for the workflows' routes (answering or cancelling it again is a 409).
        String job = api.json(201, "POST", "/v1/jobs", key, Json.text(example("startJob"))).get("id").asString();
        OpenApiContractTest.awaitApproval(api, key, job);
        api.expect(200, "POST", "/v1/jobs/" + job + "/approvals/ok", key, Json.text(example("answerJobApproval")));
        api.expect(200, "GET", "/v1/jobs/" + job + "/events", key, null);
        for (String operation : List.of("getJob", "answerJobApproval", "cancelJob", "getJobEvents", "getJobProvenance")) {
            pathValues.put(operation + ".id", job);
        }
        pathValues.put("answerJobApproval.node", "ok");
        bodies.put("admitBundle", signedBundle);
        bodies.put("verifyAuditAgainstCheckpoint", api.json(201, "POST", "/v1/admin/audit/checkpoints", ADMIN_KEY, null));
        bodies.put("publishCapsule", signed(TestCapsules.zip(TestCapsules.files(
                TestCapsules.manifest("weather", "1.0.1", "api.weather.example", "0.50"), TestCapsules.sbom("is-number.cdx.json")))));
    }

    /** {@code {bundle, signatures}} signed by the publisher key. */
    JsonNode signed(byte[] packed) {
        return Json.mapper().valueToTree(Map.of("bundle", Base64.getEncoder().encodeToString(packed),
                "signatures", List.of(Map.of("signature", Signatures.sign(publisher.privateKeyPem(), packed), "key_id", publisher.keyId()))));
    }

    /** The value of a path parameter: the fixture's, else the document's example. */
    private String pathValue(OpenApiDocument.Operation operation, JsonNode parameter) {
        String name = parameter.get("name").asString();
        return Optional.ofNullable(pathValues.get(operation.id() + "." + name)).orElseGet(() -> parameter.path("example").asString());
    }

    /** The path of {@code operation} with every parameter filled in. */
    String path(OpenApiDocument.Operation operation) {
        String path = operation.path();
        for (JsonNode parameter : operation.parameters(document)) {
            if (parameter.get("in").asString().equals("path")) {
                path = path.replace("{" + parameter.get("name").asString() + "}", pathValue(operation, parameter));
            }
        }
        return path;
    }

    /** A valid JSON body of {@code operation}: the fixture's, else the document's example. */
    Optional<JsonNode> body(OpenApiDocument.Operation operation) {
        return Optional.ofNullable(bodies.get(operation.id())).or(() -> operation.jsonBody().map(media -> media.get("example")));
    }

    /** The credential an operation wants: this tenant's key, the operator key, or none. */
    String token(OpenApiDocument.Operation operation) {
        List<String> schemes = operation.securitySchemes(document);
        if (schemes.contains("apiKey")) {
            return key;
        }
        return schemes.isEmpty() ? null : ADMIN_KEY;
    }

    private JsonNode example(String operationId) {
        return document.operations().stream().filter(operation -> operation.id().equals(operationId)).findFirst()
                .flatMap(OpenApiDocument.Operation::jsonBody).map(media -> media.get("example")).orElseThrow();
    }

    private void trust(ContractClient api, String name, SigningKeys keys) {
        api.expect(201, "POST", "/v1/policy/trusted-keys", key,
                Json.text(Map.of("name", name, "role", "publisher", "public_key_pem", keys.publicKeyPem())));
    }
}
