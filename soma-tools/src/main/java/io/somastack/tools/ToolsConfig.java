package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.Settings;
import io.somastack.metering.PriceBook;
import io.somastack.kernel.Aead;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * Configuration of the tool broker; every key is optional.
 *
 * <table>
 *   <caption>Keys (environment: {@code SOMA_TOOLS_WASM_TIMEOUT} for {@code tools.wasm.timeout})</caption>
 *   <tr><td>{@code tools.wasm.memory-bytes}</td><td>64 MiB, the most linear memory one module may have</td></tr>
 *   <tr><td>{@code tools.wasm.timeout}</td><td>5s wall time per call, waiting for a sandbox slot included</td></tr>
 *   <tr><td>{@code tools.wasm.max-output-bytes}</td><td>1 MiB of stdout</td></tr>
 *   <tr><td>{@code tools.wasm.max-log-bytes}</td><td>64 KiB of stderr kept as the call's log (the rest is dropped)</td></tr>
 *   <tr><td>{@code tools.wasm.concurrency}</td><td>the node's processor count: modules running at once (each on its own
 *       platform thread; more would only starve the server of CPU); further calls queue, their wall time running</td></tr>
 *   <tr><td>{@code tools.wasm.module-cache}</td><td>256 compiled modules kept per node</td></tr>
 *   <tr><td>{@code tools.http.connect-timeout}</td><td>5s</td></tr>
 *   <tr><td>{@code tools.http.timeout}</td><td>30s for a whole HTTP or MCP tool call</td></tr>
 *   <tr><td>{@code tools.http.max-response-bytes}</td><td>1 MiB</td></tr>
 *   <tr><td>{@code tools.egress.allow-addresses}</td><td>none: comma-separated addresses or CIDR ranges the SSRF guard lets
 *       through although they are loopback, private, link-local, CGNAT, multicast or unspecified (e.g. {@code 127.0.0.1})</td></tr>
 *   <tr><td>{@code tools.delta-bytes}</td><td>16 KiB, the largest {@code tool.delta} chunk</td></tr>
 *   <tr><td>{@code tools.secrets.key}</td><td>base64 of 32 random bytes sealing tool secrets (AES-256-GCM); required with
 *       {@code database.url} (every node the same); embedded default: {@code <data dir>/tools-secrets.key}, made on first start</td></tr>
 *   <tr><td>{@code tools.mcp.servers.<name>}</td><td>none: operator stdio MCP servers, each {@code command}, {@code args} (list),
 *       {@code env} (map); a capsule's MCP tool names one with {@code executor.server}</td></tr>
 *   <tr><td>{@code tools.prices}</td><td>per-call prices: a list of {@code {tool: <capsule>/<tool> | executor: wasm|http|mcp,
 *       per_call: "0.001", effective_from?: 2026-01-01}}; unpriced calls are free</td></tr>
 * </table>
 */
public record ToolsConfig(long wasmMemoryBytes, Duration wasmTimeout, long wasmMaxOutputBytes, int wasmMaxLogBytes, int wasmConcurrency,
        int moduleCacheSize, Duration httpConnectTimeout, Duration httpTimeout, long httpMaxResponseBytes, List<String> allowAddresses,
        int deltaBytes, List<PriceBook.ToolPrice> prices, SecretsKey secretsKey, Map<String, McpServer> mcpServers) {
    public static final long WASM_PAGE = 65_536;
    /** An operator's stdio MCP server name: what a capsule's {@code executor.server} may name. */
    public static final Pattern SERVER_NAME = Pattern.compile("^[a-z0-9][a-z0-9_-]{0,62}$");

    /**
     * Where the key that seals tool secrets comes from: {@link Given} ({@code tools.secrets.key},
     * base64 of 32 bytes; every node of a cluster must have the same), {@link KeyFile} (embedded
     * mode without a key: a file in the data directory, created with mode 0600 on first start), or
     * {@link Ephemeral} (a random key for this process only: secrets do not survive a restart; tests).
     * {@code toString} never shows a key.
     */
    public sealed interface SecretsKey {
        record Given(byte[] key) implements SecretsKey {
            public Given {
                if (key.length != Aead.KEY_BYTES) {
                    throw new IllegalArgumentException("tools.secrets.key must be the base64 of %d bytes, not %d".formatted(Aead.KEY_BYTES, key.length));
                }
                key = key.clone();
            }

            @Override
            public String toString() {
                return "Given[key=***]";
            }
        }

        record KeyFile(Path path) implements SecretsKey {
            public KeyFile {
                requireNonNull(path, "path is null");
            }
        }

        record Ephemeral() implements SecretsKey {
        }
    }

    /**
     * An operator-declared stdio MCP server: the broker starts {@code command} with {@code args}
     * and exactly {@code env} (plus the JDK's minimal defaults of the SDK's transport) when a tool
     * names it, keeps it for later calls and starts it again if it dies. A capsule only names it.
     */
    public record McpServer(String command, List<String> args, Map<String, String> env) {
        public McpServer {
            requireNonNull(command, "command is null");
            if (command.isBlank()) {
                throw new IllegalArgumentException("an MCP server's command is not empty");
            }
            args = List.copyOf(args);
            env = Map.copyOf(env);
        }

        @Override
        public String toString() {
            // The environment may hold the server's own credentials.
            return "McpServer[command=%s, args=%s, env=%s]".formatted(command, args, env.keySet());
        }
    }

    public ToolsConfig {
        requireNonNull(wasmTimeout, "wasmTimeout is null");
        requireNonNull(httpConnectTimeout, "httpConnectTimeout is null");
        requireNonNull(httpTimeout, "httpTimeout is null");
        allowAddresses = List.copyOf(allowAddresses);
        prices = List.copyOf(prices);
        requireNonNull(secretsKey, "secretsKey is null");
        mcpServers = Map.copyOf(mcpServers);
        mcpServers.keySet().forEach(name -> {
            if (!SERVER_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("tools.mcp.servers: '%s' is not a server name (%s)".formatted(name, SERVER_NAME.pattern()));
            }
        });
        if (wasmMemoryBytes < WASM_PAGE || wasmMaxOutputBytes < 1 || wasmMaxLogBytes < 0 || wasmConcurrency < 1 || moduleCacheSize < 1
                || httpMaxResponseBytes < 1 || deltaBytes < 16) {
            throw new IllegalArgumentException("tools limits must be positive (memory at least one 64 KiB page, delta at least 16 bytes)");
        }
        if (!positive(wasmTimeout) || !positive(httpConnectTimeout) || !positive(httpTimeout)) {
            throw new IllegalArgumentException("tools timeouts must be positive");
        }
    }

    public static ToolsConfig defaults() {
        return new ToolsConfig(64L << 20, Duration.ofSeconds(5), 1L << 20, 64 << 10, Math.max(1, Runtime.getRuntime().availableProcessors()), 256, Duration.ofSeconds(5), Duration.ofSeconds(30),
                1L << 20, List.of(), 16 << 10, List.of(), new SecretsKey.Ephemeral(), Map.of());
    }

    /** The most pages of linear memory a module may have. */
    public int wasmMaxPages() {
        return (int) Math.min(65_536, wasmMemoryBytes / WASM_PAGE);
    }

    /** This config with the SSRF guard letting {@code addresses} through (tests allow-list 127.0.0.1). */
    public ToolsConfig withAllowAddresses(List<String> addresses) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, addresses, deltaBytes, prices, secretsKey, mcpServers);
    }

    /** This config with another WebAssembly wall time and memory limit. */
    public ToolsConfig withWasmLimits(Duration timeout, long memoryBytes, long maxOutputBytes) {
        return new ToolsConfig(memoryBytes, timeout, maxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, allowAddresses, deltaBytes, prices, secretsKey, mcpServers);
    }

    /** This config with another HTTP timeout and response cap. */
    public ToolsConfig withHttpLimits(Duration connectTimeout, Duration timeout, long maxResponseBytes) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                connectTimeout, timeout, maxResponseBytes, allowAddresses, deltaBytes, prices, secretsKey, mcpServers);
    }

    /** This config with per-call prices. */
    public ToolsConfig withPrices(List<PriceBook.ToolPrice> toolPrices) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, allowAddresses, deltaBytes, toolPrices, secretsKey, mcpServers);
    }

    /** This config with the secrets key from {@code key}. */
    public ToolsConfig withSecretsKey(SecretsKey key) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, allowAddresses, deltaBytes, prices, key, mcpServers);
    }

    /** This config with operator-declared stdio MCP servers. */
    public ToolsConfig withMcpServers(Map<String, McpServer> servers) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, allowAddresses, deltaBytes, prices, secretsKey, servers);
    }

    /**
     * Reads the {@code tools.*} keys; problems are collected in {@code settings}. Without
     * {@code tools.secrets.key}, an embedded node keeps its key in {@code dataDirectory}/tools-secrets.key;
     * a node on an external database must be given the key (all nodes share it), else start-up fails.
     */
    public static ToolsConfig from(Settings settings, Path dataDirectory, boolean embedded) {
        ToolsConfig d = defaults();
        List<String> allow = settings.string("tools.egress.allow-addresses").map(text -> Arrays.stream(text.split(","))
                .map(String::trim).filter(item -> !item.isEmpty()).toList()).orElse(List.of());
        List<PriceBook.ToolPrice> prices = new ArrayList<>();
        settings.structured("tools.prices").ifPresent(list -> {
            if (!list.isArray()) {
                settings.problem("tools.prices must be a list of {tool | executor, per_call, effective_from?}");
                return;
            }
            int index = 0;
            for (JsonNode entry : list) {
                try {
                    String target = entry.has("tool") ? entry.get("tool").asString() : entry.required("executor").asString();
                    if (entry.has("tool") && !target.contains("/")) {
                        throw new IllegalArgumentException("tool must be <capsule>/<tool>");
                    }
                    Money perCall = Money.of(new BigDecimal(entry.required("per_call").asString()));
                    Instant from = entry.has("effective_from")
                            ? LocalDate.parse(entry.get("effective_from").asString()).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.EPOCH;
                    prices.add(new PriceBook.ToolPrice(target, perCall, from));
                } catch (RuntimeException e) {
                    settings.problem("tools.prices[%d] is invalid: %s".formatted(index, e.getMessage()));
                }
                index++;
            }
        });
        SecretsKey key = new SecretsKey.KeyFile(dataDirectory.resolve("tools-secrets.key"));
        Optional<String> given = settings.string("tools.secrets.key");
        if (given.isPresent()) {
            try {
                key = new SecretsKey.Given(Base64.getDecoder().decode(given.get()));
            } catch (IllegalArgumentException e) {
                // The message never quotes the value.
                settings.problem("tools.secrets.key (SOMA_TOOLS_SECRETS_KEY) must be the base64 of %d random bytes: %s".formatted(Aead.KEY_BYTES,
                        e.getMessage().contains("bytes, not") ? e.getMessage() : "not base64"));
            }
        } else if (!embedded) {
            settings.problem("tools.secrets.key (SOMA_TOOLS_SECRETS_KEY) is required with database.url: every node must seal and open tool "
                    + "secrets with the same key (e.g. openssl rand -base64 32)");
        }
        Map<String, McpServer> servers = mcpServers(settings);
        try {
            return new ToolsConfig(settings.longValue("tools.wasm.memory-bytes", d.wasmMemoryBytes(), WASM_PAGE, 4L << 30),
                    settings.duration("tools.wasm.timeout", d.wasmTimeout()),
                    settings.longValue("tools.wasm.max-output-bytes", d.wasmMaxOutputBytes(), 1, 1L << 30),
                    settings.integer("tools.wasm.max-log-bytes", d.wasmMaxLogBytes(), 0, 16 << 20),
                    settings.integer("tools.wasm.concurrency", d.wasmConcurrency(), 1, 4096),
                    settings.integer("tools.wasm.module-cache", d.moduleCacheSize(), 1, 100_000),
                    settings.duration("tools.http.connect-timeout", d.httpConnectTimeout()),
                    settings.duration("tools.http.timeout", d.httpTimeout()),
                    settings.longValue("tools.http.max-response-bytes", d.httpMaxResponseBytes(), 1, 1L << 30),
                    allow, settings.integer("tools.delta-bytes", d.deltaBytes(), 16, 1 << 20), prices, key, servers);
        } catch (IllegalArgumentException e) {
            settings.problem(e.getMessage());
            return d;
        }
    }

    /**
     * {@code tools.mcp.servers.<name>.command}, {@code .args} (a YAML list, or one string split on
     * spaces) and {@code .env.<VARIABLE>}: YAML maps are flattened into dotted keys by {@link Settings}.
     */
    private static Map<String, McpServer> mcpServers(Settings settings) {
        Map<String, String> flat = settings.withPrefix("tools.mcp.servers");
        Map<String, McpServer> servers = new TreeMap<>();
        Set<String> names = new TreeSet<>();
        flat.keySet().forEach(key -> names.add(key.contains(".") ? key.substring(0, key.indexOf('.')) : key));
        for (String name : names) {
            String command = flat.get(name + ".command");
            List<String> args = new ArrayList<>();
            settings.structured("tools.mcp.servers." + name + ".args").ifPresentOrElse(list -> list.forEach(arg -> args.add(arg.asString())),
                    () -> Optional.ofNullable(flat.get(name + ".args")).ifPresent(text -> Arrays.stream(text.trim().split("\\s+"))
                            .filter(arg -> !arg.isEmpty()).forEach(args::add)));
            Map<String, String> env = new TreeMap<>();
            flat.forEach((key, value) -> {
                if (key.startsWith(name + ".env.")) {
                    env.put(key.substring(name.length() + 5), value);
                }
            });
            List<String> unknown = flat.keySet().stream().filter(key -> key.startsWith(name + ".") && !key.equals(name + ".command")
                    && !key.equals(name + ".args") && !key.startsWith(name + ".env.")).toList();
            if (!unknown.isEmpty()) {
                settings.problem("tools.mcp.servers.%s has unknown keys %s (command, args, env)".formatted(name, unknown));
            }
            if (!SERVER_NAME.matcher(name).matches()) {
                settings.problem("tools.mcp.servers.%s: a server name is %s".formatted(name, SERVER_NAME.pattern()));
            } else if (command == null || command.isBlank()) {
                settings.problem("tools.mcp.servers.%s.command is required".formatted(name));
            } else {
                servers.put(name, new McpServer(command, args, env));
            }
        }
        return servers;
    }

    private static boolean positive(Duration duration) {
        return !duration.isNegative() && !duration.isZero();
    }
}
