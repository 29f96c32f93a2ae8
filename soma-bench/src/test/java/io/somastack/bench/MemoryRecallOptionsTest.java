package io.somastack.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MemoryRecallOptionsTest {
    @Test
    void keepsTheOneShotFormOfSizesAndQueries() {
        MemoryRecallOptions options = MemoryRecallOptions.parse(List.of("10000,100000", "200"));

        assertThat(options.sizes()).containsExactly(10_000, 100_000);
        assertThat(options.queries()).isEqualTo(200);
        assertThat(options.dataDirectory()).isEmpty();
        assertThat(options.phase()).isEqualTo(MemoryRecallOptions.Phase.SEED_AND_MEASURE);
    }

    @Test
    void seedsAKeptDirectoryUpToOneSize() {
        MemoryRecallOptions options = MemoryRecallOptions.parse(List.of("--data-dir", "/tmp/data-1m", "--seed-only", "--size", "1_000_000"));

        assertThat(options.sizes()).containsExactly(1_000_000);
        assertThat(options.dataDirectory()).isEqualTo(Optional.of(Path.of("/tmp/data-1m")));
        assertThat(options.phase()).isEqualTo(MemoryRecallOptions.Phase.SEED_ONLY);
    }

    @Test
    void measuresAKeptDirectoryWithItsOwnQueryCount() {
        MemoryRecallOptions options = MemoryRecallOptions.parse(List.of("--measure-only", "--data-dir", "/tmp/data-1m", "--queries", "500"));

        assertThat(options.queries()).isEqualTo(500);
        assertThat(options.phase()).isEqualTo(MemoryRecallOptions.Phase.MEASURE_ONLY);
    }

    @Test
    void listsEveryProblemWithTheUsage() {
        assertThatThrownBy(() -> MemoryRecallOptions.parse(List.of("--seed-only", "--measure-only", "--queries", "5000", "--colour")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("exclude each other")
                .hasMessageContaining("unknown option --colour")
                .hasMessageContaining("Usage:");
        assertThatThrownBy(() -> MemoryRecallOptions.parse(List.of("--seed-only", "--size", "1000")))
                .hasMessageContaining("need --data-dir");
        assertThatThrownBy(() -> MemoryRecallOptions.parse(List.of("--data-dir", "/tmp/x", "10000")))
                .hasMessageContaining("--data-dir needs --seed-only or --measure-only");
        assertThatThrownBy(() -> MemoryRecallOptions.parse(List.of("10000", "2000")))
                .hasMessageContaining("queries must be between 1 and 1000");
        assertThatThrownBy(() -> MemoryRecallOptions.parse(List.of("10000,50000,100000", "400")))
                .hasMessageContaining("3 sizes × 400 queries exceed the 1000 held out per mode");
    }
}
