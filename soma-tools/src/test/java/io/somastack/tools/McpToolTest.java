package io.somastack.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * MCP tools end to end against a real MCP server (the SDK's own server classes) on loopback,
 * allow-listed as an operator would: the tools/list check at install and update, progress
 * notifications streamed as deltas, a declared tool the server dropped since, an error result,
 * the SSRF guard on a name rebound to a private address, a name connected at its checked
 * address, and a timeout.
 */
class McpToolTest {
    private static McpToolServer server;
    private static TestTools soma;
    private static TestTools.Tenant acme;
    /** The test resolver's names, changed by a test to rebind one. */
    private static final Map<String, String> names = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() {
        server = new McpToolServer();
        ToolsConfig config = ToolsConfig.defaults().withAllowAddresses(List.of("127.0.0.1"))
                .withHttpLimits(Duration.ofSeconds(2), Duration.ofSeconds(2), 256 * 1024);
        names.put("mcp.test", "127.0.0.1");
        names.put("inside.test", "127.0.0.1");
        names.put("private.test", "10.9.8.7");
        Resolver resolver = host -> {
            String address = names.get(host);
            if (address == null) {
                throw new java.net.UnknownHostException(host);
            }
            return List.of(InetAddress.getByName(address));
        };
        soma = new TestTools(config, resolver);
        acme = soma.tenant("acme");
        String city = "{type: object, properties: {city: {type: string}}, required: [city]}";
        soma.publishAndInstall(acme, "mcp-tools", TestTools.bundle("mcp-tools", "1.0.0",
                List.of("127.0.0.1:" + server.port(), "mcp.test", "inside.test"), List.of(
                        TestTools.Tool.remote("forecast", "mcp", server.url(), city),
                        TestTools.Tool.remote("fails", "mcp", server.url(), "{type: object}"),
                        TestTools.Tool.remote("hang", "mcp", server.url(), "{type: object}"),
                        TestTools.Tool.remote("retired", "mcp", server.url(), "{type: object}")),
                Map.of()));
        // An MCP tool's name is its name on the server: the same tool reached by other names, one capsule each.
        soma.publishAndInstall(acme, "mcp-named", TestTools.bundle("mcp", "mcp-named", "1.0.0", List.of("mcp.test"), List.of(
                TestTools.Tool.remote("forecast", "mcp", "http://mcp.test:" + server.port() + "/mcp", city)), Map.of()));
        soma.publishAndInstall(acme, "mcp-inside", TestTools.bundle("mcp", "mcp-inside", "1.0.0", List.of("inside.test"), List.of(
                TestTools.Tool.remote("forecast", "mcp", "http://inside.test:" + server.port() + "/mcp", city)), Map.of()));
    }

    @AfterAll
    static void stop() {
        soma.close();
        server.close();
    }

    @Test
    void progressNotificationsStreamAsDeltasAndTheStructuredResultIsTheResult() {
        TestGateway.Response stream = soma.invoke(acme.apiKey(), "mcp-tools", "forecast", "{\"city\": \"Lyon\"}", "Accept", "text/event-stream");
        List<String> events = stream.raw().body().lines().filter(line -> line.startsWith("event: ")).toList();
        assertThat(events).as(stream.raw().body()).containsExactly("event: tool.started", "event: tool.delta", "event: tool.delta",
                "event: tool.delta", "event: tool.completed");
        assertThat(stream.raw().body()).contains("\"text\":\"step 1\"", "\"text\":\"step 3\"", "\"city\":\"Lyon\"", "\"forecast\":\"sunny\"");

        TestGateway.Response json = soma.invoke(acme.apiKey(), "mcp-tools", "forecast", "{\"city\": \"Oslo\"}");
        assertThat(json.status()).as(json.raw().body()).isEqualTo(200);
        assertThat(json.json().get("executor").asString()).isEqualTo("mcp");
        assertThat(json.json().get("result").get("city").asString()).isEqualTo("Oslo");
        assertThat(soma.invoke(acme.apiKey(), "mcp-tools", "forecast", "{}").status()).isEqualTo(400);
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model = 'tool:mcp-tools/forecast' AND upstream_model = 'mcp'"))
                .isGreaterThanOrEqualTo(2);
        assertThat(soma.count("SELECT count(*) FROM audit_log WHERE action = 'tool.call' AND subject = 'mcp-tools/forecast' AND detail::jsonb->>'executor' = 'mcp'"))
                .isGreaterThanOrEqualTo(2);
    }

    @Test
    void aNameIsConnectedAtTheAddressTheGuardChecked() {
        // The JDK never resolves mcp.test: only the test resolver knows it.
        TestGateway.Response named = soma.invoke(acme.apiKey(), "mcp-named", "forecast", "{\"city\": \"Rome\"}");
        assertThat(named.status()).as(named.raw().body()).isEqualTo(200);
        assertThat(named.json().get("result").get("city").asString()).isEqualTo("Rome");
    }

    @Test
    void installAndUpdateAreRefusedNamingEveryToolTheServerLacksAndEveryServerThatCannotBeReached() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        String nobody = "http://127.0.0.1:" + closed + "/mcp";
        soma.publish(acme, TestTools.bundle("mcp", "mcp-gaps", "1.0.0", List.of("127.0.0.1", "private.test"), List.of(
                TestTools.Tool.remote("forecast", "mcp", server.url(), "{type: object}"),
                TestTools.Tool.remote("absent", "mcp", server.url(), "{type: object}"),
                TestTools.Tool.remote("lacking", "mcp", server.url(), "{type: object}"),
                TestTools.Tool.remote("forecast2", "mcp", nobody, "{type: object}"),
                TestTools.Tool.remote("forecast3", "mcp", "http://private.test:" + server.port() + "/mcp", "{type: object}"),
                TestTools.Tool.remote("elsewhere", "mcp", "http://mcp.test:" + server.port() + "/mcp", "{type: object}")), Map.of()));
        TestGateway.Response refused = soma.install(acme, "mcp-gaps");
        assertThat(refused.status()).as(refused.raw().body()).isEqualTo(400);
        assertThat(refused.json().get("type").asString()).endsWith("/manifest-invalid");
        assertThat(refused.json().get("detail").asString()).contains("has 5 problems", "tool 'absent' is not in the tools/list",
                "tool 'lacking' is not in the tools/list", "forecast", nobody + " (tools [forecast2]) cannot be reached",
                "private.test", "10.9.8.7, a private address", "tool 'elsewhere': its MCP server mcp.test:" + server.port()
                        + " is not in permissions.egress");
        assertThat(refused.json().get("errors")).hasSize(5);
        assertThat(soma.count("SELECT count(*) FROM capsule_installs WHERE name = 'mcp-gaps'")).isZero();

        // An update is checked the same way: 1.0.0 runs, 1.1.0 names a tool the server lacks.
        soma.publishAndInstall(acme, "mcp-grows", TestTools.bundle("mcp", "mcp-grows", "1.0.0", List.of("127.0.0.1"), List.of(
                TestTools.Tool.remote("forecast", "mcp", server.url(), "{type: object}")), Map.of()));
        soma.publish(acme, TestTools.bundle("mcp", "mcp-grows", "1.1.0", List.of("127.0.0.1"), List.of(
                TestTools.Tool.remote("forecast", "mcp", server.url(), "{type: object}"),
                TestTools.Tool.remote("tomorrow", "mcp", server.url(), "{type: object}")), Map.of()));
        TestGateway.Response update = soma.gateway.send("POST", "/v1/capsules/mcp-grows/update", acme.apiKey(), null);
        assertThat(update.status()).as(update.raw().body()).isEqualTo(400);
        assertThat(update.json().get("detail").asString()).contains("mcp-grows@1.1.0", "tool 'tomorrow' is not in the tools/list");
        assertThat(soma.strings("SELECT version FROM capsule_installs WHERE name = 'mcp-grows'")).containsExactly("1.0.0");
    }

    @Test
    void aToolTheServerDoesNotListAnErrorResultAPrivateAddressAndAHangAreClearFailures() {
        // Listed at install, removed from the server since: the call says the server no longer lists it.
        server.removeTool("retired");
        TestGateway.Response missing = soma.invoke(acme.apiKey(), "mcp-tools", "retired", "{}");
        assertThat(missing.status()).as(missing.raw().body()).isEqualTo(502);
        assertThat(missing.json().get("reason").asString()).isEqualTo("upstream_error");
        assertThat(missing.json().get("detail").asString()).contains("does not list the tool 'retired'", "forecast");
        // inside.test resolved to loopback at install; it now resolves to a private address, checked again on each call.
        names.put("inside.test", "10.9.8.7");

        TestGateway.Response fails = soma.invoke(acme.apiKey(), "mcp-tools", "fails", "{}");
        assertThat(fails.status()).isEqualTo(502);
        assertThat(fails.json().get("detail").asString()).contains("the upstream broke");

        TestGateway.Response inside = soma.invoke(acme.apiKey(), "mcp-inside", "forecast", "{\"city\": \"x\"}");
        assertThat(inside.status()).isEqualTo(403);
        assertThat(inside.json().get("reason").asString()).isEqualTo("denied");
        assertThat(inside.json().get("detail").asString()).contains("10.9.8.7, a private address");

        long started = System.nanoTime();
        TestGateway.Response hang = soma.invoke(acme.apiKey(), "mcp-tools", "hang", "{}");
        assertThat(hang.status()).isEqualTo(502);
        assertThat(hang.json().get("reason").asString()).as(hang.raw().body()).isEqualTo("timeout");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        // The session survives a timed-out call.
        assertThat(soma.invoke(acme.apiKey(), "mcp-tools", "forecast", "{\"city\": \"Bern\"}").status()).isEqualTo(200);
    }

    @Test
    void fiftySimultaneousHangingCallsEachEndAtTheirTimeoutAndTheServerKeepsAnswering() throws Exception {
        long threadsBefore = brokerSideThreads();
        List<Future<TestGateway.Response>> hanging = new ArrayList<>();
        try (var callers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 50; i++) {
                hanging.add(callers.submit(() -> soma.invoke(acme.apiKey(), "mcp-tools", "hang", "{}")));
            }
            // While the fifty wait on a server that never answers in time, other calls are answered.
            TestGateway.Response meanwhile = soma.invoke(acme.apiKey(), "mcp-tools", "forecast", "{\"city\": \"Kyiv\"}");
            assertThat(meanwhile.status()).as(meanwhile.raw().body()).isEqualTo(200);
            assertThat(soma.gateway.send("GET", "/v1/usage", acme.apiKey(), null).status()).isEqualTo(200);
        }
        for (Future<TestGateway.Response> call : hanging) {
            TestGateway.Response response = call.get();
            assertThat(response.status()).as(response.raw().body()).isEqualTo(502);
            assertThat(response.json().get("reason").asString()).as(response.raw().body()).isEqualTo("timeout");
        }
        // No thread was left behind per hanging call (the tool server's own threads still sleep), and the session still serves.
        assertThat(brokerSideThreads()).isLessThan(threadsBefore + 50);
        assertThat(soma.invoke(acme.apiKey(), "mcp-tools", "forecast", "{\"city\": \"Oslo\"}").status()).isEqualTo(200);
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE model = 'tool:mcp-tools/hang'")).isGreaterThanOrEqualTo(50);
    }

    /** Live platform threads of this JVM, less the test MCP server's own. */
    private static long brokerSideThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(thread -> !thread.getName().startsWith(McpToolServer.THREAD_NAME)).count();
    }
}
