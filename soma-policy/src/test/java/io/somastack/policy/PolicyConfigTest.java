package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.Settings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyConfigTest {
    @Test
    void hasDefaults() {
        PolicyConfig config = PolicyConfig.from(Settings.of(Map.of()));
        assertThat(config).isEqualTo(PolicyConfig.defaults());
        assertThat(config.bundleLimits().maxEntries()).isEqualTo(256);
        assertThat(config.bundleLimits().maxUncompressedBytes()).isEqualTo(64L << 20);
        assertThat(config.bundleLimits().maxCompressionRatio()).isEqualTo(100);
        assertThat(config.bundleLimits().maxManifestBytes()).isEqualTo(256 << 10);
        assertThat(config.cacheTtl()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void readsEveryKey() {
        Settings settings = Settings.of(Map.of("policy.bundle.max-entries", "10", "policy.bundle.max-bytes", "2048", "policy.bundle.max-ratio", "7",
                "policy.bundle.max-manifest-bytes", "4096", "policy.cache.ttl", "250ms"));
        PolicyConfig config = PolicyConfig.from(settings);
        settings.validate();
        assertThat(config).isEqualTo(new PolicyConfig(new BundleLimits(10, 2048, 7, 4096), Duration.ofMillis(250)));
    }

    @Test
    void listsEveryBadValue() {
        Settings settings = Settings.of(Map.of("policy.bundle.max-entries", "many", "policy.bundle.max-ratio", "0", "policy.cache.ttl", "soon"));
        PolicyConfig.from(settings);
        assertThatThrownBy(settings::validate).hasMessageContaining("policy.bundle.max-entries").hasMessageContaining("policy.bundle.max-ratio")
                .hasMessageContaining("policy.cache.ttl");
    }
}
