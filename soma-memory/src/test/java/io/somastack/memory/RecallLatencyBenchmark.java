package io.somastack.memory;

import io.somastack.kernel.TenantId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A small, preliminary recall latency benchmark (not soma-bench's): remembers N sentences of
 * real text (one per line of a file, e.g. package descriptions from {@code apt-cache
 * dumpavail}), then times in-process recalls end to end (embed, search, fetch, record) and
 * prints p50/p95/p99 per mode. Usage: {@code RecallLatencyBenchmark <sentences.txt> [N] [recalls]}.
 */
public final class RecallLatencyBenchmark {
    private RecallLatencyBenchmark() {
    }

    public static void main(String[] arguments) throws IOException {
        List<String> lines = Files.readAllLines(Path.of(arguments[0])).stream().map(String::strip)
                .filter(line -> line.length() > 20 && line.length() < 500).distinct().toList();
        int count = Math.min(lines.size(), arguments.length > 1 ? Integer.parseInt(arguments[1]) : 10_000);
        int recalls = arguments.length > 2 ? Integer.parseInt(arguments[2]) : 500;
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")).withQuota(10_000_000, Long.MAX_VALUE))) {
            TenantId tenant = TestMemory.tenant();
            Caller caller = TestMemory.caller(tenant);
            Scope scope = Scope.tenant();
            long started = System.nanoTime();
            for (int from = 0; from < count; from += 500) {
                List<NewMemory> batch = lines.subList(from, Math.min(count, from + 500)).stream()
                        .map(line -> NewMemory.of(line, scope, SourceKind.DOCUMENT)).toList();
                soma.memories().remember(caller, batch, Optional.empty());
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            System.out.printf("remembered %d memories in %.1f s (%.0f/s)%n", count, seconds, count / seconds);
            for (RecallMode mode : RecallMode.values()) {
                long[] nanos = new long[recalls];
                for (int i = 0; i < recalls; i++) {
                    String query = lines.get((i * 7919) % count);
                    long start = System.nanoTime();
                    soma.memories().recall(caller, RecallQuery.of(query, List.of(scope), 10, mode));
                    nanos[i] = System.nanoTime() - start;
                }
                Arrays.sort(nanos);
                System.out.printf("%-7s recall k=10 over %d: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms%n", mode.wireName(), count,
                        percentile(nanos, 0.50), percentile(nanos, 0.95), percentile(nanos, 0.99));
            }
        }
        System.exit(0);
    }

    private static double percentile(long[] sorted, double quantile) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1)] / 1e6;
    }
}
