package io.somastack.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Remembers the benchmark's texts through {@code POST /v1/memories} in batches of 500 until the
 * tenant holds a target number of memories (near-duplicates become revisions, so more texts
 * than memories are sent). Text {@code i} of the pool is sent with provenance reference
 * {@code text:i}, so a seeding that was interrupted resumes after the highest reference
 * PostgreSQL holds ({@link #resumePoint}). Prints a progress line about every 30 s with the
 * rate of the last interval and of the whole run, and the time left at the recent rate.
 */
final class MemorySeeding {
    static final int BATCH = 500;
    private static final Duration PROGRESS = Duration.ofSeconds(30);

    /** Where seeding stands: live memories, and the index of the next text to send. */
    record Position(int memories, int nextText) {
    }

    /** What one seeding did: the texts it sent, the memories it created, and the texts per second. */
    record Result(Position end, int textsSent, int created, double textsPerSecond) {
    }

    private MemorySeeding() {
    }

    /** The live memories and the text after the highest {@code text:i} reference stored, read from PostgreSQL. */
    static Position resumePoint(SomaStackInstance soma) {
        try (Connection connection = MemoryExactSearch.connect(soma.postgresDirectory()); Statement statement = connection.createStatement()) {
            int memories;
            try (ResultSet rs = statement.executeQuery("SELECT count(*) FROM memories WHERE deleted_at IS NULL")) {
                rs.next();
                memories = rs.getInt(1);
            }
            try (ResultSet rs = statement.executeQuery("""
                    SELECT coalesce(max(substring(source_reference from 6)::int), -1) FROM memory_revisions
                    WHERE source_reference LIKE 'text:%'""")) {
                rs.next();
                return new Position(memories, rs.getInt(1) + 1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read how far seeding got: " + e.getMessage(), e);
        }
    }

    /** Sends texts of {@code pool} from {@code from.nextText()} until {@code target} memories exist. */
    static Result seed(SomaStackInstance soma, List<String> pool, Position from, int target) {
        long started = System.nanoTime();
        long lastReport = started;
        int created = 0;
        int next = from.nextText();
        int memoriesAtLastReport = from.memories();
        while (from.memories() + created < target) {
            if (next >= pool.size()) {
                throw new IllegalStateException("ran out of texts at %,d memories after %,d texts".formatted(from.memories() + created, next));
            }
            List<Map<String, Object>> batch = new ArrayList<>();
            for (int i = next; i < Math.min(pool.size(), next + Math.min(BATCH, target - from.memories() - created)); i++) {
                batch.add(Map.of("text", pool.get(i), "scope", Map.of("kind", "tenant"),
                        "provenance", Map.of("kind", "document", "reference", "text:" + i)));
            }
            JsonNode answer = soma.post("/v1/memories", Map.of("memories", batch));
            for (JsonNode result : answer.get("data")) {
                created += result.get("outcome").asString().equals("created") ? 1 : 0;
            }
            next += batch.size();
            long now = System.nanoTime();
            if (now - lastReport >= PROGRESS.toNanos()) {
                int memories = from.memories() + created;
                double recent = (memories - memoriesAtLastReport) / ((now - lastReport) / 1e9);
                double overall = (next - from.nextText()) / ((now - started) / 1e9);
                long secondsLeft = recent > 0 ? (long) ((target - memories) / recent) : -1;
                System.out.printf("  %s  %,d memories of %,d, %,d texts sent; %.0f memories/s in the last %.0f s, %.0f texts/s since start; "
                        + "ETA %s; load %s%n", java.time.LocalTime.now().withNano(0), memories, target, next, recent, (now - lastReport) / 1e9,
                        overall, secondsLeft < 0 ? "unknown" : Duration.ofSeconds(secondsLeft).toString().substring(2).toLowerCase(),
                        Machine.loadAverage());
                lastReport = now;
                memoriesAtLastReport = memories;
            }
        }
        int sent = next - from.nextText();
        double rate = sent / ((System.nanoTime() - started) / 1e9);
        return new Result(new Position(from.memories() + created, next), sent, created, rate);
    }
}
