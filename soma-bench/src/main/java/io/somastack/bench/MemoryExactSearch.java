package io.somastack.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The ground truth of recall@10: the current revision's embedding of every live memory, read
 * from the embedded PostgreSQL, and an exact top 10 by dot product (cosine of unit vectors)
 * over all of them.
 */
final class MemoryExactSearch {
    private final List<String> ids;
    private final List<float[]> vectors;

    private MemoryExactSearch(List<String> ids, List<float[]> vectors) {
        this.ids = ids;
        this.vectors = vectors;
    }

    /** Reads the stored vectors from the PostgreSQL whose data directory is {@code postgresDirectory}. */
    static MemoryExactSearch load(Path postgresDirectory) {
        List<String> ids = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        try {
            String port = Files.readAllLines(postgresDirectory.resolve("postmaster.pid")).get(3).strip();
            try (Connection connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
                    Statement statement = connection.createStatement()) {
                statement.setFetchSize(5_000);
                connection.setAutoCommit(false);
                try (ResultSet rs = statement.executeQuery("""
                        SELECT m.id, r.embedding FROM memories m JOIN memory_revisions r ON r.id = m.current_revision_id
                        WHERE m.deleted_at IS NULL""")) {
                    while (rs.next()) {
                        byte[] bytes = rs.getBytes(2);
                        float[] vector = new float[bytes.length / Float.BYTES];
                        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(vector);
                        ids.add(rs.getString(1));
                        vectors.add(vector);
                    }
                }
            }
        } catch (SQLException | java.io.IOException e) {
            throw new IllegalStateException("Cannot read stored embeddings: " + e.getMessage(), e);
        }
        return new MemoryExactSearch(ids, vectors);
    }

    int size() {
        return ids.size();
    }

    /** The ids of the 10 stored vectors with the largest dot product with {@code query}. */
    Set<String> topTen(float[] query) {
        PriorityQueue<Scored> best = new PriorityQueue<>((left, right) -> Double.compare(left.score(), right.score()));
        for (int i = 0; i < vectors.size(); i++) {
            double score = dot(vectors.get(i), query);
            if (best.size() < 10) {
                best.add(new Scored(i, score));
            } else if (score > best.peek().score()) {
                best.poll();
                best.add(new Scored(i, score));
            }
        }
        Set<String> top = new HashSet<>();
        best.forEach(scored -> top.add(ids.get(scored.index())));
        return top;
    }

    private static double dot(float[] left, float[] right) {
        double sum = 0;
        for (int i = 0; i < left.length; i++) {
            sum += left[i] * right[i];
        }
        return sum;
    }

    private record Scored(int index, double score) {
    }
}
