package io.somastack.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MemoryConfigTest {
    @Test
    void defaultsPutTheIndexInTheDataDirectory() {
        Settings settings = Settings.of(Map.of());
        MemoryConfig config = MemoryConfig.from(settings, Path.of("/data"));
        settings.validate();

        assertThat(config.indexDirectory()).isEqualTo(Path.of("/data/memory-index"));
        assertThat(config.embedder()).isEqualTo("local");
        assertThat(config.maxTextBytes()).isEqualTo(8192);
        assertThat(config.maxBatch()).isEqualTo(1000);
        assertThat(config.duplicateThreshold()).isEqualTo(0.95);
        assertThat(config.quotaMemories()).isEqualTo(100_000);
        assertThat(config.quotaBytes()).isEqualTo(256L << 20);
        assertThat(config.indexPoll()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.indexCommit()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void readsEveryKey() {
        Settings settings = Settings.of(Map.of("memory.index.directory", "/fast/index", "memory.embedder", "local",
                "memory.text.max-bytes", "4096", "memory.batch.max", "50", "memory.duplicate.threshold", "0.9",
                "memory.quota.memories", "10", "memory.quota.bytes", "1000", "memory.index.poll", "250ms", "memory.index.commit", "1m"));
        MemoryConfig config = MemoryConfig.from(settings, Path.of("/data"));
        settings.validate();

        assertThat(config).isEqualTo(new MemoryConfig(Path.of("/fast/index"), "local", 4096, 50, 0.9, 10, 1000, Duration.ofMillis(250),
                Duration.ofMinutes(1)));
    }

    @Test
    void listsEveryBadValueAtOnce() {
        Settings settings = Settings.of(Map.of("memory.embedder", "openai", "memory.text.max-bytes", "0",
                "memory.duplicate.threshold", "1.5", "memory.quota.memories", "lots"));
        MemoryConfig.from(settings, Path.of("/data"));

        assertThatThrownBy(settings::validate).hasMessageContainingAll("memory.embedder='openai'", "memory.text.max-bytes=0",
                "memory.duplicate.threshold='1.5'", "memory.quota.memories='lots'");
    }
}
