package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import io.somastack.models.TestNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The official MCP TypeScript SDK client ({@code @modelcontextprotocol/sdk}, pinned in
 * src/test/node/package.json and package-lock.json) against {@code /mcp}: initialize, tools/list,
 * tools/call with progress, and an error result, each call in the ledger and the audit log.
 * Needs Node.js 20+ and {@code npm ci} in src/test/node (the test runs it when node_modules is
 * absent); skipped with the reason when node is missing, except under CI=true, where it fails.
 */
class McpTypeScriptClientTest {
    private static final Path NODE_DIRECTORY = Path.of("src/test/node");
    private static McpToolServer upstream;
    private static TestTools soma;

    @BeforeAll
    static void start() {
        upstream = new McpToolServer();
        soma = new TestTools(ToolsConfig.defaults().withAllowAddresses(List.of("127.0.0.1")), Resolver.SYSTEM, true);
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
        upstream.close();
    }

    @Test
    void theTypeScriptSdkClientInitializesListsAndCallsWithProgress() throws Exception {
        TestNode.install(NODE_DIRECTORY, "@modelcontextprotocol/sdk", "the MCP TypeScript SDK client test");
        TestTools.Tenant umbrella = soma.tenant("umbrella");
        soma.publishAndInstall(umbrella, "umbrella-tools", McpServerTestCapsule.bundle("umbrella-tools", upstream));

        TestNode.Result client = TestNode.run(List.of("node", "client.mjs", soma.gateway.baseUrl(), umbrella.apiKey(), "umbrella-tools"), NODE_DIRECTORY,
                Duration.ofSeconds(120));
        assertThat(client.exit()).as(client.output()).isZero();
        String last = client.output().strip().lines().reduce((first, second) -> second).orElseThrow();
        JsonNode summary = Json.tree(last.getBytes(StandardCharsets.UTF_8));
        assertThat(summary.get("server").get("name").asString()).isEqualTo("somastack");
        assertThat(summary.get("protocolVersion").asString()).isEqualTo("2025-11-25");
        assertThat(summary.get("tools").toString()).isEqualTo("[\"umbrella-tools__fails\",\"umbrella-tools__forecast\",\"umbrella-tools__transform\"]");
        assertThat(summary.get("progress").toString()).isEqualTo("[\"step 1\",\"step 2\",\"step 3\"]");
        assertThat(summary.get("forecast").get("city").asString()).isEqualTo("Paris");
        assertThat(summary.get("fails").get("isError").asBoolean()).isTrue();
        assertThat(summary.get("fails").get("text").asString()).contains("upstream_error", "the upstream broke");
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model IN ('tool:umbrella-tools/forecast', 'tool:umbrella-tools/fails')"))
                .isEqualTo(2);
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'tool.call' AND subject LIKE 'umbrella-tools/%'")).isEqualTo(2);
    }
}
