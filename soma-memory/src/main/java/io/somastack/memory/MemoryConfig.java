package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Settings;
import io.somastack.models.EmbedderConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Configuration of memory; every key is optional.
 *
 * <table>
 *   <caption>Keys (environment: {@code SOMA_MEMORY_TEXT_MAX__BYTES} for {@code memory.text.max-bytes})</caption>
 *   <tr><td>{@code memory.index.directory}</td><td>{@code <data-dir>/memory-index}</td></tr>
 *   <tr><td>{@code memory.embedder*}</td><td>{@code local} (all-MiniLM-L6-v2); see {@link EmbedderConfig}</td></tr>
 *   <tr><td>{@code memory.text.max-bytes}</td><td>8192, UTF-8 bytes of one memory's text</td></tr>
 *   <tr><td>{@code memory.batch.max}</td><td>1000 memories per remember</td></tr>
 *   <tr><td>{@code memory.duplicate.threshold}</td><td>0.95, cosine at or above which a remember revises</td></tr>
 *   <tr><td>{@code memory.quota.memories}</td><td>100000 live memories per tenant</td></tr>
 *   <tr><td>{@code memory.quota.bytes}</td><td>268435456 text bytes per tenant, all revisions</td></tr>
 *   <tr><td>{@code memory.index.poll}</td><td>1s, how often the index catches up with other nodes' writes</td></tr>
 *   <tr><td>{@code memory.index.commit}</td><td>5s, how often the index is committed to disk</td></tr>
 *   <tr><td>{@code memory.purge.interval}</td><td>1m, how often memories past their TTL are erased</td></tr>
 *   <tr><td>{@code memory.storage.meter-interval}</td><td>1h, how often {@link StorageMeter} meters stored bytes</td></tr>
 * </table>
 */
public record MemoryConfig(Path indexDirectory, EmbedderConfig embedder, int maxTextBytes, int maxBatch, double duplicateThreshold,
        long quotaMemories, long quotaBytes, Duration indexPoll, Duration indexCommit, Duration purgeInterval, Duration storageMeterInterval) {

    public MemoryConfig {
        indexDirectory = indexDirectory.toAbsolutePath().normalize();
        requireNonNull(embedder, "embedder is null");
        if (maxTextBytes < 1 || maxBatch < 1 || quotaMemories < 0 || quotaBytes < 0) {
            throw new IllegalArgumentException("memory limits must be positive");
        }
        if (!(duplicateThreshold > 0 && duplicateThreshold <= 1.0)) {
            throw new IllegalArgumentException("memory.duplicate.threshold must be in (0, 1]");
        }
        requireNonNull(indexPoll, "indexPoll is null");
        requireNonNull(indexCommit, "indexCommit is null");
        if (!isPositive(purgeInterval) || !isPositive(storageMeterInterval)) {
            throw new IllegalArgumentException("memory.purge.interval and memory.storage.meter-interval must be positive");
        }
    }

    private static boolean isPositive(Duration duration) {
        return duration != null && !duration.isNegative() && !duration.isZero();
    }

    /** The defaults, with the index under {@code dataDirectory}. */
    public static MemoryConfig defaults(Path dataDirectory) {
        return new MemoryConfig(dataDirectory.resolve("memory-index"), EmbedderConfig.local(), 8192, 1000, 0.95, 100_000, 256L << 20,
                Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofMinutes(1), Duration.ofHours(1));
    }

    /** Reads the {@code memory.*} keys; problems are collected in {@code settings}. */
    public static MemoryConfig from(Settings settings, Path dataDirectory) {
        MemoryConfig defaults = defaults(dataDirectory);
        return new MemoryConfig(
                settings.string("memory.index.directory").map(Path::of).orElse(defaults.indexDirectory()),
                EmbedderConfig.from(settings, "memory.embedder"),
                settings.integer("memory.text.max-bytes", defaults.maxTextBytes(), 1, 1 << 20),
                settings.integer("memory.batch.max", defaults.maxBatch(), 1, 10_000),
                threshold(settings, defaults.duplicateThreshold()),
                settings.longValue("memory.quota.memories", defaults.quotaMemories(), 0, Long.MAX_VALUE),
                settings.longValue("memory.quota.bytes", defaults.quotaBytes(), 0, Long.MAX_VALUE),
                settings.duration("memory.index.poll", defaults.indexPoll()),
                settings.duration("memory.index.commit", defaults.indexCommit()),
                positive(settings, "memory.purge.interval", defaults.purgeInterval()),
                positive(settings, "memory.storage.meter-interval", defaults.storageMeterInterval()));
    }

    private static Duration positive(Settings settings, String key, Duration defaultValue) {
        Duration value = settings.duration(key, defaultValue);
        if (!isPositive(value)) {
            settings.problem("%s must be positive".formatted(key));
            return defaultValue;
        }
        return value;
    }

    private static double threshold(Settings settings, double defaultValue) {
        Optional<String> text = settings.string("memory.duplicate.threshold");
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            double value = Double.parseDouble(text.get());
            if (value > 0 && value <= 1.0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        settings.problem("memory.duplicate.threshold='%s' must be a number in (0, 1]".formatted(text.get()));
        return defaultValue;
    }

    public MemoryConfig withQuota(long memories, long bytes) {
        return new MemoryConfig(indexDirectory, embedder, maxTextBytes, maxBatch, duplicateThreshold, memories, bytes, indexPoll, indexCommit,
                purgeInterval, storageMeterInterval);
    }

    public MemoryConfig withIndexDirectory(Path directory) {
        return new MemoryConfig(directory, embedder, maxTextBytes, maxBatch, duplicateThreshold, quotaMemories, quotaBytes, indexPoll,
                indexCommit, purgeInterval, storageMeterInterval);
    }

    public MemoryConfig withEmbedder(EmbedderConfig config) {
        return new MemoryConfig(indexDirectory, config, maxTextBytes, maxBatch, duplicateThreshold, quotaMemories, quotaBytes, indexPoll,
                indexCommit, purgeInterval, storageMeterInterval);
    }

    public MemoryConfig withIndexPoll(Duration poll) {
        return new MemoryConfig(indexDirectory, embedder, maxTextBytes, maxBatch, duplicateThreshold, quotaMemories, quotaBytes, poll,
                indexCommit, purgeInterval, storageMeterInterval);
    }

    public MemoryConfig withPurgeInterval(Duration interval) {
        return new MemoryConfig(indexDirectory, embedder, maxTextBytes, maxBatch, duplicateThreshold, quotaMemories, quotaBytes, indexPoll,
                indexCommit, interval, storageMeterInterval);
    }
}
