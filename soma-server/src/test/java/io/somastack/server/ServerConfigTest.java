package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.SomaException;
import io.somastack.kernel.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ServerConfigTest {

    @Test
    void defaultsNeedNothing() {
        ServerConfig config = ServerConfig.from(Settings.load(Map.of(), Optional.empty()), Map.of(), null, null);

        assertThat(config.port()).isEqualTo(8080);
        assertThat(config.host()).isEqualTo("127.0.0.1");
        assertThat(config.dataDirectory().getFileName()).hasToString(".somastack");
        assertThat(config.warmup()).as("no warm-up before ready").isZero();
        assertThat(config.store().databaseUrl()).isEmpty();
        assertThat(config.kafka().enabled()).as("events stay in process").isFalse();
        assertThat(config.gateway().maxBodyBytes()).isEqualTo(4L * 1024 * 1024);
        assertThat(config.gateway().sessionLifetime()).isEqualTo(Duration.ofMinutes(15));
        assertThat(config.gateway().region()).isEqualTo("local");
        assertThat(config.gateway().rateLimitRedisUrl()).isEmpty();
        assertThat(config.metering().prices()).isEmpty();
        assertThat(config.metering().leases()).as("budget leases per node are on").isEqualTo(io.somastack.metering.LeaseConfig.DEFAULTS);
    }

    @Test
    void environmentAndYamlAreReadTogether() throws Exception {
        Path yaml = Files.createTempFile("soma", ".yaml");
        Files.writeString(yaml, """
                region: eu
                regions:
                  us: https://us.example
                prices:
                  - model: gpt-4o-mini
                    input_per_million: "0.15"
                    output_per_million: "0.60"
                    effective_from: 2026-01-01
                budgets:
                  leases:
                    enabled: false
                    ttl: 30s
                    idle: 5s
                    window: 10s
                """);
        Map<String, String> environment = Map.of("SOMA_PORT", "9090", "SOMA_DATABASE_URL", "postgresql://db.internal:5432/soma",
                "SOMA_MAX_BODY_BYTES", "1048576", "SOMA_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379",
                "SOMA_TOOLS_SECRETS_KEY", java.util.Base64.getEncoder().encodeToString(new byte[32]));

        ServerConfig config = ServerConfig.from(Settings.load(environment, Optional.of(yaml)), environment, null, null);

        assertThat(config.port()).isEqualTo(9090);
        assertThat(config.store().databaseUrl()).contains("jdbc:postgresql://db.internal:5432/soma");
        assertThat(config.gateway().maxBodyBytes()).isEqualTo(1048576);
        assertThat(config.gateway().regionEndpoints()).containsEntry("us", "https://us.example");
        assertThat(config.gateway().rateLimitRedisUrl()).contains("redis://127.0.0.1:6379");
        assertThat(config.metering().prices()).singleElement()
                .satisfies(price -> assertThat(price.inputPerMillion().toPlainString()).isEqualTo("0.15"));
        assertThat(config.metering().leases()).isEqualTo(new io.somastack.metering.LeaseConfig(false, Duration.ofSeconds(30),
                Duration.ofSeconds(5), Duration.ofSeconds(10)));
    }

    @Test
    void everyProblemIsListedAtOnce() {
        Map<String, String> environment = Map.of("SOMA_PORT", "eighty", "SOMA_SHUTDOWN_GRACE", "soon", "SOMA_COLOUR", "blue",
                "SOMA_ADMIN_KEY", "short", "SOMA_BUDGETS_LEASES_TTL", "1s", "SOMA_WARMUP", "1h");

        assertThatThrownBy(() -> ServerConfig.from(Settings.load(environment, Optional.empty()), environment, null, null))
                .isInstanceOf(SomaException.class)
                .hasMessageContaining("port='eighty' is not an integer")
                .hasMessageContaining("shutdown.grace='soon' is not a duration")
                .hasMessageContaining("unknown config key 'colour'")
                .hasMessageContaining("admin.key (SOMA_ADMIN_KEY) must be at least 16 characters")
                .hasMessageContaining("budgets.leases.ttl must be at least 3s")
                .hasMessageContaining("warmup='1h' must be from 0s (off) to 10m");
    }
}
