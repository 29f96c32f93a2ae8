package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.models.TestNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An operator-declared stdio MCP server ({@code tools.mcp.servers}), written with the official
 * MCP TypeScript SDK (src/test/node/stdio-server.mjs, the SDK pinned by package-lock.json):
 * the tools/list check at install, calls with progress on one reused process, a process that
 * exits started again, an environment of only what the operator gave, and capsules that name an
 * unknown server or a command refused. Skipped without Node.js, failing under CI=true.
 */
class McpStdioServerTest {
    private static final Path NODE_DIRECTORY = Path.of("src/test/node");
    private static TestTools soma;
    private static TestTools.Tenant acme;

    @BeforeAll
    static void start() throws Exception {
        TestNode.install(NODE_DIRECTORY, "@modelcontextprotocol/sdk", "the stdio MCP server test");
        String script = NODE_DIRECTORY.resolve("stdio-server.mjs").toAbsolutePath().toString();
        soma = new TestTools(ToolsConfig.defaults().withMcpServers(Map.of("ts-tools",
                new ToolsConfig.McpServer("node", List.of(script), Map.of("GREETING", "hello")))));
        acme = soma.tenant("acme");
        soma.publishAndInstall(acme, "stdio-tools", TestTools.bundle("stdio", "stdio-tools", "1.0.0", List.of(), List.of(
                TestTools.Tool.stdio("shout", "ts-tools", "{type: object, properties: {text: {type: string}}, required: [text]}"),
                TestTools.Tool.stdio("env", "ts-tools", "{type: object}"),
                TestTools.Tool.stdio("exit", "ts-tools", "{type: object}")), Map.of()));
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void callsStreamProgressOnOneReusedProcessGivenOnlyTheOperatorsEnvironment() {
        TestGateway.Response stream = soma.invoke(acme.apiKey(), "stdio-tools", "shout", "{\"text\": \"hi\"}", "Accept", "text/event-stream");
        assertThat(stream.raw().body().lines().filter(line -> line.startsWith("event: ")).toList()).as(stream.raw().body())
                .containsExactly("event: tool.started", "event: tool.delta", "event: tool.completed");
        assertThat(stream.raw().body()).contains("\"text\":\"shouting\"", "\"text\":\"HI\"");
        TestGateway.Response first = soma.invoke(acme.apiKey(), "stdio-tools", "shout", "{\"text\": \"one\"}");
        TestGateway.Response second = soma.invoke(acme.apiKey(), "stdio-tools", "shout", "{\"text\": \"two\"}");
        assertThat(first.status()).as(first.raw().body()).isEqualTo(200);
        assertThat(second.json().get("result").get("text").asString()).isEqualTo("TWO");
        assertThat(second.json().get("result").get("pid").asLong()).isEqualTo(first.json().get("result").get("pid").asLong());
        assertThat(soma.invoke(acme.apiKey(), "stdio-tools", "shout", "{}").status()).isEqualTo(400);

        // Only the SDK's default variables (HOME, PATH, ...) and the operator's: none of this JVM's (JAVA_HOME, SOMA_*, ...).
        List<String> names = new ArrayList<>();
        soma.invoke(acme.apiKey(), "stdio-tools", "env", "{}").json().get("result").get("names").forEach(name -> names.add(name.asString()));
        assertThat(names).contains("GREETING", "PATH");
        assertThat(Set.of("GREETING", "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")).containsAll(names);
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model = 'tool:stdio-tools/shout' AND upstream_model = 'mcp'")).isGreaterThanOrEqualTo(3);
    }

    @Test
    void aServerThatExitsIsStartedAgainForTheNextCall() throws Exception {
        long pid = soma.invoke(acme.apiKey(), "stdio-tools", "shout", "{\"text\": \"a\"}").json().get("result").get("pid").asLong();
        TestGateway.Response exit = soma.invoke(acme.apiKey(), "stdio-tools", "exit", "{}");
        assertThat(exit.status()).as(exit.raw().body()).isEqualTo(200);
        assertThat(exit.json().get("result").get("exiting").asLong()).isEqualTo(pid);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        TestGateway.Response again = soma.invoke(acme.apiKey(), "stdio-tools", "shout", "{\"text\": \"back\"}");
        assertThat(again.status()).as(again.raw().body()).isEqualTo(200);
        assertThat(again.json().get("result").get("text").asString()).isEqualTo("BACK");
        assertThat(again.json().get("result").get("pid").asLong()).isNotEqualTo(pid);
    }

    @Test
    void aCapsuleNamingAnUnknownServerAToolTheServerLacksOrACommandIsRefused() {
        soma.publish(acme, TestTools.bundle("stdio", "stdio-gaps", "1.0.0", List.of(), List.of(
                TestTools.Tool.stdio("shout", "ts-tools", "{type: object}"),
                TestTools.Tool.stdio("whisper", "ts-tools", "{type: object}"),
                TestTools.Tool.stdio("anything", "nowhere", "{type: object}")), Map.of()));
        TestGateway.Response refused = soma.install(acme, "stdio-gaps");
        assertThat(refused.status()).as(refused.raw().body()).isEqualTo(400);
        assertThat(refused.json().get("detail").asString()).contains("has 2 problems",
                "tool 'whisper' is not in the tools/list of the MCP stdio server 'ts-tools'",
                "the MCP stdio server 'nowhere' (tools [anything]) cannot be reached: No MCP server 'nowhere' is configured on this node");

        // A capsule can only name a server, never a command, and not both a url and a server.
        HttpResponse<String> command = soma.tryPublish(acme, TestTools.bundle("stdio", "stdio-command", "1.0.0", List.of(), List.of(
                TestTools.Tool.stdio("run", "node /tmp/evil.mjs", "{type: object}")), Map.of()));
        assertThat(command.statusCode()).as(command.body()).isEqualTo(400);
        assertThat(command.body()).contains("server");
        HttpResponse<String> both = soma.tryPublish(acme, TestTools.bundle("stdio", "stdio-both", "1.0.0", List.of("127.0.0.1"), List.of(
                new TestTools.Tool("run", "{type: object}", "{kind: mcp, server: ts-tools, url: \"http://127.0.0.1/mcp\"}")), Map.of()));
        assertThat(both.statusCode()).as(both.body()).isEqualTo(400);
    }
}
