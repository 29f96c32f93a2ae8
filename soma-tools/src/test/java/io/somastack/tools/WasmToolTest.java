package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.metering.PriceBook;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * WebAssembly tools end to end: a capsule with real modules (src/test/wat) packed, signed,
 * published and installed through the marketplace, each tool invoked over HTTP. The sandbox
 * suite: a loop, a memory bomb, an output flood and a missing import, each contained at its
 * limit with the server answering.
 */
class WasmToolTest {
    private static final String OBJECT = "{type: object}";
    private static final String TRANSFORM_SCHEMA = "{type: object, properties: {text: {type: string}, count: {type: integer, minimum: 1}},"
            + " required: [text], additionalProperties: false}";
    private static TestTools soma;
    private static TestTools.Tenant acme;

    @BeforeAll
    static void start() {
        ToolsConfig config = ToolsConfig.defaults().withWasmLimits(Duration.ofSeconds(1), 64L << 20, 1L << 20)
                .withPrices(List.of(new PriceBook.ToolPrice("wasm-tools/transform", Money.of("0.002"), Instant.EPOCH)));
        soma = new TestTools(config);
        acme = soma.tenant("acme");
        byte[] bundle = TestTools.bundle("wasm-tools", "1.0.0", List.of(), List.of(
                TestTools.Tool.wasm("transform", "transform", TRANSFORM_SCHEMA),
                TestTools.Tool.wasm("loop", "loop", OBJECT),
                TestTools.Tool.wasm("membomb", "membomb", OBJECT),
                TestTools.Tool.wasm("missing", "missing-import", OBJECT),
                TestTools.Tool.wasm("flood", "flood", OBJECT),
                TestTools.Tool.wasm("trap", "trap", OBJECT)),
                Map.of("transform", TestTools.wasm("transform"), "loop", TestTools.wasm("loop"), "membomb", TestTools.wasm("membomb"),
                        "missing-import", TestTools.wasm("missing-import"), "flood", TestTools.wasm("flood"), "trap", TestTools.wasm("trap")));
        soma.publishAndInstall(acme, "wasm-tools", bundle);
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static void assertFailed(TestGateway.Response response, String reason, String detail) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(502);
        assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/tool-failed");
        assertThat(response.json().get("reason").asString()).isEqualTo(reason);
        assertThat(response.json().get("detail").asString()).contains(detail);
        assertThat(response.json().get("ledger_id").asString()).isNotBlank();
    }

    @Test
    void aJsonTransformerRunsAndEveryCallIsMeteredAuditedAndPublished() {
        long compilations = soma.tools.wasmCompilations();
        TestGateway.Response first = soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"héllo\", \"count\": 2}");
        assertThat(first.status()).as(first.raw().body()).isEqualTo(200);
        JsonNode answer = first.json();
        assertThat(answer.get("status").asString()).isEqualTo("completed");
        assertThat(answer.get("result").get("input").get("text").asString()).isEqualTo("héllo");
        assertThat(answer.get("result").get("length").asInt()).isEqualTo(Json.bytes(Map.of("text", "héllo", "count", 2)).length);
        assertThat(answer.get("log").asString()).isEqualTo("transform: done\n");
        assertThat(answer.get("cost").asString()).isEqualTo("0.002");
        assertThat(answer.get("arguments_sha256").asString()).startsWith("sha256:");
        String ledgerId = answer.get("ledger_id").asString();

        // A second call reuses the compiled module.
        assertThat(soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"again\"}").status()).isEqualTo(200);
        assertThat(soma.tools.wasmCompilations()).isLessThanOrEqualTo(compilations + 1);
        assertThat(soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"third\"}").status()).isEqualTo(200);
        long afterThree = soma.tools.wasmCompilations();
        assertThat(soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"fourth\"}").status()).isEqualTo(200);
        assertThat(soma.tools.wasmCompilations()).isEqualTo(afterThree);

        // One ledger row (meter tool_call, quantity 1), one audit entry and one tool.called event, in one transaction.
        assertThat(soma.strings("SELECT meter || ' ' || quantity::int || ' ' || unit || ' ' || model || ' ' || upstream_model || ' ' || cost::text"
                + " FROM usage_ledger WHERE id = '" + ledgerId + "'")).containsExactly("tool_call 1 call tool:wasm-tools/transform wasm 0.002000000000000");
        assertThat(soma.strings("SELECT detail::text FROM audit_log WHERE action = 'tool.call' AND (detail::jsonb)->>'ledger_id' = '" + ledgerId + "'"))
                .singleElement().satisfies(detail -> assertThat(detail).contains("\"outcome\":\"completed\"").contains("duration_ms"));
        assertThat(soma.count("SELECT count(*) FROM outbox WHERE type = 'io.somastack.tool.called' AND (data::jsonb)->>'ledger_id' = '" + ledgerId + "'"))
                .isEqualTo(1);
        // /v1/usage sums equal the ledger.
        JsonNode usage = soma.gateway.send("GET", "/v1/usage?group_by=model", acme.apiKey(), null).json();
        assertThat(usage.toString()).contains("tool:wasm-tools/transform");
    }

    @Test
    void argumentsThatDoNotMatchTheSchemaAreA400ListingEveryErrorWithItsPointer() {
        TestGateway.Response response = soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"count\": 0, \"colour\": \"red\"}");
        assertThat(response.status()).as(response.raw().body()).isEqualTo(400);
        assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/tool-arguments-invalid");
        List<String> pointers = new ArrayList<>();
        response.json().get("errors").forEach(error -> pointers.add(error.get("pointer").asString()));
        assertThat(pointers).contains("/text", "/count", "/colour");
        assertThat(response.json().get("errors").size()).isEqualTo(3);
    }

    @Test
    void unknownToolsAndCapsulesAre404() {
        TestGateway.Response tool = soma.invoke(acme.apiKey(), "wasm-tools", "nope", "{}");
        assertThat(tool.status()).as(tool.raw().body()).isEqualTo(404);
        assertThat(tool.json().get("detail").asString()).contains("has no tool 'nope'").contains("transform");
        assertThat(soma.invoke(acme.apiKey(), "no-such-capsule", "x", "{}").status()).isEqualTo(404);
        String other = soma.gateway.tenantKey("no-scope", "capsules:read");
        assertThat(soma.invoke(other, "wasm-tools", "transform", "{\"text\": \"x\"}").status()).isEqualTo(403);
    }

    @Test
    void theSandboxContainsEachRunawayAtItsLimit() {
        long started = System.nanoTime();
        assertFailed(soma.invoke(acme.apiKey(), "wasm-tools", "loop", "{}"), "timeout", "wall time of 1000 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(4));
        assertFailed(soma.invoke(acme.apiKey(), "wasm-tools", "membomb", "{}"), "memory_limit", "67108864 bytes");
        assertFailed(soma.invoke(acme.apiKey(), "wasm-tools", "flood", "{}"), "output_limit", "1048576 bytes");
        assertFailed(soma.invoke(acme.apiKey(), "wasm-tools", "missing", "{}"), "trap", "read_host_secrets");
        TestGateway.Response trap = soma.invoke(acme.apiKey(), "wasm-tools", "trap", "{}");
        assertFailed(trap, "trap", "trapped");
        assertThat(trap.json().get("log").asString()).contains("trap: about to fail");
        // The server is healthy: a good call still works.
        assertThat(soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"still here\"}").status()).isEqualTo(200);
        assertThat(soma.meters.counter("soma.tool.sandbox.kills", "reason", "timeout").count()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void fiftyHangingCallsAreEachStoppedWhileTheServerKeepsAnswering() throws Exception {
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<TestGateway.Response>> hanging = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < 50; i++) {
            hanging.add(clients.submit(() -> soma.invoke(acme.apiKey(), "wasm-tools", "loop", "{}")));
        }
        Thread.sleep(200);
        long before = System.nanoTime();
        TestGateway.Response other = soma.gateway.send("GET", "/v1/installed-capsules", acme.apiKey(), null);
        assertThat(other.status()).isEqualTo(200);
        // Answered amid a burst of 50 tool calls on a 2-core machine, two sandbox threads spinning.
        assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(3));
        for (Future<TestGateway.Response> call : hanging) {
            TestGateway.Response response = call.get();
            assertThat(response.status()).as(response.raw().body()).isEqualTo(502);
            assertThat(response.json().get("reason").asString()).isEqualTo("timeout");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(8));
        clients.shutdown();
        // Every sandbox thread is free again: a call runs at once.
        assertThat(soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"after\"}").status()).isEqualTo(200);
    }

    @Test
    void eventsStreamOverSse() {
        TestGateway.Response ok = soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{\"text\": \"stream\"}", "Accept", "text/event-stream");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.header("Content-Type")).startsWith("text/event-stream");
        List<String> types = eventTypes(ok.raw().body());
        assertThat(types.getFirst()).isEqualTo("tool.started");
        assertThat(types).contains("tool.delta");
        assertThat(types.getLast()).isEqualTo("tool.completed");
        assertThat(ok.raw().body()).contains("\"result\":{\"input\":{\"text\":\"stream\"}");

        TestGateway.Response loop = soma.invoke(acme.apiKey(), "wasm-tools", "loop", "{}", "Accept", "text/event-stream");
        assertThat(eventTypes(loop.raw().body())).containsExactly("tool.started", "tool.failed");
        assertThat(loop.raw().body()).contains("\"reason\":\"timeout\"");

        // Refused before it ran: a problem, not a stream.
        TestGateway.Response invalid = soma.invoke(acme.apiKey(), "wasm-tools", "transform", "{}", "Accept", "text/event-stream");
        assertThat(invalid.status()).isEqualTo(400);
    }

    private static List<String> eventTypes(String body) {
        return body.lines().filter(line -> line.startsWith("event: ")).map(line -> line.substring(7)).toList();
    }

    @Test
    void runtimePolicyDeniesOnRecordAndTheBrokerSeesTheDecision() {
        TestTools.Tenant globex = soma.tenant("globex");
        soma.publishAndInstall(globex, "globex-tools", TestTools.bundle("globex-tools", "1.0.0", List.of(),
                List.of(TestTools.Tool.wasm("transform", "transform", TRANSFORM_SCHEMA)), Map.of("transform", TestTools.wasm("transform"))));
        TestGateway.Response policy = soma.gateway.send("POST", "/v1/policies", globex.apiKey(), Json.text(Map.of("name", "no-wasm-tools",
                "kind", "runtime", "matchConditions", List.of(Map.of("name", "tool-call", "expression", "has(request.kind) && request.kind == 'tool_call'")),
                "validations", List.of(Map.of("expression", "tool.executor != 'wasm'", "message", "no WebAssembly tools here")))));
        assertThat(policy.status()).as(policy.raw().body()).isEqualTo(201);
        TestGateway.Response denied = soma.invoke(globex.apiKey(), "globex-tools", "transform", "{\"text\": \"x\"}");
        assertThat(denied.status()).as(denied.raw().body()).isEqualTo(403);
        assertThat(denied.json().get("type").asString()).isEqualTo("https://somastack.io/problems/policy-denied");
        String decision = denied.json().get("decision_id").asString();
        JsonNode decisions = soma.gateway.send("GET", "/v1/decisions?capsule=globex-tools", globex.apiKey(), null).json().get("data");
        assertThat(decisions.toString()).contains(decision).contains("denied");
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model = 'tool:globex-tools/transform'")).isZero();
    }

    @Test
    void aRevokedCapsuleAnswers410AndABudgetThatDoesNotFitAnswers402() {
        TestTools.Tenant initech = soma.tenant("initech");
        soma.publishAndInstall(initech, "initech-tools", TestTools.bundle("initech-tools", "1.0.0", List.of(),
                List.of(TestTools.Tool.wasm("transform", "transform", TRANSFORM_SCHEMA)), Map.of("transform", TestTools.wasm("transform"))));
        assertThat(soma.invoke(initech.apiKey(), "initech-tools", "transform", "{\"text\": \"x\"}").status()).isEqualTo(200);

        // The Java API: a tenant whose budget cannot hold the call's price is refused before it runs.
        TenantId tenant = new TenantId(UUID.fromString(soma.strings("SELECT tenant_id::text FROM capsule_installs WHERE name = 'wasm-tools'").getFirst()));
        ToolCaller poor = new ToolCaller(tenant, "standard", UUID.randomUUID(), Set.of("tools:invoke"), Optional.of(Money.of("0.001")),
                Optional.empty(), "key:test", "req-budget");
        assertThatThrownBy(() -> soma.tools.broker().call(poor, "wasm-tools", "transform", Json.tree("{\"text\":\"x\"}".getBytes()), ToolSink.NONE))
                .isInstanceOf(SomaException.class).hasMessageContaining("budget");
        List<ToolEvent> events = new CopyOnWriteArrayList<>();
        ToolCaller rich = new ToolCaller(tenant, "standard", UUID.randomUUID(), Set.of("tools:invoke"), Optional.of(Money.of("1")),
                Optional.empty(), "key:test", "req-budget-2");
        ToolResult result = soma.tools.broker().call(rich, "wasm-tools", "transform", Json.tree("{\"text\":\"x\"}".getBytes()), events::add);
        assertThat(result).isInstanceOf(ToolResult.Completed.class);
        assertThat(events.getFirst()).isInstanceOf(ToolEvent.Started.class);
        assertThat(events.getLast()).isInstanceOf(ToolEvent.Completed.class);
        assertThat(soma.strings("SELECT spent::text FROM budget_spend WHERE tenant_id = '" + tenant + "' AND scope = 'tenant'"))
                .containsExactly("0.002000000000000");

        TestGateway.Response revoked = soma.gateway.send("POST", "/v1/capsules/initech-tools/versions/1.0.0/revoke", initech.apiKey(),
                "{\"reason\": \"leaks data\"}");
        assertThat(revoked.status()).as(revoked.raw().body()).isEqualTo(200);
        TestGateway.Response gone = soma.invoke(initech.apiKey(), "initech-tools", "transform", "{\"text\": \"x\"}");
        assertThat(gone.status()).isEqualTo(410);
        assertThat(gone.json().get("type").asString()).isEqualTo("https://somastack.io/problems/capsule-revoked");
    }
}
