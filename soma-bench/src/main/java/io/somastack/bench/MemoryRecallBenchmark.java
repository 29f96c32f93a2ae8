package io.somastack.bench;

import io.somastack.models.MiniLmEmbedder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * Memory recall end to end over HTTP, on real text: apt package descriptions and sentences of
 * the JDK's Javadoc, mixed and shuffled with a fixed seed. For each size N it remembers texts
 * through {@code POST /v1/memories} in batches of 500 until N memories exist (near-duplicates
 * become revisions, so more texts than N are sent), waits 30 s for the index's merges, warms up
 * with 100 recalls per mode, then times recalls through {@code POST /v1/memories/recall} (k = 10) in each
 * mode with held-out texts as queries, one at a time: end to end by the client, and per phase
 * (embed, search, fetch, record) by the server's {@code Server-Timing} header. recall@10 compares the vector mode with
 * an exact top 10 over the very embeddings stored in PostgreSQL. Then it measures the index
 * directory on disk and this JVM's heap after a full GC and resident set. Usage:
 * {@code MemoryRecallBenchmark [sizes] [queries]}, e.g. {@code 10000,100000 200}.
 */
public final class MemoryRecallBenchmark {
    private static final int BATCH = 500;
    private static final int WARMUP = 300;
    private static final Duration SETTLE = Duration.ofSeconds(30);
    private static final List<String> MODES = List.of("hybrid", "vector", "keyword");
    private static final List<String> PHASES = List.of("embed", "search", "fetch", "record");
    private static final double MEBIBYTE = 1024.0 * 1024.0;

    private MemoryRecallBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int[] sizes = Arrays.stream((arguments.length > 0 ? arguments[0] : "10000").split(",")).mapToInt(Integer::parseInt).toArray();
        int queries = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 200;
        List<String> apt = AptDescriptions.load();
        List<String> jdk = JdkDocSentences.load();
        List<String> texts = mixed(apt, jdk);
        // Each mode gets its own held-out queries, so none finds its query vector in the server's
        // per-tenant query cache; the last pass repeats the hybrid queries to show a cache hit.
        int heldOut = MODES.size() * queries;
        List<String> held = texts.subList(texts.size() - heldOut, texts.size());
        List<String> warm = texts.subList(texts.size() - heldOut - WARMUP, texts.size() - heldOut);
        List<String> pool = texts.subList(0, texts.size() - heldOut - WARMUP);
        System.out.printf("%,d apt descriptions + %,d JDK Javadoc sentences = %,d distinct texts; %d held out as queries%n", apt.size(),
                jdk.size(), texts.size(), queries);
        List<float[]> queryVectors = new MiniLmEmbedder().embedAll(held);
        int largest = Arrays.stream(sizes).max().orElseThrow();
        StringBuilder recallTable = new StringBuilder("""
                | memories | texts remembered/s | mode | p50 ms | p95 ms | p99 ms | recall@10 vs exact |
                |---:|---:|---|---:|---:|---:|---:|
                """);
        StringBuilder phaseTable = new StringBuilder("""
                | memories | mode | embed p50 / p95 / p99 ms | search p50 / p95 / p99 ms | fetch p50 / p95 / p99 ms | record p50 / p95 / p99 ms |
                |---:|---|---:|---:|---:|---:|
                """);
        StringBuilder resourceTable = new StringBuilder("""
                | memories | texts sent | index on disk MiB | JVM heap after GC MiB | JVM RSS MiB |
                |---:|---:|---:|---:|---:|
                """);
        String quota = "memory:\n  quota:\n    memories: %d\n    bytes: 10000000000\n".formatted(largest * 2);
        String started = Instant.now().toString();
        try (SomaStackInstance soma = SomaStackInstance.start(URI.create("http://127.0.0.1:9/v1"), quota);
                MemoryRecallHttp http = new MemoryRecallHttp(soma.port(), soma.apiKey())) {
            Path index = soma.postgresDirectory().getParent().resolve("memory-index");
            long[] before = heapAndRss();
            resourceTable.append("| 0 | 0 | %.1f | %.0f | %.0f |%n".formatted(directoryBytes(index) / MEBIBYTE, before[0] / MEBIBYTE,
                    before[1] / MEBIBYTE));
            int created = 0;
            int sent = 0;
            for (int size : sizes) {
                long start = System.nanoTime();
                int sentBefore = sent;
                while (created < size) {
                    if (sent >= pool.size()) {
                        throw new IllegalStateException("ran out of texts at %,d memories".formatted(created));
                    }
                    List<Map<String, Object>> batch = new ArrayList<>();
                    for (int i = sent; i < Math.min(pool.size(), sent + Math.min(BATCH, size - created)); i++) {
                        batch.add(Map.of("text", pool.get(i), "scope", Map.of("kind", "tenant"),
                                "provenance", Map.of("kind", "document", "reference", "text:" + i)));
                    }
                    JsonNode answer = soma.post("/v1/memories", Map.of("memories", batch));
                    for (JsonNode result : answer.get("data")) {
                        created += result.get("outcome").asString().equals("created") ? 1 : 0;
                    }
                    sent += batch.size();
                    if ((sent / BATCH) % 20 == 0) {
                        System.out.printf("  %,d texts sent, %,d memories of %,d%n", sent, created, size);
                    }
                }
                double rate = (sent - sentBefore) / ((System.nanoTime() - start) / 1e9);
                // Let the index finish the merges the writes started, so recall is measured on a settled index.
                Thread.sleep(SETTLE.toMillis());
                for (int i = 0; i < WARMUP; i++) {
                    http.recall(warm.get(i), MODES.get(i % MODES.size()));
                }
                MemoryExactSearch exact = MemoryExactSearch.load(soma.postgresDirectory());
                for (int pass = 0; pass <= MODES.size(); pass++) {
                    String mode = MODES.get(pass % MODES.size());
                    int first = (pass % MODES.size()) * queries;
                    String label = pass < MODES.size() ? mode : mode + " (repeated queries)";
                    long[] nanos = new long[queries];
                    double[][] phases = new double[PHASES.size()][queries];
                    double recallSum = 0;
                    for (int q = 0; q < queries; q++) {
                        MemoryRecallHttp.Answer answer = http.recall(held.get(first + q), mode);
                        nanos[q] = answer.nanos();
                        for (int p = 0; p < PHASES.size(); p++) {
                            phases[p][q] = answer.phaseMillis().getOrDefault(PHASES.get(p), Double.NaN);
                        }
                        if (mode.equals("vector")) {
                            Set<String> returned = new HashSet<>(answer.body().get("facts").findValuesAsString("memory_id"));
                            Set<String> truth = exact.topTen(queryVectors.get(first + q));
                            returned.retainAll(truth);
                            recallSum += returned.size() / (double) truth.size();
                        }
                    }
                    Arrays.sort(nanos);
                    String row = "| %,d | %.0f | %s | %.2f | %.2f | %.2f | %s |%n".formatted(exact.size(), rate, label, nanos[index(queries, 0.50)] / 1e6,
                            nanos[index(queries, 0.95)] / 1e6, nanos[index(queries, 0.99)] / 1e6,
                            mode.equals("vector") ? "%.3f".formatted(recallSum / queries) : "");
                    System.out.print(row);
                    recallTable.append(row);
                    StringBuilder phaseRow = new StringBuilder("| %,d | %s |".formatted(exact.size(), label));
                    for (double[] phase : phases) {
                        Arrays.sort(phase);
                        phaseRow.append(" %.2f / %.2f / %.2f |".formatted(phase[index(queries, 0.50)], phase[index(queries, 0.95)],
                                phase[index(queries, 0.99)]));
                    }
                    System.out.println(phaseRow);
                    phaseTable.append(phaseRow).append('\n');
                }
                int memories = exact.size();
                exact = null;
                long[] now = heapAndRss();
                String row = "| %,d | %,d | %.1f | %.0f | %.0f |%n".formatted(memories, sent, directoryBytes(index) / MEBIBYTE, now[0] / MEBIBYTE,
                        now[1] / MEBIBYTE);
                System.out.print(row);
                resourceTable.append(row);
            }
        }
        String report = "Run started %s; %s%n%n%s%n%s%n%s".formatted(started, describe(Machine.current()), recallTable, phaseTable, resourceTable);
        System.out.println();
        System.out.println(report);
        Files.writeString(Path.of("soma-bench/target/memory-recall.md"), report);
        System.exit(0);
    }

    /** Both sources, each text once, shuffled together with a fixed seed. */
    static List<String> mixed(List<String> first, List<String> second) {
        Set<String> distinct = new LinkedHashSet<>(first);
        distinct.addAll(second);
        List<String> texts = new ArrayList<>(distinct);
        Collections.shuffle(texts, new Random(42));
        return texts;
    }

    private static int index(int count, double quantile) {
        return Math.min(count - 1, (int) Math.ceil(quantile * count) - 1);
    }

    /** This JVM's heap in use after a full collection, and its resident set ({@code VmRSS}). */
    private static long[] heapAndRss() throws IOException {
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long rss = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(line -> line.startsWith("VmRSS:")).findFirst()
                .map(line -> Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024).orElse(0L);
        return new long[] {heap, rss};
    }

    private static long directoryBytes(Path directory) {
        try (Stream<Path> files = Files.walk(directory)) {
            return files.filter(Files::isRegularFile).mapToLong(file -> file.toFile().length()).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String describe(Machine machine) {
        return "%d cores (%s), %.1f GiB RAM, %s, %s, JVM flags %s, max heap %.0f MiB".formatted(machine.cores(), machine.cpuModel(),
                machine.memoryBytes() / (MEBIBYTE * 1024), machine.operatingSystem(), machine.jdk(), machine.jvmArguments(),
                machine.maxHeapBytes() / MEBIBYTE);
    }
}
