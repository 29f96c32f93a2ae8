package io.somastack.bench;

import io.somastack.kernel.Json;
import io.somastack.memory.internal.QueryEmbeddings;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a recall's time goes outside its server phases, and what remember costs outside the
 * embedder. Remembers {@code memories} real texts (those of {@link MemoryRecallBenchmark}) in
 * batches of 500 and reports texts/s with the server's own split (embed; write, the transaction,
 * and within it the near-duplicate checks and the inserts; the index applying the batch; the rest),
 * from the {@code soma.memory.phase} timers. Then it
 * times, one call at a time, passes over the same held-out queries whose vectors the server has
 * cached (so the embedder's variance is out of the way), each pass one way of calling:
 * <ul>
 *   <li>vector recall through the JDK's {@code HttpClient} (as {@link MemoryRecallHttp} and so
 *       {@link MemoryRecallBenchmark} call it), with the sum of the {@code Server-Timing} phases;
 *   <li>the same request over a raw keep-alive socket ({@link HttpConnection}), the cheapest client;
 *   <li>an authenticated recall refused with 400 ({@code k = 0}): edge, authentication, rate limit,
 *       parsing and the problem document, no memory work;
 *   <li>{@code GET /healthz}: Jetty and Javalin and the edge's before and after handlers only.
 * </ul>
 * For each pass also the mean of SomaStack's {@code http.server.requests} timer for the route (from
 * the edge's before-handler to its after-handler, so inside SomaStack but outside Jetty's connection
 * handling) and the JVM's GC time. The passes run twice, the second time in reverse order. Usage:
 * {@code RecallOverheadBenchmark [memories] [queries]}, e.g. {@code 10000 200}; at most {@value #CACHED_QUERIES}
 * queries, as many as the server caches per tenant (with more, every pass misses the cache and embeds again).
 */
public final class RecallOverheadBenchmark {
    private static final int BATCH = 500;
    /** How many query vectors recall caches per tenant. */
    static final int CACHED_QUERIES = QueryEmbeddings.PER_TENANT;
    private static final String RECALL = "/v1/memories/recall";
    /** Remember's server phases; duplicates and store are inside write, and absent (0) on servers that do not time them. */
    private static final List<String> REMEMBER_PHASES = List.of("embed", "write", "duplicates", "store", "index");

    private RecallOverheadBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int memories = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 10_000;
        int queries = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 200;
        if (queries < 1 || queries > CACHED_QUERIES) {
            throw new IllegalArgumentException("queries must be 1 to %d, the query vectors the server caches per tenant (got %d)"
                    .formatted(CACHED_QUERIES, queries));
        }
        System.out.printf("RecallOverheadBenchmark %d %d; run started %s; load %s%n%s%n%n", memories, queries, Instant.now(),
                Machine.loadAverage(), MemoryRecallBenchmark.describe(Machine.current()));
        List<String> texts = MemoryRecallBenchmark.mixed(AptDescriptions.load(), JdkDocSentences.load());
        List<String> held = texts.subList(texts.size() - queries, texts.size());
        String quota = "memory:\n  quota:\n    memories: %d\n    bytes: 10000000000\n".formatted(memories * 2);
        try (SomaStackInstance soma = SomaStackInstance.start(URI.create("http://127.0.0.1:9/v1"), quota);
                MemoryRecallHttp http = new MemoryRecallHttp(soma.port(), soma.apiKey())) {
            remember(soma, texts, memories);
            Thread.sleep(10_000);
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", soma.port());
            List<byte[]> rawRecalls = held.stream().map(query -> HttpConnection.post("127.0.0.1", soma.port(), RECALL, soma.apiKey(),
                    recallBody(query, 10))).toList();
            byte[] refused = HttpConnection.post("127.0.0.1", soma.port(), RECALL, soma.apiKey(), recallBody(held.getFirst(), 0));
            byte[] health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n".formatted(soma.port()).getBytes();
            for (String query : held) {
                http.recall(query, "vector");
            }
            Map<String, Pass> passes = new LinkedHashMap<>();
            passes.put("vector recall, JDK HttpClient (cached query vector)", new Pass(RECALL, "200", q -> {
                MemoryRecallHttp.Answer answer = http.recall(held.get(q), "vector");
                return new long[] {answer.nanos(), Math.round(answer.phaseMillis().values().stream().mapToDouble(Double::doubleValue).sum() * 1e6)};
            }));
            try (HttpConnection connection = HttpConnection.open(address, Duration.ofSeconds(60))) {
                passes.put("vector recall, raw socket (cached query vector)", new Pass(RECALL, "200", q -> exchange(connection, rawRecalls.get(q), 200)));
                passes.put("recall refused with 400 (k = 0), raw socket", new Pass(RECALL, "400", q -> exchange(connection, refused, 400)));
                passes.put("GET /healthz, raw socket", new Pass("/healthz", "200", q -> exchange(connection, health, 200)));
                System.out.println("| pass (round) | p50 ms | p95 ms | p99 ms | mean ms | server phases mean ms | edge timer mean ms | GC ms |");
                System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
                List<String> order = new ArrayList<>(passes.keySet());
                for (int round = 1; round <= 2; round++) {
                    for (String name : order) {
                        System.out.println(passes.get(name).run(soma, name + " (" + round + ")", queries));
                    }
                    order = order.reversed();
                }
            }
        }
        System.out.printf("%nRun ended %s; load %s%n", Instant.now(), Machine.loadAverage());
        System.exit(0);
    }

    /** Remembers texts in batches until {@code memories} exist; prints texts/s and the server's split of the time. */
    private static void remember(SomaStackInstance soma, List<String> texts, int memories) {
        Map<String, double[]> before = phases(soma.metrics());
        long start = System.nanoTime();
        int created = 0;
        int sent = 0;
        while (created < memories) {
            List<Map<String, Object>> batch = new ArrayList<>();
            for (int i = sent; i < sent + BATCH; i++) {
                batch.add(Map.of("text", texts.get(i), "scope", Map.of("kind", "tenant"),
                        "provenance", Map.of("kind", "document", "reference", "text:" + i)));
            }
            for (var result : soma.post("/v1/memories", Map.of("memories", batch)).get("data")) {
                created += result.get("outcome").asString().equals("created") ? 1 : 0;
            }
            sent += batch.size();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<String, double[]> after = phases(soma.metrics());
        StringBuilder split = new StringBuilder();
        double server = 0;
        for (String phase : REMEMBER_PHASES) {
            double spent = after.get(phase)[1] - before.get(phase)[1];
            server += phase.equals("embed") || phase.equals("write") || phase.equals("index") ? spent : 0;
            split.append("%s %.0f ms, ".formatted(phase, spent * 1000 * BATCH / sent));
        }
        System.out.printf("remembered %,d texts (%,d memories) in %.1f s: %.0f texts/s; server time per batch of %d: %srest (HTTP, JSON, checks) %.0f ms%n%n",
                sent, created, seconds, sent / seconds, BATCH, split, (seconds - server) * 1000 * BATCH / sent);
    }

    /** The {@code soma.memory.phase} timers of remember: phase to {count, seconds}. */
    private static Map<String, double[]> phases(String prometheus) {
        Map<String, double[]> phases = new LinkedHashMap<>();
        REMEMBER_PHASES.forEach(phase -> phases.put(phase, new double[2]));
        for (String line : prometheus.split("\n")) {
            if (!line.startsWith("soma_memory_phase_seconds_") || !line.contains("operation=\"remember\"")) {
                continue;
            }
            for (String phase : REMEMBER_PHASES) {
                if (!line.contains("phase=\"" + phase + "\"")) {
                    continue;
                }
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                if (line.startsWith("soma_memory_phase_seconds_count{")) {
                    phases.get(phase)[0] += value;
                } else if (line.startsWith("soma_memory_phase_seconds_sum{")) {
                    phases.get(phase)[1] += value;
                }
            }
        }
        return phases;
    }

    private static byte[] recallBody(String query, int k) {
        return Json.bytes(Map.of("query", query, "scopes", List.of(Map.of("kind", "tenant")), "k", k, "mode", "vector"));
    }

    private static long[] exchange(HttpConnection connection, byte[] request, int expected) {
        try {
            long start = System.nanoTime();
            int status = connection.exchange(request);
            long nanos = System.nanoTime() - start;
            if (status != expected) {
                throw new IllegalStateException("expected %d, got %d".formatted(expected, status));
            }
            return new long[] {nanos, 0};
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** One way of calling, timed over every query; {@code call} returns {end-to-end nanos, server phase nanos}. */
    private record Pass(String route, String status, java.util.function.IntFunction<long[]> call) {
        String run(SomaStackInstance soma, String label, int queries) {
            double[] edgeBefore = edgeTimer(soma.metrics(), route, status);
            long gcBefore = gcMillis();
            long[] nanos = new long[queries];
            long phases = 0;
            for (int q = 0; q < queries; q++) {
                long[] result = call.apply(q);
                nanos[q] = result[0];
                phases += result[1];
            }
            long gc = gcMillis() - gcBefore;
            double[] edgeAfter = edgeTimer(soma.metrics(), route, status);
            double edgeMean = (edgeAfter[1] - edgeBefore[1]) / Math.max(1, edgeAfter[0] - edgeBefore[0]) * 1000;
            double mean = Arrays.stream(nanos).average().orElse(0) / 1e6;
            Arrays.sort(nanos);
            return "| %s | %.2f | %.2f | %.2f | %.2f | %s | %.2f | %d |".formatted(label, nanos[index(queries, 0.5)] / 1e6,
                    nanos[index(queries, 0.95)] / 1e6, nanos[index(queries, 0.99)] / 1e6, mean, phases == 0 ? "" : "%.2f".formatted(phases / 1e6 / queries),
                    edgeMean, gc);
        }
    }

    /** SomaStack's {@code http.server.requests} timer of one route and status: {count, seconds}. */
    private static double[] edgeTimer(String prometheus, String route, String status) {
        double[] timer = new double[2];
        for (String line : prometheus.split("\n")) {
            if (!line.contains("route=\"" + route + "\"") || !line.contains("status=\"" + status + "\"")) {
                continue;
            }
            double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (line.startsWith("http_server_requests_seconds_count{")) {
                timer[0] += value;
            } else if (line.startsWith("http_server_requests_seconds_sum{")) {
                timer[1] += value;
            }
        }
        return timer;
    }

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    private static int index(int count, double quantile) {
        return Math.min(count - 1, (int) Math.ceil(quantile * count) - 1);
    }
}
