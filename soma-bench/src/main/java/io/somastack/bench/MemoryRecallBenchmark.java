package io.somastack.bench;

import io.somastack.memory.MiniLmEmbedder;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Memory recall end to end over HTTP, on real text (apt package descriptions): remember N
 * memories through {@code POST /v1/memories} in batches of 500, then time recalls through
 * {@code POST /v1/memories/recall} (k = 10) in each mode with held-out descriptions as
 * queries, one at a time, and measure recall@10 of the vector index against exact search
 * over the very embeddings stored in PostgreSQL. Usage:
 * {@code GatewayOverheadBenchmark}'s classpath, main {@code io.somastack.bench.MemoryRecallBenchmark [sizes] [queries]},
 * e.g. {@code 10000,50000 200}.
 */
public final class MemoryRecallBenchmark {
    private static final int BATCH = 500;

    private MemoryRecallBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int[] sizes = Arrays.stream((arguments.length > 0 ? arguments[0] : "10000").split(",")).mapToInt(Integer::parseInt).toArray();
        int queries = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 200;
        List<String> texts = AptDescriptions.load();
        int largest = Arrays.stream(sizes).max().orElseThrow();
        if (texts.size() < largest + queries) {
            throw new IllegalStateException("only %d distinct descriptions for %d memories and %d queries".formatted(texts.size(), largest, queries));
        }
        List<String> held = texts.subList(texts.size() - queries, texts.size());
        System.out.printf("%d distinct descriptions; %d held out as queries%n", texts.size(), queries);
        MiniLmEmbedder embedder = new MiniLmEmbedder();
        List<float[]> queryVectors = embedder.embedAll(held);
        StringBuilder table = new StringBuilder("| memories | remember/s | mode | p50 ms | p95 ms | p99 ms | recall@10 vs exact |\n|---:|---:|---|---:|---:|---:|---:|\n");
        String quota = "memory:\n  quota:\n    memories: %d\n    bytes: 10000000000\n".formatted(largest * 2);
        try (SomaStackInstance soma = SomaStackInstance.start(URI.create("http://127.0.0.1:9/v1"), quota)) {
            int stored = 0;
            for (int size : sizes) {
                long started = System.nanoTime();
                for (int from = stored; from < size; from += BATCH) {
                    List<Map<String, Object>> batch = new ArrayList<>();
                    for (int i = from; i < Math.min(size, from + BATCH); i++) {
                        batch.add(Map.of("text", texts.get(i), "scope", Map.of("kind", "tenant"),
                                "provenance", Map.of("kind", "document", "reference", "apt:" + i)));
                    }
                    soma.post("/v1/memories", Map.of("memories", batch));
                    if ((from / BATCH) % 20 == 0) {
                        System.out.printf("  remembered %d of %d%n", from + batch.size(), size);
                    }
                }
                double rate = (size - stored) / ((System.nanoTime() - started) / 1e9);
                stored = size;
                Map<String, float[]> exact = storedVectors(soma);
                for (String mode : List.of("hybrid", "vector", "keyword")) {
                    long[] nanos = new long[queries];
                    double recallSum = 0;
                    for (int q = 0; q < queries; q++) {
                        long start = System.nanoTime();
                        JsonNode answer = soma.post("/v1/memories/recall", Map.of("query", held.get(q),
                                "scopes", List.of(Map.of("kind", "tenant")), "k", 10, "mode", mode));
                        nanos[q] = System.nanoTime() - start;
                        if (mode.equals("vector")) {
                            Set<String> returned = new HashSet<>(answer.get("facts").findValuesAsString("memory_id"));
                            Set<String> truth = topTen(exact, queryVectors.get(q));
                            returned.retainAll(truth);
                            recallSum += returned.size() / (double) truth.size();
                        }
                    }
                    Arrays.sort(nanos);
                    String recall = mode.equals("vector") ? "%.3f".formatted(recallSum / queries) : "";
                    String row = "| %,d | %.0f | %s | %.2f | %.2f | %.2f | %s |%n".formatted(exact.size(), rate, mode,
                            percentile(nanos, 0.50), percentile(nanos, 0.95), percentile(nanos, 0.99), recall);
                    System.out.print(row);
                    table.append(row);
                }
            }
        }
        System.out.println();
        System.out.println(table);
        Files.writeString(java.nio.file.Path.of("soma-bench/target/memory-recall.md"), table.toString());
        System.exit(0);
    }

    /** The current revision's embedding of every live memory, read from PostgreSQL. */
    private static Map<String, float[]> storedVectors(SomaStackInstance soma) throws Exception {
        String port = Files.readAllLines(soma.postgresDirectory().resolve("postmaster.pid")).get(3).strip();
        Map<String, float[]> vectors = new java.util.HashMap<>();
        try (Connection connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("""
                        SELECT m.id, r.embedding FROM memories m JOIN memory_revisions r ON r.id = m.current_revision_id
                        WHERE m.deleted_at IS NULL""")) {
            while (rs.next()) {
                byte[] bytes = rs.getBytes(2);
                float[] vector = new float[bytes.length / 4];
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(vector);
                vectors.put(rs.getString(1), vector);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read stored embeddings: " + e.getMessage(), e);
        }
        return vectors;
    }

    private static Set<String> topTen(Map<String, float[]> vectors, float[] query) {
        return vectors.entrySet().stream()
                .sorted((left, right) -> Double.compare(dot(right.getValue(), query), dot(left.getValue(), query)))
                .limit(10).map(Map.Entry::getKey).collect(java.util.stream.Collectors.toSet());
    }

    private static double dot(float[] left, float[] right) {
        double sum = 0;
        for (int i = 0; i < left.length; i++) {
            sum += left[i] * right[i];
        }
        return sum;
    }

    private static double percentile(long[] sorted, double quantile) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1)] / 1e6;
    }

}
