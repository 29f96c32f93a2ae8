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
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Memory recall end to end over HTTP, on real text ({@link RecallTexts}: apt package
 * descriptions, the JDK's Javadoc sentences and Debian's packaged documentation, mixed and
 * shuffled with a fixed seed). For each size N it remembers texts through
 * {@code POST /v1/memories} in batches of 500 until N memories exist ({@link MemorySeeding}),
 * waits 30 s for the index's merges, warms up with 300 recalls, then times recalls through
 * {@code POST /v1/memories/recall} (k = 10) in each mode with held-out texts as queries, one at a
 * time: end to end by the client, and per phase (embed, search, fetch, record) by the server's
 * {@code Server-Timing} header. recall@10 compares the vector and hybrid answers with an exact
 * top 10 over the very embeddings stored in PostgreSQL. Then it measures the index directory on
 * disk and this JVM's heap after a full GC and resident set.
 *
 * <p>Seeding 1M memories takes most of an hour, so it can be split from the measurement
 * ({@link MemoryRecallOptions#USAGE}): {@code --data-dir DIR --seed-only --size N} seeds a kept
 * data directory and resumes where an interrupted run stopped; {@code --data-dir DIR
 * --measure-only} starts SomaStack on that directory as it is and measures, e.g. later in a
 * quiet window. The command and the machine's load are printed at start and end.
 */
public final class MemoryRecallBenchmark {
    private static final Duration SETTLE = Duration.ofSeconds(30);
    private static final Duration READY = Duration.ofMinutes(30);
    private static final List<String> MODES = List.of("hybrid", "vector", "keyword");
    private static final List<String> PHASES = List.of("embed", "search", "fetch", "record");
    private static final double MEBIBYTE = 1024.0 * 1024.0;
    private static final URI NO_UPSTREAM = URI.create("http://127.0.0.1:9/v1");

    private final StringBuilder recallTable = new StringBuilder("""
            | memories | texts remembered/s | mode | p50 ms | p95 ms | p99 ms | recall@10 vs exact |
            |---:|---:|---|---:|---:|---:|---:|
            """);
    private final StringBuilder phaseTable = new StringBuilder("""
            | memories | mode | embed p50 / p95 / p99 ms | search p50 / p95 / p99 ms | fetch p50 / p95 / p99 ms | record p50 / p95 / p99 ms |
            |---:|---|---:|---:|---:|---:|
            """);
    private final StringBuilder resourceTable = new StringBuilder("""
            | memories | texts sent | index on disk MiB | JVM heap after GC MiB | JVM RSS MiB |
            |---:|---:|---:|---:|---:|
            """);

    private MemoryRecallBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        MemoryRecallOptions options;
        try {
            options = MemoryRecallOptions.parse(List.of(arguments));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        String command = "MemoryRecallBenchmark " + String.join(" ", arguments);
        String started = "Started %s, load average %s; %s".formatted(Instant.now(), Machine.loadAverage(), describe(Machine.current()));
        System.out.printf("Command: %s%n%s%n", command, started);
        MemoryRecallBenchmark benchmark = new MemoryRecallBenchmark();
        String body = switch (options.phase()) {
            case SEED_AND_MEASURE -> benchmark.seedAndMeasure(options);
            case SEED_ONLY -> seedOnly(options);
            case MEASURE_ONLY -> benchmark.measureOnly(options);
        };
        String ended = "Ended %s, load average %s".formatted(Instant.now(), Machine.loadAverage());
        String report = "Command: `%s`%n%n%s%n%n%s%n%s%n".formatted(command, started, body, ended);
        System.out.println();
        System.out.println(report);
        if (options.phase() != MemoryRecallOptions.Phase.SEED_ONLY) {
            Files.writeString(Path.of(Files.isDirectory(Path.of("soma-bench")) ? "soma-bench/target" : "target", "memory-recall.md"), report);
        }
        System.exit(0);
    }

    /** The one-shot form: a fresh data directory, seeded to each size in turn and measured at each, deleted after. */
    private String seedAndMeasure(MemoryRecallOptions options) throws Exception {
        RecallTexts texts = RecallTexts.mixed();
        int largest = options.sizes().stream().mapToInt(Integer::intValue).max().orElseThrow();
        try (SomaStackInstance soma = SomaStackInstance.start(NO_UPSTREAM, quota(largest));
                MemoryRecallHttp http = new MemoryRecallHttp(soma.port(), soma.apiKey())) {
            resources(soma, 0);
            MemorySeeding.Position position = new MemorySeeding.Position(0, 0);
            for (int round = 0; round < options.sizes().size(); round++) {
                int size = options.sizes().get(round);
                MemorySeeding.Result seeded = MemorySeeding.seed(soma, texts.pool(), position, size);
                position = seeded.end();
                // Let the index finish the merges the writes started, so recall is measured on a settled index.
                Thread.sleep(SETTLE.toMillis());
                measure(soma, http, texts, options.queries(), round, "%.0f".formatted(seeded.textsPerSecond()));
                resources(soma, position.nextText());
            }
        }
        return tables();
    }

    /** Seeds the kept data directory up to the size, resuming after the texts it already holds. */
    private static String seedOnly(MemoryRecallOptions options) {
        Path directory = options.dataDirectory().orElseThrow();
        int target = options.sizes().getFirst();
        RecallTexts texts = RecallTexts.in(directory);
        try (SomaStackInstance soma = SomaStackInstance.start(directory, true, NO_UPSTREAM, quota(target))) {
            soma.closeOnExit();
            MemorySeeding.Position from = MemorySeeding.resumePoint(soma);
            System.out.printf("%s holds %,d memories; sending texts from text:%,d of %,d%n", directory, from.memories(), from.nextText(),
                    texts.pool().size());
            long started = System.nanoTime();
            MemorySeeding.Result result = MemorySeeding.seed(soma, texts.pool(), from, target);
            return "Seeded %s: %,d memories now (%,d created by this run from %,d texts sent) in %.0f s: %.0f texts/s, %.0f memories/s".formatted(
                    directory, result.end().memories(), result.created(), result.textsSent(), (System.nanoTime() - started) / 1e9,
                    result.textsPerSecond(), result.created() / ((System.nanoTime() - started) / 1e9));
        }
    }

    /** Starts SomaStack on the kept data directory as it is, waits until it is ready, and measures. */
    private String measureOnly(MemoryRecallOptions options) throws Exception {
        Path directory = options.dataDirectory().orElseThrow();
        if (!Files.exists(directory.resolve(RecallTexts.FILE))) {
            throw new IllegalStateException("%s was not seeded by --seed-only (no %s)".formatted(directory, RecallTexts.FILE));
        }
        RecallTexts texts = RecallTexts.in(directory);
        long starting = System.nanoTime();
        try (SomaStackInstance soma = SomaStackInstance.start(directory, true, NO_UPSTREAM, quota(10_000_000));
                MemoryRecallHttp http = new MemoryRecallHttp(soma.port(), soma.apiKey())) {
            soma.awaitReady(READY);
            System.out.printf("SomaStack ready on %s after %.1f s%n", directory, (System.nanoTime() - starting) / 1e9);
            Thread.sleep(SETTLE.toMillis());
            measure(soma, http, texts, options.queries(), 0, "seeded before");
            resources(soma, MemorySeeding.resumePoint(soma).nextText());
        }
        return tables();
    }

    private static String quota(int memories) {
        return "memory:\n  quota:\n    memories: %d\n    bytes: 100000000000\n".formatted(Math.max(memories * 2L, 10_000L));
    }

    /** Warm-up, then each mode's held-out queries timed one at a time; recall@10 of vector and hybrid against the exact top 10. */
    private void measure(SomaStackInstance soma, MemoryRecallHttp http, RecallTexts texts, int queries, int round, String rate) {
        for (int i = 0; i < RecallTexts.WARMUP; i++) {
            http.recall(texts.warmup().get(i), MODES.get(i % MODES.size()));
        }
        long loading = System.nanoTime();
        MemoryExactSearch exact = MemoryExactSearch.load(soma.postgresDirectory());
        long searching = System.nanoTime();
        List<String> judged = new ArrayList<>(texts.queries(MODES.indexOf("hybrid"), queries, round));
        judged.addAll(texts.queries(MODES.indexOf("vector"), queries, round));
        List<float[]> vectors = new MiniLmEmbedder().embedAll(judged);
        List<Set<String>> truth = exact.topTen(vectors);
        System.out.printf("Exact search: %,d stored embeddings read from PostgreSQL in %.1f s; exact top 10 of %d queries in %.1f s%n",
                exact.size(), (searching - loading) / 1e9, judged.size(), (System.nanoTime() - searching) / 1e9);
        int memories = exact.size();
        exact = null;
        for (int pass = 0; pass <= MODES.size(); pass++) {
            String mode = MODES.get(pass % MODES.size());
            List<String> asked = texts.queries(pass % MODES.size(), queries, round);
            String label = pass < MODES.size() ? mode : mode + " (repeated queries)";
            long[] nanos = new long[queries];
            double[][] phases = new double[PHASES.size()][queries];
            double recallSum = 0;
            for (int q = 0; q < queries; q++) {
                MemoryRecallHttp.Answer answer = http.recall(asked.get(q), mode);
                nanos[q] = answer.nanos();
                for (int p = 0; p < PHASES.size(); p++) {
                    phases[p][q] = answer.phaseMillis().getOrDefault(PHASES.get(p), Double.NaN);
                }
                int judgedIndex = judged.indexOf(asked.get(q));
                if (!mode.equals("keyword") && judgedIndex >= 0) {
                    Set<String> returned = new HashSet<>(answer.body().get("facts").findValuesAsString("memory_id"));
                    Set<String> top = truth.get(judgedIndex);
                    returned.retainAll(top);
                    recallSum += returned.size() / (double) top.size();
                }
            }
            Arrays.sort(nanos);
            String row = "| %,d | %s | %s | %.2f | %.2f | %.2f | %s |%n".formatted(memories, rate, label, nanos[index(queries, 0.50)] / 1e6,
                    nanos[index(queries, 0.95)] / 1e6, nanos[index(queries, 0.99)] / 1e6,
                    mode.equals("keyword") ? "" : "%.3f".formatted(recallSum / queries));
            System.out.print(row);
            recallTable.append(row);
            StringBuilder phaseRow = new StringBuilder("| %,d | %s |".formatted(memories, label));
            for (double[] phase : phases) {
                Arrays.sort(phase);
                phaseRow.append(" %.2f / %.2f / %.2f |".formatted(phase[index(queries, 0.50)], phase[index(queries, 0.95)],
                        phase[index(queries, 0.99)]));
            }
            System.out.println(phaseRow);
            phaseTable.append(phaseRow).append('\n');
        }
    }

    private void resources(SomaStackInstance soma, int textsSent) throws IOException {
        Path index = soma.postgresDirectory().getParent().resolve("memory-index");
        int memories = MemorySeeding.resumePoint(soma).memories();
        long[] now = heapAndRss();
        String row = "| %,d | %,d | %.1f | %.0f | %.0f |%n".formatted(memories, textsSent, directoryBytes(index) / MEBIBYTE, now[0] / MEBIBYTE,
                now[1] / MEBIBYTE);
        System.out.print(row);
        resourceTable.append(row);
    }

    private String tables() {
        return "%s%n%s%n%s".formatted(recallTable, phaseTable, resourceTable);
    }

    /** Both sources, each text once, shuffled together with a fixed seed. */
    static List<String> mixed(List<String> first, List<String> second) {
        Set<String> distinct = new LinkedHashSet<>(first);
        distinct.addAll(second);
        List<String> texts = new ArrayList<>(distinct);
        Collections.shuffle(texts, new Random(42));
        return texts;
    }

    /** The nearest-rank index of {@code quantile} (0 to 1) in {@code count} sorted values. */
    static int index(int count, double quantile) {
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
