package io.somastack.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.json.jackson3.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import io.somastack.kernel.Json;
import io.somastack.kernel.TenantId;
import io.somastack.tools.McpToolServer;
import io.somastack.tools.ToolBroker;
import io.somastack.tools.ToolBrokerFixture;
import io.somastack.tools.ToolCaller;
import io.somastack.tools.ToolResult;
import io.somastack.tools.ToolSink;
import io.somastack.tools.ToolsConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The tool broker's overhead, each path side by side with the same work done without it, in one
 * run and one JVM:
 * <ol>
 *   <li>a warm WebAssembly call ({@code transform}, soma-tools' real test module, Chicory's compiler)
 *       through {@link ToolBroker#call} vs the same transformation as plain Java in process;</li>
 *   <li>the first call of a module never seen (compile included) vs the next call of it;</li>
 *   <li>an HTTP tool through the broker vs the same loopback tool server called straight with the
 *       broker's own HTTP client library (Jetty);</li>
 *   <li>an MCP tool through the broker vs the MCP Java SDK client calling the same MCP server
 *       (soma-tools' {@link McpToolServer}, the SDK's own server) straight, both with a progress token.</li>
 * </ol>
 * The broker is called through its Java API on soma-tools' test harness: a real PostgreSQL, the
 * marketplace (the capsule is signed, published and installed), the constitution. So the
 * overhead measured is the broker's whole call path (install lookup, schema check, egress,
 * runtime policy with its recorded decision, budget reserve and settle, the ledger row, audit and
 * outbox in one group-committed transaction), without HTTP in front of it.
 * Each measured broker call is paired with a direct call, in alternating order, so both see the
 * same machine load. Usage: {@code java ... io.somastack.bench.ToolBrokerBenchmark [iterations] [cold-modules]}.
 */
public final class ToolBrokerBenchmark {
    static final double TARGET_WASM_P99_MILLIS = 1.0;
    static final double TARGET_REMOTE_P99_MILLIS = 2.0;
    private static final String CAPSULE = "bench-tools";
    private static final String TRANSFORM_SCHEMA = "{type: object, properties: {text: {type: string}, count: {type: integer, minimum: 1}},"
            + " required: [text], additionalProperties: false}";
    private static final String CITY_SCHEMA = "{type: object, properties: {city: {type: string}}, required: [city]}";

    /** The executor time of the last completed broker call (calls run one at a time, on the main thread). */
    private static long lastDuration;

    private ToolBrokerBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int iterations = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 2000;
        int cold = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 20;
        String report = run(iterations, cold);
        System.out.println(report);
        Path output = Path.of("soma-bench/target/tool-broker.md");
        Files.createDirectories(output.getParent());
        Files.writeString(output, report);
        System.out.println("Written to " + output);
        System.exit(0);
    }

    /** One run: {@code iterations} measured pairs per path after half as many warm-up pairs, {@code cold} cold modules. */
    static String run(int iterations, int cold) throws Exception {
        String loadBefore = Machine.loadAverage();
        Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        HttpServer toolServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        toolServer.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        toolServer.createContext("/echo", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            answer(exchange, "{\"echo\": " + new String(body, StandardCharsets.UTF_8) + "}");
        });
        toolServer.start();
        String httpUrl = "http://127.0.0.1:" + toolServer.getAddress().getPort() + "/echo";
        HttpClient jetty = new HttpClient();
        jetty.start();
        JacksonMcpJsonMapper mapper = new JacksonMcpJsonMapper(JsonMapper.builder().build());
        try (McpToolServer mcpServer = new McpToolServer();
                ToolBrokerFixture soma = new ToolBrokerFixture(ToolsConfig.defaults().withAllowAddresses(List.of("127.0.0.1")))) {
            List<ToolBrokerFixture.Tool> tools = new ArrayList<>(List.of(
                    ToolBrokerFixture.Tool.wasm("transform", "transform", TRANSFORM_SCHEMA),
                    ToolBrokerFixture.Tool.remote("echo", "http", httpUrl, CITY_SCHEMA),
                    ToolBrokerFixture.Tool.remote("forecast", "mcp", mcpServer.url(), CITY_SCHEMA)));
            Map<String, byte[]> modules = new LinkedHashMap<>();
            modules.put("transform", ToolBrokerFixture.wasm("transform"));
            for (int i = 0; i < cold; i++) {
                tools.add(ToolBrokerFixture.Tool.wasm("cold" + i, "cold" + i, TRANSFORM_SCHEMA));
                modules.put("cold" + i, distinct(ToolBrokerFixture.wasm("transform"), i));
            }
            TenantId tenant = soma.install("bench", CAPSULE, List.of("127.0.0.1:" + toolServer.getAddress().getPort(),
                    "127.0.0.1:" + mcpServer.port()), tools, modules);
            ToolCaller caller = new ToolCaller(tenant, "standard", UUID.randomUUID(), Set.of("tools:invoke"), Optional.empty(), Optional.empty(),
                    "key:bench", "bench");
            ToolBroker broker = soma.broker();
            JsonNode transformArgs = Json.tree("{\"text\": \"the quick brown fox\", \"count\": 3}".getBytes(StandardCharsets.UTF_8));
            JsonNode cityArgs = Json.tree("{\"city\": \"Oslo\"}".getBytes(StandardCharsets.UTF_8));

            BrokerPath wasmBroker = new BrokerPath(() -> broker.call(caller, CAPSULE, "transform", transformArgs, ToolSink.NONE));
            Supplier<Object> wasmJava = () -> transformInJava(transformArgs);
            if (!Json.text(completed(broker.call(caller, CAPSULE, "transform", transformArgs, ToolSink.NONE)))
                    .equals(Json.text(transformInJava(transformArgs)))) {
                throw new IllegalStateException("The Java transformation must answer what the module answers");
            }
            Pair wasm = pair(iterations, wasmBroker, wasmJava);

            long compilationsBefore = soma.wasmCompilations();
            long[] coldCalls = new long[cold];
            long[] warmCalls = new long[cold];
            for (int i = 0; i < cold; i++) {
                String tool = "cold" + i;
                coldCalls[i] = timed(() -> completed(broker.call(caller, CAPSULE, tool, transformArgs, ToolSink.NONE)));
                warmCalls[i] = timed(() -> completed(broker.call(caller, CAPSULE, tool, transformArgs, ToolSink.NONE)));
            }
            long compiled = soma.wasmCompilations() - compilationsBefore;
            if (compiled != cold) {
                throw new IllegalStateException("Each cold module must compile once: %d compilations for %d modules".formatted(compiled, cold));
            }
            Arrays.sort(coldCalls);
            Arrays.sort(warmCalls);

            String cityJson = Json.text(cityArgs);
            BrokerPath httpBroker = new BrokerPath(() -> broker.call(caller, CAPSULE, "echo", cityArgs, ToolSink.NONE));
            Supplier<Object> httpDirect = () -> {
                try {
                    ContentResponse response = jetty.POST(httpUrl).body(new StringRequestContent("application/json", cityJson))
                            .timeout(30, TimeUnit.SECONDS).send();
                    if (response.getStatus() != 200) {
                        throw new IllegalStateException("The tool server answered " + response.getStatus());
                    }
                    return Json.tree(response.getContent());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            Pair http = pair(iterations, httpBroker, httpDirect);

            Pair mcp;
            String base = mcpServer.url().substring(0, mcpServer.url().length() - "/mcp".length());
            try (McpSyncClient client = McpClient.sync(HttpClientStreamableHttpTransport.builder(base).endpoint("/mcp").jsonMapper(mapper).build())
                    .requestTimeout(Duration.ofSeconds(30)).clientInfo(new McpSchema.Implementation("bench", "1"))
                    .progressConsumer(notification -> {
                    }).build()) {
                client.initialize();
                Map<String, Object> city = Map.of("city", "Oslo");
                BrokerPath mcpBroker = new BrokerPath(() -> broker.call(caller, CAPSULE, "forecast", cityArgs, ToolSink.NONE));
                Supplier<Object> mcpDirect = () -> {
                    McpSchema.CallToolResult result = client.callTool(McpSchema.CallToolRequest.builder("forecast").arguments(city)
                            .progressToken(UUID.randomUUID().toString()).build());
                    if (Boolean.TRUE.equals(result.isError())) {
                        throw new IllegalStateException("The MCP server answered an error");
                    }
                    return result.structuredContent();
                };
                mcp = pair(iterations, mcpBroker, mcpDirect);
            }
            long ledgerRows = soma.count("SELECT count(*) FROM usage_ledger WHERE model LIKE 'tool:" + CAPSULE + "/%'");
            return report(started, iterations, cold, wasm, coldCalls, warmCalls, http, mcp, ledgerRows, loadBefore, Machine.loadAverage());
        } finally {
            jetty.stop();
            toolServer.stop(0);
        }
    }

    /** The {@code transform} module's logic as plain Java: the arguments' bytes back, with their length. */
    static JsonNode transformInJava(JsonNode arguments) {
        byte[] input = Json.bytes(arguments);
        String output = "{\"input\":" + new String(input, StandardCharsets.UTF_8) + ",\"length\":" + input.length + "}";
        return Json.tree(output.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code module} with a custom section carrying {@code n} at its end: the same code, another SHA-256, so not in the module cache. */
    static byte[] distinct(byte[] module, int n) {
        byte[] section = {0, 10, 5, 'b', 'e', 'n', 'c', 'h', (byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
        byte[] copy = Arrays.copyOf(module, module.length + section.length);
        System.arraycopy(section, 0, copy, module.length, section.length);
        return copy;
    }

    private static JsonNode completed(ToolResult result) {
        if (result instanceof ToolResult.Completed completed) {
            lastDuration = completed.duration().toNanos();
            return completed.result();
        }
        throw new IllegalStateException("The tool call failed: " + ((ToolResult.Failed) result).message());
    }

    /**
     * Calls through the broker, keeping the last call's executor time as the broker timed it
     * ({@link ToolResult.Completed#duration()}: step 5 alone, the sandbox run or the remote exchange).
     */
    private static final class BrokerPath implements Supplier<Object> {
        private final Supplier<ToolResult> call;
        private long executorNanos;

        BrokerPath(Supplier<ToolResult> call) {
            this.call = call;
        }

        @Override
        public Object get() {
            JsonNode result = completed(call.get());
            executorNanos = lastDuration;
            return result;
        }
    }

    /**
     * Sorted latencies of the broker and of the direct path, and the broker calls split in two:
     * the executor's own time, and the rest (the broker's steps before and after it).
     */
    record Pair(long[] broker, long[] direct, long[] executor, long[] steps) {
        double overheadMillis(double percentile) {
            return millis(broker, percentile) - millis(direct, percentile);
        }
    }

    /** {@code iterations / 2} warm-up pairs, then {@code iterations} measured pairs, the order alternating. */
    private static Pair pair(int iterations, BrokerPath broker, Supplier<Object> direct) {
        for (int i = 0; i < iterations / 2; i++) {
            broker.get();
            direct.get();
        }
        long[] viaBroker = new long[iterations];
        long[] straight = new long[iterations];
        long[] executor = new long[iterations];
        long[] steps = new long[iterations];
        for (int i = 0; i < iterations; i++) {
            if (i % 2 == 0) {
                viaBroker[i] = timed(broker);
                straight[i] = timed(direct);
            } else {
                straight[i] = timed(direct);
                viaBroker[i] = timed(broker);
            }
            executor[i] = broker.executorNanos;
            steps[i] = viaBroker[i] - executor[i];
        }
        Arrays.sort(viaBroker);
        Arrays.sort(straight);
        Arrays.sort(executor);
        Arrays.sort(steps);
        return new Pair(viaBroker, straight, executor, steps);
    }

    private static long timed(Supplier<Object> work) {
        long start = System.nanoTime();
        if (work.get() == null) {
            throw new IllegalStateException("no result");
        }
        return System.nanoTime() - start;
    }

    static double millis(long[] sorted, double percentile) {
        return sorted[(int) Math.min(sorted.length - 1, sorted.length * percentile)] / 1e6;
    }

    private static String report(Instant started, int iterations, int cold, Pair wasm, long[] coldCalls, long[] warmCalls, Pair http, Pair mcp,
            long ledgerRows, String loadBefore, String loadAfter) {
        Machine machine = Machine.current();
        StringBuilder markdown = new StringBuilder();
        markdown.append("""
                ### Run of %s

                %,d measured pairs per path after %,d warm-up pairs; each pair is one call through the broker and one \
                straight, in alternating order. Cold: %d distinct modules (the same code, each with its own custom \
                section, so its own SHA-256), each called once (compile included) and then once more. %,d ledger rows \
                were written by the broker calls.

                Machine: %d cores (`nproc`), %s, %.1f GiB RAM, %s. JDK: %s. JVM flags: %s. \
                Load average (1, 5, 15 min) before: %s; after: %s. The machine was shared with other engineers' \
                builds and tests while this ran.

                | path | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |
                |---|---:|---:|---:|---:|
                """.formatted(started, iterations, iterations / 2, cold, ledgerRows, machine.cores(), machine.cpuModel(),
                machine.memoryBytes() / (1024.0 * 1024 * 1024), machine.operatingSystem(), machine.jdk(),
                machine.jvmArguments().isEmpty() ? "none" : "`" + String.join(" ", machine.jvmArguments()) + "`", loadBefore, loadAfter));
        markdown.append(row("Wasm `transform`, warm, through the broker", wasm.broker()));
        markdown.append(row("&nbsp;&nbsp;of which the sandbox run (executor time as the broker timed it)", wasm.executor()));
        markdown.append(row("&nbsp;&nbsp;of which the broker's own steps (total minus executor)", wasm.steps()));
        markdown.append(row("same logic as plain Java, in process", wasm.direct()));
        markdown.append(row("Wasm, cold first call of a new module (compile)", coldCalls));
        markdown.append(row("Wasm, the second call of the same modules (warm)", warmCalls));
        markdown.append(row("HTTP tool through the broker", http.broker()));
        markdown.append(row("&nbsp;&nbsp;of which the HTTP exchange (executor time)", http.executor()));
        markdown.append(row("&nbsp;&nbsp;of which the broker's own steps", http.steps()));
        markdown.append(row("same loopback tool server, Jetty client straight", http.direct()));
        markdown.append(row("MCP tool through the broker", mcp.broker()));
        markdown.append(row("&nbsp;&nbsp;of which the MCP round trip (executor time)", mcp.executor()));
        markdown.append(row("&nbsp;&nbsp;of which the broker's own steps", mcp.steps()));
        markdown.append(row("same MCP server, SDK client straight", mcp.direct()));
        markdown.append("""

                Overhead = through the broker minus straight, at the same percentile (a difference of percentiles, \
                not a percentile of differences). "Broker's own steps" is each broker call's total minus its executor \
                time (install lookup, schema check, egress, policy decision on record, budget reserve, the ledger, \
                audit and outbox transaction, settle): a percentile of per-call differences.

                | path | overhead p50 (ms) | overhead p95 (ms) | overhead p99 (ms) | target | verdict |
                |---|---:|---:|---:|---|---|
                """);
        markdown.append(overheadRow("Wasm, warm (vs plain Java)", wasm, TARGET_WASM_P99_MILLIS));
        markdown.append(overheadRow("HTTP (vs straight)", http, TARGET_REMOTE_P99_MILLIS));
        markdown.append(overheadRow("MCP (vs straight)", mcp, TARGET_REMOTE_P99_MILLIS));
        markdown.append("| Wasm, cold minus warm (the compile) | %s | %s | %s | | |\n".formatted(
                signed(millis(coldCalls, 0.5) - millis(warmCalls, 0.5)), signed(millis(coldCalls, 0.95) - millis(warmCalls, 0.95)),
                signed(millis(coldCalls, 0.99) - millis(warmCalls, 0.99))));
        return markdown.toString();
    }

    private static String row(String path, long[] sorted) {
        return "| %s | %s | %s | %s | %s |\n".formatted(path, decimal(millis(sorted, 0.5)), decimal(millis(sorted, 0.95)),
                decimal(millis(sorted, 0.99)), decimal(sorted[sorted.length - 1] / 1e6));
    }

    private static String overheadRow(String path, Pair pair, double targetMillis) {
        double p99 = pair.overheadMillis(0.99);
        return "| %s | %s | %s | %s | p99 <= %s ms | **%s** |\n".formatted(path, signed(pair.overheadMillis(0.5)),
                signed(pair.overheadMillis(0.95)), signed(p99), decimal(targetMillis), p99 <= targetMillis ? "met" : "not met");
    }

    private static String decimal(double value) {
        return String.format(Locale.ROOT, "%.3f", value);
    }

    private static String signed(double value) {
        return (value >= 0 ? "+" : "") + decimal(value);
    }

    private static void answer(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
