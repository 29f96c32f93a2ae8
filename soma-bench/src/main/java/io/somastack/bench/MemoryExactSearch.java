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
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The ground truth of recall@10: the current revision's embedding of every live memory, read
 * from the embedded PostgreSQL into one float array (1M memories of 384 dimensions take 1.5
 * GiB), and an exact top 10 by dot product (cosine of unit vectors) over all of them. Many
 * queries are answered in one pass over the vectors, block by block, so each block is read
 * from memory once for all queries.
 */
final class MemoryExactSearch {
    private static final int BLOCK = 4_096;

    private final String[] ids;
    private final float[] vectors;
    private final int dimension;

    private MemoryExactSearch(String[] ids, float[] vectors, int dimension) {
        this.ids = ids;
        this.vectors = vectors;
        this.dimension = dimension;
    }

    /** A JDBC connection to the embedded PostgreSQL whose data directory is {@code postgresDirectory} (its port is in postmaster.pid). */
    static Connection connect(Path postgresDirectory) throws SQLException {
        try {
            String port = Files.readAllLines(postgresDirectory.resolve("postmaster.pid")).get(3).strip();
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
        } catch (java.io.IOException e) {
            throw new SQLException("Cannot read the port of " + postgresDirectory, e);
        }
    }

    /** Reads the stored vectors from the PostgreSQL whose data directory is {@code postgresDirectory}. */
    static MemoryExactSearch load(Path postgresDirectory) {
        try (Connection connection = connect(postgresDirectory); Statement statement = connection.createStatement()) {
            int count;
            try (ResultSet rs = statement.executeQuery("SELECT count(*) FROM memories WHERE deleted_at IS NULL")) {
                rs.next();
                count = rs.getInt(1);
            }
            statement.setFetchSize(5_000);
            connection.setAutoCommit(false);
            String[] ids = new String[count];
            float[] vectors = null;
            int dimension = 0;
            int row = 0;
            try (ResultSet rs = statement.executeQuery("""
                    SELECT m.id, r.embedding FROM memories m JOIN memory_revisions r ON r.id = m.current_revision_id
                    WHERE m.deleted_at IS NULL""")) {
                while (rs.next() && row < count) {
                    byte[] bytes = rs.getBytes(2);
                    if (vectors == null) {
                        dimension = bytes.length / Float.BYTES;
                        vectors = new float[Math.multiplyExact(count, dimension)];
                    }
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(vectors, row * dimension, dimension);
                    ids[row++] = rs.getString(1);
                }
            }
            return new MemoryExactSearch(Arrays.copyOf(ids, row), vectors == null ? new float[0] : vectors, dimension);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read stored embeddings: " + e.getMessage(), e);
        }
    }

    int size() {
        return ids.length;
    }

    /** For each query, the ids of the 10 stored vectors with the largest dot product with it. */
    List<Set<String>> topTen(List<float[]> queries) {
        float[][] bestScores = new float[queries.size()][10];
        int[][] bestRows = new int[queries.size()][10];
        for (float[] scores : bestScores) {
            Arrays.fill(scores, Float.NEGATIVE_INFINITY);
        }
        for (int start = 0; start < ids.length; start += BLOCK) {
            int first = start;
            int end = Math.min(ids.length, start + BLOCK);
            IntStream.range(0, queries.size()).parallel().forEach(q -> {
                float[] query = queries.get(q);
                float[] scores = bestScores[q];
                int[] rows = bestRows[q];
                int weakest = weakest(scores);
                for (int row = first; row < end; row++) {
                    float score = dot(row * dimension, query);
                    if (score > scores[weakest]) {
                        scores[weakest] = score;
                        rows[weakest] = row;
                        weakest = weakest(scores);
                    }
                }
            });
        }
        List<Set<String>> tops = new ArrayList<>();
        for (int q = 0; q < queries.size(); q++) {
            Set<String> top = new HashSet<>();
            for (int i = 0; i < Math.min(10, ids.length); i++) {
                top.add(ids[bestRows[q][i]]);
            }
            tops.add(top);
        }
        return tops;
    }

    private static int weakest(float[] scores) {
        int weakest = 0;
        for (int i = 1; i < scores.length; i++) {
            weakest = scores[i] < scores[weakest] ? i : weakest;
        }
        return weakest;
    }

    /** Four partial sums, so the multiply-adds of one vector do not wait on each other. */
    private float dot(int offset, float[] query) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 3 < dimension; i += 4) {
            s0 += vectors[offset + i] * query[i];
            s1 += vectors[offset + i + 1] * query[i + 1];
            s2 += vectors[offset + i + 2] * query[i + 2];
            s3 += vectors[offset + i + 3] * query[i + 3];
        }
        for (; i < dimension; i++) {
            s0 += vectors[offset + i] * query[i];
        }
        return s0 + s1 + s2 + s3;
    }
}
