package io.somastack.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Settings;
import io.somastack.kernel.SomaException;
import io.somastack.models.EmbedderConfig;
import io.somastack.models.Embedders;
import io.somastack.models.OpenAiEmbedder;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class MemoryConfigTest {
    @Test
    void defaultsPutTheIndexInTheDataDirectory() {
        Settings settings = Settings.of(Map.of());
        MemoryConfig config = MemoryConfig.from(settings, Path.of("/data"));
        settings.validate();

        assertThat(config.indexDirectory()).isEqualTo(Path.of("/data/memory-index"));
        assertThat(config.embedder()).isEqualTo(EmbedderConfig.local());
        assertThat(config.embedder().model()).isEqualTo("all-minilm-l6-v2-q");
        assertThat(config.maxTextBytes()).isEqualTo(8192);
        assertThat(config.maxBatch()).isEqualTo(1000);
        assertThat(config.duplicateThreshold()).isEqualTo(0.95);
        assertThat(config.quotaMemories()).isEqualTo(100_000);
        assertThat(config.quotaBytes()).isEqualTo(256L << 20);
        assertThat(config.indexPoll()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.indexCommit()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.purgeInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(config.storageMeterInterval()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void readsEveryKey() {
        Settings settings = Settings.of(Map.ofEntries(Map.entry("memory.index.directory", "/fast/index"), Map.entry("memory.embedder", "openai"),
                Map.entry("memory.embedder.base-url", "http://embeddings.internal:8000/v1/"), Map.entry("memory.embedder.model", "bge-m3"),
                Map.entry("memory.embedder.api-key-env", "EMBEDDINGS_KEY"), Map.entry("memory.embedder.dimension", "1024"),
                Map.entry("memory.embedder.batch", "64"), Map.entry("memory.embedder.timeout", "5s"),
                Map.entry("memory.text.max-bytes", "4096"), Map.entry("memory.batch.max", "50"), Map.entry("memory.duplicate.threshold", "0.9"),
                Map.entry("memory.quota.memories", "10"), Map.entry("memory.quota.bytes", "1000"), Map.entry("memory.index.poll", "250ms"),
                Map.entry("memory.index.commit", "1m"), Map.entry("memory.purge.interval", "30s"), Map.entry("memory.storage.meter-interval", "15m")));
        MemoryConfig config = MemoryConfig.from(settings, Path.of("/data"));
        settings.validate();

        EmbedderConfig embedder = new EmbedderConfig(EmbedderConfig.Kind.OPENAI, URI.create("http://embeddings.internal:8000/v1"), "bge-m3",
                Optional.of("EMBEDDINGS_KEY"), OptionalInt.of(1024), 64, Duration.ofSeconds(5));
        assertThat(config).isEqualTo(new MemoryConfig(Path.of("/fast/index"), embedder, 4096, 50, 0.9, 10, 1000, Duration.ofMillis(250),
                Duration.ofMinutes(1), Duration.ofSeconds(30), Duration.ofMinutes(15)));
        assertThat(embedder.describe()).contains("bge-m3", "EMBEDDINGS_KEY").doesNotContain("sk-");
    }

    @Test
    void openAiDefaultsToTheOpenAiUrlAndLearnsTheDimension() {
        Settings settings = Settings.of(Map.of("memory.embedder", "openai", "memory.embedder.model", "text-embedding-3-small"));
        MemoryConfig config = MemoryConfig.from(settings, Path.of("/data"));
        settings.validate();

        assertThat(config.embedder()).isEqualTo(EmbedderConfig.openAi(URI.create("https://api.openai.com/v1"), "text-embedding-3-small",
                Optional.empty(), OptionalInt.empty()));
    }

    @Test
    void listsEveryBadValueAtOnce() {
        Settings settings = Settings.of(Map.of("memory.embedder", "cohere", "memory.text.max-bytes", "0",
                "memory.duplicate.threshold", "1.5", "memory.quota.memories", "lots", "memory.purge.interval", "0s"));
        MemoryConfig.from(settings, Path.of("/data"));

        assertThatThrownBy(settings::validate).hasMessageContainingAll("memory.embedder='cohere'", "memory.text.max-bytes=0",
                "memory.duplicate.threshold='1.5'", "memory.quota.memories='lots'", "memory.purge.interval must be positive");
    }

    @Test
    void refusesAnOpenAiEmbedderWithoutModelWithABadUrlOrWithAKeyInsteadOfAVariableName() {
        Settings settings = Settings.of(Map.of("memory.embedder", "openai", "memory.embedder.base-url", "ftp://example.com",
                "memory.embedder.api-key-env", "sk-proj-abc123/xyz", "memory.embedder.dimension", "99999"));
        MemoryConfig.from(settings, Path.of("/data"));

        assertThatThrownBy(settings::validate).hasMessageContainingAll("memory.embedder.model is required",
                "memory.embedder.base-url='ftp://example.com'", "must name an environment variable", "memory.embedder.dimension='99999'");
    }

    @Test
    void refusesOpenAiKeysWithTheLocalEmbedder() {
        Settings settings = Settings.of(Map.of("memory.embedder.model", "text-embedding-3-small"));
        MemoryConfig.from(settings, Path.of("/data"));

        assertThatThrownBy(settings::validate).hasMessageContaining("memory.embedder.model is only used with memory.embedder=openai");
    }

    @Test
    void theFactoryReadsTheKeyFromTheNamedVariableAndRefusesAnUnsetOne() {
        MemoryConfig config = MemoryConfig.defaults(Path.of("/data")).withEmbedder(EmbedderConfig.openAi(URI.create("http://127.0.0.1:9/v1"),
                "text-embedding-3-small", Optional.of("SOMA_TEST_EMBEDDINGS_KEY"), OptionalInt.of(1536)));

        assertThat(Embedders.from(config.embedder(), Map.of("SOMA_TEST_EMBEDDINGS_KEY", "sk-test"))).isInstanceOf(OpenAiEmbedder.class)
                .satisfies(embedder -> assertThat(embedder.dimension()).isEqualTo(1536));
        assertThatThrownBy(() -> Embedders.from(config.embedder(), Map.of())).isInstanceOfSatisfying(SomaException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.detail()).contains("SOMA_TEST_EMBEDDINGS_KEY", "not set");
        });
    }
}
