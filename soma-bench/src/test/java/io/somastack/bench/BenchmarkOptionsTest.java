package io.somastack.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchmarkOptionsTest {
    @Test
    void defaultsToThreeRatesOfAMinuteEach() {
        BenchmarkOptions options = BenchmarkOptions.parse(List.of());

        assertThat(options.rates()).containsExactly(500, 2000, 5000);
        assertThat(options.duration()).isEqualTo(Duration.ofSeconds(60));
        assertThat(options.warmup()).isEqualTo(Duration.ofSeconds(10));
        assertThat(options.initialWarmup()).isEqualTo(Duration.ofSeconds(30));
        assertThat(options.connections()).isEqualTo(128);
        assertThat(options.p99LimitMillis()).isEqualTo(50);
        assertThat(options.output().getFileName()).hasToString("gateway-overhead.md");
        assertThat(options.launcher()).as("SomaStack in this JVM").isFalse();
    }

    @Test
    void readsEveryFlagWithSpaceOrEquals() {
        BenchmarkOptions options = BenchmarkOptions.parse(List.of("--rates", "100, 200", "--duration=2m", "--warmup", "500ms",
                "--initial-warmup", "0", "--connections=8", "--p99-limit-ms", "20", "--output", "/tmp/report.md"));

        assertThat(options.rates()).containsExactly(100, 200);
        assertThat(options.duration()).isEqualTo(Duration.ofMinutes(2));
        assertThat(options.warmup()).isEqualTo(Duration.ofMillis(500));
        assertThat(options.initialWarmup()).isZero();
        assertThat(options.connections()).isEqualTo(8);
        assertThat(options.p99LimitMillis()).isEqualTo(20);
        assertThat(options.output()).isEqualTo(Path.of("/tmp/report.md"));
    }

    @Test
    void listsEveryProblemAtOnce() {
        assertThatThrownBy(() -> BenchmarkOptions.parse(List.of("--rates", "fast", "--speed", "3", "--duration")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--rates 'fast' is not valid")
                .hasMessageContaining("unknown option --speed")
                .hasMessageContaining("--duration needs a value");
    }

    @Test
    void runsSomaStackThroughTheLauncherOnlyFromTheRepositoryRoot() {
        assertThatThrownBy(() -> BenchmarkOptions.parse(List.of("--server", "docker")))
                .hasMessageContaining("--server 'docker' is not valid: must be in-process or launcher");
        if (java.nio.file.Files.isExecutable(Path.of("somastack"))) {
            assertThat(BenchmarkOptions.parse(List.of("--server", "launcher")).launcher()).isTrue();
        } else {
            assertThatThrownBy(() -> BenchmarkOptions.parse(List.of("--server=launcher")))
                    .hasMessageContaining("start the benchmark from the repository root");
        }
    }

    @Test
    void rejectsRatesThatAreNotPositive() {
        assertThatThrownBy(() -> BenchmarkOptions.parse(List.of("--rates", "0,100")))
                .hasMessageContaining("--rates must be a comma list");
    }
}
