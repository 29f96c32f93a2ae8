package io.somastack.server;

import static io.somastack.server.TestServer.ADMIN_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.TestCapsules;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The OpenAPI document is the contract: every route of the real server is in it and nothing
 * else is, it names every problem type, it is a valid OpenAPI 3.1 document, and the real
 * server's answers to a tour of every operation match it (checked with the networknt JSON
 * Schema validator against the document's own schemas, see {@link OpenApiDocument}).
 */
class OpenApiContractTest {
    private static final OpenApiDocument DOCUMENT = new OpenApiDocument(OpenApiRoutes.document());
    /** Operations whose success the tour does not reach, each with its reason. */
    private static final Set<String> NOT_TOURED = Set.of(
            // A tool that runs needs a capsule with a WebAssembly module or a reachable HTTP endpoint: soma-tools' tests.
            "POST /v1/tools/{capsule}/{tool}/invoke",
            // An invoice needs a closed period in which its tenant existed, which needs a clock the test sets: soma-metering's InvoicesTest.
            "GET /v1/invoices/{id}", "GET /v1/invoices/{id}.pdf", "GET /v1/invoices/{id}.csv",
            "POST /v1/admin/invoices/{id}/finalize", "POST /v1/admin/invoices/{id}/void",
            // A run to cancel must still be running when the request comes: soma-agents' StreamingTest.
            "POST /v1/runs/{id}/cancel",
            // An export needs its receiver configured at start-up: soma-metering's UsageExportTest, against a local OpenMeter/Lago wire fixture.
            "POST /v1/admin/exports/{target}",
            // The console's HTML pages and forms need a browser session: ConsoleBrowserTest drives them in Chromium.
            "GET /console", "GET /console/sign-in", "POST /console/sign-in", "POST /console/sign-out", "GET /console/assets/{file}",
            "GET /console/overview", "GET /console/usage", "GET /console/usage.csv", "GET /console/tenants", "POST /console/tenants",
            "GET /console/tenants/{id}", "POST /console/tenants/{id}/keys", "POST /console/keys/{id}/revoke", "GET /console/health",
            "POST /console/audit/verify", "GET /console/policies", "POST /console/policies", "POST /console/policies/evaluate",
            "GET /console/memory", "GET /console/memory/{id}", "POST /console/memory/{id}/forget",
            "GET /console/audit", "GET /console/marketplace", "GET /console/marketplace/{name}", "POST /console/marketplace/{name}/install", "POST /console/marketplace/{name}/update",
            "GET /console/agents", "GET /console/runs/{id}", "GET /console/created-keys/{nonce}", "GET /console/agents/{name}",
            "POST /console/agents/{name}/runs", "GET /console/runs/{id}/events", "GET /console/invoices", "GET /console/invoices/{id}",
            "GET /console/invoices/{id}.pdf", "GET /console/signing-keys", "POST /console/signing-keys/rotate", "GET /console/traffic");
    private static TestServer soma;

    @BeforeAll
    static void start() {
        soma = TestServer.start("");
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    /**
     * {@code /mcp} is not in the document's paths: it speaks JSON-RPC as the MCP specification
     * defines it (errors of the protocol are JSON-RPC errors, not problems), so the document names
     * it in its description, the walker does not walk it, and soma-tools' McpServerTest drives it
     * with the official MCP clients. Here: it is served on the same server, and its edge answers
     * a missing credential as the problem every route answers.
     */
    @Test
    void mcpIsServedBesideTheDocumentedRoutesAndItsEdgeAnswersProblems() throws Exception {
        assertThat(DOCUMENT.root.get("info").get("description").asString()).contains("`/mcp`");
        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest
                .newBuilder(java.net.URI.create("http://127.0.0.1:" + soma.server.port() + "/mcp"))
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(response.body()).contains("missing-credentials");
    }

    @Test
    void everyRouteOfTheServerIsInTheDocumentAndNothingElse() {
        Set<String> routes = new TreeSet<>(soma.server.routes());
        Set<String> documented = DOCUMENT.operations().stream().map(OpenApiDocument.Operation::key).collect(Collectors.toCollection(TreeSet::new));

        Set<String> undocumented = new TreeSet<>(routes);
        undocumented.removeAll(documented);
        Set<String> missing = new TreeSet<>(documented);
        missing.removeAll(routes);
        assertThat(undocumented).as("routes the server answers that openapi.yaml lacks").isEmpty();
        assertThat(missing).as("operations of openapi.yaml that the server does not have").isEmpty();
    }

    @Test
    void theDocumentIsValidOpenApi31WithUniqueOperationIdsAndValidExamples() {
        assertThat(DOCUMENT.root.get("openapi").asString()).startsWith("3.1.");
        assertThat(DOCUMENT.structuralErrors()).as("errors against the OpenAPI 3.1 schema").isEmpty();
        List<String> ids = DOCUMENT.operations().stream().map(OpenApiDocument.Operation::id).toList();
        assertThat(ids).doesNotContain("").doesNotHaveDuplicates();
        List<String> problems = new ArrayList<>();
        for (var operation : DOCUMENT.operations()) {
            operation.jsonBody().ifPresent(media -> {
                if (!media.has("example")) {
                    problems.add(operation + ": the JSON request body has no example");
                } else {
                    DOCUMENT.requestErrors(operation, media.get("example")).forEach(error -> problems.add(operation + " example: " + error));
                }
            });
            if (operation.node().path("responses").propertyNames().stream().noneMatch(status -> status.startsWith("2"))) {
                problems.add(operation + ": no 2xx answer");
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void theDocumentNamesEveryProblemTypeUnderItsStatus() {
        Set<String> types = new TreeSet<>();
        DOCUMENT.root.at("/components/schemas/ProblemType/enum").forEach(type -> types.add(type.asString()));
        Set<String> codes = java.util.Arrays.stream(ErrorCode.values()).map(ErrorCode::type).collect(Collectors.toCollection(TreeSet::new));
        assertThat(types).as("ProblemType.enum against ErrorCode").isEqualTo(codes);

        String table = DOCUMENT.root.at("/components/schemas/ProblemType/description").asString();
        List<String> problems = new ArrayList<>();
        for (ErrorCode code : ErrorCode.values()) {
            String name = code.type().substring(code.type().lastIndexOf('/') + 1);
            if (!table.contains("| `%s` | %d | %s |".formatted(name, code.status(), code.title()))) {
                problems.add("%s: the ProblemType table lacks the row | `%s` | %d | %s |".formatted(code, name, code.status(), code.title()));
            }
            JsonNode response = problemResponse(code.status());
            if (response == null) {
                problems.add("%s: no response in components.responses for status %d".formatted(code, code.status()));
                continue;
            }
            JsonNode typeSchema = response.at("/content/application~1problem+json/schema/allOf/1/properties/type");
            boolean listed = typeSchema.has("const") ? typeSchema.get("const").asString().equals(code.type())
                    : typeSchema.path("enum").valueStream().anyMatch(type -> type.asString().equals(code.type()));
            if (!listed) {
                problems.add("%s: the %d response does not list %s".formatted(code, code.status(), code.type()));
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void theDocumentAndItsReferencePageAreServedWithoutCdn() {
        ContractClient api = new ContractClient(soma, DOCUMENT);
        JsonNode served = api.json(200, "GET", "/openapi.json", null, null);
        assertThat(served).isEqualTo(Json.mapper().readTree(Json.bytes(DOCUMENT.root)));

        TestServer.Response page = api.expect(200, "GET", "/docs", null, null);
        assertThat(page.header("Content-Type")).startsWith("text/html");
        assertThat(page.header("Content-Security-Policy")).contains("default-src 'self'");
        Matcher references = Pattern.compile("(?:href|src)=\"([^\"]+)\"").matcher(page.body());
        List<String> assets = new ArrayList<>();
        while (references.find()) {
            assets.add(references.group(1));
        }
        assertThat(assets).isNotEmpty().allMatch(reference -> reference.startsWith("/"), "is served by this server");
        for (String asset : assets) {
            TestServer.Response response = api.expect(200, "GET", asset, null, null);
            assertThat(response.body()).as(asset).isNotEmpty();
        }
        assertThat(api.expect(200, "GET", "/docs/swagger-initializer.js", null, null).body()).contains("url: \"/openapi.json\"");
        TestServer.assertProblem(api.call("GET", "/docs/pom.xml", null, null), 404, "not-found");
        assertThat(api.violations()).isEmpty();
    }

    @Test
    void everyOperationAnswersAsTheDocumentSays() {
        ContractClient api = new ContractClient(soma, DOCUMENT);
        ApiFixture fixture = new ApiFixture(api, DOCUMENT);
        String key = fixture.key;

        // Service and sessions.
        api.expect(200, "GET", "/healthz", null, null);
        api.expect(200, "GET", "/readyz", null, null);
        api.expect(200, "GET", "/metrics", ADMIN_KEY, null);
        api.expect(200, "GET", "/openapi.json", null, null);
        api.expect(200, "GET", "/docs", null, null);
        api.expect(200, "GET", "/docs/favicon-16x16.png", null, null);
        api.expect(200, "GET", "/.well-known/jwks.json", null, null);
        String session = api.json(201, "POST", "/v1/sessions", key, null).get("token").asString();

        // Models, metered.
        api.expect(200, "GET", "/v1/models", session, null);
        api.expect(200, "POST", "/v1/chat/completions", key, example("createChatCompletion"));
        TestServer.Response stream = api.expect(200, "POST", "/v1/chat/completions", key,
                "{\"model\": \"local\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 2, \"stream\": true}");
        assertThat(stream.body()).endsWith("data: [DONE]\n\n");
        api.expect(200, "POST", "/v1/embeddings", key, example("createEmbeddings"));
        api.expect(200, "POST", "/v1/embeddings", key, "{\"model\": \"all-minilm-l6-v2-q\", \"input\": [\"a\", \"b\"], \"encoding_format\": \"base64\"}");
        api.expect(200, "GET", "/v1/usage", key, null);
        api.expect(200, "GET", "/v1/usage?group_by=day&from=2026-01-01&to=2099-01-01T00:00:00Z", key, null);
        api.expect(200, "GET", "/v1/usage?group_by=key", key, null);
        api.expect(200, "GET", "/v1/invoices/upcoming", key, null);
        api.expect(200, "GET", "/v1/invoices", key, null);

        // Memory.
        String memoryId = api.json(201, "POST", "/v1/memories", key, """
                {"memories": [{"text": "Lisbon has trams.", "scope": {"kind": "tenant"}, "provenance": {"kind": "document"}},
                              {"text": "The support bot answers in Portuguese.", "scope": {"kind": "agent", "id": "support-bot"}, "provenance": {"kind": "agent"}}]}""")
                .get("data").get(0).get("memory_id").asString();
        String recallId = api.json(200, "POST", "/v1/memories/recall", key, example("recall")).get("recall_id").asString();
        api.expect(200, "GET", "/v1/recalls/" + recallId, key, null);
        api.expect(200, "GET", "/v1/memories/" + memoryId, key, null);
        api.expect(200, "POST", "/v1/memories/forget", key, example("forget"));
        api.expect(200, "DELETE", "/v1/memories/" + memoryId + "?reason=tour", key, null);

        // Policy.
        api.expect(200, "GET", "/v1/policies", key, null);
        api.expect(200, "GET", "/v1/policies/trusted-signer", key, null);
        api.expect(200, "PUT", "/v1/policies/trusted-signer", key, example("updatePolicy"));
        api.expect(200, "GET", "/v1/policies/trusted-signer?version=1", key, null);
        api.expect(200, "POST", "/v1/policies/evaluate", key, example("evaluatePolicy"));
        api.expect(201, "POST", "/v1/policy/trusted-keys", key, example("trustKey"));
        api.expect(200, "GET", "/v1/policy/trusted-keys", key, null);
        api.expect(200, "POST", "/v1/policy/admissions", key, Json.text(fixture.signed(fixture.bundle)));
        api.expect(200, "GET", "/v1/decisions?limit=10&outcome=admitted", key, null);
        api.expect(200, "DELETE", fixture.path(operation("revokeTrustedKey")), key, null);

        // Marketplace.
        api.expect(200, "GET", "/v1/capsules?q=weather", key, null);
        api.expect(200, "GET", "/v1/capsules?sort=name&free=false&limit=5", key, null);
        api.expect(200, "GET", "/v1/capsules/weather", key, null);
        api.expect(200, "GET", "/v1/capsules/weather/versions/1.0.0/bundle", key, null);
        api.expect(200, "GET", "/v1/marketplace/signing-key", key, null);
        api.expect(200, "POST", "/v1/capsules/publish", key, Json.text(fixture.signed(fixture.bundle)));
        byte[] zip = TestCapsules.zip(TestCapsules.files(TestCapsules.manifest("weather", "1.1.0", "api.weather.example", "0.50"),
                TestCapsules.sbom("is-number.cdx.json")));
        TestServer.Response uploaded = soma.http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(soma.base + "/v1/capsules/publish"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/zip")
                .header("Capsule-Signature", Signatures.sign(fixture.publisher.privateKeyPem(), zip) + "; key-id=" + fixture.publisher.keyId())
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(zip)).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                .thenApply(response -> new TestServer.Response(response.statusCode(), response.headers().map(), response.body())).join();
        assertThat(uploaded.status()).as(uploaded.body()).isEqualTo(201);
        assertThat(DOCUMENT.responseErrors(operation("publishCapsule"), uploaded.status(), uploaded.header("Content-Type"), uploaded.body())).isEmpty();
        api.expect(201, "POST", "/v1/capsules/publish", key, Json.text(fixture.body(operation("publishCapsule")).orElseThrow()));
        api.expect(200, "GET", "/v1/installed-capsules", key, null);
        api.expect(200, "GET", "/v1/installed-capsules/weather", key, null);
        api.expect(200, "POST", "/v1/capsules/weather/update", key, null);
        api.expect(200, "POST", "/v1/capsules/weather/install", key, "{\"version\": \"1.1.0\"}");

        // Agents: the weather capsule answers with the local model (agents.default-model), its forecast tool offered.
        String conversation = api.json(201, "POST", "/v1/conversations", key, example("createConversation")).get("id").asString();
        String run = api.json(200, "POST", "/v1/conversations/" + conversation + "/runs", key, example("startConversationRun")).get("id").asString();
        api.expect(200, "GET", "/v1/conversations/" + conversation, key, null);
        api.expect(200, "POST", "/v1/agents/weather/runs", key, example("runAgent"));
        api.expect(200, "POST", "/v1/responses", key, example("createResponse"));
        api.expect(200, "GET", "/v1/responses/resp_" + run, key, null);
        api.expect(200, "GET", "/v1/runs/" + run, key, null);
        api.expect(200, "GET", "/v1/runs/" + run + "/events", key, null);
        // The run's answer and the read of its events are each egress of the tenant, linked to the run.
        List<String> egress = org.jdbi.v3.core.Jdbi.create(soma.databaseUrl, "postgres", "").withHandle(handle -> handle.createQuery(
                "SELECT idempotency_key FROM usage_ledger WHERE meter = 'egress' AND idempotency_key LIKE :run AND quantity > 0")
                .bind("run", "egress:run:" + run + "%").mapTo(String.class).list());
        assertThat(egress).hasSize(2).contains("egress:run:" + run).anyMatch(link -> link.startsWith("egress:run:" + run + ":read:"));
        api.expect(200, "GET", "/v1/runs/" + run + "/provenance", key, null);
        api.expect(200, "GET", "/v1/provenance/jwks.json", null, null);
        // Workflows: the example team (plan, approval, book) on the weather capsule; a second job is cancelled.
        String job = api.json(201, "POST", "/v1/jobs", key, example("startJob")).get("id").asString();
        awaitApproval(api, key, job);
        api.expect(200, "POST", "/v1/jobs/" + job + "/approvals/ok", key, example("answerJobApproval"));
        api.expect(200, "GET", "/v1/jobs/" + job + "/events", key, null);
        api.expect(200, "GET", "/v1/jobs/" + job, key, null);
        api.expect(200, "GET", "/v1/jobs/" + job + "/provenance", key, null);
        String cancelled = api.json(201, "POST", "/v1/jobs", key, example("startJob")).get("id").asString();
        api.expect(202, "POST", "/v1/jobs/" + cancelled + "/cancel", key, null);
        api.expect(200, "POST", "/v1/capsules/weather/versions/1.0.1/revoke", key, example("revokeCapsule"));
        api.expect(204, "DELETE", "/v1/installed-capsules/weather", key, null);
        api.expect(204, "DELETE", "/v1/policies/trusted-signer", key, null);

        // Operator.
        api.expect(200, "GET", "/v1/admin/tenants", ADMIN_KEY, null);
        String tenantId = api.json(201, "POST", "/v1/admin/tenants", ADMIN_KEY, example("createTenant")).get("id").asString();
        String keyId = api.json(201, "POST", "/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, example("createKey")).get("id").asString();
        api.expect(201, "POST", "/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, null);
        api.expect(200, "GET", "/v1/admin/tenants/" + tenantId + "/keys", ADMIN_KEY, null);
        api.expect(200, "PUT", "/v1/admin/tenants/" + tenantId + "/agent-settings", ADMIN_KEY, example("setAgentSettings"));
        api.expect(200, "GET", "/v1/admin/tenants/" + tenantId + "/agent-settings", ADMIN_KEY, null);
        api.expect(200, "DELETE", "/v1/admin/keys/" + keyId, ADMIN_KEY, null);
        api.expect(200, "GET", "/v1/admin/audit/verify", ADMIN_KEY, null);
        JsonNode checkpoint = api.json(201, "POST", "/v1/admin/audit/checkpoints", ADMIN_KEY, null);
        api.expect(200, "GET", "/v1/admin/audit/checkpoints/latest", ADMIN_KEY, null);
        api.expect(200, "POST", "/v1/admin/audit/verify", ADMIN_KEY, Json.text(checkpoint));
        api.expect(200, "POST", "/v1/admin/signing-keys/rotate", ADMIN_KEY, null);
        api.expect(201, "POST", "/v1/admin/prices", ADMIN_KEY, example("createPrice"));
        api.expect(200, "GET", "/v1/admin/prices", ADMIN_KEY, null);
        api.expect(200, "POST", "/v1/admin/invoices/runs", ADMIN_KEY, example("closeInvoicePeriod"));
        api.expect(200, "GET", "/v1/admin/invoices?period=2026-01", ADMIN_KEY, null);
        api.expect(200, "GET", "/v1/admin/reconciliation?period=2026-01", ADMIN_KEY, null);
        api.expect(201, "POST", "/v1/admin/credits", ADMIN_KEY, "{\"tenant_id\": \"%s\", \"amount\": \"25.00\", \"reason\": \"tour\"}"
                .formatted(tenantId));
        api.expect(200, "GET", "/v1/admin/credits?tenant_id=" + tenantId, ADMIN_KEY, null);
        api.expect(200, "GET", "/v1/admin/publishers/acme/statements/2026-01", ADMIN_KEY, null);
        TestServer.assertProblem(api.call("POST", "/v1/admin/exports/openmeter", ADMIN_KEY, "{\"period\": \"2026-01\"}"), 409, "conflict");

        // Tools: a call that would run needs a capsule with a runnable tool, which soma-tools' own tests build.
        TestServer.assertProblem(api.call("POST", "/v1/tools/not-installed/forecast/invoke", key, "{\"arguments\": {}}"), 404, "not-found");
        // Tool secrets and settings (soma-tools' ToolSecretsTest sends them to real tool hosts).
        api.expect(201, "PUT", "/v1/tool-secrets/weather-token", key, example("putToolSecret"));
        api.expect(200, "PUT", "/v1/tool-secrets/weather-token", key, example("putToolSecret"));
        api.expect(200, "GET", "/v1/tool-secrets", key, null);
        api.expect(200, "PUT", "/v1/tools/weather/forecast/settings", key, example("putToolSettings"));
        api.expect(200, "GET", "/v1/tools/weather/forecast/settings", key, null);
        api.expect(204, "DELETE", "/v1/tool-secrets/weather-token", key, null);
        TestServer.assertProblem(api.call("PUT", "/v1/tools/weather/forecast/settings", key, example("putToolSettings")), 409, "tool-secret-missing");

        // Refusals are documented problems too.
        api.call("GET", "/v1/models", null, null);
        api.call("GET", "/v1/models", "sk-soma-not-a-key", null);
        api.call("GET", "/v1/admin/tenants", key, null);
        api.call("GET", "/v1/memories/" + java.util.UUID.randomUUID(), key, null);
        api.call("POST", "/v1/policies", key, "{\"name\": \"bad\", \"kind\": \"admission\", \"validations\": [{\"expression\": \"1 +\", \"message\": \"m\"}]}");

        assertThat(api.violations()).as("answers that do not match openapi.yaml").isEmpty();
        Set<String> notCovered = DOCUMENT.operations().stream().map(OpenApiDocument.Operation::key)
                .filter(operation -> !api.covered().contains(operation) && !NOT_TOURED.contains(operation))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(notCovered).as("operations the tour never saw succeed").isEmpty();
    }

    private static String example(String operationId) {
        return Json.text(operation(operationId).jsonBody().orElseThrow().get("example"));
    }

    private static OpenApiDocument.Operation operation(String operationId) {
        return DOCUMENT.operations().stream().filter(operation -> operation.id().equals(operationId)).findFirst().orElseThrow();
    }

    private static JsonNode problemResponse(int status) {
        for (Map.Entry<String, JsonNode> response : DOCUMENT.root.path("components").path("responses").properties()) {
            JsonNode statusSchema = response.getValue().at("/content/application~1problem+json/schema/allOf/1/properties/status/const");
            if (statusSchema.isNumber() && statusSchema.asInt() == status) {
                return response.getValue();
            }
        }
        return null;
    }
    /** Waits until the example job's approval node {@code ok} (its first) waits for an answer. */
    static void awaitApproval(ContractClient api, String key, String job) {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode view = api.json(200, "GET", "/v1/jobs/" + job, key, null);
            if (view.get("nodes").get(0).get("status").asString().equals("waiting")) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("job " + job + " never waited for its approval");
    }
}
