package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.ProtocolVersions;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SomaStack as an MCP server: the official MCP Java SDK client against {@code /mcp} on the
 * API's own Jetty (Javalin 7, Jetty ee10): initialize at the current protocol version,
 * tools/list showing only what the caller may call, tools/call with progress through the broker
 * (ledger and audit), error results, the memory tools, and a revoked capsule's tools leaving the
 * list with a {@code notifications/tools/list_changed} to the open session.
 */
class McpServerTest {
    private static McpToolServer upstream;
    private static TestTools soma;
    private static TestTools.Tenant acme;

    @BeforeAll
    static void start() {
        upstream = new McpToolServer();
        soma = new TestTools(ToolsConfig.defaults().withAllowAddresses(List.of("127.0.0.1")), Resolver.SYSTEM, true);
        acme = soma.tenant("acme", "memory:read", "memory:write");
        soma.publishAndInstall(acme, "acme-tools", weatherCapsule("acme-tools"));
    }

    private static byte[] weatherCapsule(String name) {
        return McpServerTestCapsule.bundle(name, upstream);
    }

    @AfterAll
    static void stop() {
        soma.close();
        upstream.close();
    }

    private record Client(McpSyncClient mcp, List<String> progress, AtomicInteger listChanges) implements AutoCloseable {
        @Override
        public void close() {
            mcp.closeGracefully();
        }
    }

    private static Client client(String apiKey) {
        List<String> progress = new CopyOnWriteArrayList<>();
        AtomicInteger changes = new AtomicInteger();
        HttpClientStreamableHttpTransport transport = HttpClientStreamableHttpTransport.builder(soma.gateway.baseUrl()).endpoint("/mcp")
                .requestBuilder(HttpRequest.newBuilder().header("Authorization", "Bearer " + apiKey)).build();
        McpSyncClient mcp = McpClient.sync(transport).requestTimeout(Duration.ofSeconds(30))
                .progressConsumer(notification -> progress.add(notification.message()))
                .toolsChangeConsumer(tools -> changes.incrementAndGet()).build();
        return new Client(mcp, progress, changes);
    }

    private static List<String> names(McpSyncClient client) {
        return client.listTools().tools().stream().map(McpSchema.Tool::name).toList();
    }

    private static String text(McpSchema.CallToolResult result) {
        return ((McpSchema.TextContent) result.content().getFirst()).text();
    }

    @Test
    void theJavaSdkClientInitializesListsAndCallsThroughTheBroker() {
        try (Client client = client(acme.apiKey())) {
            McpSchema.InitializeResult initialized = client.mcp().initialize();
            assertThat(initialized.serverInfo().name()).isEqualTo("somastack");
            assertThat(initialized.protocolVersion()).isEqualTo(ProtocolVersions.MCP_2025_11_25);
            assertThat(names(client.mcp())).containsExactlyInAnyOrder("acme-tools__transform", "acme-tools__forecast", "acme-tools__fails",
                    "memory_remember", "memory_recall");

            McpSchema.CallToolResult forecast = client.mcp().callTool(McpSchema.CallToolRequest.builder("acme-tools__forecast")
                    .arguments(Map.of("city", "Lyon")).progressToken("forecast-1").build());
            assertThat(forecast.isError()).as(forecast.toString()).isNotEqualTo(Boolean.TRUE);
            assertThat(Json.text(forecast.structuredContent())).contains("\"city\":\"Lyon\"", "\"forecast\":\"sunny\"");
            // SomaStack sends them in order; the SDK's synchronous client hands each to its consumer on a pool thread.
            assertThat(client.progress()).containsExactlyInAnyOrder("step 1", "step 2", "step 3");

            McpSchema.CallToolResult wasm = client.mcp().callTool(McpSchema.CallToolRequest.builder("acme-tools__transform")
                    .arguments(Map.of("text", "hi")).build());
            assertThat(text(wasm)).contains("\"text\":\"hi\"");

            McpSchema.CallToolResult fails = client.mcp().callTool(McpSchema.CallToolRequest.builder("acme-tools__fails").arguments(Map.of()).build());
            assertThat(fails.isError()).isTrue();
            assertThat(text(fails)).contains("upstream_error", "the upstream broke");
            McpSchema.CallToolResult invalid = client.mcp().callTool(McpSchema.CallToolRequest.builder("acme-tools__forecast").arguments(Map.of()).build());
            assertThat(invalid.isError()).isTrue();
            assertThat(text(invalid)).contains("invalid_arguments", "/city");

            McpSchema.CallToolResult remembered = client.mcp().callTool(McpSchema.CallToolRequest.builder("memory_remember")
                    .arguments(Map.of("text", "Ada prefers green tea in the morning")).build());
            assertThat(text(remembered)).as(remembered.toString()).contains("\"outcome\":\"created\"");
            McpSchema.CallToolResult recalled = client.mcp().callTool(McpSchema.CallToolRequest.builder("memory_recall")
                    .arguments(Map.of("query", "What does Ada drink?")).build());
            assertThat(text(recalled)).as(recalled.toString()).contains("Ada prefers green tea");
        }
        // Every call that ran is in the ledger, and every call in the audit log.
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model IN ('tool:acme-tools/forecast', 'tool:acme-tools/transform',"
                + " 'tool:acme-tools/fails')")).isGreaterThanOrEqualTo(3);
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'tool.call' AND subject LIKE 'acme-tools/%'")).isGreaterThanOrEqualTo(3);
        assertThat(soma.gateway.send("GET", "/v1/usage", acme.apiKey(), null).raw().body())
                .contains("\"model\":\"tool:acme-tools/forecast\",\"calls\":1", "\"model\":\"tool:acme-tools/fails\",\"calls\":1");
    }

    @Test
    void toolsListShowsOnlyWhatTheCallerMayCall() {
        TestTools.Tenant initech = soma.tenant("initech");
        soma.publishAndInstall(initech, "initech-tools", weatherCapsule("initech-tools"));
        TestGateway.Response policy = soma.gateway.send("POST", "/v1/policies", initech.apiKey(), Json.text(Map.of("name", "no-wasm-tools",
                "kind", "runtime", "matchConditions", List.of(Map.of("name", "tool-call", "expression", "has(request.kind) && request.kind == 'tool_call'")),
                "validations", List.of(Map.of("expression", "tool.executor != 'wasm'", "message", "no WebAssembly tools here")))));
        assertThat(policy.status()).as(policy.raw().body()).isEqualTo(201);
        try (Client client = client(initech.apiKey())) {
            client.mcp().initialize();
            // No memory scopes, and policy denies WebAssembly tools: neither is listed. Acme's tools are not either.
            assertThat(names(client.mcp())).containsExactlyInAnyOrder("initech-tools__forecast", "initech-tools__fails");
            McpSchema.CallToolResult denied = client.mcp().callTool(McpSchema.CallToolRequest.builder("initech-tools__transform")
                    .arguments(Map.of("text", "x")).build());
            assertThat(denied.isError()).isTrue();
            assertThat(text(denied)).contains("denied", "no WebAssembly tools here");
        }
    }

    @Test
    void aRevokedCapsulesToolsLeaveTheListAndOpenSessionsHearOfIt() throws InterruptedException {
        TestTools.Tenant globex = soma.tenant("globex");
        soma.publishAndInstall(globex, "globex-tools", weatherCapsule("globex-tools"));
        try (Client client = client(globex.apiKey())) {
            client.mcp().initialize();
            assertThat(names(client.mcp())).contains("globex-tools__forecast");
            int before = client.listChanges().get();
            TestGateway.Response revoked = soma.gateway.send("POST", "/v1/capsules/globex-tools/versions/1.0.0/revoke", globex.apiKey(),
                    "{\"reason\": \"leaks data\"}");
            assertThat(revoked.status()).as(revoked.raw().body()).isEqualTo(200);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (client.listChanges().get() == before && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(client.listChanges().get()).as("notifications/tools/list_changed").isGreaterThan(before);
            assertThat(names(client.mcp())).doesNotContain("globex-tools__forecast", "globex-tools__transform");
        }
    }

    @Test
    void withoutCredentialsTheEndpointAnswersAProblem() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(soma.gateway.baseUrl() + "/mcp"))
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(response.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(value -> assertThat(value).startsWith("Bearer"));
        assertThat(response.body()).contains("missing-credentials");
    }
}
