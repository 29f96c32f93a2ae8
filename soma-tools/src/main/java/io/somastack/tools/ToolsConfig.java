package io.somastack.tools;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Money;
import io.somastack.kernel.Settings;
import io.somastack.metering.PriceBook;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 *   <tr><td>{@code tools.prices}</td><td>per-call prices: a list of {@code {tool: <capsule>/<tool> | executor: wasm|http|mcp,
 *       per_call: "0.001", effective_from?: 2026-01-01}}; unpriced calls are free</td></tr>
 * </table>
 */
public record ToolsConfig(long wasmMemoryBytes, Duration wasmTimeout, long wasmMaxOutputBytes, int wasmMaxLogBytes, int wasmConcurrency,
        int moduleCacheSize, Duration httpConnectTimeout, Duration httpTimeout, long httpMaxResponseBytes, List<String> allowAddresses,
        int deltaBytes, List<PriceBook.ToolPrice> prices) {
    public static final long WASM_PAGE = 65_536;

    public ToolsConfig {
        requireNonNull(wasmTimeout, "wasmTimeout is null");
        requireNonNull(httpConnectTimeout, "httpConnectTimeout is null");
        requireNonNull(httpTimeout, "httpTimeout is null");
        allowAddresses = List.copyOf(allowAddresses);
        prices = List.copyOf(prices);
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
                1L << 20, List.of(), 16 << 10, List.of());
    }

    /** The most pages of linear memory a module may have. */
    public int wasmMaxPages() {
        return (int) Math.min(65_536, wasmMemoryBytes / WASM_PAGE);
    }

    /** This config with the SSRF guard letting {@code addresses} through (tests allow-list 127.0.0.1). */
    public ToolsConfig withAllowAddresses(List<String> addresses) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, addresses, deltaBytes, prices);
    }

    /** This config with another WebAssembly wall time and memory limit. */
    public ToolsConfig withWasmLimits(Duration timeout, long memoryBytes, long maxOutputBytes) {
        return new ToolsConfig(memoryBytes, timeout, maxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, allowAddresses, deltaBytes, prices);
    }

    /** This config with another HTTP timeout and response cap. */
    public ToolsConfig withHttpLimits(Duration connectTimeout, Duration timeout, long maxResponseBytes) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                connectTimeout, timeout, maxResponseBytes, allowAddresses, deltaBytes, prices);
    }

    /** This config with per-call prices. */
    public ToolsConfig withPrices(List<PriceBook.ToolPrice> toolPrices) {
        return new ToolsConfig(wasmMemoryBytes, wasmTimeout, wasmMaxOutputBytes, wasmMaxLogBytes, wasmConcurrency, moduleCacheSize,
                httpConnectTimeout, httpTimeout, httpMaxResponseBytes, allowAddresses, deltaBytes, toolPrices);
    }

    /** Reads the {@code tools.*} keys; problems are collected in {@code settings}. */
    public static ToolsConfig from(Settings settings) {
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
                    allow, settings.integer("tools.delta-bytes", d.deltaBytes(), 16, 1 << 20), prices);
        } catch (IllegalArgumentException e) {
            settings.problem(e.getMessage());
            return d;
        }
    }

    private static boolean positive(Duration duration) {
        return !duration.isNegative() && !duration.isZero();
    }
}
